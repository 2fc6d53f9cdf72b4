"""Every task's plan laid end to end, how far each task gets, and when each
of its calls and tool attempts starts and ends.

Times are summed task by task with the same floating-point operations, in
the same order, as the event queue sums them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulator.economics.pricing import backend_rates
from simulator.records import (
    CALL_CONTEXT_OVERFLOW,
    CALL_OK,
    CALL_OVER_TPM,
    COMPLETED,
    FAIL_REASONS,
    FAILED,
    NO_REASON,
    REASON_CAP_TOKENS,
    REASON_CAP_USD,
    REASON_CONTEXT,
    REASON_TOOL,
    REASON_TPM,
)
from simulator.scenario.schema import Scenario
from simulator.scenario.workflow import STEP_KINDS, StepKind
from simulator.workload.plans import (
    ACTION_DTYPES,
    ACTION_FIELDS,
    STOP_REASONS,
    PlanColumns,
    TaskPlanner,
)
from simulator.workload.plans.columns import (
    first_in_segments,
    running_sums,
)


class Timeline:
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
        self.stop = np.zeros(count, dtype=np.int64)
        for ids, columns in parts:
            per_task[ids] = np.diff(columns.task_start)
            self.stop[ids] = columns.stop
        owner = np.concatenate([np.repeat(ids, np.diff(columns.task_start))
                                for ids, columns in parts])
        order = np.argsort(owner, kind="stable")
        self.task = owner[order]
        self.task_start = np.zeros(count + 1, dtype=np.int64)
        np.cumsum(per_task, out=self.task_start[1:])
        self.actions = {
            name: np.concatenate([c.actions[name] for _, c in parts]).astype(
                ACTION_DTYPES[name], copy=False)[order]
            for name in ACTION_FIELDS}
        self._gather_attempts([c for _, c in parts], order)
        self._limits(scenario, dollar_caps)

    def _gather_attempts(self, parts: list[PlanColumns], order: np.ndarray) -> None:
        """Tool attempts of every action, in the actions' new order."""
        attempts = np.concatenate([np.diff(c.attempt_start) for c in parts])
        shift = np.cumsum([0] + [len(c.attempt_latency) for c in parts[:-1]])
        first = np.concatenate([c.attempt_start[:-1] + s
                                for c, s in zip(parts, shift, strict=True)])
        latency = np.concatenate([c.attempt_latency for c in parts])
        self.attempts = attempts[order]
        self.attempt_start = np.zeros(len(order) + 1, dtype=np.int64)
        np.cumsum(self.attempts, out=self.attempt_start[1:])
        gather = (np.repeat(first[order] - self.attempt_start[:-1], self.attempts)
                  + np.arange(self.attempt_start[-1]))
        self.attempt_latency = latency[gather]

    def _limits(self, scenario: Scenario, dollar_caps: bool) -> None:
        """Per task type: caps, and a cascade's escalation backend and kinds."""
        types = list(scenario.task_types.values())
        names = list(scenario.backends)
        self.max_tokens = np.array([t.caps.max_tokens or math.inf for t in types])
        never = np.iinfo(np.int64).max
        limits = [int(t.caps.max_usd * 10**12) if t.caps.max_usd and dollar_caps
                  else never for t in types]
        self.max_pusd = np.array(limits, dtype=np.int64 if max(limits) <= never
                                 else object)
        self.redo_backend = np.array([
            names.index(t.route.default) if t.route.policy == "cascade" else -1
            for t in types])
        self.cascades = np.array([
            [t.route.policy == "cascade" and StepKind(kind) not in t.route.by_step_kind
             for kind in STEP_KINDS] for t in types])


@dataclass
class Endings:
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
class Events:
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


def find_endings(scenario: Scenario, plan: Timeline, types: np.ndarray) -> Endings:
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
    used = running_sums(calls * tokens, plan.task_start)
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
    ends = first_in_segments(terminal, plan.task_start)
    keep_to = np.where(ends >= 0, ends + 1, plan.task_start[1:])
    kept = np.arange(len(llm)) < np.repeat(keep_to, per_task)
    task_status, reason = _outcomes(plan, ends, reason_at)
    return Endings(status, backend, redone, kept,
                   kept & (tool >= 0) & ~refused & ~capped, terminal, task_status,
                   reason)


def _outcomes(plan: Timeline, ends: np.ndarray, reason_at: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """Each task's status and reason once it ends: failed at its first
    failing action, or for its plan's stop reason, else completed."""
    early = ends >= 0
    status = np.full(len(ends), COMPLETED, dtype=np.int64)
    reason = np.full(len(ends), NO_REASON, dtype=np.int64)
    reason[early] = reason_at[ends[early]]
    planned = ~early & (plan.stop > 0)
    stop_reasons = np.array([NO_REASON] + [FAIL_REASONS.index(name)
                                           for name in STOP_REASONS[1:]])
    reason[planned] = stop_reasons[plan.stop[planned]]
    status[early | planned] = FAILED
    return status, reason


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


def _over_dollar_cap(scenario: Scenario, plan: Timeline, types: np.ndarray,
                     backend: np.ndarray, first: np.ndarray, redo: np.ndarray
                     ) -> np.ndarray:
    """Per action: its served calls take the task's spend (pico-USD, priced
    as the bill prices it) over the task type's dollar cap."""
    limit = plan.max_pusd[types][plan.task]
    if not (limit < np.iinfo(np.int64).max).any():
        return np.zeros(len(first), dtype=bool)
    acts = plan.actions
    rates = backend_rates(scenario)
    top = max((r.top_rate() for r in rates if r is not None), default=0)
    spend = float(np.sum(acts["tokens_in"] + acts["tokens_out"], dtype=float)) * top
    exact = np.int64 if spend < 2.0**61 else object     # Python ints past int64
    cost = np.zeros(len(first), dtype=exact)
    for index, api in enumerate(rates):
        if api is None:
            continue
        for made, on in ((first, backend[0]), (redo, backend[1])):
            mine = made & (on == index)
            if not mine.any():
                continue
            zero = np.zeros(int(mine.sum()), dtype=np.int64)
            for _, tokens, rate in api.split(acts["tokens_in"][mine],
                                             acts["tokens_cached"][mine], zero,
                                             acts["tokens_out"][mine]):
                cost[mine] += tokens.astype(exact) * rate
    return (running_sums(cost, plan.task_start) > limit).astype(bool)


def time_events(plan: Timeline, endings: Endings, starts: np.ndarray) -> Events:
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
    return Events(action, is_call, redo, attempt, task, backend, status, delay,
                   before, after, per_action, per_task)


def start_times(arrived_at: np.ndarray, horizon: float) -> np.ndarray:
    """Each task's start, as the arrival process reaches it: the clock moves
    by `arrived_at - now`, the same subtraction and addition the event queue
    makes; tasks reached only at or after the horizon never start."""
    previous = np.concatenate([[0.0], np.maximum.accumulate(arrived_at)[:-1]])
    moves = arrived_at > previous
    if ((previous[moves] + (arrived_at[moves] - previous[moves])
         == arrived_at[moves]).all() and (np.diff(arrived_at) >= 0).all()
            and (arrived_at >= 0).all()):
        started = arrived_at[:np.searchsorted(arrived_at, horizon, "left")]
        return started + 0.0                   # -0.0 starts at the clock's +0.0
    now = 0.0
    starts = []
    for arrived in arrived_at.tolist():
        if arrived > now:
            now = now + (arrived - now)
            if now >= horizon:
                break
        starts.append(now)
    return np.asarray(starts, dtype=float)



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

