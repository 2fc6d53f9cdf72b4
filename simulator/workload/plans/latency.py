"""Latencies of calls whose backend the route fixes in advance.

Under fixed, tiered and cascade routing (and for step kinds pinned to a
backend) a call's backend is known when its plan is drawn. If that backend
is a pay-per-token API, the call's time to first token and time per output
token are drawn with the plan: one standard normal and one uniform draw per
LLM call, from the task type's own streams, mapped onto the backend's
distribution. A call keeps its place in those streams whichever backend a
variant sends it to, so its luck carries over (common random numbers). A
cascade's redone call draws its pair from streams of its own.
"""

from __future__ import annotations

import numpy as np

from simulator.rng import Streams
from simulator.scenario.schema import ApiBackend, Scenario
from simulator.scenario.workflow import STEP_KINDS, TaskType
from simulator.workload.plans.columns import DYNAMIC, PlanColumns
from simulator.workload.sampling import make_transform

QUANTITIES = ("ttft", "tpot")


class CallLatencies:
    """Fills the backend and latency columns of one task type's plans."""

    def __init__(self, scenario: Scenario, task_type: TaskType, prefix: str,
                 streams: Streams) -> None:
        names = list(scenario.backends)
        route = task_type.route
        self.is_api = np.array([isinstance(spec, ApiBackend)
                                for spec in scenario.backends.values()] + [False])
        self.pinned = np.full(len(STEP_KINDS), DYNAMIC, dtype=np.int64)
        for kind, name in route.by_step_kind.items():
            self.pinned[STEP_KINDS.index(kind.value)] = names.index(name)
        base = {"fixed": route.default, "tiered": route.default,
                "cascade": route.first}.get(route.policy)
        self.base = names.index(base) if base else DYNAMIC
        self.routine = names.index(route.routine) if route.routine else self.base
        self.transforms = {}
        for index in sorted({self.base, self.routine, *self.pinned.tolist()}
                            - {DYNAMIC}):
            spec = scenario.backends[names[index]]
            if isinstance(spec, ApiBackend):
                self.transforms[index] = _transforms(spec)
        self.streams = _stream_pairs(streams, f"{prefix}/latency")
        self.redo = None
        redo = scenario.backends[route.default]
        if route.policy == "cascade" and isinstance(redo, ApiBackend):
            self.redo = (_stream_pairs(streams, f"{prefix}/latency/escalation"),
                         _transforms(redo))

    def fill(self, columns: PlanColumns) -> None:
        """Set `backend`, `ttft_s`, `tpot_s` and the escalation latencies."""
        actions = columns.actions
        kinds, llm = actions["kind"], actions["llm"]
        routine = np.repeat(columns.routine, np.diff(columns.task_start))
        backend = np.where(routine, self.routine, self.base)
        pinned = self.pinned[kinds]
        backend = np.where(pinned != DYNAMIC, pinned, backend)
        backend = np.where(llm, backend, DYNAMIC)
        calls = np.flatnonzero(llm)
        for name in ("ttft_s", "tpot_s", "escalation_ttft_s", "escalation_tpot_s"):
            actions[name] = np.full(len(kinds), np.nan)
        draws = _draw(self.streams, len(calls))
        on = backend[calls]
        for index, (ttft, tpot) in self.transforms.items():
            mine = on == index
            if mine.any():
                rows = calls[mine]
                actions["ttft_s"][rows] = ttft(*(d[mine] for d in draws[0]))
                actions["tpot_s"][rows] = tpot(*(d[mine] for d in draws[1]))
        actions["backend"] = np.where(self.is_api[backend], backend, DYNAMIC)
        if self.redo is not None:
            streams, (ttft, tpot) = self.redo
            draws = _draw(streams, len(calls))
            redo = np.flatnonzero(llm & actions["escalate"])
            at = np.searchsorted(calls, redo)
            actions["escalation_ttft_s"][redo] = ttft(*(d[at] for d in draws[0]))
            actions["escalation_tpot_s"][redo] = tpot(*(d[at] for d in draws[1]))


def _transforms(spec: ApiBackend) -> tuple:
    return make_transform(spec.ttft_s), make_transform(spec.time_per_output_token_s)


def _stream_pairs(streams: Streams, path: str) -> list[tuple]:
    """(normal, uniform) generators for each latency quantity."""
    return [(streams.generator(f"{path}/{name}/normal"),
             streams.generator(f"{path}/{name}/uniform")) for name in QUANTITIES]


def _draw(pairs: list[tuple], n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """`n` (normal, uniform) draws for each latency quantity."""
    return [(normal.standard_normal(n), uniform.random(n)) for normal, uniform in pairs]
