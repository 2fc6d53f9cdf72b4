"""Tool services: how long each call takes and whether it fails.

A tool call's latency and outcome do not depend on simulated state, so each
task's tool attempts are drawn when its plan is drawn (workload.plans).
Concurrency (calls served at once) is enforced by the engine, which queues
calls in arrival order.
Limitations: failures are independent of load; a retry follows a failed
attempt immediately, with no back-off.
"""

from __future__ import annotations

from simulator.scenario.base import Uniform

UNIT = Uniform(dist="uniform", low=0.0, high=1.0)
"""The unit interval, for chance draws."""
