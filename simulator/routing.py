"""Routers: which backend serves each LLM call.

Each task type has a router built from its route. `fixed` and step-kind pins
resolve to a table lookup; `tiered` reads the task's drawn routine flag;
`cascade` names a first backend and an escalation backend (the engine makes
the second call when the plan drew a failed check); `spillover` and
`cheapest` look at the backends' state at the instant of the call: expected
queue wait (GPU pools, rate limits) and expected service time, and for
`cheapest` the price of the call on each pay-per-token backend (owned or
rented GPUs cost nothing per call: their capacity is paid for already).
Limitations: expected waits come from queue length times a moving average of
service times, not a forecast; `cheapest` ignores capacity costs per call.
"""

from __future__ import annotations

from simulator.scenario.schema import Scenario
from simulator.scenario.workflow import STEP_KINDS


class Router:
    """Picks backends for one task type's calls."""

    def __init__(self, scenario: Scenario, type_name: str, backends: list,
                 call_cost: object | None) -> None:
        route = scenario.task_types[type_name].route
        names = list(scenario.backends)
        self.policy = route.policy
        self.backends = backends
        self.call_cost = call_cost
        self.default = names.index(route.default)
        self.pinned = {STEP_KINDS.index(kind.value): names.index(backend)
                       for kind, backend in route.by_step_kind.items()}
        self.routine = names.index(route.routine) if route.routine else None
        self.first = names.index(route.first) if route.first else None
        self.prefer = names.index(route.prefer) if route.prefer else None
        self.max_wait_s = route.max_wait_s
        self.candidates = [names.index(name) for name in route.candidates]
        self.target_latency_s = route.target_latency_s

    def cascades(self, action) -> bool:
        """True when this call goes first to the cascade's first backend."""
        return self.policy == "cascade" and action.kind not in self.pinned

    def pick(self, action, plan, now: float) -> int:
        """Backend index for a call (for cascade: the first backend)."""
        pinned = self.pinned.get(action.kind)
        if pinned is not None:
            return pinned
        if self.policy == "tiered":
            return self.routine if plan.routine else self.default
        if self.policy == "cascade":
            return self.first
        if self.policy == "spillover":
            wait = self.backends[self.prefer].expected_wait_s(now, action.tokens_in
                                                             + action.tokens_out)
            return self.prefer if wait <= self.max_wait_s else self.default
        if self.policy == "cheapest":
            return self._cheapest(action, now)
        return self.default

    def _cheapest(self, action, now: float) -> int:
        options = []
        for index in self.candidates:
            backend = self.backends[index]
            tokens = action.tokens_in + action.tokens_out
            latency = (backend.expected_wait_s(now, tokens)
                       + backend.expected_service_s(action.tokens_out))
            cost = 0 if self.call_cost is None else self.call_cost(
                index, action.tokens_in, action.tokens_cached, 0, action.tokens_out)
            options.append((latency > self.target_latency_s, cost, latency, index))
        meets = [option for option in options if not option[0]]
        if meets:
            return min(meets)[3]
        return min(options, key=lambda option: (option[2], option[3]))[3]


def build_routers(scenario: Scenario, backends: list, call_cost: object | None
                  ) -> list[Router]:
    """One router per task type, in the scenario's order; `call_cost` prices a
    call on a backend (pico-USD) for the cheapest policy."""
    return [Router(scenario, name, backends, call_cost)
            for name in scenario.task_types]
