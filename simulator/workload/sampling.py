"""Draw numbers from the scenario's named distributions, a block at a time.

Each sampler owns one random stream and draws SAMPLE_BLOCK values per numpy
call; because no other consumer shares the stream, block drawing gives the same
sequence as drawing one value at a time, only faster. Vector samplers return
`n` draws per call (plans drawn for many tasks at once); transforms map shared
normal and uniform draws onto a distribution.
Limitations: draws are clipped to [0, 1e9] (seconds or tokens), so a heavy
tail cannot produce an infinite duration or an unbillable token count.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from simulator.rng import SAMPLE_BLOCK
from simulator.scenario.base import (
    MAX_VALUE,
    Constant,
    Empirical,
    Exponential,
    Lognormal,
    Uniform,
)

UNIT = Uniform(dist="uniform", low=0.0, high=1.0)
"""The unit interval, for chance draws."""


class Sampler:
    """Callable returning the next draw of a distribution as a float."""

    __slots__ = ("_block", "_values", "_next")

    def __init__(self, block: Callable[[int], np.ndarray]) -> None:
        self._block = block
        self._values: list[float] = []
        self._next = 0

    def __call__(self) -> float:
        index = self._next
        if index == len(self._values):
            block = self._block(SAMPLE_BLOCK)
            self._values = np.clip(block, 0.0, MAX_VALUE).tolist()
            index = 0
        self._next = index + 1
        return self._values[index]


class ConstantSampler:
    """Callable that always returns the same value; draws nothing."""

    __slots__ = ("value",)

    def __init__(self, value: float) -> None:
        self.value = float(value)

    def __call__(self) -> float:
        return self.value


def make_sampler(dist: object, generator: np.random.Generator
                 ) -> Sampler | ConstantSampler:
    """A sampler for a validated distribution drawing from `generator`."""
    if isinstance(dist, Constant):
        return ConstantSampler(dist.value)
    return Sampler(_raw_draws(dist, generator))


def _raw_draws(dist: object, generator: np.random.Generator
               ) -> Callable[[int], np.ndarray]:
    """`size` unclipped draws of a distribution other than a constant."""
    if isinstance(dist, Uniform):
        low, high = dist.low, dist.high
        return lambda size: generator.uniform(low, high, size)
    if isinstance(dist, Exponential):
        mean = dist.mean_value
        return lambda size: generator.exponential(mean, size)
    if isinstance(dist, Lognormal):
        mu, sigma = dist.mu_sigma()
        return lambda size: generator.lognormal(mu, sigma, size)
    if isinstance(dist, Empirical):
        values = np.asarray(dist.values, dtype=float)
        weights = None
        if dist.weights is not None:
            weights = np.asarray(dist.weights, dtype=float) / sum(dist.weights)
        return lambda size: generator.choice(values, size, p=weights)
    raise TypeError(f"not a distribution: {dist!r}")


VectorSampler = Callable[[int], np.ndarray]
"""Callable returning the next `n` draws of a distribution as an array."""


def make_vector_sampler(dist: object, generator: np.random.Generator) -> VectorSampler:
    """Float draws, `n` per call, clipped like Sampler's."""
    if isinstance(dist, Constant):
        value = float(dist.value)
        return lambda n: np.full(n, value)
    block = _raw_draws(dist, generator)

    def draw(n: int) -> np.ndarray:
        """The next `n` draws, clipped."""
        values = block(n)
        np.minimum(values, MAX_VALUE, out=values)
        return np.maximum(values, 0.0, out=values)
    return draw


def make_vector_count_sampler(dist: object, generator: np.random.Generator
                              ) -> VectorSampler:
    """Whole-count draws (int64), `n` per call, rounded half up."""
    if isinstance(dist, Constant):
        count = int(dist.value + 0.5)
        return lambda n: np.full(n, count, dtype=np.int64)
    draw = make_vector_sampler(dist, generator)
    return lambda n: np.floor(draw(n) + 0.5).astype(np.int64)


def make_transform(dist: object) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Map standard normal draws `z` and uniform draws `u` (one pair per value)
    onto the distribution, clipped like Sampler's. Draws taken this way from
    one shared pair of streams keep the same position for the same call on
    every backend, so variants that move a call keep its luck (common random
    numbers)."""
    if isinstance(dist, Constant):
        value = float(dist.value)
        return lambda z, u: np.full(len(z), value)
    if isinstance(dist, Uniform):
        low, span = dist.low, dist.high - dist.low
        values = lambda z, u: low + span * u  # noqa: E731
    elif isinstance(dist, Exponential):
        mean = dist.mean_value
        values = lambda z, u: -mean * np.log1p(-u)  # noqa: E731
    elif isinstance(dist, Lognormal):
        mu, sigma = dist.mu_sigma()
        values = lambda z, u: np.exp(mu + sigma * z)  # noqa: E731
    elif isinstance(dist, Empirical):
        weights = np.asarray(dist.weights or [1.0] * len(dist.values), dtype=float)
        edges = np.cumsum(weights) / weights.sum()
        options = np.asarray(dist.values, dtype=float)
        values = lambda z, u: options[np.minimum(  # noqa: E731
            np.searchsorted(edges, u, side="right"), len(options) - 1)]
    else:
        raise TypeError(f"not a distribution: {dist!r}")
    return lambda z, u: np.clip(values(z, u), 0.0, MAX_VALUE)
