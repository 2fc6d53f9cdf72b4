"""A pool of identical slots served first come, first served.

A lighter stand-in for `simpy.Resource` on the hot path: taking a free slot
costs no event at all, and a released slot passes straight to the longest
waiter, so a call that finds the pool busy can never be overtaken.
"""

from __future__ import annotations

from collections import deque

import simpy


class Slots:
    """`capacity` slots; `take()` returns None or an event to wait for."""

    __slots__ = ("env", "capacity", "free", "queue")

    def __init__(self, env: simpy.Environment, capacity: int) -> None:
        self.env = env
        self.capacity = capacity
        self.free = capacity
        self.queue: deque[simpy.Event] = deque()

    @property
    def count(self) -> int:
        """Slots in use."""
        return self.capacity - self.free

    def take(self) -> simpy.Event | None:
        """Claim a slot: None when one was free, else the event of the handover."""
        if self.free:
            self.free -= 1
            return None
        handover = self.env.event()
        self.queue.append(handover)
        return handover

    def give_back(self) -> None:
        """Return a slot: to the longest waiter if any, else to the pool."""
        if self.queue:
            self.queue.popleft().succeed()
        else:
            self.free += 1
