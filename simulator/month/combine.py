"""Month mode's arithmetic: one replication's windows combined into month
figures (ratio estimates, weighted percentiles, hour-weighted utilisation),
and replications into means with Student-t 95% intervals.

Limitations: the interval covers the windows' randomness, not the choice of
strata; a quiet hour's GPU busy fraction is the quiet window's scaled by the
hour's rate.
"""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np

from simulator.month.windows import HOUR_S, Window, WindowResult
from simulator.scenario.schema import ApiBackend, Scenario
from simulator.workload.arrivals import expected_arrivals_in_month

T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365,
         8: 2.306, 9: 2.262, 10: 2.228, 15: 2.131, 20: 2.086, 30: 2.042}
"""Student t 97.5% points by degrees of freedom (the smaller listed is used
between entries, which widens the interval slightly)."""


def month_of_replication(scenario: Scenario, results: list[WindowResult],
                          windows: list[Window], hour_rates: np.ndarray,
                          hour_lengths: np.ndarray) -> dict[str, float]:
    """One replication's estimate of every headline figure."""
    from simulator.economics.capacity import capacity_items

    names = list(scenario.task_types)
    by_stratum = {w.stratum: w for w in results}
    expected_horizon = float(np.sum(hour_rates * hour_lengths))
    month_factor = (expected_arrivals_in_month(scenario) / expected_horizon
                    if expected_horizon else 0.0)
    figures: dict[str, float] = {}
    zero = np.zeros(len(names))
    arrived = sum((w.weight * w.arrived for w in results), zero)
    completed = sum((w.weight * w.completed for w in results), zero)
    ended = sum((w.weight * (w.completed + w.failed) for w in results), zero)
    tokens = sum((w.weight * w.tokens for w in results), np.zeros((len(names), 5)))
    usage_by_type = [sum(w.weight * w.cost_pusd[t] for w in results) / 1e12
                     for t in range(len(names))]
    usage_total = sum(usage_by_type)
    figures["tasks_in_horizon"] = float(np.sum(arrived))
    figures["llm_calls_in_horizon"] = float(np.sum(tokens[:, 3]))
    figures["usage_usd_in_horizon"] = usage_total

    capacity = Decimal(0)
    for name, backend in scenario.backends.items():
        if isinstance(backend, ApiBackend):
            continue
        busy_h = 0.0
        for window in windows:
            result = by_stratum[window.stratum]
            frac = result.gpu_busy_frac.get(name, 0.0)
            busy_h += sum(min(1.0, frac * share) * hour_lengths[h]
                          for h, share in window.hours) / HOUR_S
        busy_frac = float(busy_h / (float(np.sum(hour_lengths)) / HOUR_S))
        figures[f"gpu_busy_frac.{name}"] = busy_frac
        figures[f"gpu_utilisation_frac.{name}"] = _hour_weighted(
            windows, by_stratum, hour_lengths,
            lambda r, n=name: r.gpu_utilisation.get(n, 0.0))
        for item in capacity_items(backend, busy_frac=busy_frac, period_s=0.0,
                                   month_hours=scenario.billing.hours(),
                                   whole_month=True):
            capacity += item[-1]
    figures["monthly_capacity_usd"] = float(capacity)
    figures["monthly_bill_usd"] = usage_total * month_factor + float(capacity)
    for index, name in enumerate(scenario.tools):
        if scenario.tools[name].concurrency is None:
            continue
        figures[f"tool_utilisation_frac.{name}"] = _hour_weighted(
            windows, by_stratum, hour_lengths,
            lambda r, i=index: r.tool_utilisation[i] or 0.0)
    all_latency, all_weight = [], []
    for t, name in enumerate(names):
        figures[f"task_types.{name}.tasks_in_horizon"] = float(arrived[t])
        figures[f"task_types.{name}.monthly_spend_usd"] = (usage_by_type[t]
                                                           * month_factor)
        figures[f"task_types.{name}.cost_per_task_usd"] = (
            usage_by_type[t] / ended[t] if ended[t] else math.nan)
        figures[f"task_types.{name}.completed_frac"] = (
            completed[t] / arrived[t] if arrived[t] else math.nan)
        values = np.concatenate([np.zeros(0)] + [w.latencies[t] for w in results])
        weights = np.concatenate([np.zeros(0)] + [
            np.full(len(w.latencies[t]), w.weight) for w in results])
        all_latency.append(values)
        all_weight.append(weights)
        _latency_figures(figures, f"task_types.{name}.", values, weights)
    _latency_figures(figures, "", np.concatenate(all_latency),
                     np.concatenate(all_weight))
    figures["usd_per_task"] = usage_total / float(np.sum(ended)) if np.sum(
        ended) else math.nan
    return figures


def _hour_weighted(windows: list[Window], by_stratum: dict, hour_lengths: np.ndarray,
                   value) -> float:
    """A utilisation averaged over every hour of the horizon."""
    total = 0.0
    for window in windows:
        measured = value(by_stratum[window.stratum])
        total += sum(min(1.0, measured * share) * hour_lengths[h]
                     for h, share in window.hours)
    return total / float(np.sum(hour_lengths))


def _latency_figures(figures: dict, prefix: str, values: np.ndarray,
                     weights: np.ndarray) -> None:
    if len(values) == 0:
        for key in ("mean", "p50", "p95", "p99"):
            figures[f"{prefix}latency_{key}_s"] = math.nan
        return
    figures[f"{prefix}latency_mean_s"] = float(np.average(values, weights=weights))
    for q in (0.5, 0.95, 0.99):
        figures[f"{prefix}latency_p{q * 100:g}_s"] = weighted_quantile(
            values, weights, q)


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The smallest value whose cumulative weight reaches q of the total."""
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    index = int(np.searchsorted(cumulative, q * cumulative[-1], side="left"))
    return float(values[order][min(index, len(values) - 1)])


def with_intervals(estimates: list[dict[str, float]]) -> dict[str, dict]:
    """Mean and Student-t 95% interval of each figure over the replications."""
    figures = {}
    n = len(estimates)
    for key in estimates[0]:
        values = np.array([e[key] for e in estimates], dtype=float)
        finite = values[np.isfinite(values)]
        if len(finite) == 0:
            figures[key] = {"mean": None, "ci95_low": None, "ci95_high": None,
                            "replications": [None] * n}
            continue
        mean = float(finite.mean())
        half = None
        if len(finite) > 1:
            dof = len(finite) - 1
            t = T_975.get(dof) or T_975[max(k for k in T_975 if k <= dof)]
            half = t * float(finite.std(ddof=1)) / math.sqrt(len(finite))
        ceiling = 1.0 if "_frac" in key else math.inf
        figures[key] = {  # every figure is a cost, count, time or share: >= 0
            "mean": mean,
            "ci95_low": None if half is None else max(0.0, mean - half),
            "ci95_high": None if half is None else min(ceiling, mean + half),
            "replications": [None if not math.isfinite(v) else float(v)
                             for v in values],
        }
    return figures


def t_interval(values: list[float]) -> tuple[float, float, float]:
    """Mean and Student-t 95% interval (low, high) of independent values."""
    finite = np.asarray(values, dtype=float)
    mean = float(finite.mean())
    dof = len(finite) - 1
    t = T_975.get(dof) or T_975[max(k for k in T_975 if k <= dof)]
    half = t * float(finite.std(ddof=1)) / math.sqrt(len(finite))
    return mean, mean - half, mean + half
