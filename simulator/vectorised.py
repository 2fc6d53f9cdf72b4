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

Limitations: runs with replayed request tokens, GPU backends,
spillover or cheapest routing (they read queue state), prompt caching or
debug logging always go event by event.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulator.backends.monitor import MAX_SAMPLES
from simulator.economics.pricing import backend_rates
from simulator.records import (
    CALL_COLUMNS,
    CALL_CONTEXT_OVERFLOW,
    CALL_DTYPES,
    CALL_OK,
    CALL_OVER_TPM,
    COMPLETED,
    FAIL_REASONS,
    FAILED,
    IN_FLIGHT,
    NO_REASON,
    REASON_CAP_TOKENS,
    REASON_CAP_USD,
    REASON_CONTEXT,
    REASON_TOOL,
    REASON_TPM,
    TOOL_COLUMNS,
    TOOL_DTYPES,
)
from simulator.scenario.schema import ApiBackend, Scenario
from simulator.scenario.workflow import STEP_KINDS, StepKind
from simulator.workload.arrivals import Arrivals
from simulator.workload.plans import (
    ACTION_DTYPES,
    ACTION_FIELDS,
    STOP_REASONS,
    PlanColumns,
    TaskPlanner,
)

WINDOW_S = 60.0
STATIC_POLICIES = ("fixed", "tiered", "cascade")


def why_not_vectorised(scenario: Scenario, arrivals: Arrivals,
                       settle: object, debug: bool) -> str | None:
    """Why a run cannot take the shortcut, or None if it may try."""
    if debug:
        return "debug logging is on"
    if settle is not None:
        return "the run stops when given tasks settle"
    if arrivals.tokens_in is not None:
        return "a trace replaces the requests' tokens"
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


class _Timeline:
    """Every task's plan laid end to end, in task order, as flat columns."""

    def __init__(self, scenario: Scenario, types: np.ndarray,
                 planners: list[TaskPlanner], dollar_caps: bool) -> None:
        count = len(types)
        parts: list[tuple[np.ndarray, PlanColumns]] = []
        for index, planner in enumerate(planners):
            ids = np.flatnonzero(types == index)
            if len(ids):
                parts.append((ids, planner.columns(len(ids))))
        per_task = np.zeros(count, dtype=np.int64)
        stop = np.zeros(count, dtype=np.int64)
        for ids, columns in parts:
            per_task[ids] = np.diff(columns.task_start)
            stop[ids] = columns.stop
        owner = np.concatenate([np.repeat(ids, np.diff(columns.task_start))
                                for ids, columns in parts])
        order = np.argsort(owner, kind="stable")
        self.task = owner[order]
        self.actions = {
            name: np.concatenate([c.actions[name] for _, c in parts]).astype(
                ACTION_DTYPES[name], copy=False)[order]
            for name in ACTION_FIELDS}
        attempts = np.concatenate([np.diff(c.attempt_start) for _, c in parts])
        shift = np.cumsum([0] + [len(c.attempt_latency) for _, c in parts[:-1]])
        first = np.concatenate([c.attempt_start[:-1] + s
                                for (_, c), s in zip(parts, shift, strict=True)])
        latency = np.concatenate([c.attempt_latency for _, c in parts])
        self.attempts = attempts[order]
        self.attempt_start = np.zeros(len(order) + 1, dtype=np.int64)
        np.cumsum(self.attempts, out=self.attempt_start[1:])
        gather = (np.repeat(first[order] - self.attempt_start[:-1], self.attempts)
                  + np.arange(self.attempt_start[-1]))
        self.attempt_latency = latency[gather]
        self.task_start = np.zeros(count + 1, dtype=np.int64)
        np.cumsum(per_task, out=self.task_start[1:])
        self.stop = stop
        self.max_tokens = np.array([t.caps.max_tokens or math.inf
                                    for t in scenario.task_types.values()])
        names = list(scenario.backends)
        self.redo_backend = np.array([
            names.index(t.route.default) if t.route.policy == "cascade" else -1
            for t in scenario.task_types.values()])
        self.cascades = np.array([
            [t.route.policy == "cascade" and StepKind(kind) not in t.route.by_step_kind
             for kind in STEP_KINDS] for t in scenario.task_types.values()])
        self.max_pusd = np.array([int(t.caps.max_usd * 10**12)
                                  if t.caps.max_usd and dollar_caps
                                  else np.iinfo(np.int64).max
                                  for t in scenario.task_types.values()])


@dataclass
class _Endings:
    """How far each task gets through its plan, and how it ends there.

    An action's LLM call is made once, or twice under cascade routing when
    the plan drew a failed check: the redo goes to the escalation backend.
    """

    status: np.ndarray            # per action and call (0 first, 1 redo)
    backend: np.ndarray           # per action and call
    redone: np.ndarray            # per action: the call is redone
    kept: np.ndarray              # per action: reached
    tool_kept: np.ndarray         # per action: its tool call is made
    terminal: np.ndarray          # per action: ends its task
    task_status: np.ndarray       # per task, once it ends
    reason: np.ndarray            # per task, once it ends


@dataclass
class _Events:
    """Every call and tool attempt of every task, task by task, in order."""

    action: np.ndarray            # the action each event belongs to
    is_call: np.ndarray
    redo: np.ndarray              # a call event: 1 for a cascade's redo
    attempt: np.ndarray           # tool attempt number (tool events)
    task: np.ndarray
    backend: np.ndarray           # a call event's backend
    status: np.ndarray            # a call event's status
    delay: np.ndarray
    before: np.ndarray            # the instant the event was requested
    after: np.ndarray             # the instant it ended
    per_action: np.ndarray
    per_task: np.ndarray

    @property
    def served(self) -> np.ndarray:
        """Call events served (not refused)."""
        return self.is_call & (self.status == CALL_OK)


def run_vectorised(scenario: Scenario, arrivals: Arrivals, planners: list[TaskPlanner],
                   horizon: float, dollar_caps: bool = True) -> dict | None:
    """The run's records and counters, or None when a check fails.
    `dollar_caps`: enforce task types' `max_usd` (the event-by-event engine
    does when it is given a call-cost function)."""
    starts = _start_times(arrivals.arrived_at, horizon)
    count = len(starts)
    if not count:
        return None
    types = arrivals.task_type[:count]
    plan = _Timeline(scenario, types, planners, dollar_caps)
    if (plan.actions["backend"][plan.actions["llm"]] < 0).any():
        return None
    endings = _endings(scenario, plan, types)
    events = _events(plan, endings, starts)
    live = events.after < horizon            # the event happened before the horizon
    asked = events.before < horizon          # its request did
    if not _within_limits(scenario, plan, endings, events, asked):
        return None
    result = _records(scenario, plan, types, endings, events, live, asked, horizon)
    if result is None:
        return None
    result["tasks"] = _task_columns(plan, types, arrivals, starts, endings, events,
                                    live, horizon)
    result["started"] = count
    acts = plan.actions
    sent = events.action[events.is_call & asked]
    backend = events.backend[events.is_call & asked]
    result["backend_requests"] = np.bincount(
        backend, minlength=len(scenario.backends)).tolist()
    result["backend_tokens"] = np.bincount(
        backend, (acts["tokens_in"] + acts["tokens_out"])[sent], len(scenario.backends)
    ).astype(np.int64).tolist()
    return result


def _endings(scenario: Scenario, plan: _Timeline, types: np.ndarray) -> _Endings:
    """Each task's first failing action (a call over the context window or
    the tokens-per-minute limit, the call that crosses the token or dollar
    cap, a tool out of retries), or its plan's own stop reason."""
    acts = plan.actions
    llm = acts["llm"]
    tokens = acts["tokens_in"] + acts["tokens_out"]
    backend = np.stack([acts["backend"], plan.redo_backend[types][plan.task]])
    status = np.stack([_call_status(scenario, backend[0], acts["tokens_in"], tokens),
                       _call_status(scenario, backend[1], acts["tokens_in"], tokens)])
    first_ok = llm & (status[0] == CALL_OK)
    redone = (first_ok & acts["escalate"]
              & plan.cascades[types[plan.task], acts["kind"]])
    status[1] = np.where(redone, status[1], CALL_OK)
    refused = (llm & ~first_ok) | (redone & (status[1] != CALL_OK))
    served = llm & ~refused
    refusal = np.where(first_ok, status[1], status[0])

    per_task = np.diff(plan.task_start)
    calls = first_ok.astype(np.int64) + (redone & ~refused)
    used = _running(calls * tokens, plan.task_start)
    over_tokens = served & (used > plan.max_tokens[types][plan.task])
    over_usd = served & ~over_tokens & _over_dollar_cap(
        scenario, plan, types, backend, first_ok, redone & ~refused)
    capped = over_tokens | over_usd
    tool = acts["tool"]
    tool_failed = (tool >= 0) & ~acts["tool_ok"]
    terminal = refused | capped | tool_failed
    reason_at = np.where(
        refused, np.where(refusal == CALL_CONTEXT_OVERFLOW, REASON_CONTEXT, REASON_TPM),
        np.where(over_tokens, REASON_CAP_TOKENS,
                 np.where(over_usd, REASON_CAP_USD, REASON_TOOL)))
    ends = _first_per_task(terminal, plan.task_start)
    early = ends >= 0
    keep_to = np.where(early, ends + 1, plan.task_start[1:])
    kept = np.arange(len(llm)) < np.repeat(keep_to, per_task)
    task_status = np.full(len(ends), COMPLETED, dtype=np.int64)
    reason = np.full(len(ends), NO_REASON, dtype=np.int64)
    reason[early] = reason_at[ends[early]]
    planned = ~early & (plan.stop > 0)
    stop_reasons = np.array([NO_REASON] + [FAIL_REASONS.index(name)
                                           for name in STOP_REASONS[1:]])
    reason[planned] = stop_reasons[plan.stop[planned]]
    task_status[early | planned] = FAILED
    return _Endings(status, backend, redone, kept,
                    kept & (tool >= 0) & ~refused & ~capped, terminal, task_status,
                    reason)


def _call_status(scenario: Scenario, backend: np.ndarray, tokens_in: np.ndarray,
                 tokens: np.ndarray) -> np.ndarray:
    """Per call: over its backend's context window, over its tokens-per-minute
    limit, or OK (backend -1: no call)."""
    backends = list(scenario.backends.values())
    context = np.array([scenario.models[b.model].context_window_tokens
                        for b in backends] + [np.iinfo(np.int64).max])
    tpm = np.array([b.tokens_per_min or 0 for b in backends] + [0])
    overflow = tokens_in > context[backend]
    over_tpm = ~overflow & (tpm[backend] > 0) & (tokens > tpm[backend])
    status = np.full(len(backend), CALL_OK, dtype=np.int64)
    status[overflow] = CALL_CONTEXT_OVERFLOW
    status[over_tpm] = CALL_OVER_TPM
    return status


def _running(values: np.ndarray, task_start: np.ndarray) -> np.ndarray:
    """Running sums of per-action values within each task."""
    total = np.cumsum(values)
    return total - np.repeat(np.concatenate([[0], total])[task_start[:-1]],
                             np.diff(task_start))


def _over_dollar_cap(scenario: Scenario, plan: _Timeline, types: np.ndarray,
                     backend: np.ndarray, first: np.ndarray, redo: np.ndarray
                     ) -> np.ndarray:
    """Per action: its served calls take the task's spend (pico-USD, priced
    as the bill prices it) over the task type's dollar cap."""
    limit = plan.max_pusd[types][plan.task]
    if not (limit < np.iinfo(np.int64).max).any():
        return np.zeros(len(first), dtype=bool)
    acts = plan.actions
    cost = np.zeros(len(first), dtype=np.int64)
    for index, rates in enumerate(backend_rates(scenario)):
        if rates is None:
            continue
        for made, on in ((first, backend[0]), (redo, backend[1])):
            mine = made & (on == index)
            if not mine.any():
                continue
            zero = np.zeros(int(mine.sum()), dtype=np.int64)
            for _, tokens, rate in rates.split(acts["tokens_in"][mine],
                                               acts["tokens_cached"][mine], zero,
                                               acts["tokens_out"][mine]):
                cost[mine] += tokens * rate
    return _running(cost, plan.task_start) > limit


def _events(plan: _Timeline, endings: _Endings, starts: np.ndarray) -> _Events:
    """Each reached action's call (and its redo), then its tool attempts,
    timed one after another from the task's start."""
    acts = plan.actions
    calls = (endings.kept & acts["llm"]).astype(np.int64)
    calls += endings.kept & endings.redone
    per_action = calls + np.where(endings.tool_kept, plan.attempts, 0)
    first = np.zeros(len(per_action) + 1, dtype=np.int64)
    np.cumsum(per_action, out=first[1:])
    action = np.repeat(np.arange(len(per_action)), per_action)
    rank = np.arange(int(first[-1])) - first[action]
    is_call = rank < calls[action]
    redo = np.where(is_call, rank, 0)
    attempt = rank - calls[action]
    backend = np.where(is_call, endings.backend[redo, action], -1)
    status = np.where(is_call, endings.status[redo, action], CALL_OK)
    ttft = np.where(redo == 1, acts["escalation_ttft_s"][action],
                    acts["ttft_s"][action])
    tpot = np.where(redo == 1, acts["escalation_tpot_s"][action],
                    acts["tpot_s"][action])
    delay = np.where(is_call & (status == CALL_OK),
                     ttft + acts["tokens_out"][action] * tpot, 0.0)
    tools = ~is_call
    delay[tools] = plan.attempt_latency[plan.attempt_start[action[tools]]
                                        + attempt[tools]]
    task = plan.task[action]
    per_task = np.bincount(task, minlength=len(starts))
    before, after = _accumulate(starts, delay, per_task)
    return _Events(action, is_call, redo, attempt, task, backend, status, delay,
                   before, after, per_action, per_task)


def _task_columns(plan: _Timeline, types: np.ndarray, arrivals: Arrivals,
                  starts: np.ndarray, endings: _Endings, events: _Events,
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
    columns["num_llm_calls"] = np.bincount(owner, minlength=count)
    for name in ("tokens_in", "tokens_cached", "tokens_out"):
        columns[name] = np.bincount(owner, acts[name][action], count).astype(np.int64)
    columns["num_tool_calls"] = np.bincount(events.task[~events.is_call & live],
                                            minlength=count)
    corrects = acts["corrects"] & endings.kept & ~endings.terminal
    action_end = np.cumsum(events.per_action) - 1
    corrects[corrects] = live[action_end[corrects]]
    columns["num_corrections"] = np.bincount(plan.task[corrects], minlength=count)
    return {name: (values.astype(np.int64) if values.dtype.kind == "i" else values)
            if name not in ("status", "reason", "task_type") else values
            for name, values in columns.items()}


def _start_times(arrived_at: np.ndarray, horizon: float) -> np.ndarray:
    """Each task's start, as the arrival process reaches it: the clock moves
    by `arrived_at - now`, the same subtraction and addition the event queue
    makes; tasks reached only at or after the horizon never start."""
    previous = np.concatenate([[0.0], np.maximum.accumulate(arrived_at)[:-1]])
    moves = arrived_at > previous
    if (previous[moves] + (arrived_at[moves] - previous[moves])
            == arrived_at[moves]).all() and (np.diff(arrived_at) >= 0).all():
        return arrived_at[:np.searchsorted(arrived_at, horizon, "left")]
    now = 0.0
    starts = []
    for arrived in arrived_at.tolist():
        if arrived > now:
            now = now + (arrived - now)
            if now >= horizon:
                break
        starts.append(now)
    return np.asarray(starts, dtype=float)


def _first_per_task(flags: np.ndarray, task_start: np.ndarray) -> np.ndarray:
    """Index of each task's first flagged action, or -1."""
    where = np.flatnonzero(flags)
    owner = np.searchsorted(task_start, where, side="right") - 1
    found = np.full(len(task_start) - 1, -1, dtype=np.int64)
    first = np.unique(owner, return_index=True)
    found[first[0]] = where[first[1]]
    return found


def _accumulate(starts: list[float], delay: np.ndarray, per_task: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Each event's start and end: each task's clock from its start, adding
    its delays one by one (the sums the event queue makes, in its order)."""
    offsets = np.zeros(len(per_task) + 1, dtype=np.int64)
    np.cumsum(per_task, out=offsets[1:])
    order = np.argsort(-per_task, kind="stable")
    lengths = per_task[order]
    clock = np.asarray(starts, dtype=float)[order]
    first = offsets[:-1][order]
    before = np.empty(len(delay))
    after = np.empty(len(delay))
    active = len(order)
    for step in range(int(lengths[0]) if len(lengths) else 0):
        while active and lengths[active - 1] <= step:
            active -= 1
        at = first[:active] + step
        before[at] = clock[:active]
        clock[:active] = clock[:active] + delay[at]
        after[at] = clock[:active]
    return before, after


def _ties_across_tasks(times: np.ndarray, owners: np.ndarray) -> bool:
    """True when two tasks have something at the same instant (`times` sorted)."""
    return bool(((np.diff(times) == 0) & (np.diff(owners) != 0)).any())


def _records(scenario: Scenario, plan: _Timeline, types: np.ndarray,
             endings: _Endings, events: _Events, live: np.ndarray, asked: np.ndarray,
             horizon: float) -> dict | None:
    """Call and tool rows in the order the event queue writes them, tool
    demand and monitor samples; None when that order is not fixed by the
    instants alone or a tool service would have queued a call."""
    acts, after, before = plan.actions, events.after, events.before
    order = np.argsort(after, kind="stable")       # ties keep each task's order
    happened = order[live[order]]
    if _ties_across_tasks(after[happened], events.task[happened]):
        return None
    call_rows = happened[events.is_call[happened]]
    tool_rows = happened[~events.is_call[happened]]
    action = events.action[call_rows]
    owner = events.task[call_rows]
    served = events.served[call_rows]
    redo = events.redo[call_rows]
    ttft = np.where(redo == 1, acts["escalation_ttft_s"][action],
                    acts["ttft_s"][action])
    requested = before[call_rows]
    n = len(call_rows)
    columns = {
        "task_id": owner, "task_type": types[owner],
        "step_index": acts["step_index"][action], "kind": acts["kind"][action],
        "backend": events.backend[call_rows], "requested_at": requested,
        "started_at": requested,
        "first_token_at": np.where(served, requested + np.where(served, ttft, 0.0),
                                   requested),
        "finished_at": after[call_rows], "tokens_in": acts["tokens_in"][action],
        "tokens_cached": acts["tokens_cached"][action],
        "tokens_cache_write": np.zeros(n), "tokens_out": acts["tokens_out"][action],
        "tokens_reasoning": acts["tokens_reasoning"][action],
        "status": events.status[call_rows], "replica": np.full(n, -1),
        "escalated": redo, "retries": np.zeros(n)}
    calls = {name: np.ascontiguousarray(columns[name],
                                        dtype=CALL_DTYPES.get(name, "int64"))
             for name in CALL_COLUMNS}
    action = events.action[tool_rows]
    last = events.attempt[tool_rows] == plan.attempts[action] - 1
    columns = {
        "task_id": events.task[tool_rows], "tool": acts["tool"][action],
        "requested_at": before[tool_rows], "started_at": before[tool_rows],
        "finished_at": after[tool_rows], "ok": last & acts["tool_ok"][action]}
    tools = {name: np.ascontiguousarray(columns[name],
                                        dtype=TOOL_DTYPES.get(name, "int64"))
             for name in TOOL_COLUMNS}
    pools = _tool_pools(scenario, plan, events, asked, horizon)
    if pools is None:
        return None
    demand, samples = pools
    return {"calls": calls, "tool_calls": tools, "tool_demand_s": demand,
            "samples": samples}


def _tool_pools(scenario: Scenario, plan: _Timeline, events: _Events,
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


def _within_limits(scenario: Scenario, plan: _Timeline, endings: _Endings,
                   events: _Events, asked: np.ndarray) -> bool:
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
