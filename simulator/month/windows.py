"""Month mode's windows: arrivals on the real hourly rates (or a constant
rate), one window simulated event by event until its measured tasks settle,
and its records reduced to a small WindowResult.

Limitations: utilisation in a window runs from the end of its warm-up to the
end of its drain; tasks still running MAX_DRAIN_S after the measured span are
counted in flight.
"""

from __future__ import annotations

import gc
import math
import time
from collections import defaultdict
from dataclasses import dataclass, replace

import numpy as np

from simulator.economics.pricing import call_cost_if_needed
from simulator.records import COMPLETED, FAIL_REASONS, FAILED, IN_FLIGHT
from simulator.rng import Streams, derived_seed
from simulator.scenario.schema import Scenario
from simulator.workload.arrivals import Arrivals, hourly_rates_per_s

HOUR_S = 3600.0
WARMUP_S = 1800.0
"""Warm-up before each window, on the real preceding hours."""
MAX_DRAIN_S = 4 * HOUR_S
"""A window stops at most this long after its measured span even if tasks
remain (less when the pilot's tasks are short: three times the longest)."""
QUIET_WARMUP_S = 600.0
QUIET_WARMUP_TASKS = 2000


@dataclass(frozen=True)
class Window:
    """One stretch to simulate: a busy span of a day type, or the quiet pool."""

    stratum: str
    start_s: float
    """Start of the measured span, in horizon time (quiet pool: 0)."""
    measured_s: float
    expected_in_window: float
    expected_in_stratum: float
    hours: tuple[tuple[int, float], ...]
    """(hour of the horizon, share of it) each window stands for."""
    constant_rate_per_s: float | None = None
    """Quiet pool: the constant arrival rate it is simulated at."""
    drain_s: float = 4 * 3600.0
    """Longest run after the measured span, waiting for its tasks to end."""

    @property
    def warmup_s(self) -> float:
        """Warm-up before the measured span: on the real preceding hours for a
        busy span; a quiet pool (nothing queues) needs only a short one."""
        if self.constant_rate_per_s is not None:
            return min(QUIET_WARMUP_S, QUIET_WARMUP_TASKS / self.constant_rate_per_s)
        return min(WARMUP_S, self.start_s) if self.start_s > 0 else WARMUP_S

    @property
    def simulated_s(self) -> float:
        """The longest span of simulated time: warm-up, measured span, drain."""
        return self.warmup_s + self.measured_s + self.drain_s



@dataclass
class WindowResult:
    """What one simulated window measured, kept small (no per-call records)."""

    stratum: str
    replication: int
    weight: float
    calls: int
    tool_attempts: int
    wall_s: float
    arrived: np.ndarray
    completed: np.ndarray
    failed: np.ndarray
    in_flight: np.ndarray
    failed_by_reason: dict[str, int]
    cost_pusd: list[int]
    tokens: np.ndarray
    """Per task type: tokens in, cached, out, LLM calls, tool attempts."""
    latencies: list[np.ndarray]
    usage_lines: list[tuple]
    tool_utilisation: list[float | None]
    gpu_busy_frac: dict[str, float]
    gpu_utilisation: dict[str, float]



def expected_between(hour_rates: np.ndarray, start_s: float, end_s: float) -> float:
    """Expected arrivals over [start_s, end_s) of horizon time; hours before
    or after the horizon repeat its weekly cycle (its first or last week)."""
    total, hour = 0.0, int(math.floor(start_s / HOUR_S))
    while hour * HOUR_S < end_s:
        lo, hi = max(start_s, hour * HOUR_S), min(end_s, (hour + 1) * HOUR_S)
        total += float(hour_rates[hour % len(hour_rates)]) * (hi - lo)
        hour += 1
    return total


def replace_scenario(scenario: Scenario, **changes: object) -> Scenario:
    """A copy of a validated scenario with top-level fields changed."""
    return scenario.model_copy(update=changes)


def constant_arrivals(scenario: Scenario, rate: float, start: float, end: float
                       ) -> Arrivals:
    """Poisson arrivals at a constant rate over [start, end)."""
    streams = Streams(scenario.seed)
    generator = streams.generator("arrivals")
    count = int(generator.poisson(rate * (end - start)))
    arrived_at = np.sort(start + generator.random(count) * (end - start))
    return _with_types(scenario, streams, arrived_at, rate * (end - start))


def profile_arrivals(scenario: Scenario, week_rates: np.ndarray, offset_h: int,
                      start_s: float, end_s: float) -> Arrivals:
    """Poisson arrivals over [start_s, end_s) of horizon time on the real hourly
    rates, shifted so that start_s is time 0."""
    streams = Streams(scenario.seed)
    generator = streams.generator("arrivals")
    first = int(math.floor(start_s / HOUR_S))
    last = int(math.ceil(end_s / HOUR_S))
    times, expected = [], 0.0
    for hour in range(first, last):
        lo, hi = max(start_s, hour * HOUR_S), min(end_s, (hour + 1) * HOUR_S)
        rate = float(week_rates[(hour + offset_h) % len(week_rates)])
        count = int(generator.poisson(rate * (hi - lo)))
        times.append(lo + generator.random(count) * (hi - lo))
        expected += rate * (hi - lo)
    arrived_at = np.sort(np.concatenate(times)) - start_s if times else np.zeros(0)
    return _with_types(scenario, streams, arrived_at, expected)


def _with_types(scenario: Scenario, streams: Streams, arrived_at: np.ndarray,
                expected: float) -> Arrivals:
    shares = np.array([t.share for t in scenario.task_types.values()])
    mix = streams.generator("task_mix")
    task_type = mix.choice(len(shares), size=len(arrived_at), p=shares / shares.sum())
    return Arrivals(arrived_at, task_type.astype(np.int16), expected)


def run_window_job(job: tuple[Scenario, Window, int]) -> WindowResult:
    """Simulate one window of one replication (top level: runs in a worker)."""
    from simulator.engine import simulate
    from simulator.workload.arrivals import WEEKDAYS

    scenario, window, replication = job
    started = time.perf_counter()
    seed = derived_seed(scenario.seed, f"month/{window.stratum}/{replication}")
    warmup, end = window.warmup_s, window.simulated_s
    sub = replace_scenario(scenario, horizon_s=end, warmup_s=warmup, seed=seed)
    if window.constant_rate_per_s is not None:
        arrivals = constant_arrivals(sub, window.constant_rate_per_s, 0.0, end)
    else:
        begin = window.start_s - warmup
        arrivals = profile_arrivals(
            sub, hourly_rates_per_s(scenario),
            WEEKDAYS.index(scenario.start_weekday) * 24, begin, begin + end)
    times = arrivals.arrived_at
    first = int(np.searchsorted(times, warmup, side="left"))
    last = int(np.searchsorted(times, warmup + window.measured_s, side="left"))
    run = simulate(sub, call_cost=call_cost_if_needed(sub), arrivals=arrivals,
                   settle=(first, last))
    measured = last - first
    weight = window.expected_in_stratum / measured if measured else 0.0
    result = _measure(run, window.stratum, replication, weight, first, last, warmup,
                      time.perf_counter() - started)
    del run, arrivals  # the run's records and processes, before the next window:
    gc.collect()       # a worker's peak memory stays one window's
    return result


def _measure(run, stratum: str, replication: int, weight: float, first: int,
             last: int, warmup: float, wall_s: float) -> WindowResult:
    """Reduce a window's records to the measured tasks' sums and latencies."""
    from simulator.economics.bill import _usage_lines, task_costs_pusd

    tasks = run.tasks
    keep = (tasks["task_id"] >= first) & (tasks["task_id"] < last)
    call_keep = (run.calls["task_id"] >= first) & (run.calls["task_id"] < last)
    tool_keep = (run.tool_calls["task_id"] >= first) & (
        run.tool_calls["task_id"] < last)
    view = replace(run,
                   tasks={k: v[keep] for k, v in tasks.items()},
                   calls={k: v[call_keep] for k, v in run.calls.items()},
                   tool_calls={k: v[tool_keep] for k, v in run.tool_calls.items()})
    costs = task_costs_pusd(view, capacity=False)
    measured = view.tasks
    types = measured["task_type"]
    num_types = len(run.task_type_names)
    status = measured["status"]

    def per_type(mask: np.ndarray) -> np.ndarray:
        """Measured tasks under `mask`, counted per task type."""
        return np.bincount(types[mask], minlength=num_types).astype(np.int64)

    cost_by_type = [int(sum(int(c) for c in costs[types == t]))
                    for t in range(num_types)]
    tokens = np.zeros((num_types, 5), dtype=np.int64)
    for t in range(num_types):
        mine = types == t
        tokens[t] = [measured["tokens_in"][mine].sum(),
                     measured["tokens_cached"][mine].sum(),
                     measured["tokens_out"][mine].sum(),
                     measured["num_llm_calls"][mine].sum(),
                     measured["num_tool_calls"][mine].sum()]
    latency = measured["finished_at"] - measured["arrived_at"]
    done = status == COMPLETED
    reasons = defaultdict(int)
    for code in measured["reason"][status == FAILED]:
        reasons[FAIL_REASONS[int(code)]] += 1
    lines = [(line.backend, line.model, line.item, line.unit, str(line.unit_price_usd),
              str(line.quantity), str(line.amount_usd)) for line in _usage_lines(view)]
    span = run.horizon_s - warmup
    tool_util = []
    for index, tool in enumerate(run.scenario.tools.values()):
        if tool.concurrency is None or span <= 0:
            tool_util.append(None)
            continue
        mine = run.tool_calls["tool"] == index
        busy = np.clip(run.tool_calls["finished_at"][mine], warmup, None) - np.clip(
            run.tool_calls["started_at"][mine], warmup, None)
        tool_util.append(float(busy.sum()) / (span * tool.concurrency))
    gpu_busy, gpu_util = {}, {}
    for name, usage in run.gpu_usage.items():
        gpu_busy[name] = usage["busy_s"] / usage["live_s"] if usage["live_s"] else 0.0
        gpu_util[name] = (usage["slot_s"] / (usage["slots_per_replica"]
                                              * usage["live_s"])
                          if usage["live_s"] else 0.0)
    return WindowResult(
        stratum=stratum, replication=replication, weight=weight,
        calls=len(run.calls["task_id"]), tool_attempts=len(run.tool_calls["task_id"]),
        wall_s=wall_s, arrived=per_type(np.ones(len(types), dtype=bool)),
        completed=per_type(done), failed=per_type(status == FAILED),
        in_flight=per_type(status == IN_FLIGHT), failed_by_reason=dict(reasons),
        cost_pusd=cost_by_type, tokens=tokens,
        latencies=[latency[done & (types == t)].astype(np.float64)
                   for t in range(num_types)],
        usage_lines=lines, tool_utilisation=tool_util, gpu_busy_frac=gpu_busy,
        gpu_utilisation=gpu_util)
