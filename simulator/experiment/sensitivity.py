"""One-at-a-time sensitivity: which uncertain inputs move the bill and the p95.

Each input is moved to a low and a high value while every other input stays
at its base value; every run uses the same replication seeds, so the swing
of a figure is the input's effect, not noise. Inputs are found in the
scenario: arrival volume, each loop's iteration count, each self-check's
fault_prob, each task type's tokens per step (all token distributions of the
type scaled together), API token prices, rented GPU-hour prices and owned
GPU capex; each is scaled by 1 - delta and 1 + delta (default 25%).
`--param path` adds a field scaled the same way, `--param path=lo..hi` gives
explicit low and high values (and replaces an input found on that path).
Limitations: one input at a time, so interactions are not seen; scaled
distributions keep their shape (every parameter scaled alike); a probability
is clipped to [0, 1].
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from simulator.catalogue import GPU_TYPES
from simulator.errors import SimulatorError
from simulator.experiment.executors import Progress, RunStats, run_points
from simulator.experiment.headline import check_metric
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
from simulator.scenario.load import apply_overrides

DEFAULT_METRICS = ("monthly_bill_usd", "p95_task_latency_s")
TOKEN_FIELDS = ("input_tokens", "output_tokens", "reasoning_tokens", "result_tokens")
DIST_SCALED = ("value", "values", "low", "high", "mean", "median", "p90")
BASE_NAME = "base"


@dataclass(frozen=True)
class Input:
    """An uncertain input: the overrides of its low and of its high value."""

    name: str
    low: tuple[str, ...]
    high: tuple[str, ...]
    low_label: str
    high_label: str


@dataclass
class Sensitivity:
    """Swings of each metric by input, largest first, and the runs behind them."""

    table: pd.DataFrame
    swings: pd.DataFrame
    inputs: list[Input]
    metrics: list[str]
    stats: RunStats


def find_inputs(data: dict[str, Any], delta: float) -> list[Input]:
    """The uncertain inputs of a scenario mapping, each moved by +-delta."""
    factors = (1 - delta, 1 + delta)
    inputs = _arrival_inputs(data.get("arrivals") or {}, factors)
    for name, spec in (data.get("task_types") or {}).items():
        prefix = f"task_types.{name}"
        inputs += _workflow_inputs(spec.get("workflow") or [], f"{prefix}.workflow",
                                   name, factors)
        tokens = _token_paths(spec, prefix)
        if tokens:
            inputs.append(_scaled(f"{name}: tokens per step", tokens, factors))
    for name, spec in (data.get("backends") or {}).items():
        inputs += _price_inputs(name, spec, factors)
    return inputs


def parse_param(text: str, data: dict[str, Any], delta: float) -> Input:
    """`path` (scaled by +-delta) or `path=lo..hi` (explicit) as an Input."""
    path, sep, spec = text.partition("=")
    path = path.strip()
    if sep:
        low, high = parse_bounds(spec, f"--param {text!r}")
        return Input(path, (f"{path}={json.dumps(low)}",),
                     (f"{path}={json.dumps(high)}",), f"{low:g}", f"{high:g}")
    value = _lookup(data, path.split("."))
    if value is None:
        raise SimulatorError(f"--param {text!r}: the scenario has no value at {path}; "
                             "give explicit bounds as path=lo..hi")
    return _scaled(path, [(path, value)], (1 - delta, 1 + delta))


def run_sensitivity(scenario: Path, params: list[str] | None = None,
                    delta: float = 0.25, metrics: list[str] | None = None,
                    replications: int = 3, overrides: tuple[str, ...] = (),
                    seed: int | None = None, confidence: float = 0.95,
                    workers: int | None = None, dask: Any = None,
                    out_dir: Path | None = None, progress: Progress | None = None
                    ) -> Sensitivity:
    """Run the base and each input low and high, and rank the swings."""
    inputs, points, chosen = plan_sensitivity(scenario, params, delta, metrics,
                                              replications, overrides, seed)
    store = PointStore(out_dir) if out_dir is not None else None
    records, stats = run_points(points, workers, dask, store, progress)
    table = results_table(records, ["input", "side"])
    for name in chosen:
        if name not in table:  # a bill line no run had
            raise SimulatorError(f"--metric: no metric {name!r} in the results")
    return Sensitivity(table, swings(table, inputs, chosen, confidence), inputs,
                       chosen, stats)


def plan_sensitivity(scenario: Path, params: list[str] | None = None,
                     delta: float = 0.25, metrics: list[str] | None = None,
                     replications: int = 3, overrides: tuple[str, ...] = (),
                     seed: int | None = None
                     ) -> tuple[list[Input], list[Point], list[str]]:
    """The inputs, every point and the metric names, all checked; nothing runs.

    Raises:
        SimulatorError: a bad --delta, --param or --metric, or a point whose
            scenario is invalid.
    """
    if not 0 < delta < 1:
        raise SimulatorError(f"--delta: found {delta}; allowed: between 0 and 1")
    base = read_base(scenario)
    data = apply_overrides(base.data, list(overrides))
    inputs = {i.name: i for i in find_inputs(data, delta)}
    for text in params or []:
        extra = parse_param(text, data, delta)
        inputs = {n: i for n, i in inputs.items() if extra.low[0].split("=")[0]
                  not in [o.split("=")[0] for o in i.low]}
        inputs[extra.name] = extra
    if not inputs:
        raise SimulatorError(f"{scenario}: no uncertain inputs found; add them with "
                             "--param path or --param path=lo..hi")

    base_seed = seed if seed is not None else int(data.get("seed", 0) or 0)
    seeds = replication_seeds(base_seed, replications)
    runs = [(BASE_NAME, "base", ())]
    for item in inputs.values():
        runs += [(item.name, "low", item.low), (item.name, "high", item.high)]
    points = []
    for name, side, extra in runs:
        labels = {"input": name, "side": side}
        check_point(base, (*overrides, *extra), labels)
        points += [Point(base, (*overrides, *extra), s, i, labels, f"{name} {side}")
                   for i, s in enumerate(seeds)]
    at_base = build_scenario(base, overrides)
    chosen = [check_metric(m, at_base, "--metric")
              for m in (metrics or DEFAULT_METRICS)]
    return list(inputs.values()), points, chosen


def swings(table: pd.DataFrame, inputs: list[Input], metrics: list[str],
           confidence: float) -> pd.DataFrame:
    """Per metric and input: base, low and high means, swing; largest first."""
    ok = table[table["error"] == ""]

    def mean(name: str, side: str, metric: str) -> float:
        """Mean of `metric` over one input's runs on one side (low/base/high)."""
        rows = ok[(ok["input"] == name) & (ok["side"] == side)]
        return mean_interval(rows[metric].to_numpy(), confidence).mean

    rows = []
    for metric in metrics:
        base = mean(BASE_NAME, "base", metric)
        for item in inputs:
            low, high = mean(item.name, "low", metric), mean(item.name, "high", metric)
            rows.append({"metric": metric, "input": item.name,
                         "low_value": item.low_label, "high_value": item.high_label,
                         "base": base, "at_low": low, "at_high": high,
                         "swing": abs(high - low) if math.isfinite(high - low)
                         else math.nan})
    frame = pd.DataFrame(rows)
    frame["rank"] = frame.groupby("metric")["swing"].rank(ascending=False,
                                                          method="first")
    return frame.sort_values(["metric", "rank"], kind="stable").reset_index(drop=True)


def _arrival_inputs(arrivals: dict, factors: tuple[float, float]) -> list[Input]:
    for key in ("rate_per_s", "tasks_per_day", "num_users", "rate_multiplier"):
        if key in arrivals:
            return [_scaled("arrival volume", [(f"arrivals.{key}", arrivals[key])],
                            factors, whole=key == "num_users")]
    if arrivals.get("kind") == "trace":
        return [_scaled("arrival volume", [("arrivals.rate_multiplier", 1.0)],
                        factors)]
    return []


def _workflow_inputs(nodes: list, prefix: str, task: str,
                     factors: tuple[float, float]) -> list[Input]:
    found = []
    for index, node in enumerate(nodes):
        path = f"{prefix}.{index}"
        if isinstance(node, dict) and "loop" in node:
            loop = node["loop"]
            where = path.split(".", 2)[-1]
            found.append(_scaled(f"{task}: loop iterations at {where}",
                                 [(f"{path}.loop.iterations", loop.get("iterations"))],
                                 factors))
            found += _workflow_inputs(loop.get("steps") or [], f"{path}.loop.steps",
                                      task, factors)
        elif isinstance(node, dict) and node.get("fault_prob"):
            where = node.get("name") or path.split(".", 2)[-1]
            found.append(_scaled(f"{task}: fault_prob of {where}",
                                 [(f"{path}.fault_prob", node["fault_prob"])],
                                 factors, probability=True))
    return found


def _token_paths(spec: dict, prefix: str) -> list[tuple[str, Any]]:
    paths = []
    if spec.get("user_input_tokens"):
        paths.append((f"{prefix}.user_input_tokens", spec["user_input_tokens"]))

    def walk(nodes: list, at: str) -> None:
        """Collect the token fields of every step, loops included."""
        for index, node in enumerate(nodes):
            if isinstance(node, dict) and "loop" in node:
                walk(node["loop"].get("steps") or [], f"{at}.{index}.loop.steps")
            elif isinstance(node, dict):
                paths.extend((f"{at}.{index}.{key}", node[key]) for key in TOKEN_FIELDS
                             if node.get(key))

    walk(spec.get("workflow") or [], f"{prefix}.workflow")
    return paths


def _price_inputs(name: str, spec: dict, factors: tuple[float, float]) -> list[Input]:
    kind = spec.get("kind")
    if kind == "api" and isinstance(spec.get("prices"), dict):
        return [_scaled(f"{name}: token prices", [(f"backends.{name}.prices",
                                                   spec["prices"])], factors)]
    gpu = GPU_TYPES.get(str(spec.get("gpu")))
    if kind == "cloud_gpu" and gpu is not None:
        cloud = spec.get("cloud") or {}
        price = cloud.get("usd_per_gpu_hour") or float(
            gpu.price(cloud.get("pricing", "on_demand")))
        return [_scaled(f"{name}: USD per GPU-hour",
                        [(f"backends.{name}.cloud.usd_per_gpu_hour", price)], factors)]
    if kind == "on_prem" and gpu is not None:
        capex = (spec.get("costs") or {}).get("capex_usd_per_gpu") or float(
            gpu.capex_usd_per_gpu)
        return [_scaled(f"{name}: capex per GPU",
                        [(f"backends.{name}.costs.capex_usd_per_gpu", capex)], factors)]
    return []


def _scaled(name: str, paths: list[tuple[str, Any]], factors: tuple[float, float],
            probability: bool = False, whole: bool = False) -> Input:
    sides = []
    for factor in factors:
        scaled = [(path, _scale(value, factor, probability, whole))
                  for path, value in paths]
        sides.append(tuple(f"{path}={json.dumps(value)}" for path, value in scaled))
    low, high = factors
    return Input(name, sides[0], sides[1], f"x{low:g}", f"x{high:g}")


def _scale(value: Any, factor: float, probability: bool = False,
           whole: bool = False) -> Any:
    """A number, distribution or price mapping with its magnitudes scaled."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        scaled = value * factor
        if probability:
            scaled = min(max(scaled, 0.0), 1.0)
        return int(round(scaled)) if whole else round(scaled, 9)
    if isinstance(value, dict):
        return {key: (_scale(item, factor) if key in DIST_SCALED or "usd" in key
                      or isinstance(item, dict) else item)
                for key, item in value.items()}
    if isinstance(value, list):
        return [_scale(item, factor) for item in value]
    return value


def _lookup(data: Any, keys: list[str]) -> Any:
    node = data
    for key in keys:
        if isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        elif isinstance(node, dict) and key in node:
            node = node[key]
        else:
            return None
    return node
