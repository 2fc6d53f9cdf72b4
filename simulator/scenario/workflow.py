"""Task types and the workflows their agents run.

A workflow is a list of nodes; a node is a step or a loop of nodes. Each step
appends tokens to the task's context, so later calls re-send more: an LLM call
sends the system prompt plus everything earlier steps appended plus the step's
own new input. Token counts are per step and are drawn from distributions.
Limitations: a step's LLM call and tool call run in sequence, never in
parallel; reasoning tokens are not appended to the context (providers drop
them between turns).
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from simulator.scenario.base import Count, Dist, Money, Real, StrictModel


class StepKind(str, Enum):
    """What a step does; `retrieve` calls a tool only, every other kind an LLM."""

    PLAN = "plan"
    RETRIEVE = "retrieve"
    TOOL = "tool"
    ACT = "act"
    REFLECT = "reflect"
    ANSWER = "answer"


STEP_KINDS: tuple[str, ...] = tuple(kind.value for kind in StepKind)
MAX_WORST_VISITS = 10_000_000


class Step(StrictModel):
    """One agent step: an LLM call, a tool call, or an LLM call then a tool call."""

    kind: StepKind = Field(description="plan, retrieve, tool, act, reflect or answer.")
    name: str | None = Field(None, description="Label shown in tables.")
    probability: Real = Field(
        1.0, ge=0, le=1, description="Chance the step runs at all (a branch); [0, 1]."
    )
    input_tokens: Dist = Field(
        0,
        description=(
            "New prompt tokens this step appends before its LLM call (instructions, "
            "user turn); tokens, >= 0."
        ),
    )
    output_tokens: Dist | None = Field(
        None,
        description=(
            "Visible output tokens of the LLM call, appended to the context; "
            "tokens, >= 0. Required for every kind but retrieve."
        ),
    )
    reasoning_tokens: Dist = Field(
        0,
        description="Hidden reasoning tokens, billed as output; tokens, >= 0.",
    )
    tool: str | None = Field(
        None, description="Tool service called (required for retrieve and tool)."
    )
    result_tokens: Dist = Field(
        0, description="Tokens the tool returns into the context; tokens, >= 0."
    )
    fault_prob: Real = Field(
        0.0,
        ge=0,
        le=1,
        description=(
            "reflect only: chance the check finds a fault, so the agent redoes the "
            "enclosing block up to this step (self-correction); [0, 1]."
        ),
    )

    @model_validator(mode="after")
    def _fits_kind(self) -> Step:
        if self.kind is StepKind.RETRIEVE:
            if self.output_tokens is not None:
                raise ValueError("retrieve makes no LLM call: drop output_tokens")
        elif self.output_tokens is None:
            raise ValueError(f"a {self.kind.value} step needs output_tokens")
        if self.kind in (StepKind.RETRIEVE, StepKind.TOOL) and self.tool is None:
            raise ValueError(f"a {self.kind.value} step needs a tool")
        if self.fault_prob > 0 and self.kind is not StepKind.REFLECT:
            raise ValueError("fault_prob is for reflect steps only")
        return self

    @property
    def makes_llm_call(self) -> bool:
        """True when the step sends a request to a model."""
        return self.kind is not StepKind.RETRIEVE


class LoopSpec(StrictModel):
    """A block of nodes repeated a random number of times."""

    iterations: Dist = Field(
        description="Times the body runs (rounded to a whole number); >= 0."
    )
    max_iterations: Count = Field(
        50, ge=1, le=10_000,
        description="Cap on the drawn iteration count; [1, 10000]."
    )
    probability: Real = Field(
        1.0, ge=0, le=1, description="Chance the loop runs at all; [0, 1]."
    )
    steps: list[Node] = Field(min_length=1, description="The loop body.")


class Loop(StrictModel):
    """A node holding a loop."""

    loop: LoopSpec


def _node_tag(value: Any) -> str:
    if isinstance(value, dict):
        return "loop" if "loop" in value else "step"
    return "loop" if isinstance(value, Loop) else "step"


Node = Annotated[
    Annotated[Step, Tag("step")] | Annotated[Loop, Tag("loop")],
    Discriminator(_node_tag),
]
LoopSpec.model_rebuild()


class Caps(StrictModel):
    """Limits that stop a task; a task stopped by a cap fails with that reason."""

    max_llm_calls: Count | None = Field(
        None, ge=1, le=10_000,
        description=("Most LLM calls planned per task (a cascade's redo of a call "
                     "comes on top); [1, 10000], omitted: 10,000.")
    )
    max_tokens: Count | None = Field(
        None,
        ge=1,
        le=10**15,
        description="Most tokens (input + output) per task; >= 1, omitted: none.",
    )
    max_usd: Money | None = Field(
        None, gt=0, description="Most USD per task (LLM calls); > 0, omitted: none."
    )
    max_corrections: Count = Field(
        3, ge=0, le=1000,
        description="Most self-corrections (redone blocks) per task; [0, 1000]."
    )


POLICY_FIELDS = {"routine": "tiered", "routine_frac": "tiered", "first": "cascade",
                 "fail_prob": "cascade", "fail_prob_by_step_kind": "cascade",
                 "prefer": "spillover", "max_wait_s": "spillover",
                 "candidates": "cheapest", "target_latency_s": "cheapest"}


class Route(StrictModel):
    """Which backend serves a task type's LLM calls.

    Policies: `fixed` (always `default`); `tiered` (a drawn `routine_frac` of
    tasks on `routine`, the rest on `default`); `cascade` (every call first on
    `first`; with probability `fail_prob` its answer fails the check and the
    call is made again on `default`, both billed); `spillover` (`prefer` while
    its expected queue wait is at most `max_wait_s`, else `default`);
    `cheapest` (the cheapest of `candidates` whose expected latency meets
    `target_latency_s`, else the fastest candidate; `default` serves only
    pinned kinds' fallbacks). `by_step_kind` pins step kinds to a backend
    under every policy.
    """

    policy: Literal["fixed", "tiered", "cascade", "spillover", "cheapest"] = Field(
        "fixed", description="Routing policy.")
    default: str = Field(description=(
        "Backend for every call (fixed), hard tasks (tiered), escalations "
        "(cascade) or spill-over (spillover); unused by cheapest."))
    by_step_kind: dict[StepKind, str] = Field(
        default_factory=dict,
        description="Backend per step kind, overriding the policy for those kinds.",
    )
    routine: str | None = Field(None, description="tiered: backend of routine tasks.")
    routine_frac: Real | None = Field(
        None, ge=0, le=1, description="tiered: share of tasks that are routine.")
    first: str | None = Field(None, description="cascade: backend tried first.")
    fail_prob: Real = Field(
        0.0, ge=0, le=1, description="cascade: chance a first answer fails.")
    fail_prob_by_step_kind: dict[StepKind, Annotated[Real, Field(ge=0, le=1)]] = Field(
        default_factory=dict, description="cascade: fail_prob per step kind.")
    prefer: str | None = Field(None, description="spillover: preferred backend.")
    max_wait_s: Real = Field(
        1.0, ge=0, le=86_400,
        description="spillover: largest expected queue wait on prefer; seconds.")
    candidates: list[str] = Field(
        default_factory=list, description="cheapest: backends to choose from.")
    target_latency_s: Real | None = Field(
        None, gt=0, description="cheapest: expected call latency to meet; seconds.")

    @model_validator(mode="after")
    def _policy_fields(self) -> Route:
        needed = {"tiered": ("routine", "routine_frac"), "cascade": ("first",),
                  "spillover": ("prefer",),
                  "cheapest": ("candidates", "target_latency_s")}.get(self.policy, ())
        missing = [name for name in needed if not getattr(self, name)
                   and getattr(self, name) != 0]
        if missing:
            raise ValueError(f"policy {self.policy} needs {', '.join(missing)}")
        fields = type(self).model_fields
        stray = [name for name, owner in POLICY_FIELDS.items()
                 if owner != self.policy and getattr(self, name)
                 != fields[name].get_default(call_default_factory=True)]
        if stray:
            raise ValueError(f"{', '.join(stray)}: not used by policy {self.policy}")
        if self.policy == "cascade" and self.first == self.default:
            raise ValueError(f"first: found {self.first!r}, the same as default; a "
                             "cascade escalates to another backend")
        return self

    def backend_names(self) -> list[str]:
        """Every backend the route may use."""
        names = [self.default, *self.by_step_kind.values(), *self.candidates]
        return names + [n for n in (self.routine, self.first, self.prefer) if n]

    def fail_prob_for(self, kind: StepKind) -> float:
        """cascade: chance a first answer of this step kind fails the check."""
        return self.fail_prob_by_step_kind.get(kind, self.fail_prob)


class TaskType(StrictModel):
    """A kind of user-visible work and the workflow its agent runs."""

    share: Real = Field(
        ge=0, le=1, description="Share of arrivals; [0, 1], shares sum to 1."
    )
    system_prompt_tokens: Count = Field(
        0, ge=0, le=10**9,
        description="System prompt sent with every LLM call; tokens, [0, 1e9]."
    )
    user_input_tokens: Dist = Field(
        0, description="The user's request, first in the context; tokens, >= 0."
    )
    cache_read_frac: Real = Field(
        0.0,
        ge=0,
        le=1,
        description=(
            "Share of the re-sent context (system prompt and earlier steps) read "
            "from the prompt cache; [0, 1]. Cached tokens are part of input."
        ),
    )
    route: Route = Field(description="Which backend serves the LLM calls.")
    workflow: list[Node] = Field(min_length=1, description="Steps and loops, in order.")
    caps: Caps = Field(default_factory=Caps, description="Per-task limits.")
    latency_target_p95_s: Real | None = Field(
        None, gt=0, description="Target for p95 task latency; seconds, > 0."
    )

    @model_validator(mode="after")
    def _bounded_plan(self) -> TaskType:
        worst = _worst_visits(self.workflow) * (self.caps.max_corrections + 1)
        if worst > MAX_WORST_VISITS:
            raise ValueError(
                f"workflow: loops may visit {worst:,.0f} steps in one task (max "
                f"iterations multiplied through nested loops and corrections); at "
                f"most {MAX_WORST_VISITS:,}: lower max_iterations or max_corrections")
        return self

    def steps(self) -> list[Step]:
        """Every step of the workflow, loops flattened, in order."""
        found: list[Step] = []
        _collect(self.workflow, found)
        return found


def _worst_visits(nodes: list) -> int:
    """Most nodes one pass through `nodes` can visit, loops at their caps."""
    total = 0
    for node in nodes:
        if isinstance(node, Loop):
            total += 1 + node.loop.max_iterations * _worst_visits(node.loop.steps)
        else:
            total += 1
    return total


def _collect(nodes: list, found: list[Step]) -> None:
    for node in nodes:
        if isinstance(node, Loop):
            _collect(node.loop.steps, found)
        else:
            found.append(node)
