"""Sizing: the cheapest configuration whose metric meets a target, with confidence.

A target is `metric<=value` (or <, >=, >) on any figure of the results
table (`p95_task_latency_s`, `mean_tool_wait_s`, `tools.NAME.mean_wait_s`,
...). A configuration meets it when the far end of the metric's t-interval
over replications does: the upper bound for <= and <, the lower bound for
>= and >. The last `--vary` dimension is searched by bisection (the metric
is assumed to improve as the value grows); earlier dimensions are enumerated,
their searches run in lockstep, so each round's points run in parallel.
Cost is the mean of `cost_metric` (default the monthly bill); the answer is
the cheapest configuration that meets the target.
Limitations: bisection trusts monotonicity: a metric that is not monotone in
the searched value (or an unlucky replication set) can skip a smaller value
that would pass; along the searched dimension the smallest passing value is
taken as the cheapest, so a cost that falls as the value grows (owned
replicas replacing rented spill-over) is compared only across enumerated
dimensions; a run whose metric has no value (an unstable pool) fails.
"""

from __future__ import annotations

import itertools
import json
import math
import operator
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from simulator.errors import SimulatorError
from simulator.experiment.executors import Progress, RunStats, run_points
from simulator.experiment.headline import check_metric, metric_name
from simulator.experiment.points import (
    Point,
    build_scenario,
    read_base,
    replication_seeds,
)
from simulator.experiment.stats import mean_interval
from simulator.experiment.store import PointStore
from simulator.experiment.sweep import check_point, parse_bounds
from simulator.experiment.tables import results_table
from simulator.scenario.yamlio import parse_scalar

OPERATORS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}
MAX_COMBINATIONS = 256
MAX_VALUES = 100_000
_TARGET = re.compile(r"^\s*([A-Za-z_][\w.\-]*)\s*(<=|>=|<|>)\s*(\S+)\s*$")


@dataclass(frozen=True)
class Target:
    """A bound a metric must meet."""

    metric: str
    op: str
    value: float

    def met_by(self, mean: float, half_width: float) -> bool:
        """Whether the interval's far end (the mean, with one run) meets it."""
        if not math.isfinite(mean):
            return False
        spread = half_width if math.isfinite(half_width) else 0.0
        edge = mean + spread if self.op in ("<=", "<") else mean - spread
        return OPERATORS[self.op](edge, self.value)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"


@dataclass(frozen=True)
class Dimension:
    """A scenario field searched over whole-number values, in ascending order."""

    path: str
    values: tuple[int, ...]


@dataclass
class SizingResult:
    """Every configuration evaluated, and the cheapest that met the target."""

    table: pd.DataFrame
    evaluated: pd.DataFrame
    best: dict[str, Any] | None
    target: Target
    cost_metric: str
    dimensions: list[Dimension]
    stats: RunStats
    confidence: float
    replications: int
    notes: list[str] = field(default_factory=list)


def parse_target(text: str) -> Target:
    """`metric<=value` (also <, >=, >) as a Target."""
    match = _TARGET.match(text)
    number = None
    if match:
        try:
            number = float(match.group(3))
        except ValueError:
            number = None
    if match is None or number is None or not math.isfinite(number):
        raise SimulatorError(f"--target: found {text!r}; write metric<=value "
                             "(or <, >=, >), e.g. p95_task_latency_s<=30")
    return Target(metric_name(match.group(1)), match.group(2), number)


def parse_dimension(text: str) -> Dimension:
    """`path=lo..hi` or `path=v1,v2,...` (whole numbers) as a Dimension."""
    path, sep, spec = text.partition("=")
    if not sep or not path.strip() or not spec.strip():
        raise SimulatorError(f"--vary {text!r}: expected path=lo..hi or "
                             "path=v1,v2,..., e.g. backends.owned.replicas=1..16")
    source = f"--vary {text!r}"
    if ".." in spec:
        low, high = parse_bounds(spec, source)
        if low != int(low) or high != int(high) or high - low >= MAX_VALUES:
            raise SimulatorError(f"{source}: a range needs whole-number ends at most "
                                 f"{MAX_VALUES:,} apart")
        values = tuple(range(int(low), int(high) + 1))
    else:
        parsed = [parse_scalar(part.strip(), source=source) for part in spec.split(",")]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in parsed):
            raise SimulatorError(f"{source}: found {spec!r}; values must be whole "
                                 "numbers")
        values = tuple(sorted(set(parsed)))
    return Dimension(path.strip(), values)


def run_sizing(scenario: Path, target: Target, dimensions: list[Dimension],
               replications: int = 5, confidence: float = 0.95,
               cost_metric: str = "monthly_bill_usd",
               overrides: tuple[str, ...] = (), seed: int | None = None,
               workers: int | None = None, dask: Any = None,
               out_dir: Path | None = None, progress: Progress | None = None
               ) -> SizingResult:
    """Bisect the last dimension for every combination of the others."""
    target, cost_metric = check_sizing(scenario, target, dimensions, cost_metric,
                                       overrides)
    base = read_base(scenario)
    base_seed = seed if seed is not None else int(base.data.get("seed", 0) or 0)
    seeds = replication_seeds(base_seed, replications)
    outer = list(itertools.product(*(d.values for d in dimensions[:-1])))
    searched = dimensions[-1]
    store = PointStore(out_dir) if out_dir is not None else None
    state = {combo: [0, len(searched.values) - 1, None] for combo in outer}
    results: dict[tuple, dict] = {}
    records: list[dict] = []
    ran = reused = 0

    # Probe the top of each range first; then halve each open interval per round.
    probes = {combo: len(searched.values) - 1 for combo in outer}
    while probes:
        points = []
        for combo, index in probes.items():
            params = _params(dimensions, combo, searched.values[index])
            overrides_now = (*overrides, *(f"{p}={json.dumps(v)}"
                                           for p, v in params.items()))
            check_point(base, overrides_now, params)
            label = ", ".join(f"{p}={v}" for p, v in params.items())
            points += [Point(base, overrides_now, s, i, params, label)
                       for i, s in enumerate(seeds)]
        found, stats = run_points(points, workers, dask, store, progress)
        ran, reused = ran + stats.ran, reused + stats.reused
        records += found
        probes = _next_probes(probes, state, found, searched, target, cost_metric,
                              confidence, results, len(seeds))

    table = results_table(records, [d.path for d in dimensions])
    evaluated = pd.DataFrame(list(results.values()))
    feasible = [row for row in results.values() if row["meets_target"]]
    best = min(feasible, key=lambda row: (row["cost_mean"], row["order"]),
               default=None)
    notes = [] if best else [f"no configuration met {target} within the ranges"]
    return SizingResult(table, evaluated, best, target, cost_metric, dimensions,
                        RunStats(ran, reused), confidence, replications, notes)


def check_sizing(scenario: Path, target: Target, dimensions: list[Dimension],
                 cost_metric: str = "monthly_bill_usd",
                 overrides: tuple[str, ...] = ()) -> tuple[Target, str]:
    """Check a search before anything runs: every corner of the dimensions
    builds a valid scenario, and the target and cost name figures its runs
    produce. Returns the target and the cost with their names resolved.

    Raises:
        SimulatorError: naming the option, the value found and what is allowed.
    """
    if not dimensions:
        raise SimulatorError("size: give at least one --vary path=lo..hi")
    outer = math.prod(len(d.values) for d in dimensions[:-1])
    if outer > MAX_COMBINATIONS:
        raise SimulatorError(f"--vary: {outer:,} combinations of the dimensions "
                             f"before the last; at most {MAX_COMBINATIONS}")
    base = read_base(scenario)
    corners = itertools.product(*(sorted({d.values[0], d.values[-1]})
                                  for d in dimensions))
    for corner in corners:
        params = dict(zip((d.path for d in dimensions), corner, strict=True))
        check_point(base, (*overrides, *(f"{p}={json.dumps(v)}"
                                         for p, v in params.items())), params)
    first = build_scenario(base, (*overrides, *(
        f"{d.path}={json.dumps(d.values[-1])}" for d in dimensions)))
    cost_metric = check_metric(cost_metric, first, "--cost")
    return Target(check_metric(target.metric, first, "--target"), target.op,
                  target.value), cost_metric


def _next_probes(probes: dict, state: dict, found: list[dict], searched: Dimension,
                 target: Target, cost_metric: str, confidence: float,
                 results: dict, per_point: int) -> dict:
    following = {}
    for position, (combo, index) in enumerate(probes.items()):
        chunk = found[position * per_point:(position + 1) * per_point]
        row = _evaluate(chunk, target, cost_metric, confidence)
        row["order"] = (combo, index)
        results[(combo, index)] = row
        low, high, best = state[combo]
        if row["meets_target"]:
            high, best = index, index
        elif best is None:  # the top of the range fails: nothing to find
            continue
        else:
            low = index + 1
        state[combo] = [low, high, best]
        if low < high:
            following[combo] = (low + high) // 2
    return following


def _evaluate(records: list[dict], target: Target, cost_metric: str,
              confidence: float) -> dict:
    params = records[0]["params"]
    good = [r for r in records if not r["error"]]
    if good and target.metric not in good[0]["figures"]:
        raise SimulatorError(f"--target: no metric {target.metric!r}; known: "
                             f"{', '.join(sorted(good[0]['figures']))}")
    metric = mean_interval([r["figures"][target.metric] for r in good], confidence)
    cost = mean_interval([r["figures"].get(cost_metric, math.nan) for r in good],
                         confidence)
    return {**params, "metric_mean": metric.mean,
            "metric_half_width": metric.half_width,
            "metric_bound": (metric.high if target.op in ("<=", "<") else metric.low),
            "cost_mean": cost.mean, "cost_half_width": cost.half_width,
            "replications": len(good), "errors": len(records) - len(good),
            "meets_target": bool(good) and len(good) == len(records)
            and target.met_by(metric.mean, metric.half_width)}


def _params(dimensions: list[Dimension], combo: tuple, value: int) -> dict[str, int]:
    names = [d.path for d in dimensions]
    return dict(zip(names, (*combo, value), strict=True))
