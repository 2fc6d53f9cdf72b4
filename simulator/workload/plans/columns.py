"""Plans of many tasks as columns: one numpy array per action field.

Task k's actions are rows `task_start[k]:task_start[k + 1]` of every action
column; action i's tool attempts are `attempt_latency[attempt_start[i]:
attempt_start[i + 1]]`. Blocks of tasks are drawn as columns and joined.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_ACTIONS_PER_TASK = 10_000
MAX_VISITS_PER_TASK = 1_000_000
NO_TOOL = -1
DYNAMIC = -1
"""Planned backend of a call whose backend is chosen when it is made."""
STOP_REASONS = (None, "cap_llm_calls", "plan_limit")
CAP_CALLS, PLAN_LIMIT = 1, 2
"""Indices of STOP_REASONS."""

ACTION_FIELDS = ("step_index", "kind", "llm", "tokens_in", "tokens_cached",
                 "tokens_out", "tokens_reasoning", "visible", "tool", "tool_ok",
                 "corrects", "escalate", "backend", "ttft_s", "tpot_s",
                 "escalation_ttft_s", "escalation_tpot_s")
ACTION_DTYPES = {name: np.int64 for name in ACTION_FIELDS} | {
    "llm": bool, "tool_ok": bool, "corrects": bool, "escalate": bool,
    "ttft_s": np.float64, "tpot_s": np.float64, "escalation_ttft_s": np.float64,
    "escalation_tpot_s": np.float64}


@dataclass
class PlanColumns:
    """The plans of consecutive tasks of one type, as columns.

    Action columns are ACTION_FIELDS (plus `attempt_start`, one longer); per
    task: `stop` indexes STOP_REASONS, `routine` (tiered routing) and
    `user_tokens` (the drawn request, which a replayed trace replaces).
    """

    task_start: np.ndarray
    actions: dict[str, np.ndarray]
    attempt_start: np.ndarray
    attempt_latency: np.ndarray
    stop: np.ndarray
    routine: np.ndarray
    user_tokens: np.ndarray


def join(parts: list[PlanColumns]) -> PlanColumns:
    """Blocks one after another, as one set of columns."""
    if not parts:
        return empty_columns()
    if len(parts) == 1:
        return parts[0]
    task_start = [np.zeros(1, dtype=np.int64)]
    attempt_start = [np.zeros(1, dtype=np.int64)]
    actions_before = attempts_before = 0
    for part in parts:
        task_start.append(part.task_start[1:] + actions_before)
        attempt_start.append(part.attempt_start[1:] + attempts_before)
        actions_before += int(part.task_start[-1])
        attempts_before += int(part.attempt_start[-1])
    return PlanColumns(
        np.concatenate(task_start),
        {name: np.concatenate([part.actions[name] for part in parts])
         for name in parts[0].actions},
        np.concatenate(attempt_start),
        np.concatenate([part.attempt_latency for part in parts]),
        np.concatenate([part.stop for part in parts]),
        np.concatenate([part.routine for part in parts]),
        np.concatenate([part.user_tokens for part in parts]))


def head(columns: PlanColumns, count: int) -> PlanColumns:
    """The first `count` tasks' plans."""
    actions = int(columns.task_start[count])
    attempts = int(columns.attempt_start[actions])
    return PlanColumns(
        columns.task_start[:count + 1],
        {name: values[:actions] for name, values in columns.actions.items()},
        columns.attempt_start[:actions + 1], columns.attempt_latency[:attempts],
        columns.stop[:count], columns.routine[:count], columns.user_tokens[:count])


def empty_columns() -> PlanColumns:
    """No tasks at all."""
    none = np.zeros(0, dtype=np.int64)
    return PlanColumns(np.zeros(1, dtype=np.int64),
                       {name: np.zeros(0, dtype=ACTION_DTYPES[name])
                        for name in ACTION_FIELDS},
                       np.zeros(1, dtype=np.int64), np.zeros(0), none.astype(np.int8),
                       none.astype(bool), none)


# --- columns cut into segments: task by task ---------------------------------
# `bounds` holds each segment's first row and, last, the row past the end
# (task_start's layout); segments may be empty.

def running_sums(values: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Running sums of `values`, restarting at each segment (exact for ints)."""
    total = np.cumsum(values)
    return total - np.repeat(np.concatenate([[0], total])[bounds[:-1]],
                             np.diff(bounds))


def first_in_segments(flags: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Per segment, the row of its first flagged element, or -1."""
    found = np.full(len(bounds) - 1, -1, dtype=np.int64)
    where = np.flatnonzero(flags)
    if len(where):
        segment = np.searchsorted(bounds, where, side="right") - 1
        first = np.unique(segment, return_index=True)
        found[first[0]] = where[first[1]]
    return found


def previous_call_input(llm: np.ndarray, tokens_in: np.ndarray, bounds: np.ndarray,
                        initial: np.ndarray) -> np.ndarray:
    """Per row, the input tokens of its segment's previous LLM call (the
    cacheable prefix), or `initial` (per row) before the segment's first."""
    rows = np.arange(len(llm))
    previous = np.maximum.accumulate(np.where(llm, rows, -1))
    previous = np.concatenate([[-1], previous[:-1]])
    start = np.repeat(bounds[:-1], np.diff(bounds))
    return np.where(previous >= start, tokens_in[np.maximum(previous, 0)], initial)


def replay_requests(columns: PlanColumns, tokens_in: np.ndarray,
                    tokens_out: np.ndarray, system_prompt: int,
                    cache_frac: float) -> None:
    """Put replayed requests in place of the first tasks' drawn ones (one
    request per task, in order; later tasks keep theirs): every call's
    context shifts by the difference in the user's tokens, calls after the
    first by the difference in its visible output, whose tokens it takes;
    cached tokens follow the shifted prefixes."""
    acts, bounds = columns.actions, columns.task_start
    llm = acts["llm"]
    count = len(tokens_in)
    first = first_in_segments(llm, bounds)
    user = np.zeros(len(first), dtype=np.int64)
    user[:count] = tokens_in - columns.user_tokens[:count]
    answer = np.zeros(len(first), dtype=np.int64)
    has = np.flatnonzero(first[:count] >= 0)
    answer[has] = tokens_out[has] - acts["visible"][first[has]]
    task = np.repeat(np.arange(len(first)), np.diff(bounds))
    rows = np.arange(len(llm))
    later = llm & (first[task] >= 0) & (rows > first[task])
    acts["tokens_in"] = np.where(llm, acts["tokens_in"] + user[task]
                                 + np.where(later, answer[task], 0), acts["tokens_in"])
    acts["tokens_out"] = acts["tokens_out"] + np.where(rows == first[task],
                                                       answer[task], 0)
    prefix = previous_call_input(llm, acts["tokens_in"], bounds,
                                 np.full(len(llm), system_prompt))
    acts["tokens_cached"] = np.where(llm, np.floor(cache_frac * prefix + 0.5),
                                     0).astype(np.int64)
