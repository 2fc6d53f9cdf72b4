"""Percentiles with their sample counts, and queueing identities; pure functions.

A percentile q of n samples is flagged `too_few_samples` when fewer than one
sample lies above it (n * (1 - q) < 1): the value then says nothing about the
tail. Methods: `nearest_rank` (the ceil(q n)-th smallest value, always an
observed value) or `linear` (interpolation between order statistics, numpy's
default). The 95% interval is distribution-free, from the binomial order
statistics around rank q n.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np

from simulator.records import RunResult

Z_95 = 1.959963984540054
QUANTILES = (0.5, 0.95, 0.99)


@dataclass(frozen=True)
class Percentile:
    """One percentile of a sample."""

    q: float
    value: float | None
    num_samples: int
    too_few_samples: bool
    method: str
    ci95_low: float | None
    ci95_high: float | None

    def as_dict(self) -> dict:
        """Plain-data form for summary.json."""
        return asdict(self)


def percentile(values: np.ndarray, q: float, method: str = "nearest_rank"
               ) -> Percentile:
    """The q-quantile (0 < q < 1) of `values`, with its count and flag."""
    n = len(values)
    if n == 0:
        return Percentile(q, None, 0, True, method, None, None)
    ordered = np.sort(np.asarray(values, dtype=float))
    if method == "nearest_rank":
        value = ordered[max(math.ceil(round(q * n, 9)), 1) - 1]
    elif method == "linear":
        value = np.quantile(ordered, q, method="linear")
    else:
        raise ValueError(f"method must be nearest_rank or linear, got {method!r}")
    too_few = n * (1 - q) < 1
    low = high = None
    if not too_few:
        spread = Z_95 * math.sqrt(n * q * (1 - q))
        low = float(ordered[max(math.floor(n * q - spread), 1) - 1])
        high = float(ordered[min(math.ceil(n * q + spread) + 1, n) - 1])
    return Percentile(q, float(value), n, too_few, method, low, high)


def percentiles(values: np.ndarray, method: str = "nearest_rank",
                quantiles: tuple[float, ...] = QUANTILES) -> dict[str, Percentile]:
    """p50, p95 and p99 (or the quantiles given), keyed `p50`, `p95`, ..."""
    ordered = np.sort(np.asarray(values, dtype=float))
    return {f"p{q * 100:g}": percentile(ordered, q, method) for q in quantiles}


def mean_with_ci(values: np.ndarray) -> tuple[float | None, float | None]:
    """Sample mean and the half-width of its 95% normal interval."""
    n = len(values)
    if n == 0:
        return None, None
    mean = float(np.mean(values))
    if n == 1:
        return mean, None
    return mean, float(Z_95 * np.std(values, ddof=1) / math.sqrt(n))


def time_average_in_system(arrived_at: np.ndarray, left_at: np.ndarray,
                           horizon_s: float) -> float:
    """Mean number present over [0, horizon_s]; NaN in left_at means still there."""
    ends = np.where(np.isnan(left_at), horizon_s, np.minimum(left_at, horizon_s))
    times = np.concatenate([arrived_at, ends])
    steps = np.concatenate([np.ones(len(arrived_at)), -np.ones(len(ends))])
    order = np.lexsort((-steps, times))
    counts = np.cumsum(steps[order])
    spans = np.diff(np.append(times[order], horizon_s))
    return float(np.sum(counts * spans) / horizon_s)


def window_view(run: RunResult) -> RunResult:
    """The run's records of tasks that arrived after the warm-up, and their calls."""
    warmup = run.scenario.warmup_s
    if warmup == 0:
        return run
    keep = run.tasks["arrived_at"] >= warmup
    kept_ids = run.tasks["task_id"][keep]
    calls = np.isin(run.calls["task_id"], kept_ids)
    tools = np.isin(run.tool_calls["task_id"], kept_ids)
    return replace(
        run,
        tasks={name: column[keep] for name, column in run.tasks.items()},
        calls={name: column[calls] for name, column in run.calls.items()},
        tool_calls={name: column[tools] for name, column in run.tool_calls.items()},
    )


def erlang_c_wait_s(arrival_rate_per_s: float, service_time_s: float,
                    num_servers: int) -> float:
    """Mean wait in queue of an M/M/c queue (Erlang C); inf when unstable."""
    load = arrival_rate_per_s * service_time_s
    if load >= num_servers:
        return math.inf
    term, total = 1.0, 1.0
    for k in range(1, num_servers):
        term *= load / k
        total += term
    last = term * load / num_servers / (1 - load / num_servers)
    wait_prob = last / (total + last)
    return wait_prob * service_time_s / (num_servers - load)
