"""Sample queue lengths and busy slots at a fixed interval during a run.

Each gauge is a named function of the current state (calls waiting at a GPU
pool, busy slots of a tool service, ...); the monitor reads them all every
`interval_s` simulated seconds, from time 0, into columns for the
time-series charts.
Limitations: a sample sees the state at one instant; changes between samples
are not recorded (the exact integrals live in the pools' own accounting).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import simpy

MAX_SAMPLES = 400


class Monitor:
    """Reads named gauges every `interval_s` seconds."""

    def __init__(self, env: simpy.Environment, gauges: dict[str, Callable[[], float]],
                 horizon_s: float) -> None:
        self.env = env
        self.gauges = gauges
        self.interval_s = max(horizon_s / MAX_SAMPLES, 1.0)
        self.columns: dict[str, list[float]] = {"time_s": []}
        self.columns.update({name: [] for name in gauges})
        if gauges:
            env.process(self.sample())

    def sample(self):
        """The sampling process: read every gauge, then wait one interval."""
        while True:
            self.columns["time_s"].append(self.env.now)
            for name, gauge in self.gauges.items():
                self.columns[name].append(float(gauge()))
            yield self.env.timeout(self.interval_s)

    def arrays(self) -> dict[str, np.ndarray]:
        """The samples as float arrays, time first."""
        return {name: np.asarray(values, dtype=float)
                for name, values in self.columns.items()}


def pool_gauges(backends: list, tools: dict, tool_slots: list
                ) -> dict[str, Callable[[], float]]:
    """What the monitor samples: waiting calls and busy slots per pool, and the
    live replicas of autoscaled pools."""
    found: dict[str, Callable[[], float]] = {}
    for backend in backends:
        if backend.pool is not None:
            pool = backend.pool
            found[f"backend:{backend.name}:waiting"] = lambda p=pool: len(p.waiting)
            found[f"backend:{backend.name}:busy_slots"] = (
                lambda p=pool: sum(r.active for r in p.replicas))
            if pool.autoscaler is not None:
                found[f"backend:{backend.name}:replicas"] = pool.autoscaler.live
    for name, slots in zip(tools, tool_slots, strict=True):
        if slots is not None:
            found[f"tool:{name}:waiting"] = lambda s=slots: len(s.queue)
            found[f"tool:{name}:busy_slots"] = lambda s=slots: s.count
    return found


class PoolUsage:
    """Each GPU pool's usage in the measured window (after the warm-up)."""

    def __init__(self, env: simpy.Environment, backends: list, scenario: object):
        self.env = env
        self.pools = [(b.name, b.pool) for b in backends if b.pool is not None]
        self.replicas = {name: _most_replicas(scenario.backends[name])
                         for name, _ in self.pools}
        self.at_warmup: dict[str, tuple[float, float, float]] = {}
        env.timeout(scenario.warmup_s).callbacks.append(self._start_window)

    def _start_window(self, _event: simpy.Event) -> None:
        self.at_warmup = {name: pool.usage() for name, pool in self.pools}

    def in_window(self) -> dict[str, dict]:
        """Slot-, busy- and serving replica-seconds per pool, and lifetimes."""
        found = {}
        for name, pool in self.pools:
            slot_s, busy_s, live_s = pool.usage()
            before = self.at_warmup.get(name, (0.0, 0.0, 0.0))
            replicas = self.replicas[name]
            found[name] = {
                "slot_s": slot_s - before[0], "busy_s": busy_s - before[1],
                "live_s": live_s - before[2], "replicas": replicas,
                "slots": pool.max_concurrency * replicas,
                "slots_per_replica": pool.max_concurrency,
                "lifetimes": self._lifetimes(pool),
            }
        return found

    def _lifetimes(self, pool: object) -> list[list[float]] | None:
        if pool.autoscaler is None:
            return None
        return [[start, self.env.now if stop != stop else stop]
                for start, stop in pool.autoscaler.lifetimes.values()]


def _most_replicas(spec: object) -> int:
    """Replicas a pool may have at once: fixed, or its autoscaling maximum."""
    autoscale = getattr(spec, "autoscale", None)
    return spec.replicas if autoscale is None else autoscale.max_replicas
