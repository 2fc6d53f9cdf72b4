"""Autoscaling of a rented GPU pool: launch replicas when calls queue, stop idle ones.

A replica is launched when at least `scale_up_queue` calls wait, or any call
waits on a pool with no replica (checked on every queued call and every
`check_interval_s`), up to `max_replicas`; it is
billed from launch but serves only after `provisioning_s`. A serving replica
that has had nothing to do for `scale_down_idle_s` is stopped, down to
`min_replicas`. Every replica's lifetime is kept for the bill.
Limitations: one replica is launched per check; provisioning always takes the
same time and never fails; scale-down ignores the billing granularity.
"""

from __future__ import annotations

import simpy


class Autoscaler:
    """Launches and stops the replicas of one pool."""

    def __init__(self, env: simpy.Environment, pool: object, spec: object) -> None:
        self.env = env
        self.pool = pool
        self.spec = spec
        self.provisioning = 0
        self.lifetimes: dict[int, list[float]] = {
            replica.index: [0.0, float("nan")] for replica in pool.replicas}
        env.process(self.check_periodically())

    def live(self) -> int:
        """Replicas launched and not stopped (serving or provisioning)."""
        return sum(1 for r in self.pool.replicas if r.serving) + self.provisioning

    def on_waiting(self) -> None:
        """A call joined the queue: launch a replica if the queue is long enough."""
        waiting = len(self.pool.waiting)
        empty = self.live() == 0  # nothing will ever serve these calls
        if ((empty or waiting >= self.spec.scale_up_queue)
                and self.provisioning * self.pool.max_concurrency < waiting
                and self.live() < self.spec.max_replicas):
            self._launch()

    def on_idle(self, replica: object) -> None:
        """A serving replica has nothing to do: stop it if it stays idle."""
        idle_since = self.env.now
        self.env.timeout(self.spec.scale_down_idle_s).callbacks.append(
            lambda _event: self._maybe_stop(replica, idle_since))

    def check_periodically(self):
        """The periodic scaling check."""
        while True:
            yield self.env.timeout(self.spec.check_interval_s)
            if self.pool.waiting:
                self.on_waiting()

    def _launch(self) -> None:
        replica = self.pool.add_replica()
        self.provisioning += 1
        self.lifetimes[replica.index] = [self.env.now, float("nan")]
        self.env.timeout(self.spec.provisioning_s).callbacks.append(
            lambda _event: self._ready(replica))

    def _ready(self, replica: object) -> None:
        self.provisioning -= 1
        self.pool.activate(replica)

    def _maybe_stop(self, replica: object, idle_since: float) -> None:
        if (not replica.serving or replica.active or replica.last_change > idle_since
                or self.live() <= self.spec.min_replicas):
            return
        self.pool.retire(replica)
        self.lifetimes[replica.index][1] = self.env.now
