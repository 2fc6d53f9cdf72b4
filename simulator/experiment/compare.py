"""Compare scenarios, or variants of one, on common random numbers.

Every scenario runs the same replication seeds, so the same tasks arrive and
draw the same plans wherever the scenarios share structure (streams are keyed
by name, see simulator/rng.py). Each figure's difference to the baseline (the
first scenario) is taken replication by replication and reported as a mean
with a paired t-interval; the paired interval is narrower than one from
independent seeds because the shared noise cancels. With `independent=True`
each scenario gets its own seeds and differences use Welch's interval.
Limitations: common random numbers help only where the scenarios share
streams; task types or workflows that differ draw differently.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulator.errors import SimulatorError
from simulator.experiment.executors import Progress, RunStats, run_points
from simulator.experiment.headline import HEADLINE
from simulator.experiment.points import (
    BaseScenario,
    Point,
    read_base,
    replication_seeds,
)
from simulator.experiment.stats import mean_interval, unpaired_interval
from simulator.experiment.store import PointStore
from simulator.experiment.sweep import check_point
from simulator.experiment.tables import results_table

CRN_CHECK_METRICS = ("monthly_bill_usd", "usd_per_task", "p95_task_latency_s")
_NEXT_SETTING = re.compile(r",(?=\s*[A-Za-z_][\w.\-]*\s*=)")


@dataclass(frozen=True)
class Variant:
    """One side of a comparison: a scenario and the overrides that make it."""

    name: str
    base: BaseScenario
    overrides: tuple[str, ...] = ()


@dataclass
class Comparison:
    """A finished comparison: per-replication table, side by side, differences."""

    table: pd.DataFrame
    side_by_side: pd.DataFrame
    differences: pd.DataFrame
    crn_check: pd.DataFrame | None
    stats: RunStats
    names: list[str]
    replications: int
    confidence: float
    independent: bool


def parse_variant(text: str, base: BaseScenario) -> Variant:
    """`name:path=value[,path=value]` as a Variant of `base`."""
    name, sep, settings = text.partition(":")
    name = name.strip()
    if not sep or not name or not settings.strip():
        raise SimulatorError(f"--variant {text!r}: expected name:path=value"
                             "[,path=value], e.g. small:task_types.chat.route."
                             "default=small-api")
    overrides = tuple(part.strip() for part in _NEXT_SETTING.split(settings))
    return Variant(name, base, overrides)


def variants_from_files(paths: list[Path], overrides: tuple[str, ...] = ()
                        ) -> list[Variant]:
    """One variant per scenario file, named by file stem (made unique)."""
    variants, seen = [], set()
    for path in paths:
        base = read_base(path)
        name = Path(path).stem
        while name in seen:
            name += "'"
        seen.add(name)
        variants.append(Variant(name, base, overrides))
    return variants


def run_compare(variants: list[Variant], replications: int = 5,
                seed: int | None = None, confidence: float = 0.95,
                workers: int | None = None, dask: Any = None,
                independent: bool = False, check_crn: bool = False,
                out_dir: Path | None = None, progress: Progress | None = None
                ) -> Comparison:
    """Run every variant on the same seeds (or independent ones) and compare."""
    check_variants(variants)
    base_seed = seed if seed is not None else _scenario_seed(variants[0].base)
    common = _points(variants, base_seed, replications, independent=independent)
    extra = (_points(variants, base_seed, replications, independent=True)
             if check_crn and not independent else [])
    store = PointStore(out_dir) if out_dir is not None else None
    records, stats = run_points(common + extra, workers, dask, store, progress)

    table = results_table(records[:len(common)], ["variant"])
    names = [v.name for v in variants]
    metrics = _metric_order(table)
    crn = None
    if extra:
        crn = crn_table(table, results_table(records[len(common):], ["variant"]),
                        names, confidence)
    return Comparison(table, side_by_side(table, names, metrics, confidence),
                      differences(table, names, metrics, confidence, independent),
                      crn, stats, names, replications, confidence, independent)


def check_variants(variants: list[Variant]) -> None:
    """Two or more variants, named apart, each a valid scenario; nothing runs.

    Raises:
        SimulatorError: the first problem found, naming the variant.
    """
    if len(variants) < 2:
        raise SimulatorError("compare: give at least two scenarios, or one and a "
                             "--variant")
    if len({v.name for v in variants}) < len(variants):
        raise SimulatorError("--variant: each variant needs its own name; found "
                             f"{[v.name for v in variants]}")
    for variant in variants:
        check_point(variant.base, variant.overrides, {"variant": variant.name})


def side_by_side(table: pd.DataFrame, names: list[str], metrics: list[str],
                 confidence: float) -> pd.DataFrame:
    """Per metric, each variant's mean and half-width."""
    rows = []
    for metric in metrics:
        row: dict[str, Any] = {"metric": metric}
        for name in names:
            interval = mean_interval(_values(table, name, metric), confidence)
            row[f"{name}_mean"] = interval.mean
            row[f"{name}_half_width"] = interval.half_width
        rows.append(row)
    return pd.DataFrame(rows)


def differences(table: pd.DataFrame, names: list[str], metrics: list[str],
                confidence: float, independent: bool = False) -> pd.DataFrame:
    """Each variant minus the baseline (first), per metric, with its interval."""
    rows = []
    for name in names[1:]:
        for metric in metrics:
            before = _values(table, names[0], metric)
            after = _values(table, name, metric)
            interval = (unpaired_interval(before, after, confidence) if independent
                        else mean_interval(after - before, confidence))
            base = mean_interval(before, confidence).mean
            rows.append({"variant": name, "baseline": names[0], "metric": metric,
                         "difference_mean": interval.mean,
                         "half_width": interval.half_width,
                         "low": interval.low, "high": interval.high,
                         "relative_frac": (interval.mean / base if base else math.nan),
                         "paired": not independent})
    return pd.DataFrame(rows)


def crn_table(common: pd.DataFrame, independent: pd.DataFrame, names: list[str],
              confidence: float) -> pd.DataFrame:
    """Interval half-widths of differences: common seeds against independent."""
    paired = differences(common, names, list(CRN_CHECK_METRICS), confidence)
    welch = differences(independent, names, list(CRN_CHECK_METRICS), confidence,
                        independent=True)
    frame = paired[["variant", "metric", "difference_mean", "half_width"]].rename(
        columns={"difference_mean": "crn_difference",
                 "half_width": "crn_half_width"})
    frame["independent_difference"] = welch["difference_mean"].to_numpy()
    frame["independent_half_width"] = welch["half_width"].to_numpy()
    frame["width_ratio"] = frame["crn_half_width"] / frame["independent_half_width"]
    return frame


def _points(variants: list[Variant], base_seed: int, replications: int,
            independent: bool) -> list[Point]:
    count = replications * (len(variants) if independent else 1)
    seeds = replication_seeds(base_seed, count)
    points = []
    for position, variant in enumerate(variants):
        mine = (seeds[position * replications:(position + 1) * replications]
                if independent else seeds)
        points += [Point(variant.base, variant.overrides, seed, index,
                         {"variant": variant.name}, variant.name)
                   for index, seed in enumerate(mine)]
    return points


def _values(table: pd.DataFrame, name: str, metric: str) -> np.ndarray:
    rows = table[table["variant"] == name].sort_values("replication")
    values = rows[metric].to_numpy(dtype=float).copy()
    values[(rows["error"] != "").to_numpy()] = math.nan
    return values


def _metric_order(table: pd.DataFrame) -> list[str]:
    details = [c for c in table.columns[table.columns.get_loc(HEADLINE[-1]) + 1:]]
    return [*HEADLINE, *details]


def _scenario_seed(base: BaseScenario) -> int:
    seed = base.data.get("seed", 0)
    return seed if isinstance(seed, int) and seed >= 0 else 0
