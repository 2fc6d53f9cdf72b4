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
