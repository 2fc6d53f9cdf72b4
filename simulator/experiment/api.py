"""The experiment layer for notebooks: replicate, compare, sweep, size, sensitivity.

Each function takes scenario files and plain options, runs on local
processes (or `workers=1` in this process, or `dask=` a cluster), and returns
an object whose tables are pandas DataFrames (`result.table` has one row per
run). Pass `out=` a folder to keep finished runs there and resume later.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from simulator.experiment.compare import (
    Comparison,
    Variant,
    check_variants,
    parse_variant,
    variants_from_files,
)
from simulator.experiment.compare import run_compare as _run_compare
from simulator.experiment.executors import Progress, RunStats, run_points
from simulator.experiment.headline import HEADLINE
from simulator.experiment.points import Point, read_base, replication_seeds
from simulator.experiment.sensitivity import Sensitivity, run_sensitivity
from simulator.experiment.sizing import (
    Dimension,
    SizingResult,
    Target,
    parse_dimension,
    parse_target,
    run_sizing,
)
from simulator.experiment.stats import mean_interval
from simulator.experiment.store import PointStore
from simulator.experiment.sweep import (
    SweepResult,
    SweepSpec,
    check_point,
    parse_grid,
    parse_ranges,
    run_sweep,
)
from simulator.experiment.tables import measured_metrics, results_table


@dataclass
class Replications:
    """Independent replications of one scenario: the runs and their intervals."""

    table: pd.DataFrame
    summary: pd.DataFrame
    stats: RunStats
    confidence: float


def replicate(scenario: str | Path, replications: int = 5,
              overrides: list[str] | tuple[str, ...] = (), seed: int | None = None,
              confidence: float = 0.95, workers: int | None = None,
              dask: Any = None, out: str | Path | None = None,
              progress: Progress | None = None) -> Replications:
    """Run a scenario on `replications` seeds derived from its seed by name."""
    base = read_base(scenario)
    check_point(base, tuple(overrides), {})
    base_seed = seed if seed is not None else int(base.data.get("seed", 0) or 0)
    points = [Point(base, tuple(overrides), s, i, {}, base.name)
              for i, s in enumerate(replication_seeds(base_seed, replications))]
    store = PointStore(out) if out is not None else None
    records, stats = run_points(points, workers, dask, store, progress)
    table = results_table(records, [])
    rows = []
    ok = table[table["error"] == ""]
    for metric in [*measured_metrics(table, HEADLINE),
                   *[c for c in table.columns[len(HEADLINE) + 4:]
                     if c not in HEADLINE]]:
        interval = mean_interval(ok[metric].to_numpy(), confidence)
        rows.append({"metric": metric, "mean": interval.mean,
                     "half_width": interval.half_width, "low": interval.low,
                     "high": interval.high, "replications": interval.num_samples})
    return Replications(table, pd.DataFrame(rows), stats, confidence)


def compare(*scenarios: str | Path, variants: list[str] | None = None,
            replications: int = 5, overrides: list[str] | tuple[str, ...] = (),
            seed: int | None = None, confidence: float = 0.95,
            independent: bool = False, check_crn: bool = False,
            workers: int | None = None, dask: Any = None,
            out: str | Path | None = None, progress: Progress | None = None
            ) -> Comparison:
    """Compare scenario files, or one file and its `name:path=value` variants."""
    chosen = compare_variants(scenarios, variants, overrides)
    return _run_compare(chosen, replications, seed, confidence, workers, dask,
                        independent, check_crn, _path(out), progress)


def compare_variants(scenarios: tuple[str | Path, ...] | list[str | Path],
                     variants: list[str] | None = None,
                     overrides: list[str] | tuple[str, ...] = ()) -> list[Variant]:
    """The sides of a comparison, each checked as a valid scenario; nothing runs."""
    chosen: list[Variant] = variants_from_files([Path(s) for s in scenarios],
                                                tuple(overrides))
    for text in variants or []:
        if not chosen:
            break  # check_variants says what is missing
        variant = parse_variant(text, chosen[0].base)
        chosen.append(Variant(variant.name, variant.base,
                              (*overrides, *variant.overrides)))
    check_variants(chosen)
    return chosen


def sweep(scenario: str | Path, grid: dict[str, list] | list[str] | None = None,
          ranges: dict[str, tuple[float, float]] | list[str] | None = None,
          random: int = 0, replications: int = 1,
          overrides: list[str] | tuple[str, ...] = (), seed: int | None = None,
          confidence: float = 0.95, workers: int | None = None, dask: Any = None,
          out: str | Path | None = None, progress: Progress | None = None
          ) -> SweepResult:
    """Run every grid point (and `random` draws from `ranges`) R times."""
    grid = parse_grid(grid) if isinstance(grid, list) else dict(grid or {})
    ranges = parse_ranges(ranges) if isinstance(ranges, list) else dict(ranges or {})
    spec = SweepSpec(Path(scenario), grid, ranges, random, replications,
                     tuple(overrides), seed, confidence)
    return run_sweep(spec, workers, dask, _path(out), progress)


def size(scenario: str | Path, target: str | Target,
         vary: list[str] | list[Dimension], replications: int = 5,
         confidence: float = 0.95, cost_metric: str = "monthly_bill_usd",
         overrides: list[str] | tuple[str, ...] = (), seed: int | None = None,
         workers: int | None = None, dask: Any = None,
         out: str | Path | None = None, progress: Progress | None = None
         ) -> SizingResult:
    """The cheapest configuration meeting `target`, e.g. "p95_task_latency_s<=30"."""
    target = parse_target(target) if isinstance(target, str) else target
    dimensions = [parse_dimension(v) if isinstance(v, str) else v for v in vary]
    return run_sizing(Path(scenario), target, dimensions, replications, confidence,
                      cost_metric, tuple(overrides), seed, workers, dask, _path(out),
                      progress)


def sensitivity(scenario: str | Path, params: list[str] | None = None,
                delta: float = 0.25, metrics: list[str] | None = None,
                replications: int = 3, overrides: list[str] | tuple[str, ...] = (),
                seed: int | None = None, confidence: float = 0.95,
                workers: int | None = None, dask: Any = None,
                out: str | Path | None = None, progress: Progress | None = None
                ) -> Sensitivity:
    """Move each uncertain input low and high; rank the swings (tornado)."""
    return run_sensitivity(Path(scenario), params, delta, metrics, replications,
                           tuple(overrides), seed, confidence, workers, dask,
                           _path(out), progress)


def _path(value: str | Path | None) -> Path | None:
    return None if value is None else Path(value)
