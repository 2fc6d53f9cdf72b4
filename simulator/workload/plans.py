"""Expand a task type's workflow into the plan one task will carry out.

A plan is drawn when the task arrives, in arrival order, so it depends only on
the seed and the task's place in the arrival sequence, never on routing or
queueing: two scenarios that differ in policy give every task the same plan.
Each planned LLM call knows its input tokens (the whole context re-sent), the
cached share of them, and its output tokens; each planned tool call knows the
latency of every attempt and whether the last one succeeded.

Context rule: a call sends the system prompt, the user's request, and every
earlier step's new input, visible output and tool result, plus its own new
input. The cacheable prefix of a call is the previous call's input (the
system prompt for the first call); `cache_read_frac` of it is a cache read.
Limitations: reasoning tokens are not re-sent; a failed tool attempt adds
nothing to the context; caches never expire within a task.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.rng import Streams
from simulator.scenario.base import Constant
from simulator.scenario.schema import Scenario
from simulator.scenario.workflow import STEP_KINDS, Loop, Step, TaskType
from simulator.tools import UNIT, ToolDraws
from simulator.workload.sampling import make_count_sampler, make_sampler

MAX_ACTIONS_PER_TASK = 10_000
MAX_VISITS_PER_TASK = 1_000_000
NO_TOOL = -1
_ZERO = Constant(dist="constant", value=0)


@dataclass(slots=True)
class Action:
    """One step as planned: an LLM call, a tool call, or both (call first).

    `tool_latencies_s` holds one latency per attempt; `tool_ok` tells whether
    the last attempt succeeded. Set once by the planner, then only read.
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


class _StepDraws:
    """The samplers of one workflow step."""

    def __init__(self, step: Step, index: int, prefix: str, streams: Streams):
        def count(field: str, dist: object):
            """A whole-number sampler on this step's stream for `field`."""
            return make_count_sampler(dist, streams.generator(f"{prefix}/{field}"))

        self.step = step
        self.index = index
        self.kind = STEP_KINDS.index(step.kind.value)
        self.llm = step.makes_llm_call
        self.input_tokens = count("input_tokens", step.input_tokens)
        self.output_tokens = count("output_tokens", step.output_tokens or _ZERO)
        self.reasoning_tokens = count("reasoning_tokens", step.reasoning_tokens)
        self.result_tokens = count("result_tokens", step.result_tokens)
        self.tool = NO_TOOL
        self.tool_draws: ToolDraws | None = None


class TaskPlanner:
    """Draws plans for the tasks of one task type."""

    def __init__(self, scenario: Scenario, type_name: str, streams: Streams,
                 tool_draws: dict[str, ToolDraws]) -> None:
        task_type: TaskType = scenario.task_types[type_name]
        prefix = f"task_types/{type_name}"
        self.task_type = task_type
        self.tool_names = list(scenario.tools)
        self.tool_draws = tool_draws
        self.user_input = make_count_sampler(
            task_type.user_input_tokens, streams.generator(f"{prefix}/user_input")
        )
        self.chance = make_sampler(UNIT, streams.generator(f"{prefix}/branches"))
        self.route = task_type.route
        self.cascade = task_type.route.policy == "cascade"
        self.routing = make_sampler(UNIT, streams.generator(f"{prefix}/routing"))
        self.steps: dict[int, _StepDraws] = {}
        self.loop_counts: dict[int, object] = {}
        self._index_nodes(task_type.workflow, prefix, streams, [0])
        self.nodes = self._compile(task_type.workflow)

    def draw(self, request: tuple[int, int] | None = None) -> Plan:
        """The plan of the next task of this type.

        `request` (input, output tokens), from a replayed trace, replaces the
        drawn user request and the first LLM call's visible output.
        """
        state = _PlanState(self.task_type)
        user_tokens = self.user_input() if request is None else request[0]
        state.first_output = None if request is None else request[1]
        state.context = self.task_type.system_prompt_tokens + user_tokens
        state.prefix = self.task_type.system_prompt_tokens
        routine = (self.route.policy == "tiered"
                   and self.routing() < self.route.routine_frac)
        self._expand(self.nodes, state)
        return Plan(tuple(state.actions), state.stop_reason, routine)

    def _compile(self, nodes: list) -> list[tuple]:
        """The workflow as plain tuples, read once per visit without looking
        anything up: (is_loop, step draws or iteration sampler, probability,
        fault_prob or max_iterations, the loop's body)."""
        compiled = []
        for node in nodes:
            if isinstance(node, Loop):
                spec = node.loop
                compiled.append((True, self.loop_counts[id(node)], spec.probability,
                                 spec.max_iterations, self._compile(spec.steps)))
            else:
                compiled.append((False, self.steps[id(node)], node.probability,
                                 node.fault_prob, None))
        return compiled

    def _expand(self, nodes: list[tuple], state: _PlanState) -> None:
        chance = self.chance
        position, count = 0, len(nodes)
        while position < count and not state.ended:
            is_loop, drawn, probability, limit, body = nodes[position]
            position += 1
            state.visits += 1
            if state.visits > MAX_VISITS_PER_TASK:
                state.stop("plan_limit")
                return
            if probability < 1 and chance() >= probability:
                continue
            if is_loop:
                for _ in range(min(drawn(), limit)):
                    if state.ended:
                        return
                    self._expand(body, state)
                continue
            if not self._plan_step(drawn, state):
                return
            if (limit > 0 and chance() < limit
                    and state.corrections < state.max_corrections):
                state.corrections += 1
                state.actions[-1].corrects = True
                position = 0

    def _plan_step(self, draws: _StepDraws, state: _PlanState) -> bool:
        """Append one action; False when the plan must end here."""
        step = draws.step
        llm = draws.llm
        tokens_in = cached = out = reasoning = 0
        if llm:
            if state.num_calls == state.max_calls:
                state.stop(state.calls_reason)
                return False
            tokens_in = state.context + draws.input_tokens()
            cached = int(state.cache_frac * state.prefix + 0.5)
            visible = draws.output_tokens()
            if state.first_output is not None:
                visible, state.first_output = state.first_output, None
            reasoning = draws.reasoning_tokens()
            out = visible + reasoning
            state.prefix = tokens_in
            state.context = tokens_in + visible
            state.num_calls += 1

        tool, latencies, ok = NO_TOOL, (), True
        if draws.tool_draws is not None:
            tool = draws.tool
            latencies, ok = draws.tool_draws.attempts()
            if ok:
                state.context += draws.result_tokens()
        escalate = (llm and self.cascade
                    and self.routing() < self.route.fail_prob_for(step.kind))
        state.actions.append(Action(draws.index, draws.kind, llm,
                                    tokens_in, cached, out, reasoning, tool,
                                    latencies, ok, escalate=escalate))
        if not ok:
            state.ended = True
        elif len(state.actions) >= MAX_ACTIONS_PER_TASK:
            state.stop("plan_limit")
        return not state.ended

    def _index_nodes(self, nodes: list, prefix: str, streams: Streams,
                     counter: list[int]) -> None:
        for position, node in enumerate(nodes):
            path = f"{prefix}/{position}"
            if isinstance(node, Loop):
                self.loop_counts[id(node)] = make_count_sampler(
                    node.loop.iterations, streams.generator(f"{path}/iterations"))
                self._index_nodes(node.loop.steps, path, streams, counter)
            else:
                draws = _StepDraws(node, counter[0], path, streams)
                if node.tool is not None:
                    draws.tool = self.tool_names.index(node.tool)
                    draws.tool_draws = self.tool_draws[node.tool]
                self.steps[id(node)] = draws
                counter[0] += 1


class _PlanState:
    """What expansion tracks while drawing one task's plan."""

    def __init__(self, task_type: TaskType) -> None:
        self.actions: list[Action] = []
        self.context = 0
        self.prefix = 0
        self.num_calls = 0
        self.corrections = 0
        self.visits = 0
        self.first_output: int | None = None
        self.ended = False
        self.stop_reason: str | None = None
        self.cache_frac = task_type.cache_read_frac
        self.max_corrections = task_type.caps.max_corrections
        self.max_calls = task_type.caps.max_llm_calls or MAX_ACTIONS_PER_TASK
        self.calls_reason = ("cap_llm_calls" if task_type.caps.max_llm_calls
                             else "plan_limit")

    def stop(self, reason: str) -> None:
        """End the plan early for `reason`."""
        self.stop_reason = reason
        self.ended = True


def build_planners(scenario: Scenario, streams: Streams) -> list[TaskPlanner]:
    """One planner per task type, in the scenario's order."""
    tool_draws = {name: ToolDraws(name, tool, streams)
                  for name, tool in scenario.tools.items()}
    return [TaskPlanner(scenario, name, streams, tool_draws)
            for name in scenario.task_types]
