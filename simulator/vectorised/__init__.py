"""The contention-free shortcut: a whole run computed with numpy, no events.

When nothing in a run makes one task wait for another, every task's timeline
follows from its own plan: each LLM call takes its drawn time to first token
plus output tokens times its drawn time per token, each tool attempt its
drawn latency, one after another from the task's arrival. The shortcut
computes those timelines for all tasks at once, then checks that nothing
did in fact wait:

- every LLM call's backend is fixed by its route in advance (fixed, tiered
  or cascade policies, or step kinds pinned to a backend: a cascade's redo
  goes to its default backend when the plan drew a failed check) and is a
  pay-per-token API without prompt caching or a tokenizer factor;
- no tool service ever has more attempts in progress than its concurrency
  (counting attempts that start and end at the same instant as overlapping);
- no API's requests or tokens in any one-minute window exceed its limits.

If any of this fails, the run goes event by event instead (`engine`), from
the same arrivals and plans, so the result never depends on which path ran.
When the checks pass, the records are the ones the event-by-event run
produces, bit for bit, in the same row order: times are summed in the same
order with the same floating-point operations, and a record counts only if
its instant is before the horizon, as it does there. Any two records of
different tasks at the same instant (possible only with constant
distributions), or a tool attempt starting or ending exactly at a monitor
sample, also send the run event by event, since their order would then
depend on the event queue.

Limitations: runs with GPU backends, spillover or cheapest routing (they
read queue state), prompt caching or debug logging always go event by event.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from simulator.records import RunResult
from simulator.scenario.schema import ApiBackend, Scenario
from simulator.vectorised.records import records, task_columns, within_limits
from simulator.vectorised.timeline import (
    Timeline,
    find_endings,
    start_times,
    time_events,
)
from simulator.workload.arrivals import Arrivals, expected_in_window
from simulator.workload.plans import TaskPlanner

logger = logging.getLogger(__name__)

STATIC_POLICIES = ("fixed", "tiered", "cascade")


def why_not_vectorised(scenario: Scenario, arrivals: Arrivals,
                       settle: object, debug: bool) -> str | None:
    """Why a run cannot take the shortcut, or None if it may try."""
    if debug:
        return "debug logging is on"
    if settle is not None:
        return "the run stops when given tasks settle"
    for name, spec in scenario.backends.items():
        if not isinstance(spec, ApiBackend):
            return f"backend {name} is a GPU pool"
        if spec.prompt_cache_ttl is not None:
            return f"backend {name} caches prompts"
        if scenario.models[spec.model].tokenizer_factor != 1.0:
            return f"backend {name}'s model has a tokenizer factor"
    for name, task_type in scenario.task_types.items():
        if task_type.route.policy not in STATIC_POLICIES:
            return f"task type {name} routes by {task_type.route.policy}"
    return None


def run_vectorised(scenario: Scenario, arrivals: Arrivals, planners: list[TaskPlanner],
                   horizon: float, dollar_caps: bool = True) -> dict | None:
    """The run's records and counters, or None when a check fails.
    `dollar_caps`: enforce task types' `max_usd` (the event-by-event engine
    does when it is given a call-cost function)."""
    starts = start_times(arrivals.arrived_at, horizon)
    count = len(starts)
    if not count:
        return None
    types = arrivals.task_type[:count]
    plan = Timeline(scenario, types, planners, dollar_caps)
    if (plan.actions["backend"][plan.actions["llm"]] < 0).any():
        return None
    endings = find_endings(scenario, plan, types)
    events = time_events(plan, endings, starts)
    live = events.after < horizon            # the event happened before the horizon
    asked = events.before < horizon          # its request did
    if not within_limits(scenario, plan, events, asked):
        return None
    result = records(scenario, plan, types, endings, events, live, asked, horizon)
    if result is None:
        return None
    result["tasks"] = task_columns(plan, types, arrivals, starts, endings, events,
                                    live, horizon)
    result["started"] = count
    acts = plan.actions
    sent = events.action[events.is_call & asked]
    backend = events.backend[events.is_call & asked]
    result["backend_requests"] = np.bincount(
        backend, minlength=len(scenario.backends)).tolist()
    tokens = np.zeros(len(scenario.backends), dtype=np.int64)
    np.add.at(tokens, backend, (acts["tokens_in"] + acts["tokens_out"])[sent])
    result["backend_tokens"] = tokens.tolist()
    return result


def try_vectorised(scenario: Scenario, arrivals: Arrivals, planners: list[TaskPlanner],
                   settle: tuple[int, int] | None, drawn: bool, wall_started: float,
                   debug: bool, dollar_caps: bool) -> RunResult | None:
    """The run by the shortcut, or None when it does not apply (logged).
    `drawn`: the arrivals came from the scenario; `dollar_caps`: enforce
    `max_usd` (the engine has a call-cost function)."""
    reason = why_not_vectorised(scenario, arrivals, settle, debug)
    if reason is None:
        found = run_vectorised(scenario, arrivals, planners, scenario.horizon_s,
                               dollar_caps=dollar_caps)
        if found is None:
            reason = "a task would have waited (or two records share an instant)"
    if reason is not None:
        logger.info("event by event: %s", reason)
        return None
    wall_s = time.perf_counter() - wall_started
    logger.info("vectorised: tasks=%d calls=%d wall=%.2fs", found["started"],
                len(found["calls"]["task_id"]), wall_s)
    return RunResult(
        scenario=scenario, horizon_s=scenario.horizon_s,
        expected_arrivals=expected_in_window(scenario, arrivals, drawn),
        tasks=found["tasks"], calls=found["calls"], tool_calls=found["tool_calls"],
        task_type_names=list(scenario.task_types),
        backend_names=list(scenario.backends), tool_names=list(scenario.tools),
        tool_demand_s=found["tool_demand_s"],
        backend_requests=found["backend_requests"],
        backend_tokens=found["backend_tokens"], gpu_usage={},
        samples=found["samples"], wall_s=wall_s, trace=arrivals.trace,
        path="vectorised")
