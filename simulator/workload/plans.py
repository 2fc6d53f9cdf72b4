"""Expand a task type's workflow into the plans its tasks will carry out.

Plans are drawn a block of tasks at a time, vectorised: every task of the
block walks the workflow together, and each random quantity (a step's output
tokens, a loop's iterations, a tool's latency) is drawn for all the tasks that
reach it at once, from that quantity's own stream. The k-th task of a type
always gets the same plan for a seed, whatever the horizon, the arrival
instants or the policies: blocks have a fixed size per task type and are drawn
in order, so two scenarios that differ in policy give every task the same plan
(common random numbers).

Each planned LLM call knows its input tokens (the whole context re-sent), the
cached share of them, and its output tokens; each planned tool call knows the
latency of every attempt and whether the last one succeeded. When the route
fixes a call's backend in advance (fixed, tiered, cascade's first call, or a
step kind pinned to a backend) and that backend is a pay-per-token API, the
call's time to first token and time per output token are drawn with the plan
too, from the task type's latency streams: one standard normal and one
uniform draw per LLM call, mapped onto the backend's distribution, so a call
keeps its place in those streams whichever backend a variant sends it to.
Calls routed by live state draw from the backend when they are made.

Context rule: a call sends the system prompt, the user's request, and every
earlier step's new input, visible output and tool result, plus its own new
input. The cacheable prefix of a call is the previous call's input (the
system prompt for the first call); `cache_read_frac` of it is a cache read.
A correction (a reflect step's fault) restarts the list of steps the reflect
step belongs to: the workflow, or the body of the loop it is in.
Limitations: reasoning tokens are not re-sent; a failed tool attempt adds
nothing to the context; caches never expire within a task.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.rng import Streams
from simulator.scenario.base import Constant
from simulator.scenario.schema import ApiBackend, Scenario
from simulator.scenario.workflow import STEP_KINDS, Loop, Step, TaskType, _worst_visits
from simulator.tools import UNIT
from simulator.workload.sampling import (
    make_transform,
    make_vector_count_sampler,
    make_vector_sampler,
)

MAX_ACTIONS_PER_TASK = 10_000
MAX_VISITS_PER_TASK = 1_000_000
NO_TOOL = -1
DYNAMIC = -1
"""Planned backend of a call whose backend is chosen when it is made."""
BLOCK_VISITS = 1 << 20
"""Worst-case node visits a block may hold: sets the block size per type."""
MAX_BLOCK_TASKS = 4096
STOP_REASONS = (None, "cap_llm_calls", "plan_limit")
_ZERO = Constant(dist="constant", value=0)


@dataclass(slots=True)
class Action:
    """One step as planned: an LLM call, a tool call, or both (call first).

    `tool_latencies_s` holds one latency per attempt; `tool_ok` tells whether
    the last attempt succeeded. `backend` is the call's backend when the route
    fixes it in advance (DYNAMIC otherwise), with the call's drawn `ttft_s`
    and `tpot_s` there (NaN when not drawn; likewise for an escalated call's
    redo). Set once by the planner, then only read.
    """

    step_index: int
    kind: int
    llm: bool
    tokens_in: int
    tokens_cached: int
    tokens_out: int
    tokens_reasoning: int
    tool: int
    tool_latencies_s: tuple[float, ...]
    tool_ok: bool
    corrects: bool = False
    escalate: bool = False
    """cascade routing: the first model's answer fails and the call is redone."""
    backend: int = DYNAMIC
    ttft_s: float = float("nan")
    tpot_s: float = float("nan")
    escalation_ttft_s: float = float("nan")
    escalation_tpot_s: float = float("nan")
    """cascade: the redone call's latency on the escalation backend."""


@dataclass(frozen=True, slots=True)
class Plan:
    """A task's actions, and why expansion stopped early, if it did.

    `stop_reason` is "cap_llm_calls" when the task would exceed its
    `max_llm_calls`, or "plan_limit" when it would exceed MAX_ACTIONS_PER_TASK
    actions or MAX_VISITS_PER_TASK workflow nodes visited.
    """

    actions: tuple[Action, ...]
    stop_reason: str | None
    routine: bool = False
    """tiered routing: the task is routine."""


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

    Task k's actions are rows `task_start[k]:task_start[k + 1]` of each
    action column (ACTION_FIELDS, plus `attempt_start`); action i's tool
    attempts are `attempt_latency[attempt_start[i]:attempt_start[i + 1]]`.
    Per task: `stop` indexes STOP_REASONS, `routine`, and `user_tokens`.
    """

    task_start: np.ndarray
    actions: dict[str, np.ndarray]
    attempt_start: np.ndarray
    attempt_latency: np.ndarray
    stop: np.ndarray
    routine: np.ndarray
    user_tokens: np.ndarray

    @property
    def num_tasks(self) -> int:
        """Tasks held."""
        return len(self.stop)


class _StepDraws:
    """The samplers and constants of one workflow step."""

    def __init__(self, step: Step, index: int, prefix: str, streams: Streams,
                 fail_prob: float):
        def count(field: str, dist: object):
            """A whole-number sampler on this step's stream for `field`."""
            generator = streams.generator(f"{prefix}/{field}")
            return make_vector_count_sampler(dist, generator)

        self.index = index
        self.kind = STEP_KINDS.index(step.kind.value)
        self.llm = step.makes_llm_call
        self.input_tokens = count("input_tokens", step.input_tokens)
        self.output_tokens = count("output_tokens", step.output_tokens or _ZERO)
        self.reasoning_tokens = count("reasoning_tokens", step.reasoning_tokens)
        self.result_tokens = count("result_tokens", step.result_tokens)
        self.fail_prob = fail_prob
        self.tool = NO_TOOL
        self.tool_draws: _ToolDraws | None = None


class _ToolDraws:
    """Latency and failure draws of one tool for one task type."""

    def __init__(self, tool: object, prefix: str, streams: Streams) -> None:
        self.latency = make_vector_sampler(tool.latency_s,
                                           streams.generator(f"{prefix}/latency"))
        self.failure = make_vector_sampler(UNIT, streams.generator(f"{prefix}/failure"))
        self.failure_prob = tool.failure_prob
        self.max_retries = tool.max_retries

    def attempts(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For `n` tool calls: attempts each, their latencies flattened in
        call order, and whether each call's last attempt succeeded."""
        latency = np.full((n, self.max_retries + 1), np.nan)
        latency[:, 0] = self.latency(n)
        attempts = np.ones(n, dtype=np.int64)
        pending = np.arange(n)
        if self.failure_prob > 0:
            pending = pending[self.failure(n) < self.failure_prob]
            for retry in range(1, self.max_retries + 1):
                if not len(pending):
                    break
                latency[pending, retry] = self.latency(len(pending))
                attempts[pending] += 1
                pending = pending[self.failure(len(pending)) < self.failure_prob]
        else:
            pending = pending[:0]
        ok = np.ones(n, dtype=bool)
        ok[pending] = False
        taken = np.arange(self.max_retries + 1)[None, :] < attempts[:, None]
        return attempts, latency[taken], ok


class _Block:
    """Expansion state of one block of tasks, and the actions drawn so far."""

    def __init__(self, size: int, task_type: TaskType, context: np.ndarray) -> None:
        self.context = context
        self.prefix = np.full(size, task_type.system_prompt_tokens, dtype=np.int64)
        self.num_calls = np.zeros(size, dtype=np.int64)
        self.corrections = np.zeros(size, dtype=np.int64)
        self.visits = np.zeros(size, dtype=np.int64)
        self.num_actions = np.zeros(size, dtype=np.int64)
        self.ended = np.zeros(size, dtype=bool)
        self.stop = np.zeros(size, dtype=np.int8)
        self.chunks: list[dict[str, np.ndarray]] = []
        self.latency_chunks: list[np.ndarray] = []
        self.corrected: list[tuple[np.ndarray, np.ndarray]] = []

    def end(self, tasks: np.ndarray, reason: int) -> None:
        """Stop expanding `tasks`, for STOP_REASONS[reason]."""
        self.stop[tasks] = reason
        self.ended[tasks] = True


class TaskPlanner:
    """Draws plans for the tasks of one task type, a block at a time."""

    def __init__(self, scenario: Scenario, type_name: str, streams: Streams) -> None:
        task_type: TaskType = scenario.task_types[type_name]
        prefix = f"task_types/{type_name}"
        self.task_type = task_type
        self.streams, self.prefix = streams, prefix
        self.tool_names = list(scenario.tools)
        self.tool_draws = {name: _ToolDraws(tool, f"{prefix}/tools/{name}", streams)
                           for name, tool in scenario.tools.items()}
        self.user_input = make_vector_count_sampler(
            task_type.user_input_tokens, streams.generator(f"{prefix}/user_input"))
        self.chance = make_vector_sampler(UNIT, streams.generator(f"{prefix}/branches"))
        self.route = task_type.route
        self.cascade = task_type.route.policy == "cascade"
        self.routing = make_vector_sampler(UNIT, streams.generator(f"{prefix}/routing"))
        self.cache_frac = task_type.cache_read_frac
        self.max_corrections = task_type.caps.max_corrections
        self.max_calls = task_type.caps.max_llm_calls or MAX_ACTIONS_PER_TASK
        self.calls_reason = 1 if task_type.caps.max_llm_calls else 2
        self.steps: dict[int, _StepDraws] = {}
        self.loop_counts: dict[int, object] = {}
        self._index_nodes(task_type.workflow, prefix, [0])
        self.nodes = self._compile(task_type.workflow)
        self.block_size = max(1, min(MAX_BLOCK_TASKS, BLOCK_VISITS // max(1, (
            _worst_visits(task_type.workflow) * (self.max_corrections + 1)))))
        self._static_routes(scenario)
        self.blocks: list[PlanColumns] = []
        self._lists: list[dict[str, list]] = []
        self.drawn = 0

    # --- the plan of one task, for the event-by-event engine -------------

    def draw(self, request: tuple[int, int] | None = None) -> Plan:
        """The plan of the next task of this type.

        `request` (input, output tokens), from a replayed trace, replaces the
        drawn user request and the first LLM call's visible output.
        """
        index = self.drawn
        self.drawn += 1
        block, row = divmod(index, self.block_size)
        while len(self.blocks) <= block:
            self._add_block()
        while len(self._lists) <= block:
            self._lists.append(_as_objects(self.blocks[len(self._lists)]))
        if row == 0 and block:           # the tasks of earlier blocks have theirs
            self.blocks[block - 1] = self._lists[block - 1] = None
        actions, task_start, stop, routine, _, _ = self._lists[block]
        first, last = task_start[row], task_start[row + 1]
        planned = tuple(actions[first:last])
        if request is not None:
            planned = self._replace_request(planned, self._lists[block][4][first:last],
                                            request, self._lists[block][5][row])
        return Plan(planned, STOP_REASONS[stop[row]], routine[row])

    def _replace_request(self, actions: tuple[Action, ...], visible: list[int],
                         request: tuple[int, int], drawn_user: int
                         ) -> tuple[Action, ...]:
        """The actions with a replayed request's tokens in place of the drawn
        ones: every call's context shifts by the difference."""
        shift = request[0] - drawn_user
        prefix = self.task_type.system_prompt_tokens
        first_visible = None
        for action, shown in zip(actions, visible, strict=True):
            if not action.llm:
                continue
            action.tokens_in += shift
            action.tokens_cached = int(self.cache_frac * prefix + 0.5)
            prefix = action.tokens_in
            if first_visible is None:
                first_visible = shown
                action.tokens_out += request[1] - shown
                shift += request[1] - shown
        return actions

    # --- columns of many tasks, for the vectorised engine ---------------

    def columns(self, count: int) -> PlanColumns:
        """The plans of this type's first `count` tasks, as columns (drawing
        blocks as needed; `draw` then hands out the same plans). Only before
        `draw`: it lets go of the blocks it has handed out."""
        while len(self.blocks) * self.block_size < count:
            self._add_block()
        needed = -(-count // self.block_size) if count else 0
        parts = self.blocks[:needed]
        if not parts:
            return _empty_columns()
        joined = _join(parts)
        return _head(joined, count)

    # --- drawing a block -------------------------------------------------

    def _add_block(self) -> None:
        self.blocks.append(self._draw_block(self.block_size))

    def _draw_block(self, size: int) -> PlanColumns:
        user_tokens = self.user_input(size)
        state = _Block(size, self.task_type,
                       self.task_type.system_prompt_tokens + user_tokens)
        routine = np.zeros(size, dtype=bool)
        if self.route.policy == "tiered":
            routine = self.routing(size) < self.route.routine_frac
        self._expand(self.nodes, np.arange(size), state)
        columns = _assemble(state, size)
        columns.routine, columns.user_tokens = routine, user_tokens
        self._draw_latencies(columns)
        return columns

    def _expand(self, nodes: list[tuple], tasks: np.ndarray, state: _Block) -> None:
        """Walk `nodes` for `tasks` (sorted ids), each at its own position."""
        position = np.zeros(len(tasks), dtype=np.int64)
        count = len(nodes)
        while True:
            live = (position < count) & ~state.ended[tasks]
            if not live.any():
                return
            node = int(position[live].min())
            here = live & (position == node)
            position[here] += 1
            chosen = tasks[here]
            is_loop, drawn, probability, limit, body, plain = nodes[node]
            state.visits[chosen] += 1
            over = state.visits[chosen] > MAX_VISITS_PER_TASK
            if over.any():
                state.end(chosen[over], 2)
                chosen = chosen[~over]
            if probability < 1 and len(chosen):
                chosen = chosen[self.chance(len(chosen)) < probability]
            if not len(chosen):
                continue
            if is_loop:
                rounds = np.minimum(drawn(len(chosen)), limit)
                if plain:
                    self._loop_at_once(plain, chosen, rounds, state)
                    continue
                for round_ in range(int(rounds.max())):
                    going = chosen[(rounds > round_) & ~state.ended[chosen]]
                    if not len(going):
                        break
                    self._expand(body, going, state)
                continue
            going = self._plan_step(drawn, chosen, state)
            if limit > 0 and len(going):
                faulted = going[(self.chance(len(going)) < limit)
                                & (state.corrections[going] < self.max_corrections)]
                if len(faulted):
                    state.corrections[faulted] += 1
                    state.corrected.append((faulted, state.num_actions[faulted] - 1))
                    position[np.searchsorted(tasks, faulted)] = 0

    def _plan_step(self, draws: _StepDraws, tasks: np.ndarray, state: _Block
                   ) -> np.ndarray:
        """Append one action to each of `tasks`; the tasks still going."""
        n = len(tasks)
        zeros = np.zeros(n, dtype=np.int64)
        tokens_in = cached = out = reasoning = visible = zeros
        if draws.llm:
            capped = state.num_calls[tasks] == self.max_calls
            if capped.any():
                state.end(tasks[capped], self.calls_reason)
                tasks = tasks[~capped]
                n = len(tasks)
                if not n:
                    return tasks
                zeros = np.zeros(n, dtype=np.int64)
            tokens_in = state.context[tasks] + draws.input_tokens(n)
            cached = np.floor(self.cache_frac * state.prefix[tasks] + 0.5
                              ).astype(np.int64)
            visible = draws.output_tokens(n)
            reasoning = draws.reasoning_tokens(n)
            out = visible + reasoning
            state.prefix[tasks] = tokens_in
            state.context[tasks] = tokens_in + visible
            state.num_calls[tasks] += 1
        attempts, ok = zeros, np.ones(n, dtype=bool)
        if draws.tool_draws is not None:
            attempts, latencies, ok = draws.tool_draws.attempts(n)
            state.latency_chunks.append(latencies)
            state.context[tasks[ok]] += draws.result_tokens(int(ok.sum()))
        escalate = np.zeros(n, dtype=bool)
        if draws.llm and self.cascade:
            escalate = self.routing(n) < draws.fail_prob
        state.chunks.append({
            "task": tasks, "seq": state.num_actions[tasks].copy(),
            "step_index": np.full(n, draws.index), "kind": np.full(n, draws.kind),
            "llm": np.full(n, draws.llm), "tokens_in": tokens_in,
            "tokens_cached": cached if draws.llm else zeros, "tokens_out": out,
            "tokens_reasoning": reasoning, "visible": visible,
            "tool": np.full(n, draws.tool), "tool_ok": ok, "escalate": escalate,
            "attempts": attempts})
        state.num_actions[tasks] += 1
        state.ended[tasks[~ok]] = True
        going = tasks[ok]
        full = state.num_actions[going] >= MAX_ACTIONS_PER_TASK
        if full.any():
            state.end(going[full], 2)
            going = going[~full]
        return going

    def _loop_at_once(self, steps: list[_StepDraws], tasks: np.ndarray,
                      rounds: np.ndarray, state: _Block) -> None:
        """Every round of a loop of plain steps for `tasks` at once: each
        step's quantities drawn for all its visits, in task order, and the
        context carried through with running sums. A task stops where
        `_plan_step` would stop it: at the calls cap or the visits limit
        (before the step), after a failed tool or at the actions limit."""
        width = len(steps)
        visits = rounds * width
        total = int(visits.sum())
        if not total:
            return
        owner = np.repeat(tasks, visits)
        entry = np.repeat(np.cumsum(visits) - visits, visits)
        position = np.arange(total) - entry
        step_of = position % width
        llm = np.zeros(total, dtype=bool)
        columns = {name: np.zeros(total, dtype=np.int64) for name in (
            "input", "visible", "reasoning", "result", "tool", "attempts")}
        ok = np.ones(total, dtype=bool)
        escalate = np.zeros(total, dtype=bool)
        kind = np.zeros(total, dtype=np.int64)
        index = np.zeros(total, dtype=np.int64)
        latency_parts, latency_first = [], np.zeros(total, dtype=np.int64)
        drawn_before = 0
        for number, draws in enumerate(steps):
            mine = np.flatnonzero(step_of == number)
            n = len(mine)
            kind[mine], index[mine] = draws.kind, draws.index
            columns["tool"][mine] = draws.tool
            if draws.llm:
                llm[mine] = True
                columns["input"][mine] = draws.input_tokens(n)
                columns["visible"][mine] = draws.output_tokens(n)
                columns["reasoning"][mine] = draws.reasoning_tokens(n)
                if self.cascade:
                    escalate[mine] = self.routing(n) < draws.fail_prob
            if draws.tool_draws is not None:
                attempts, latencies, fine = draws.tool_draws.attempts(n)
                columns["attempts"][mine] = attempts
                latency_first[mine] = drawn_before + np.cumsum(attempts) - attempts
                latency_parts.append(latencies)
                drawn_before += len(latencies)
                ok[mine] = fine
                columns["result"][mine[fine]] = draws.result_tokens(int(fine.sum()))

        # Carry the context, calls and actions through each task's rounds.
        grows = np.where(llm, columns["input"] + columns["visible"], 0)
        grows += np.where(ok, columns["result"], 0)
        context = state.context[owner] + _exclusive_sums(grows, entry)
        tokens_in = np.where(llm, context + columns["input"], 0)
        calls_before = state.num_calls[owner] + _exclusive_sums(llm.astype(np.int64),
                                                                entry)
        previous = np.maximum.accumulate(np.where(llm, np.arange(total), -1))
        previous = np.concatenate([[-1], previous[:-1]])
        prefix = np.where(previous >= entry, tokens_in[np.maximum(previous, 0)],
                          state.prefix[owner])
        cached = np.where(llm, np.floor(self.cache_frac * prefix + 0.5), 0
                          ).astype(np.int64)
        actions_after = state.num_actions[owner] + position + 1
        stop_before = np.where(state.visits[owner] + position + 1 > MAX_VISITS_PER_TASK,
                               2, np.where(llm & (calls_before == self.max_calls),
                                           self.calls_reason, 0))
        stop_after = np.where(~ok, -1, np.where(actions_after >= MAX_ACTIONS_PER_TASK,
                                                2, 0))
        first_before = _first_of(stop_before != 0, owner, tasks)
        first_after = _first_of(stop_after != 0, owner, tasks)
        ends_after = (first_after >= 0) & ((first_before < 0)
                                           | (first_after < first_before))
        cut = np.where(ends_after, first_after + 1,
                       np.where(first_before >= 0, first_before, np.cumsum(visits)))
        kept = np.arange(total) < np.repeat(cut, visits)
        early = first_before >= 0
        before_wins = early & ~ends_after
        state.end(tasks[before_wins], stop_before[first_before[before_wins]])
        after_ends = tasks[ends_after]
        state.ended[after_ends] = True
        state.stop[after_ends] = np.maximum(stop_after[first_after[ends_after]], 0)

        rows = np.flatnonzero(kept)
        moved = owner[rows]
        counted = np.bincount(np.searchsorted(tasks, moved), minlength=len(tasks))
        state.context[tasks] += np.bincount(
            np.searchsorted(tasks, moved), grows[rows], len(tasks)).astype(np.int64)
        calls = rows[llm[rows]][::-1]
        latest, at = np.unique(owner[calls], return_index=True)
        state.prefix[latest] = tokens_in[calls[at]]
        state.num_calls[tasks] += np.bincount(np.searchsorted(tasks, owner[calls]),
                                              minlength=len(tasks))
        state.visits[tasks] += counted
        attempts = columns["attempts"][rows]
        flat = np.concatenate(latency_parts) if latency_parts else np.zeros(0)
        starts = np.cumsum(attempts) - attempts
        state.latency_chunks.append(flat[np.repeat(latency_first[rows] - starts,
                                                   attempts)
                                         + np.arange(int(attempts.sum()))])
        visible = columns["visible"][rows]
        reasoning = columns["reasoning"][rows]
        state.chunks.append({
            "task": moved, "seq": state.num_actions[moved] + position[rows],
            "step_index": index[rows], "kind": kind[rows], "llm": llm[rows],
            "tokens_in": tokens_in[rows], "tokens_cached": cached[rows],
            "tokens_out": visible + reasoning, "tokens_reasoning": reasoning,
            "visible": visible, "tool": columns["tool"][rows], "tool_ok": ok[rows],
            "escalate": escalate[rows], "attempts": attempts})
        state.num_actions[tasks] += counted

    def _draw_latencies(self, columns: PlanColumns) -> None:
        """Time to first token and per output token of calls whose backend
        the route fixes in advance, drawn per backend in task order."""
        actions = columns.actions
        kinds, llm = actions["kind"], actions["llm"]
        per_task = np.diff(columns.task_start)
        routine = np.repeat(columns.routine, per_task)
        backend = np.where(routine, self.routine_backend, self.base_backend)
        pinned = self.pinned[kinds]
        backend = np.where(pinned != DYNAMIC, pinned, backend)
        backend = np.where(llm, backend, DYNAMIC)
        actions["backend"] = backend
        actions["ttft_s"] = np.full(len(kinds), np.nan)
        actions["tpot_s"] = np.full(len(kinds), np.nan)
        calls = np.flatnonzero(llm)
        draws = [(self.normal[0].standard_normal(len(calls)),
                  self.uniform[0].random(len(calls))),
                 (self.normal[1].standard_normal(len(calls)),
                  self.uniform[1].random(len(calls)))]
        on = backend[calls]
        for index, (ttft, tpot) in self.latency_draws.items():
            mine = on == index
            if mine.any():
                rows = calls[mine]
                actions["ttft_s"][rows] = ttft(draws[0][0][mine], draws[0][1][mine])
                actions["tpot_s"][rows] = tpot(draws[1][0][mine], draws[1][1][mine])
        api = np.zeros(len(self.backend_is_api) + 1, dtype=bool)
        api[:-1] = self.backend_is_api
        actions["backend"] = np.where(api[backend], backend, DYNAMIC)
        actions["escalation_ttft_s"] = np.full(len(kinds), np.nan)
        actions["escalation_tpot_s"] = np.full(len(kinds), np.nan)
        if self.escalation is not None:
            (normal, uniform), (ttft, tpot) = self.escalation
            redo = np.flatnonzero(llm & actions["escalate"])
            draws = [(gen.standard_normal(len(calls)), other.random(len(calls)))
                     for gen, other in zip(normal, uniform, strict=True)]
            at = np.searchsorted(calls, redo)
            actions["escalation_ttft_s"][redo] = ttft(draws[0][0][at], draws[0][1][at])
            actions["escalation_tpot_s"][redo] = tpot(draws[1][0][at], draws[1][1][at])

    def _static_routes(self, scenario: Scenario) -> None:
        """Which backend each call goes to when the route fixes it."""
        names = list(scenario.backends)
        route = self.route
        self.backend_is_api = [isinstance(spec, ApiBackend)
                               for spec in scenario.backends.values()]
        self.pinned = np.full(len(STEP_KINDS), DYNAMIC, dtype=np.int64)
        for kind, name in route.by_step_kind.items():
            self.pinned[STEP_KINDS.index(kind.value)] = names.index(name)
        base = {"fixed": route.default, "tiered": route.default,
                "cascade": route.first}.get(route.policy)
        self.base_backend = names.index(base) if base else DYNAMIC
        self.routine_backend = (names.index(route.routine) if route.routine
                                else self.base_backend)
        used = {self.base_backend, self.routine_backend, *self.pinned.tolist()}
        self.latency_draws = {}
        for index in sorted(used - {DYNAMIC}):
            spec = scenario.backends[names[index]]
            if isinstance(spec, ApiBackend):
                self.latency_draws[index] = (make_transform(spec.ttft_s),
                                             make_transform(spec.time_per_output_token_s))
        path = f"{self.prefix}/latency"
        self.normal = [self.streams.generator(f"{path}/{name}/normal")
                       for name in ("ttft", "tpot")]
        self.uniform = [self.streams.generator(f"{path}/{name}/uniform")
                        for name in ("ttft", "tpot")]
        self.escalation = None
        redo = scenario.backends[route.default]
        if self.cascade and isinstance(redo, ApiBackend):
            path = f"{self.prefix}/latency/escalation"
            self.escalation = (
                ([self.streams.generator(f"{path}/{name}/normal")
                  for name in ("ttft", "tpot")],
                 [self.streams.generator(f"{path}/{name}/uniform")
                  for name in ("ttft", "tpot")]),
                (make_transform(redo.ttft_s),
                 make_transform(redo.time_per_output_token_s)))

    def _compile(self, nodes: list) -> list[tuple]:
        """The workflow as plain tuples: (is_loop, step draws or iteration
        sampler, probability, fault_prob or max_iterations, the loop's body,
        and for a loop of steps that always run and never fault, their draws)."""
        compiled = []
        for node in nodes:
            if isinstance(node, Loop):
                spec = node.loop
                body = self._compile(spec.steps)
                plain = None
                if all(not loop and chance == 1 and fault == 0
                       for loop, _, chance, fault, _, _ in body):
                    plain = [draws for _, draws, _, _, _, _ in body]
                compiled.append((True, self.loop_counts[id(node)], spec.probability,
                                 spec.max_iterations, body, plain))
            else:
                compiled.append((False, self.steps[id(node)], node.probability,
                                 node.fault_prob, None, None))
        return compiled

    def _index_nodes(self, nodes: list, prefix: str, counter: list[int]) -> None:
        for position, node in enumerate(nodes):
            path = f"{prefix}/{position}"
            if isinstance(node, Loop):
                self.loop_counts[id(node)] = make_vector_count_sampler(
                    node.loop.iterations, self.streams.generator(f"{path}/iterations"))
                self._index_nodes(node.loop.steps, path, counter)
            else:
                draws = _StepDraws(node, counter[0], path, self.streams,
                                   self.route.fail_prob_for(node.kind))
                if node.tool is not None:
                    draws.tool = self.tool_names.index(node.tool)
                    draws.tool_draws = self.tool_draws[node.tool]
                self.steps[id(node)] = draws
                counter[0] += 1


def _exclusive_sums(values: np.ndarray, entry: np.ndarray) -> np.ndarray:
    """Running sums of `values` before each element, restarting at each
    task's first element (`entry` gives its index, per element)."""
    running = np.cumsum(values) - values
    return running - running[entry]


def _first_of(flags: np.ndarray, owner: np.ndarray, tasks: np.ndarray) -> np.ndarray:
    """Per task (sorted `tasks`), the index of its first flagged element, or -1."""
    found = np.full(len(tasks), -1, dtype=np.int64)
    where = np.flatnonzero(flags)
    if len(where):
        first = np.unique(owner[where], return_index=True)
        found[np.searchsorted(tasks, first[0])] = where[first[1]]
    return found


def _assemble(state: _Block, size: int) -> PlanColumns:
    """The block's actions in task order, then in the order each task drew them."""
    if state.chunks:
        joined = {name: np.concatenate([chunk[name] for chunk in state.chunks])
                  for name in state.chunks[0]}
    else:
        joined = {name: np.zeros(0, dtype=ACTION_DTYPES.get(name, np.int64))
                  for name in ("task", "seq", "attempts", *ACTION_FIELDS[:12])}
    order = np.lexsort((joined["seq"], joined["task"]))
    attempts = joined["attempts"]
    flat = (np.concatenate(state.latency_chunks) if state.latency_chunks
            else np.zeros(0))
    first_attempt = np.cumsum(attempts) - attempts
    attempts = attempts[order]
    attempt_start = np.zeros(len(order) + 1, dtype=np.int64)
    np.cumsum(attempts, out=attempt_start[1:])
    gather = (np.repeat(first_attempt[order] - attempt_start[:-1], attempts)
              + np.arange(attempt_start[-1]))
    task_start = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(joined["task"], minlength=size), out=task_start[1:])
    actions = {name: joined[name][order] for name in ACTION_FIELDS[:12]
               if name != "corrects"}
    actions["llm"] = actions["llm"].astype(bool)
    actions["corrects"] = np.zeros(len(order), dtype=bool)
    for tasks, seq in state.corrected:
        actions["corrects"][task_start[tasks] + seq] = True
    return PlanColumns(task_start, actions, attempt_start, flat[gather],
                       state.stop, np.zeros(size, dtype=bool), np.zeros(size, np.int64))


def _as_objects(block: PlanColumns) -> tuple[list, ...]:
    """A block's actions as Action objects, and its per-task columns as lists:
    (actions, task_start, stop, routine, visible tokens, user tokens)."""
    columns = block.actions
    starts = block.attempt_start.tolist()
    latencies = block.attempt_latency.tolist()
    attempts = [tuple(latencies[first:last])
                for first, last in zip(starts[:-1], starts[1:], strict=True)]
    actions = list(map(Action, *(columns[name].tolist() for name in ACTION_FIELDS[:7]),
                       columns["tool"].tolist(), attempts,
                       *(columns[name].tolist() for name in ACTION_FIELDS[9:])))
    return (actions, block.task_start.tolist(), block.stop.tolist(),
            block.routine.tolist(), columns["visible"].tolist(),
            block.user_tokens.tolist())


def _join(parts: list[PlanColumns]) -> PlanColumns:
    """Blocks one after another, as one set of columns."""
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


def _head(columns: PlanColumns, count: int) -> PlanColumns:
    """The first `count` tasks' plans."""
    actions = int(columns.task_start[count])
    attempts = int(columns.attempt_start[actions])
    return PlanColumns(
        columns.task_start[:count + 1],
        {name: values[:actions] for name, values in columns.actions.items()},
        columns.attempt_start[:actions + 1], columns.attempt_latency[:attempts],
        columns.stop[:count], columns.routine[:count], columns.user_tokens[:count])


def _empty_columns() -> PlanColumns:
    none = np.zeros(0, dtype=np.int64)
    return PlanColumns(np.zeros(1, dtype=np.int64),
                       {name: np.zeros(0, dtype=ACTION_DTYPES[name])
                        for name in ACTION_FIELDS},
                       np.zeros(1, dtype=np.int64), np.zeros(0), none.astype(np.int8),
                       none.astype(bool), none)


def build_planners(scenario: Scenario, streams: Streams) -> list[TaskPlanner]:
    """One planner per task type, in the scenario's order."""
    return [TaskPlanner(scenario, name, streams) for name in scenario.task_types]
