"""The vectorised run's records, counters and monitor samples, and the
checks that nothing would have waited: tool pools never full, rate-limit
windows never over, no two tasks at the same instant.
"""

from __future__ import annotations

import numpy as np

from simulator.backends.api import WINDOW_S
from simulator.backends.monitor import MAX_SAMPLES
from simulator.records import (
    CALL_COLUMNS,
    CALL_DTYPES,
    IN_FLIGHT,
    NO_REASON,
    TOOL_COLUMNS,
    TOOL_DTYPES,
)
from simulator.scenario.schema import Scenario
from simulator.vectorised.timeline import Endings, Events, Timeline
from simulator.workload.arrivals import Arrivals


def task_columns(plan: Timeline, types: np.ndarray, arrivals: Arrivals,
                  starts: np.ndarray, endings: Endings, events: Events,
                  live: np.ndarray, horizon: float) -> dict[str, np.ndarray]:
    """Per task: what its events before the horizon added up to, and how it
    ended if it did."""
    count = len(starts)
    acts = plan.actions
    served = events.served & live
    owner, action = events.task[served], events.action[served]
    columns = {"task_id": np.arange(count, dtype=np.int64),
               "task_type": types.astype(np.int16),
               "arrived_at": arrivals.arrived_at[:count].astype(np.float64)}
    last = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(events.per_task, out=last[1:])
    finish = np.array(starts, dtype=float)
    busy = events.per_task > 0
    finish[busy] = events.after[last[1:][busy] - 1]
    ended = finish < horizon
    columns["finished_at"] = np.where(ended, finish, np.nan)
    columns["status"] = np.where(ended, endings.task_status, IN_FLIGHT).astype(np.int8)
    columns["reason"] = np.where(ended, endings.reason, NO_REASON).astype(np.int8)
    columns["num_llm_calls"] = _counts(owner, count)
    for name in ("tokens_in", "tokens_cached", "tokens_out"):
        columns[name] = np.zeros(count, dtype=np.int64)
        np.add.at(columns[name], owner, acts[name][action])    # exact integer sums
    columns["num_tool_calls"] = _counts(events.task[~events.is_call & live], count)
    corrects = acts["corrects"] & endings.kept & ~endings.terminal
    action_end = np.cumsum(events.per_action) - 1
    corrects[corrects] = live[action_end[corrects]]
    columns["num_corrections"] = _counts(plan.task[corrects], count)
    return columns


def _counts(owners: np.ndarray, count: int) -> np.ndarray:
    """How many times each of `count` tasks appears in `owners` (int64)."""
    return np.bincount(owners, minlength=count).astype(np.int64, copy=False)



def _ties_across_tasks(times: np.ndarray, owners: np.ndarray) -> bool:
    """True when two tasks have something at the same instant (`times` sorted)."""
    return bool(((np.diff(times) == 0) & (np.diff(owners) != 0)).any())


def records(scenario: Scenario, plan: Timeline, types: np.ndarray,
            endings: Endings, events: Events, live: np.ndarray, asked: np.ndarray,
            horizon: float) -> dict | None:
    """Call and tool rows in the order the event queue writes them, tool
    demand and monitor samples; None when that order is not fixed by the
    instants alone or a tool service would have queued a call."""
    order = np.argsort(events.after, kind="stable")  # ties keep each task's order
    happened = order[live[order]]
    if _ties_across_tasks(events.after[happened], events.task[happened]):
        return None
    pools = _tool_pools(scenario, plan, events, asked, horizon)
    if pools is None:
        return None
    demand, samples = pools
    calls = _call_table(plan, types, events, happened[events.is_call[happened]])
    tools = _tool_table(plan, events, happened[~events.is_call[happened]])
    return {"calls": calls, "tool_calls": tools, "tool_demand_s": demand,
            "samples": samples}


def _call_table(plan: Timeline, types: np.ndarray, events: Events,
                rows: np.ndarray) -> dict[str, np.ndarray]:
    """The call records of call events `rows`, in that order."""
    acts = plan.actions
    action, owner = events.action[rows], events.task[rows]
    served, redo = events.served[rows], events.redo[rows]
    ttft = np.where(redo == 1, acts["escalation_ttft_s"][action],
                    acts["ttft_s"][action])
    requested = events.before[rows]
    n = len(rows)
    columns = {
        "task_id": owner, "task_type": types[owner],
        "step_index": acts["step_index"][action], "kind": acts["kind"][action],
        "backend": events.backend[rows], "requested_at": requested,
        "started_at": requested,
        "first_token_at": np.where(served, requested + np.where(served, ttft, 0.0),
                                   requested),
        "finished_at": events.after[rows], "tokens_in": acts["tokens_in"][action],
        "tokens_cached": acts["tokens_cached"][action],
        "tokens_cache_write": np.zeros(n), "tokens_out": acts["tokens_out"][action],
        "tokens_reasoning": acts["tokens_reasoning"][action],
        "status": events.status[rows], "replica": np.full(n, -1),
        "escalated": redo, "retries": np.zeros(n)}
    return {name: np.ascontiguousarray(columns[name],
                                       dtype=CALL_DTYPES.get(name, "int64"))
            for name in CALL_COLUMNS}


def _tool_table(plan: Timeline, events: Events, rows: np.ndarray
                ) -> dict[str, np.ndarray]:
    """The tool-attempt records of tool events `rows`, in that order."""
    acts = plan.actions
    action = events.action[rows]
    last = events.attempt[rows] == plan.attempts[action] - 1
    columns = {
        "task_id": events.task[rows], "tool": acts["tool"][action],
        "requested_at": events.before[rows], "started_at": events.before[rows],
        "finished_at": events.after[rows], "ok": last & acts["tool_ok"][action]}
    return {name: np.ascontiguousarray(columns[name],
                                       dtype=TOOL_DTYPES.get(name, "int64"))
            for name in TOOL_COLUMNS}


def _tool_pools(scenario: Scenario, plan: Timeline, events: Events,
                asked: np.ndarray, horizon: float
                ) -> tuple[list[float], dict[str, np.ndarray]] | None:
    """Each tool's demand (latencies summed in request order) and the
    monitor's samples of its slots; None when a pool would have been full or
    its order is not fixed by the instants alone."""
    requests = np.flatnonzero(~events.is_call & asked)
    requests = requests[np.argsort(events.before[requests], kind="stable")]
    if _ties_across_tasks(events.before[requests], events.task[requests]):
        return None
    tool_of = plan.actions["tool"][events.action[requests]]
    times = _sample_times(scenario.horizon_s, horizon)
    demand = [0.0] * len(scenario.tools)
    sampled: dict[str, np.ndarray] = {}
    for index, (name, spec) in enumerate(scenario.tools.items()):
        mine = requests[tool_of == index]
        if len(mine):
            demand[index] = float(np.cumsum(events.delay[mine])[-1])
        if spec.concurrency is None:
            continue
        starts, ends = events.before[mine], np.sort(events.after[mine])
        in_progress = np.arange(1, len(mine) + 1) - np.searchsorted(ends, starts)
        if len(mine) and in_progress.max() > spec.concurrency:
            return None
        if _hits(times, starts) or _hits(times, ends):
            return None
        sampled[f"tool:{name}:waiting"] = np.zeros(len(times))
        sampled[f"tool:{name}:busy_slots"] = (np.searchsorted(starts, times)
                                              - np.searchsorted(ends, times)
                                              ).astype(float)
    return demand, {"time_s": times if sampled else np.zeros(0), **sampled}


def _hits(sorted_times: np.ndarray, times: np.ndarray) -> bool:
    """True when any of `times` is one of `sorted_times`."""
    if not len(sorted_times) or not len(times):
        return False
    at = np.minimum(np.searchsorted(sorted_times, times), len(sorted_times) - 1)
    return bool((sorted_times[at] == times).any())


def _sample_times(horizon_s: float, until: float) -> np.ndarray:
    """The monitor's sampling instants before `until`: 0, then one interval
    after another, summed as the event queue sums them."""
    interval = max(horizon_s / MAX_SAMPLES, 1.0)
    times, now = [], 0.0
    while now < until:
        times.append(now)
        now = now + interval
    return np.asarray(times, dtype=float)


def within_limits(scenario: Scenario, plan: Timeline, events: Events,
                  asked: np.ndarray) -> bool:
    """True when no API's one-minute window ever holds more requests or tokens
    than its limits: then no call waited for admission."""
    sent = events.served & asked
    admitted = events.action[sent]
    window = np.floor_divide(events.before[sent], WINDOW_S)
    acts = plan.actions
    backend = events.backend[sent]
    tokens = (acts["tokens_in"] + acts["tokens_out"])[admitted]
    for index, spec in enumerate(scenario.backends.values()):
        if spec.requests_per_min is None and spec.tokens_per_min is None:
            continue
        mine = backend == index
        if not mine.any():
            continue
        _, slot = np.unique(window[mine], return_inverse=True)
        if (spec.requests_per_min is not None
                and np.bincount(slot).max() > spec.requests_per_min):
            return False
        if (spec.tokens_per_min is not None
                and np.bincount(slot, tokens[mine]).max() > spec.tokens_per_min):
            return False
    return True
