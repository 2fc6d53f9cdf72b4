"""Every round of a loop of plain steps, for a block of tasks, at once.

A loop whose body holds only steps that always run and never fault is drawn
without walking it round by round: each step's quantities are drawn for all
its visits (task by task, round by round), and the context, the cached
prefix and the call count are carried through each task's rounds with
running sums. A task stops where walking the loop would stop it: at the
calls cap, the actions limit or the visits limit (before the step), or after
a tool out of retries.
"""

from __future__ import annotations

import numpy as np

from simulator.workload.plans.columns import (
    MAX_ACTIONS_PER_TASK,
    MAX_VISITS_PER_TASK,
    PLAN_LIMIT,
    first_in_segments,
    previous_call_input,
    running_sums,
)


def loop_at_once(expander, steps: list, tasks: np.ndarray, rounds: np.ndarray,
                 state) -> None:
    """Append every round of the loop of `steps` to `tasks` (sorted ids),
    each running its drawn number of `rounds`."""
    visits = rounds * len(steps)
    total = int(visits.sum())
    if not total:
        return
    owner = np.repeat(tasks, visits)
    bounds = np.concatenate([[0], np.cumsum(visits)])
    position = np.arange(total) - np.repeat(bounds[:-1], visits)
    drawn = _draw_visits(expander, steps, position % len(steps), total)
    carried = _carry(expander, drawn, owner, bounds, state)
    kept = _cut(expander, drawn, carried["calls_before"], owner, position, tasks,
                bounds, state)
    _commit(state, tasks, owner, position, kept, drawn, carried)


def _draw_visits(expander, steps: list, step_of: np.ndarray, total: int) -> dict:
    """Each visit's drawn quantities, one step's visits at a time."""
    drawn = {name: np.zeros(total, dtype=np.int64) for name in (
        "input", "visible", "reasoning", "result", "tool", "attempts", "kind",
        "index", "latency_first")}
    drawn.update(llm=np.zeros(total, dtype=bool), ok=np.ones(total, dtype=bool),
                 escalate=np.zeros(total, dtype=bool))
    latencies, before = [], 0
    for number, draws in enumerate(steps):
        mine = np.flatnonzero(step_of == number)
        n = len(mine)
        drawn["kind"][mine], drawn["index"][mine] = draws.kind, draws.index
        drawn["tool"][mine] = draws.tool
        if draws.llm:
            drawn["llm"][mine] = True
            drawn["input"][mine] = draws.input_tokens(n)
            drawn["visible"][mine] = draws.output_tokens(n)
            drawn["reasoning"][mine] = draws.reasoning_tokens(n)
            if expander.cascade:
                drawn["escalate"][mine] = expander.routing(n) < draws.fail_prob
        if draws.tool_draws is not None:
            attempts, flat, fine = draws.tool_draws.attempts(n)
            drawn["attempts"][mine] = attempts
            drawn["latency_first"][mine] = before + np.cumsum(attempts) - attempts
            latencies.append(flat)
            before += len(flat)
            drawn["ok"][mine] = fine
            drawn["result"][mine[fine]] = draws.result_tokens(int(fine.sum()))
    drawn["latencies"] = np.concatenate(latencies) if latencies else np.zeros(0)
    return drawn


def _carry(expander, drawn: dict, owner: np.ndarray, bounds: np.ndarray,
           state) -> dict:
    """Input tokens, cached tokens and calls made before each visit, from the
    context each task brought into the loop."""
    llm = drawn["llm"]
    grows = np.where(llm, drawn["input"] + drawn["visible"], 0)
    grows += np.where(drawn["ok"], drawn["result"], 0)
    context = state.context[owner] + running_sums(grows, bounds) - grows
    tokens_in = np.where(llm, context + drawn["input"], 0)
    prefix = previous_call_input(llm, tokens_in, bounds, state.prefix[owner])
    cached = np.where(llm, np.floor(expander.cache_frac * prefix + 0.5), 0)
    made = llm.astype(np.int64)
    calls_before = state.num_calls[owner] + running_sums(made, bounds) - made
    return {"grows": grows, "tokens_in": tokens_in,
            "cached": cached.astype(np.int64), "calls_before": calls_before}


def _cut(expander, drawn: dict, calls_before: np.ndarray, owner: np.ndarray,
         position: np.ndarray, tasks: np.ndarray, bounds: np.ndarray,
         state) -> np.ndarray:
    """Which visits are planned: each task's up to its first stop, which
    ends the task (and names a reason when it is a cap or a limit)."""
    llm = drawn["llm"]
    limited = ((state.visits[owner] + position + 1 > MAX_VISITS_PER_TASK)
               | (state.num_actions[owner] + position >= MAX_ACTIONS_PER_TASK))
    stop_before = np.where(
        limited, PLAN_LIMIT,
        np.where(llm & (calls_before == expander.max_calls), expander.calls_reason,
                 0))
    stop_after = np.where(~drawn["ok"], -1, 0)         # a tool out of retries
    before = first_in_segments(stop_before != 0, bounds)
    after = first_in_segments(stop_after != 0, bounds)
    after_first = (after >= 0) & ((before < 0) | (after < before))
    before_first = (before >= 0) & ~after_first
    state.end(tasks[before_first], stop_before[before[before_first]])
    state.end(tasks[after_first], np.maximum(stop_after[after[after_first]], 0))
    cut = np.where(after_first, after + 1, np.where(before_first, before, bounds[1:]))
    return np.arange(len(llm)) < np.repeat(cut, np.diff(bounds))


def _commit(state, tasks: np.ndarray, owner: np.ndarray, position: np.ndarray,
            kept: np.ndarray, drawn: dict, carried: dict) -> None:
    """Append the planned visits as actions; move each task's state on."""
    rows = np.flatnonzero(kept)
    moved = owner[rows]
    slot = np.searchsorted(tasks, moved)
    counted = np.bincount(slot, minlength=len(tasks))
    grown = np.zeros(len(tasks), dtype=np.int64)
    np.add.at(grown, slot, carried["grows"][rows])            # exact integer sums
    state.context[tasks] += grown
    calls = rows[drawn["llm"][rows]][::-1]
    latest, at = np.unique(owner[calls], return_index=True)
    state.prefix[latest] = carried["tokens_in"][calls[at]]
    state.num_calls[tasks] += np.bincount(np.searchsorted(tasks, owner[calls]),
                                          minlength=len(tasks))
    state.visits[tasks] += counted
    attempts = drawn["attempts"][rows]
    starts = np.cumsum(attempts) - attempts
    state.latency_chunks.append(drawn["latencies"][
        np.repeat(drawn["latency_first"][rows] - starts, attempts)
        + np.arange(int(attempts.sum()))])
    visible, reasoning = drawn["visible"][rows], drawn["reasoning"][rows]
    state.chunks.append({
        "task": moved, "seq": state.num_actions[moved] + position[rows],
        "step_index": drawn["index"][rows], "kind": drawn["kind"][rows],
        "llm": drawn["llm"][rows], "tokens_in": carried["tokens_in"][rows],
        "tokens_cached": carried["cached"][rows], "tokens_out": visible + reasoning,
        "tokens_reasoning": reasoning, "visible": visible,
        "tool": drawn["tool"][rows], "tool_ok": drawn["ok"][rows],
        "escalate": drawn["escalate"][rows], "attempts": attempts})
    state.num_actions[tasks] += counted
