"""Tool services: how long each call takes and whether it fails.

A tool call's latency and outcome do not depend on simulated state, so each
task's tool attempts are drawn when its plan is drawn. Concurrency (calls
served at once) is enforced by the engine, which queues calls in arrival order.
Limitations: failures are independent of load; a retry follows a failed
attempt immediately, with no back-off.
"""

from __future__ import annotations

from simulator.rng import Streams
from simulator.scenario.base import Uniform
from simulator.scenario.schema import ToolService
from simulator.workload.sampling import make_sampler

UNIT = Uniform(dist="uniform", low=0.0, high=1.0)


class ToolDraws:
    """Latency and failure draws of one tool service, shared by all task types."""

    def __init__(self, name: str, tool: ToolService, streams: Streams) -> None:
        self.tool = tool
        self.latency = make_sampler(
            tool.latency_s, streams.generator(f"tools/{name}/latency")
        )
        self.failure = make_sampler(UNIT, streams.generator(f"tools/{name}/failure"))
        self.failure_prob = tool.failure_prob
        self.max_retries = tool.max_retries

    def attempts(self) -> tuple[tuple[float, ...], bool]:
        """Latency of each attempt, and whether the last one succeeded."""
        first = self.latency()
        if self.failure_prob == 0 or self.failure() >= self.failure_prob:
            return (first,), True
        latencies = [first]
        for _ in range(self.max_retries):
            latencies.append(self.latency())
            if self.failure() >= self.failure_prob:
                return tuple(latencies), True
        return tuple(latencies), False
