"""Month mode's strata: the horizon's hours, the pilot run that measures each
task's demand, the screen that tells busy hours from quiet ones, and the
windows to simulate (busy spans per day type, one quiet pool).

Limitations: tool pools are screened as M/M/c queues with the pilot's mean
attempt time, API limits with Poisson minute counts; a day type's spans are
simulated on its first day, whose previous day sets the warm-up.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from simulator.economics.pricing import call_cost_if_needed
from simulator.metrics import erlang_c_wait_s
from simulator.month.windows import (
    HOUR_S,
    MAX_DRAIN_S,
    Window,
    constant_arrivals,
    replace_scenario,
)
from simulator.rng import derived_seed
from simulator.scenario.schema import ApiBackend, Scenario
from simulator.workload.arrivals import hourly_rates_per_s

PILOT_S = 1800.0
PILOT_TASKS = 5000
"""The pilot run's expected tasks, each run to its end, at the busiest hour's
rate or at PILOT_TASKS / PILOT_S a second if that is lower."""
WAIT_SCREEN = 0.01
"""An hour is busy when a tool pool's mean wait exceeds this share of service."""
LOAD_SCREEN = 0.9
GPU_SCREEN = 0.05
LIMIT_SIGMAS = 4.0
QUIET_MIN_TASKS = 20_000
"""The quiet window measures at least this many tasks (or its whole stratum)."""


def horizon_hours(scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Arrival rate (per s) and length (s) of each hour of the horizon."""
    from simulator.workload.arrivals import WEEKDAYS

    week = hourly_rates_per_s(scenario)
    offset = WEEKDAYS.index(scenario.start_weekday) * 24
    count = int(math.ceil(scenario.horizon_s / HOUR_S))
    hours = np.arange(count)
    lengths = np.minimum(HOUR_S, scenario.horizon_s - hours * HOUR_S)
    return week[(hours + offset) % len(week)], lengths


@dataclass
class Pilot:
    """Per-task demand on each limited resource, measured by a pilot run."""

    rate_per_s: float
    tasks: int
    tool_s: list[float]
    tool_attempts: list[float]
    requests: list[float]
    tokens: list[float]
    gpu_utilisation: dict[str, float]
    longest_task_s: float

    def describe(self) -> dict:
        """The pilot as summary data."""
        return {"rate_per_s": self.rate_per_s, "tasks": self.tasks,
                "longest_task_s": self.longest_task_s}

    @property
    def drain_s(self) -> float:
        """How long a window may run on after its span: three times the pilot's
        longest task, between 15 minutes and MAX_DRAIN_S."""
        return min(MAX_DRAIN_S, max(900.0, 3 * self.longest_task_s))


def pilot_demand(scenario: Scenario, peak_rate: float) -> Pilot:
    """Run PILOT_TASKS tasks at a light load to the end and read each task's
    demand on every limited resource (per task, so it scales with the rate)."""
    from simulator.engine import simulate

    rate = min(peak_rate, PILOT_TASKS / PILOT_S)
    duration = PILOT_TASKS / rate if rate > 0 else PILOT_S
    pilot = replace_scenario(scenario, horizon_s=duration + MAX_DRAIN_S,
                             warmup_s=0.0,
                             seed=derived_seed(scenario.seed, "month/pilot"))
    arrivals = constant_arrivals(pilot, rate, 0.0, duration)
    run = simulate(pilot, call_cost=call_cost_if_needed(pilot), arrivals=arrivals,
                   settle=(0, len(arrivals)))
    tasks = max(len(arrivals), 1)
    # slot-seconds over the arrival period: the pool's load at the pilot's rate
    gpu = {name: (usage["slot_s"] / (usage["slots_per_replica"] * usage["live_s"])
                  * run.horizon_s / duration if usage["live_s"] else 0.0)
           for name, usage in run.gpu_usage.items()}
    attempts = np.bincount(run.tool_calls["tool"].astype(np.intp),
                           minlength=len(scenario.tools))
    ended = run.tasks["finished_at"] - run.tasks["arrived_at"]
    ended = ended[np.isfinite(ended)]
    return Pilot(rate, len(arrivals),
                 [d / tasks for d in run.tool_demand_s],
                 [int(n) / tasks for n in attempts],
                 [n / tasks for n in run.backend_requests],
                 [n / tasks for n in run.backend_tokens], gpu,
                 float(ended.max()) if len(ended) else 0.0)


def is_busy(scenario: Scenario, pilot: Pilot, rate: float) -> bool:
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


def plan_windows(scenario: Scenario, hour_rates: np.ndarray, hour_lengths:
                  np.ndarray, busy: np.ndarray, drain_s: float = MAX_DRAIN_S
                  ) -> tuple[list[Window], list[dict]]:
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
                                  expected, expected * len(members), stands_for,
                                  drain_s=drain_s))
            strata.append({"stratum": name, "kind": "busy span",
                           "days": len(members), "hours_per_day": end - hour,
                           "expected_tasks": expected * len(members)})
            hour = end
    quiet = [h for h in range(len(hour_rates)) if not busy[h] and hour_rates[h] > 0]
    if quiet:
        rate = float(max(hour_rates[h] for h in quiet))
        stratum_expected = float(sum(hour_rates[h] * hour_lengths[h] for h in quiet))
        measured_s = min(QUIET_MIN_TASKS, stratum_expected) / rate
        windows.append(Window("quiet hours", 0.0, measured_s,
                              rate * measured_s, stratum_expected,
                              tuple((h, float(hour_rates[h]) / rate) for h in quiet),
                              constant_rate_per_s=rate, drain_s=drain_s))
        strata.append({"stratum": "quiet hours", "kind": "quiet pool",
                       "hours": len(quiet), "rate_per_s": rate,
                       "expected_tasks": stratum_expected})
    return windows, strata
