"""Expand a task type's workflow into the plans its tasks will carry out.

Plans are drawn a block of tasks at a time, vectorised (`expand`, `rounds`):
each random quantity is drawn for all the tasks of the block that reach it,
from that quantity's own stream. The k-th task of a type always gets the
same plan for a seed, whatever the horizon, the arrival instants or the
policies: blocks have a fixed size per task type and are drawn in order, so
scenarios that differ in policy give every task the same plan (common random
numbers). Calls whose backend the route fixes also get their latency drawn
with the plan (`latency`).

Each planned LLM call knows its input tokens (the whole context re-sent), the
cached share of them, and its output tokens; each planned tool call knows the
latency of every attempt and whether the last one succeeded.

Context rule: a call sends the system prompt, the user's request, and every
earlier step's new input, visible output and tool result, plus its own new
input. The cacheable prefix of a call is the previous call's input (the
system prompt for the first call); `cache_read_frac` of it is a cache read.
A correction (a reflect step's fault) restarts the list of steps the reflect
step belongs to: the workflow, or the body of the loop it is in.
Limitations: reasoning tokens are not re-sent; a failed tool attempt adds
nothing to the context; caches never expire within a task; a run of a few
tasks still draws a whole block (up to 4,096 tasks per type).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.rng import Streams
from simulator.scenario.schema import Scenario
from simulator.workload.arrivals import Arrivals
from simulator.workload.plans.columns import (
    ACTION_DTYPES,
    ACTION_FIELDS,
    DYNAMIC,
    MAX_ACTIONS_PER_TASK,
    MAX_VISITS_PER_TASK,
    NO_TOOL,
    STOP_REASONS,
    PlanColumns,
    head,
    join,
    replay_requests,
)
from simulator.workload.plans.expand import Expander
from simulator.workload.plans.latency import CallLatencies

__all__ = ["ACTION_DTYPES", "ACTION_FIELDS", "DYNAMIC", "MAX_ACTIONS_PER_TASK",
           "MAX_VISITS_PER_TASK", "NO_TOOL", "STOP_REASONS", "Action", "Plan",
           "PlanColumns", "TaskPlanner", "build_planners"]


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


class TaskPlanner:
    """Plans for the tasks of one task type: as columns for many tasks
    (`columns`), or one task after another as Action objects (`draw`)."""

    def __init__(self, scenario: Scenario, type_name: str, streams: Streams) -> None:
        self.task_type = scenario.task_types[type_name]
        self.expander = Expander(scenario, type_name, streams)
        self.latencies = CallLatencies(scenario, self.task_type,
                                       f"task_types/{type_name}", streams)
        self.block_size = self.expander.block_size
        self.requests: tuple[np.ndarray, np.ndarray] | None = None
        self.blocks: list[PlanColumns | None] = []
        self._objects: list[tuple | None] = []
        self.drawn = 0

    def replay(self, tokens_in: np.ndarray, tokens_out: np.ndarray) -> None:
        """Replayed requests, one per task of this type in order: each
        replaces the drawn user request and its first LLM call's visible
        output (in every block drawn from now on)."""
        self.requests = (tokens_in, tokens_out)

    def draw(self) -> Plan:
        """The plan of the next task of this type."""
        block, row = divmod(self.drawn, self.block_size)
        self.drawn += 1
        while len(self.blocks) <= block:
            self._add_block()
        while len(self._objects) <= block:
            self._objects.append(_as_objects(self.blocks[len(self._objects)]))
        if row == 0 and block:           # the tasks of earlier blocks have theirs
            self.blocks[block - 1] = self._objects[block - 1] = None
        actions, task_start, stop, routine = self._objects[block]
        first, last = task_start[row], task_start[row + 1]
        return Plan(tuple(actions[first:last]), STOP_REASONS[stop[row]], routine[row])

    def columns(self, count: int) -> PlanColumns:
        """The plans of this type's first `count` tasks, as columns (drawing
        blocks as needed; `draw` then hands out the same plans). Only before
        `draw`: it lets go of the blocks it has handed out."""
        while len(self.blocks) * self.block_size < count:
            self._add_block()
        needed = -(-count // self.block_size) if count else 0
        return head(join(self.blocks[:needed]), count)

    def _add_block(self) -> None:
        columns = self.expander.block()
        self.latencies.fill(columns)
        if self.requests is not None:
            first = len(self.blocks) * self.block_size
            tokens_in, tokens_out = (tokens[first:first + self.block_size]
                                     for tokens in self.requests)
            if len(tokens_in):
                replay_requests(columns, tokens_in, tokens_out,
                                self.task_type.system_prompt_tokens,
                                self.task_type.cache_read_frac)
        self.blocks.append(columns)


def _as_objects(block: PlanColumns) -> tuple[list, ...]:
    """A block's actions as Action objects, and its per-task columns as lists:
    (actions, task_start, stop, routine)."""
    columns = block.actions
    starts = block.attempt_start.tolist()
    latencies = block.attempt_latency.tolist()
    attempts = [tuple(latencies[first:last])
                for first, last in zip(starts[:-1], starts[1:], strict=True)]
    actions = list(map(Action, *(columns[name].tolist() for name in ACTION_FIELDS[:7]),
                       columns["tool"].tolist(), attempts,
                       *(columns[name].tolist() for name in ACTION_FIELDS[9:])))
    return (actions, block.task_start.tolist(), block.stop.tolist(),
            block.routine.tolist())


def build_planners(scenario: Scenario, streams: Streams,
                   arrivals: Arrivals | None = None) -> list[TaskPlanner]:
    """One planner per task type, in the scenario's order; with `arrivals`
    that replay a trace's requests, each planner replays its type's."""
    planners = [TaskPlanner(scenario, name, streams) for name in scenario.task_types]
    if arrivals is not None and arrivals.tokens_in is not None:
        for index, planner in enumerate(planners):
            mine = arrivals.task_type == index
            planner.replay(arrivals.tokens_in[mine], arrivals.tokens_out[mine])
    return planners
