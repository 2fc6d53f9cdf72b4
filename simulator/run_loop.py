"""Advance a SimPy model to its horizon: in one go, in chunks that report
progress, or until given tasks have all ended.

Every way stops at the same instants: events at the horizon itself are not
processed (SimPy's `run(until=...)`), so a progress bar never changes a result.
"""

from __future__ import annotations

from collections.abc import Callable

import simpy

from simulator.records import IN_FLIGHT
from simulator.workload.arrivals import Arrivals

PROGRESS_CHUNKS = 100
SETTLE_STEP_S = 60.0


def advance(env: simpy.Environment, status: list[int], arrivals: Arrivals,
            horizon: float, progress: Callable[[float], None] | None,
            settle: tuple[int, int] | None) -> float:
    """Run `env` to the horizon (or until settled); the instant it stopped.
    `status` is the tasks' status column, read to see which have ended."""
    if settle is not None:
        return _until_settled(env, status, arrivals, settle, horizon)
    if progress is None:
        env.run(until=horizon)
        return horizon
    for chunk in range(1, PROGRESS_CHUNKS + 1):
        # the last chunk ends at the horizon itself: horizon * 100 / 100 may
        # miss it by an ulp and keep or drop an event at the very end
        last = chunk == PROGRESS_CHUNKS
        env.run(until=horizon if last else horizon * chunk / PROGRESS_CHUNKS)
        progress(chunk / PROGRESS_CHUNKS)
    return horizon


def _until_settled(env: simpy.Environment, status: list[int], arrivals: Arrivals,
                   settle: tuple[int, int], horizon: float) -> float:
    """Run until tasks [first, last) have all ended, or to the horizon; the end."""
    first, last = settle
    if last > first and arrivals.arrived_at[last - 1] > 0:
        env.run(until=min(horizon, float(arrivals.arrived_at[last - 1])))
    pending = first
    while env.now < horizon:
        while pending < last and status[pending] != IN_FLIGHT:
            pending += 1
        if pending == last:
            break
        env.run(until=min(horizon, env.now + SETTLE_STEP_S))
    return env.now
