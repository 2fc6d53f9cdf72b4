"""Walk a task type's workflow for a whole block of tasks at once.

Every task of the block walks the workflow together, each at its own
position in each list of steps (a correction sends a task back to the start
of its list). Each random quantity (a step's tokens, a loop's rounds, a
tool's latency and failures, a chance branch) is drawn for all the tasks
that reach it at once, from that quantity's own stream; the actions come out
as columns, task by task in the order each task planned them.

A tool call's latency and outcome do not depend on simulated state, so every
attempt is drawn with the plan; tool concurrency is the engine's business.
Limitations: tool failures are independent of load; a retry follows a
failed attempt immediately, with no back-off.
"""

from __future__ import annotations

import numpy as np

from simulator.rng import Streams
from simulator.scenario.base import Constant
from simulator.scenario.schema import Scenario
from simulator.scenario.workflow import STEP_KINDS, Loop, Step, TaskType, _worst_visits
from simulator.workload.plans.columns import (
    ACTION_DTYPES,
    ACTION_FIELDS,
    CAP_CALLS,
    MAX_ACTIONS_PER_TASK,
    MAX_VISITS_PER_TASK,
    NO_TOOL,
    PLAN_LIMIT,
    PlanColumns,
)
from simulator.workload.plans.rounds import loop_at_once
from simulator.workload.sampling import (
    UNIT,
    make_vector_count_sampler,
    make_vector_sampler,
)

BLOCK_VISITS = 1 << 20
"""Worst-case node visits a block may hold: sets the block size per type."""
MAX_BLOCK_TASKS = 4096
_ZERO = Constant(dist="constant", value=0)


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


class Block:
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

    def end(self, tasks: np.ndarray, reason: int | np.ndarray) -> None:
        """Stop expanding `tasks`, for STOP_REASONS[reason]."""
        self.stop[tasks] = reason
        self.ended[tasks] = True


class Expander:
    """Draws the actions of one task type's tasks, a block at a time."""

    def __init__(self, scenario: Scenario, type_name: str, streams: Streams) -> None:
        task_type: TaskType = scenario.task_types[type_name]
        prefix = f"task_types/{type_name}"
        self.task_type, self.streams = task_type, streams
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
        self.calls_reason = CAP_CALLS if task_type.caps.max_llm_calls else PLAN_LIMIT
        self.steps: dict[int, _StepDraws] = {}
        self.loop_counts: dict[int, object] = {}
        self._index_nodes(task_type.workflow, prefix, [0])
        self.nodes = self._compile(task_type.workflow)
        worst = _worst_visits(task_type.workflow) * (self.max_corrections + 1)
        self.block_size = max(1, min(MAX_BLOCK_TASKS, BLOCK_VISITS // max(1, worst)))

    def block(self) -> PlanColumns:
        """The plans of the next block of tasks (without call latencies)."""
        size = self.block_size
        user_tokens = self.user_input(size)
        state = Block(size, self.task_type,
                      self.task_type.system_prompt_tokens + user_tokens)
        routine = np.zeros(size, dtype=bool)
        if self.route.policy == "tiered":
            routine = self.routing(size) < self.route.routine_frac
        self._expand(self.nodes, np.arange(size), state)
        columns = _assemble(state, size)
        columns.routine, columns.user_tokens = routine, user_tokens
        return columns

    def _expand(self, nodes: list[tuple], tasks: np.ndarray, state: Block) -> None:
        """Walk `nodes` for `tasks` (sorted ids), each at its own position."""
        position = np.zeros(len(tasks), dtype=np.int64)
        while True:
            live = (position < len(nodes)) & ~state.ended[tasks]
            if not live.any():
                return
            node = int(position[live].min())
            here = live & (position == node)
            position[here] += 1
            is_loop, drawn, probability, limit, body, plain = nodes[node]
            chosen = self._enter(tasks[here], probability, state)
            if not len(chosen):
                continue
            if is_loop:
                self._loop(drawn, limit, body, plain, chosen, state)
                continue
            going = self._plan_step(drawn, chosen, state)
            if limit > 0 and len(going):
                faulted = going[(self.chance(len(going)) < limit)
                                & (state.corrections[going] < self.max_corrections)]
                if len(faulted):
                    state.corrections[faulted] += 1
                    state.corrected.append((faulted, state.num_actions[faulted] - 1))
                    position[np.searchsorted(tasks, faulted)] = 0

    def _enter(self, chosen: np.ndarray, probability: float, state: Block
               ) -> np.ndarray:
        """Count a visit to a node; the tasks that take it."""
        state.visits[chosen] += 1
        over = state.visits[chosen] > MAX_VISITS_PER_TASK
        if over.any():
            state.end(chosen[over], PLAN_LIMIT)
            chosen = chosen[~over]
        if probability < 1 and len(chosen):
            chosen = chosen[self.chance(len(chosen)) < probability]
        return chosen

    def _loop(self, counts: object, limit: int, body: list, plain: list | None,
              chosen: np.ndarray, state: Block) -> None:
        """Run a loop's body its drawn number of rounds for each task."""
        rounds = np.minimum(counts(len(chosen)), limit)
        if plain:
            loop_at_once(self, plain, chosen, rounds, state)
            return
        for round_ in range(int(rounds.max())):
            going = chosen[(rounds > round_) & ~state.ended[chosen]]
            if not len(going):
                break
            self._expand(body, going, state)

    def _plan_step(self, draws: _StepDraws, tasks: np.ndarray, state: Block
                   ) -> np.ndarray:
        """Append one action to each of `tasks`; the tasks still going."""
        full = state.num_actions[tasks] >= MAX_ACTIONS_PER_TASK
        if full.any():
            state.end(tasks[full], PLAN_LIMIT)
            tasks = tasks[~full]
        if draws.llm:
            capped = state.num_calls[tasks] == self.max_calls
            if capped.any():
                state.end(tasks[capped], self.calls_reason)
                tasks = tasks[~capped]
        n = len(tasks)
        if not n:
            return tasks
        zeros = np.zeros(n, dtype=np.int64)
        tokens_in = cached = out = reasoning = visible = zeros
        if draws.llm:
            tokens_in, cached, visible, reasoning = self._call(draws, tasks, state)
            out = visible + reasoning
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
            "tokens_cached": cached, "tokens_out": out, "tokens_reasoning": reasoning,
            "visible": visible, "tool": np.full(n, draws.tool), "tool_ok": ok,
            "escalate": escalate, "attempts": attempts})
        state.num_actions[tasks] += 1
        state.ended[tasks[~ok]] = True
        return tasks[ok]

    def _call(self, draws: _StepDraws, tasks: np.ndarray, state: Block
              ) -> tuple[np.ndarray, ...]:
        """The LLM call of a step for each of `tasks`: input, cached, visible
        output and reasoning tokens; the context grows by input and output."""
        n = len(tasks)
        tokens_in = state.context[tasks] + draws.input_tokens(n)
        cached = np.floor(self.cache_frac * state.prefix[tasks] + 0.5).astype(np.int64)
        visible = draws.output_tokens(n)
        reasoning = draws.reasoning_tokens(n)
        state.prefix[tasks] = tokens_in
        state.context[tasks] = tokens_in + visible
        state.num_calls[tasks] += 1
        return tokens_in, cached, visible, reasoning

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


def _assemble(state: Block, size: int) -> PlanColumns:
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
    actions = {name: joined[name][order].astype(ACTION_DTYPES[name], copy=False)
               for name in ACTION_FIELDS[:12] if name != "corrects"}
    actions["corrects"] = np.zeros(len(order), dtype=bool)
    for tasks, seq in state.corrected:
        actions["corrects"][task_start[tasks] + seq] = True
    return PlanColumns(task_start, actions, attempt_start, flat[gather],
                       state.stop, np.zeros(size, dtype=bool), np.zeros(size, np.int64))
