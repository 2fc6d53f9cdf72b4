"""Month mode: a month of traffic estimated from simulated busy spans and quiet
windows, each figure with its 95% interval.

Simulating every call of a month event by event takes minutes and, kept as
records, gigabytes. Month mode simulates only the stretches where queueing
can happen, event by event with the full model, and extrapolates the rest.

How:

1. Day types. Days of the horizon with the same 24 hourly arrival rates (the
   daily profile times the weekly factor) form one day type.
2. Screening. A pilot run at the busiest hour's rate measures each task's
   demand on every limited resource. An hour is *busy* when, at its rate, a
   tool pool's Erlang C mean wait exceeds 1% of its mean service time (or the
   pool is 90% loaded), an API's expected requests or tokens per minute come
   within four standard deviations of its limit, or a GPU pool is more than
   5% utilised (batching makes GPU latency depend on load at any level).
   Every other hour is *quiet*: nothing waits there, so a task's cost and
   latency do not depend on how many other tasks run.
3. Busy spans. Each day type's runs of consecutive busy hours are simulated
   event by event on their real hourly rates, after a warm-up on the real
   hours before them, and run on (arrivals continuing) until every task that
   arrived inside the span has ended. Ramps into and out of the peak are
   therefore part of the simulated sample path, not lost between strata.
4. Quiet pool. All quiet hours share one window, simulated at the busiest
   quiet rate.
5. Extrapolation. Each task measured in a window stands for E / n tasks: E the
   expected arrivals of its stratum over the horizon (a span on every day of
   its type, or every quiet hour), n the tasks that arrived in the window's
   measured span (a ratio estimator: the month's task count is the expected
   one, so only the tasks' costs and latencies carry sampling noise). Money,
   tokens and counts scale by it; latency percentiles are weighted by it;
   utilisation is averaged over the hours each window stands for.
6. Replications. Every window is simulated R times with seeds derived from
   the scenario's; each replication is a complete month estimate, and each
   figure is reported as their mean with a Student-t 95% interval (its lower
   end clipped at zero: every figure is non-negative). Windows run
   in parallel processes; results do not depend on the number of workers.

Limitations: arrivals must come from the rate model (a trace is replayed
event by event); autoscaled GPU pools are not supported (their schedules
follow the clock of a whole run); a quiet hour's GPU busy fraction (for power)
is the quiet window's scaled by the hour's rate; tool and GPU utilisation in a
window is measured from the end of its warm-up to the end of the run, drain
included; the interval covers the randomness of the windows, not the choice
of strata; tasks still running when a window's drain limit is reached are
counted in flight.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from decimal import Decimal

import numpy as np

from simulator.errors import ScenarioError
from simulator.metrics import erlang_c_wait_s
from simulator.records import COMPLETED, FAIL_REASONS, FAILED, IN_FLIGHT
from simulator.rng import Streams, derived_seed
from simulator.scenario.schema import ApiBackend, Scenario
from simulator.workload.arrivals import (
    Arrivals,
    expected_arrivals_in_month,
    hourly_rates_per_s,
)

HOUR_S = 3600.0
WARMUP_S = 1800.0
"""Warm-up before each window, on the real preceding hours."""
MAX_DRAIN_S = 4 * HOUR_S
"""A window stops this long after its measured span even if tasks remain."""
QUIET_MEASURED_S = 1800.0
QUIET_MIN_TASKS = 20_000
"""The quiet window measures at least this many tasks (or its whole stratum)."""
PILOT_S = 1800.0
PILOT_TASKS = 5000
"""The pilot run's expected tasks, each run to its end, at the busiest hour's
rate or at PILOT_TASKS / PILOT_S a second if that is lower."""
WAIT_SCREEN = 0.01
"""An hour is busy when a tool pool's mean wait exceeds this share of service."""
LOAD_SCREEN = 0.9
GPU_SCREEN = 0.05
LIMIT_SIGMAS = 4.0
DEFAULT_REPLICATIONS = 4
T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365,
         8: 2.306, 9: 2.262, 10: 2.228, 15: 2.131, 20: 2.086, 30: 2.042}


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


@dataclass
class MonthEstimate:
    """Month-mode result: figures with intervals, and how they were obtained."""

    scenario: Scenario
    figures: dict[str, dict]
    method: dict
    strata: list[dict]
    windows: list[WindowResult] = field(repr=False)
    wall_s: float
    warnings: list[str] = field(default_factory=list)

    def summary(self, version: str) -> dict:
        """JSON-ready summary (summary.json of a month-mode run)."""
        return {
            "schema_version": 1,
            "flipsim_version": version,
            "mode": "month",
            "scenario": {"name": self.scenario.name, "seed": self.scenario.seed,
                         "horizon_s": self.scenario.horizon_s},
            "billing_month": {"label": self.scenario.billing.label(),
                              "hours": self.scenario.billing.hours(),
                              "month_factor": self.method["month_factor"]},
            "figures": self.figures,
            "method": self.method,
            "strata": self.strata,
            "warnings": self.warnings,
        }


def check_month_mode(scenario: Scenario) -> None:
    """Refuse scenarios month mode cannot estimate, saying why."""
    if scenario.arrivals.kind == "trace":
        raise ScenarioError("arrivals.kind: found 'trace'; month mode needs the "
                            "rate model (poisson or population); run with --exact")
    for name, backend in scenario.backends.items():
        if getattr(backend, "autoscale", None) is not None:
            raise ScenarioError(f"backends.{name}.autoscale: month mode does not "
                                "support autoscaled pools; run with --exact")


def estimate_month(scenario: Scenario, replications: int = DEFAULT_REPLICATIONS,
                   workers: int = 1) -> MonthEstimate:
    """Estimate the scenario's horizon (and billing month) from sampled windows."""
    check_month_mode(scenario)
    started = time.perf_counter()
    hour_rates, hour_lengths = _horizon_hours(scenario)
    pilot = _pilot_demand(scenario, float(hour_rates.max()))
    busy = np.array([_is_busy(scenario, pilot, rate) for rate in hour_rates])
    windows, strata = _plan_windows(scenario, hour_rates, hour_lengths, busy)
    jobs = [(scenario, window, r) for window in windows for r in range(replications)]
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_run_window_job, jobs, chunksize=1))
    else:
        results = [_run_window_job(job) for job in jobs]
    estimates = [_month_of_replication(scenario, [w for w in results
                                                  if w.replication == r],
                                       windows, hour_rates, hour_lengths)
                 for r in range(replications)]
    figures = _with_intervals(estimates)
    warnings = _warnings(scenario, results, pilot, hour_rates)
    wall_s = time.perf_counter() - started
    method = {
        "kind": "stratified windows",
        "replications": replications,
        "windows_per_replication": len(windows),
        "busy_hours": int(busy.sum()),
        "quiet_hours": int((~busy).sum()),
        "calls_simulated": int(sum(w.calls for w in results)),
        "calls_estimated_in_horizon": figures["llm_calls_in_horizon"]["mean"],
        "pilot": pilot.describe(),
        "screen": {"tool_wait_frac": WAIT_SCREEN, "tool_load_frac": LOAD_SCREEN,
                   "gpu_utilisation_frac": GPU_SCREEN,
                   "api_limit_sigmas": LIMIT_SIGMAS},
        "warmup_s": WARMUP_S,
        "max_drain_s": MAX_DRAIN_S,
    }
    expected_horizon = float(np.sum(hour_rates * hour_lengths))
    method["month_factor"] = (expected_arrivals_in_month(scenario) / expected_horizon
                              if expected_horizon else 0.0)
    return MonthEstimate(scenario, figures, method, strata, results, wall_s,
                         warnings)


LEFT_IN_FLIGHT_WARN = 0.005
"""Warn when more than this share of a window's measured tasks never ended."""


def _warnings(scenario: Scenario, results: list[WindowResult], pilot: _Pilot,
              hour_rates: np.ndarray) -> list[str]:
    """Plain-language cautions: overload that month mode cannot estimate."""
    found = []
    stuck = [(w.stratum, float(w.in_flight.sum()) / max(float(w.arrived.sum()), 1))
             for w in results if w.in_flight.sum()]
    worst = max(stuck, key=lambda item: item[1], default=None)
    if worst is not None and worst[1] > LEFT_IN_FLIGHT_WARN:
        found.append(
            f"overload: {100 * worst[1]:.1f}% of the tasks measured in "
            f"'{worst[0]}' were still running {MAX_DRAIN_S / 3600:g} h after it "
            "ended; month mode leaves them out of the bill and latency, so both "
            "are too low. A backlog that lasts for hours needs --exact.")
    peak = float(hour_rates.max()) if len(hour_rates) else 0.0
    for index, (name, tool) in enumerate(scenario.tools.items()):
        if tool.concurrency is not None and peak * pilot.tool_s[index] >= \
                tool.concurrency:
            found.append(f"tools.{name}: offered load at the busiest hour is "
                         f"{peak * pilot.tool_s[index] / tool.concurrency:.2f} of "
                         "its slots; its queue grows through the peak")
    for index, (name, backend) in enumerate(scenario.backends.items()):
        if not isinstance(backend, ApiBackend) or not pilot.requests[index]:
            continue
        per_min = peak * 60 * pilot.requests[index]
        if backend.requests_per_min is not None and per_min >= \
                backend.requests_per_min:
            found.append(f"backends.{name}: {per_min:,.0f} requests a minute at the "
                         f"busiest hour against a limit of "
                         f"{backend.requests_per_min:,}")
        tokens = peak * 60 * pilot.tokens[index]
        if backend.tokens_per_min is not None and tokens >= backend.tokens_per_min:
            found.append(f"backends.{name}: {tokens:,.0f} tokens a minute at the "
                         f"busiest hour against a limit of "
                         f"{backend.tokens_per_min:,}")
    if not any(w.arrived.sum() for w in results):
        found.append("no tasks arrived in any simulated window")
    return found


def _horizon_hours(scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Arrival rate (per s) and length (s) of each hour of the horizon."""
    from simulator.workload.arrivals import WEEKDAYS

    week = hourly_rates_per_s(scenario)
    offset = WEEKDAYS.index(scenario.start_weekday) * 24
    count = int(math.ceil(scenario.horizon_s / HOUR_S))
    hours = np.arange(count)
    lengths = np.minimum(HOUR_S, scenario.horizon_s - hours * HOUR_S)
    return week[(hours + offset) % len(week)], lengths


@dataclass
class _Pilot:
    """Per-task demand on each limited resource, measured by a pilot run."""

    rate_per_s: float
    tasks: int
    tool_s: list[float]
    tool_attempts: list[float]
    requests: list[float]
    tokens: list[float]
    gpu_utilisation: dict[str, float]

    def describe(self) -> dict:
        """The pilot as summary data."""
        return {"rate_per_s": self.rate_per_s, "tasks": self.tasks}


def _pilot_demand(scenario: Scenario, peak_rate: float) -> _Pilot:
    """Run PILOT_TASKS tasks at a light load to the end and read each task's
    demand on every limited resource (per task, so it scales with the rate)."""
    from simulator.engine import simulate

    rate = min(peak_rate, PILOT_TASKS / PILOT_S)
    duration = PILOT_TASKS / rate if rate > 0 else PILOT_S
    pilot = replace_scenario(scenario, horizon_s=duration + MAX_DRAIN_S,
                             warmup_s=0.0,
                             seed=derived_seed(scenario.seed, "month/pilot"))
    arrivals = _constant_arrivals(pilot, rate, 0.0, duration)
    run = simulate(pilot, call_cost=_call_cost(pilot), arrivals=arrivals,
                   settle=(0, len(arrivals)))
    tasks = max(len(arrivals), 1)
    # slot-seconds over the arrival period: the pool's load at the pilot's rate
    gpu = {name: (usage["slot_s"] / (usage["slots_per_replica"] * usage["live_s"])
                  * run.horizon_s / duration if usage["live_s"] else 0.0)
           for name, usage in run.gpu_usage.items()}
    attempts = np.bincount(run.tool_calls["tool"].astype(np.intp),
                           minlength=len(scenario.tools))
    return _Pilot(rate, len(arrivals),
                  [d / tasks for d in run.tool_demand_s],
                  [int(n) / tasks for n in attempts],
                  [n / tasks for n in run.backend_requests],
                  [n / tasks for n in run.backend_tokens], gpu)


def _is_busy(scenario: Scenario, pilot: _Pilot, rate: float) -> bool:
    """True when some limited resource may make tasks wait at this rate.

    Tool pools are screened as M/M/c queues with the pilot's mean attempt
    time; API limits by the expected requests (tokens) per minute plus
    LIMIT_SIGMAS Poisson standard deviations.
    """
    if rate <= 0:
        return False
    scale = rate / pilot.rate_per_s if pilot.rate_per_s else 0.0
    for index, tool in enumerate(scenario.tools.values()):
        if tool.concurrency is None or pilot.tool_attempts[index] == 0:
            continue
        service = pilot.tool_s[index] / pilot.tool_attempts[index]
        offered = rate * pilot.tool_s[index]
        if offered >= LOAD_SCREEN * tool.concurrency:
            return True
        wait = erlang_c_wait_s(rate * pilot.tool_attempts[index], service,
                               tool.concurrency)
        if wait > WAIT_SCREEN * service:
            return True
    for index, backend in enumerate(scenario.backends.values()):
        if not isinstance(backend, ApiBackend) or pilot.requests[index] == 0:
            continue
        per_min = rate * 60 * pilot.requests[index]
        spread = LIMIT_SIGMAS * math.sqrt(per_min)
        if backend.requests_per_min is not None and (
                per_min + spread >= backend.requests_per_min):
            return True
        tokens_per_call = pilot.tokens[index] / pilot.requests[index]
        if backend.tokens_per_min is not None and (
                per_min * tokens_per_call + spread * tokens_per_call
                >= backend.tokens_per_min):
            return True
    return any(util * scale > GPU_SCREEN for util in pilot.gpu_utilisation.values())


def _plan_windows(scenario: Scenario, hour_rates: np.ndarray, hour_lengths:
                  np.ndarray, busy: np.ndarray) -> tuple[list[Window], list[dict]]:
    """Busy spans per day type, and one quiet pool."""
    windows, strata = [], []
    days: dict[tuple, list[int]] = defaultdict(list)
    num_days = int(math.ceil(len(hour_rates) / 24))
    for day in range(num_days):
        hours = range(day * 24, min(len(hour_rates), day * 24 + 24))
        key = tuple((round(float(hour_rates[h]), 12), float(hour_lengths[h]),
                     bool(busy[h])) for h in hours)
        days[key].append(day)
    for type_index, (key, members) in enumerate(days.items()):
        first = members[0]
        hour = 0
        while hour < len(key):
            if not key[hour][2]:
                hour += 1
                continue
            end = hour
            while end < len(key) and key[end][2]:
                end += 1
            span = [first * 24 + h for h in range(hour, end)]
            expected = float(sum(hour_rates[h] * hour_lengths[h] for h in span))
            stands_for = tuple((day * 24 + h, 1.0) for day in members
                               for h in range(hour, end))
            name = f"day type {type_index + 1}, {hour:02d}:00-{end:02d}:00"
            windows.append(Window(name, span[0] * HOUR_S,
                                  float(sum(hour_lengths[h] for h in span)),
                                  expected, expected * len(members), stands_for))
            strata.append({"stratum": name, "kind": "busy span",
                           "days": len(members), "hours_per_day": end - hour,
                           "expected_tasks": expected * len(members)})
            hour = end
    quiet = [h for h in range(len(hour_rates)) if not busy[h] and hour_rates[h] > 0]
    if quiet:
        rate = float(max(hour_rates[h] for h in quiet))
        stratum_expected = float(sum(hour_rates[h] * hour_lengths[h] for h in quiet))
        measured_s = min(max(QUIET_MEASURED_S, QUIET_MIN_TASKS / rate),
                         max(QUIET_MEASURED_S, stratum_expected / rate))
        windows.append(Window("quiet hours", 0.0, measured_s,
                              rate * measured_s, stratum_expected,
                              tuple((h, float(hour_rates[h]) / rate) for h in quiet),
                              constant_rate_per_s=rate))
        strata.append({"stratum": "quiet hours", "kind": "quiet pool",
                       "hours": len(quiet), "rate_per_s": rate,
                       "expected_tasks": stratum_expected})
    return windows, strata


def replace_scenario(scenario: Scenario, **changes: object) -> Scenario:
    """A copy of a validated scenario with top-level fields changed."""
    return scenario.model_copy(update=changes)


def _call_cost(scenario: Scenario):
    from simulator.economics.pricing import make_call_cost

    needs = any(t.caps.max_usd is not None or t.route.policy == "cheapest"
                for t in scenario.task_types.values())
    return make_call_cost(scenario) if needs else None


def _constant_arrivals(scenario: Scenario, rate: float, start: float, end: float
                       ) -> Arrivals:
    """Poisson arrivals at a constant rate over [start, end)."""
    streams = Streams(scenario.seed)
    generator = streams.generator("arrivals")
    count = int(generator.poisson(rate * (end - start)))
    arrived_at = np.sort(start + generator.random(count) * (end - start))
    return _with_types(scenario, streams, arrived_at, rate * (end - start))


def _profile_arrivals(scenario: Scenario, week_rates: np.ndarray, offset_h: int,
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


def _run_window_job(job: tuple[Scenario, Window, int]) -> WindowResult:
    """Simulate one window of one replication (top level: runs in a worker)."""
    from simulator.engine import simulate
    from simulator.workload.arrivals import WEEKDAYS

    scenario, window, replication = job
    started = time.perf_counter()
    seed = derived_seed(scenario.seed, f"month/{window.stratum}/{replication}")
    if window.constant_rate_per_s is not None:
        warmup = min(WARMUP_S, 600.0)
        end = warmup + window.measured_s + MAX_DRAIN_S
        sub = replace_scenario(scenario, horizon_s=end, warmup_s=warmup, seed=seed)
        arrivals = _constant_arrivals(sub, window.constant_rate_per_s, 0.0, end)
    else:
        warmup = min(WARMUP_S, window.start_s) if window.start_s > 0 else WARMUP_S
        begin = window.start_s - warmup
        end = warmup + window.measured_s + MAX_DRAIN_S
        sub = replace_scenario(scenario, horizon_s=end, warmup_s=warmup, seed=seed)
        arrivals = _profile_arrivals(
            sub, hourly_rates_per_s(scenario),
            WEEKDAYS.index(scenario.start_weekday) * 24, begin, begin + end)
    times = arrivals.arrived_at
    first = int(np.searchsorted(times, warmup, side="left"))
    last = int(np.searchsorted(times, warmup + window.measured_s, side="left"))
    run = simulate(sub, call_cost=_call_cost(sub), arrivals=arrivals,
                   settle=(first, last))
    measured = last - first
    weight = window.expected_in_stratum / measured if measured else 0.0
    return _measure(run, window.stratum, replication, weight, first, last, warmup,
                    time.perf_counter() - started)


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


def _month_of_replication(scenario: Scenario, results: list[WindowResult],
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


def _with_intervals(estimates: list[dict[str, float]]) -> dict[str, dict]:
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
        ceiling = 1.0 if key.endswith("_frac") else math.inf
        figures[key] = {  # every figure is a cost, count, time or share: >= 0
            "mean": mean,
            "ci95_low": None if half is None else max(0.0, mean - half),
            "ci95_high": None if half is None else min(ceiling, mean + half),
            "replications": [None if not math.isfinite(v) else float(v)
                             for v in values],
        }
    return figures


def exact_reference(scenario: Scenario, seeds: list[int]) -> dict[str, list[float]]:
    """The figures month mode estimates, from full event-by-event runs, one per
    seed: monthly bill, mean and p95 latency of completed tasks (the same
    quantile rule as month mode's)."""
    import simulator

    found: dict[str, list[float]] = defaultdict(list)
    for seed in seeds:
        run = simulator.simulate(replace_scenario(scenario, seed=seed))
        summary = simulator.summarize(run)
        done = run.tasks["status"] == COMPLETED
        latency = (run.tasks["finished_at"] - run.tasks["arrived_at"])[done]
        found["monthly_bill_usd"].append(float(summary["monthly_bill"]["total_usd"]))
        found["latency_mean_s"].append(float(latency.mean()))
        found["latency_p95_s"].append(weighted_quantile(
            latency, np.ones(len(latency)), 0.95))
    return dict(found)


def t_interval(values: list[float]) -> tuple[float, float, float]:
    """Mean and Student-t 95% interval (low, high) of independent values."""
    finite = np.asarray(values, dtype=float)
    mean = float(finite.mean())
    dof = len(finite) - 1
    t = T_975.get(dof) or T_975[max(k for k in T_975 if k <= dof)]
    half = t * float(finite.std(ddof=1)) / math.sqrt(len(finite))
    return mean, mean - half, mean + half
