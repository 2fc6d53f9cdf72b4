"""Sweeps: a grid (and random draws) of scenario fields, each run R times.

Fields are named by dotted path, as `--set` names them, and values are read
as YAML. `--grid path=v1,v2` takes each value in turn (the grid is the
product of all grids); `--random N` with `--range path=lo..hi` draws N points
uniformly from the ranges (whole numbers when both ends are whole), from a
stream derived from the scenario seed by name. Every point runs the same
replication seeds (common random numbers across points).
Limitations: a grid value that itself holds a comma must be written as a
YAML list (`path=[a, b]`); random draws are independent uniform (no Latin
hypercube).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from simulator.errors import ScenarioError, SimulatorError
from simulator.experiment.executors import Progress, RunStats, run_points
from simulator.experiment.headline import HEADLINE
from simulator.experiment.points import (
    BaseScenario,
    Point,
    build_scenario,
    read_base,
    replication_seeds,
)
from simulator.experiment.store import PointStore
from simulator.experiment.tables import interval_table, results_table
from simulator.rng import Streams
from simulator.scenario.yamlio import parse_scalar

MAX_POINTS = 100_000


@dataclass(frozen=True)
class SweepSpec:
    """What a sweep runs: a scenario, grids, random ranges, replications."""

    scenario: Path
    grid: dict[str, list[Any]] = field(default_factory=dict)
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    random: int = 0
    replications: int = 1
    overrides: tuple[str, ...] = ()
    seed: int | None = None
    confidence: float = 0.95
    target: str | None = None


@dataclass
class SweepResult:
    """A finished sweep: the tidy table, per-point intervals, what ran."""

    table: pd.DataFrame
    summary: pd.DataFrame
    params: list[str]
    stats: RunStats
    spec: SweepSpec


def parse_grid(items: list[str]) -> dict[str, list[Any]]:
    """`path=v1,v2,...` (or `path=[v1, v2]`) options as {path: values}."""
    grid: dict[str, list[Any]] = {}
    for item in items:
        path, text = _split(item, "--grid", "path=v1,v2,...")
        if text.lstrip().startswith("["):
            values = parse_scalar(text, source=f"--grid {item!r}")
        else:
            values = [parse_scalar(part.strip(), source=f"--grid {item!r}")
                      for part in text.split(",")]
        if not isinstance(values, list) or not values:
            raise SimulatorError(f"--grid {item!r}: give at least one value")
        if path in grid:
            raise SimulatorError(f"--grid {item!r}: {path} is swept twice")
        grid[path] = values
    return grid


def parse_ranges(items: list[str]) -> dict[str, tuple[float, float]]:
    """`path=lo..hi` options as {path: (lo, hi)}."""
    ranges: dict[str, tuple[float, float]] = {}
    for item in items:
        path, text = _split(item, "--range", "path=lo..hi")
        ranges[path] = parse_bounds(text, f"--range {item!r}")
    return ranges


def parse_bounds(text: str, source: str) -> tuple[float, float]:
    """`lo..hi` as two numbers, lo <= hi."""
    low_text, sep, high_text = text.partition("..")
    try:
        if not sep:
            raise ValueError
        low, high = (parse_scalar(part.strip(), source=source)
                     for part in (low_text, high_text))
        if any(isinstance(v, bool) or not isinstance(v, (int, float))
               or not math.isfinite(v) for v in (low, high)):
            raise ValueError
    except (ValueError, ScenarioError):
        raise SimulatorError(f"{source}: found {text!r}; write a range as lo..hi "
                             "with two finite numbers, e.g. 1..64") from None
    if low > high:
        raise SimulatorError(f"{source}: found {text!r}; lo must be <= hi")
    return low, high


def sweep_points(spec: SweepSpec, base: BaseScenario | None = None
                 ) -> tuple[list[Point], list[str]]:
    """Every point x replication of a sweep, and the parameter names."""
    base = base or read_base(spec.scenario)
    combos = grid_combinations(spec.grid)
    if spec.random:
        draws = random_draws(spec.ranges, spec.random, _seed(spec, base))
        combos = [{**grid, **draw} for draw in draws for grid in combos]
    if len(combos) * spec.replications > MAX_POINTS:
        raise SimulatorError(f"sweep: {len(combos) * spec.replications:,} runs; at "
                             f"most {MAX_POINTS:,} (fewer values or replications)")
    params = [*spec.grid, *(spec.ranges if spec.random else {})]
    seeds = replication_seeds(_seed(spec, base), spec.replications)

    points = []
    for combo in combos:
        overrides = (*spec.overrides, *(f"{path}={json.dumps(value)}"
                                        for path, value in combo.items()))
        check_point(base, overrides, combo)
        label = ", ".join(f"{path}={value}" for path, value in combo.items())
        points += [Point(base, overrides, seed, index, combo, label)
                   for index, seed in enumerate(seeds)]
    return points, params


def grid_combinations(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """The product of the grid's values, first path varying slowest."""
    return [dict(zip(grid, values, strict=True))
            for values in itertools.product(*grid.values())]


def random_draws(ranges: dict[str, tuple[float, float]], count: int, seed: int
                 ) -> list[dict[str, Any]]:
    """`count` uniform draws from the ranges, from the stream `sweep/random`."""
    if not ranges:
        raise SimulatorError("--random: give the ranges to draw from with "
                             "--range path=lo..hi")
    generator = Streams(seed).generator("sweep/random")
    draws = []
    for _ in range(count):
        draw: dict[str, Any] = {}
        for path, (low, high) in ranges.items():
            if isinstance(low, int) and isinstance(high, int):
                draw[path] = int(generator.integers(low, high, endpoint=True))
            else:
                draw[path] = float(generator.uniform(low, high))
        draws.append(draw)
    return draws


def check_point(base: BaseScenario, overrides: tuple[str, ...],
                params: dict[str, Any]) -> None:
    """Validate one point's scenario, naming the point in every problem line."""
    try:
        build_scenario(base, overrides)
    except ScenarioError as exc:
        where = ", ".join(f"{k}={v}" for k, v in params.items()) or "base scenario"
        raise ScenarioError([f"point {where}: {line}"
                             for line in str(exc).splitlines()]) from None


@dataclass(frozen=True)
class SweepPlan:
    """A checked sweep: its points, parameter names and target (if any)."""

    points: list[Point]
    params: list[str]
    target: Any = None


def plan_sweep(spec: SweepSpec) -> SweepPlan:
    """Check every point and the target up front; nothing runs or is written.

    Raises:
        SimulatorError: a point's scenario is invalid, or the target is not
            `metric<=value` on a figure the scenario's runs produce.
    """
    points, params = sweep_points(spec)
    target = None
    if spec.target is not None:
        from simulator.experiment.headline import check_metric
        from simulator.experiment.sizing import parse_target

        target = parse_target(spec.target)
        first = build_scenario(points[0].base, points[0].overrides)
        target = dataclasses.replace(
            target, metric=check_metric(target.metric, first, "--target"))
    return SweepPlan(points, params, target)


def run_sweep(spec: SweepSpec, workers: int | None = None, dask: Any = None,
              out_dir: Path | None = None, progress: Progress | None = None,
              plan: SweepPlan | None = None) -> SweepResult:
    """Run (or finish) a sweep; with `out_dir`, finished points are kept there."""
    plan = plan or plan_sweep(spec)
    params, target = plan.params, plan.target
    store = PointStore(out_dir) if out_dir is not None else None
    records, stats = run_points(plan.points, workers, dask, store, progress)
    table = results_table(records, params)
    metrics = list(HEADLINE)
    if target is not None:
        if target.metric not in table:  # a bill line no run had
            raise SimulatorError(f"target: no metric {target.metric!r} in the results")
        metrics += [target.metric] if target.metric not in metrics else []
    summary = interval_table(table, ["label", *params], metrics, spec.confidence)
    if target is not None:
        summary["meets_target"] = [
            target.met_by(row[f"{target.metric}_mean"],
                          row[f"{target.metric}_half_width"])
            for _, row in summary.iterrows()]
    return SweepResult(table, summary, params, stats, spec)


def _seed(spec: SweepSpec, base: BaseScenario) -> int:
    if spec.seed is not None:
        return spec.seed
    seed = base.data.get("seed", 0)
    return seed if isinstance(seed, int) and seed >= 0 else 0


def _split(item: str, option: str, form: str) -> tuple[str, str]:
    path, sep, text = item.partition("=")
    if not sep or not path.strip() or not text.strip():
        raise SimulatorError(f"{option} {item!r}: expected {form}")
    return path.strip(), text
