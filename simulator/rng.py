"""Named random streams derived from the scenario seed.

Each source of randomness (arrivals, a task type's token counts, a backend's
latency, ...) draws from its own numpy Generator. A stream is identified by its
name, hashed with BLAKE2 (never Python's salted `hash`), so adding a stream or
changing a policy never shifts the numbers another stream produces: scenarios
that differ in one policy see the same tasks (common random numbers).
"""

from __future__ import annotations

import hashlib

import numpy as np

SAMPLE_BLOCK = 1024


def stream_key(name: str) -> tuple[int, int]:
    """Two 32-bit words that identify a stream name, stable across processes."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest[:4], "little"), int.from_bytes(digest[4:], "little")


class Streams:
    """Factory of named, independent generators for one seed."""

    def __init__(self, seed: int) -> None:
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        self.seed = seed

    def generator(self, name: str) -> np.random.Generator:
        """A fresh generator for the stream `name`; same name, same numbers."""
        sequence = np.random.SeedSequence(self.seed, spawn_key=stream_key(name))
        return np.random.Generator(np.random.PCG64(sequence))


def derived_seed(seed: int, name: str) -> int:
    """A seed for the run called `name` under `seed` (replications, windows):
    the same pair gives the same seed in every process, on every machine."""
    sequence = np.random.SeedSequence(seed, spawn_key=stream_key(name))
    high, low = sequence.generate_state(2, np.uint32)
    return (int(high) << 32 | int(low)) >> 1
