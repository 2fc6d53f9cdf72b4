"""Means with Student-t intervals over replications, and paired differences.

Replications of a run are independent, identically distributed samples of
each headline figure, so a figure is reported as its mean with a t-interval
on n - 1 degrees of freedom. The t quantile is computed exactly for integer
degrees of freedom from the closed-form distribution function (a finite sum
in cos(theta), theta = atan(t / sqrt(df))) and inverted by bisection.
Limitations: the interval assumes replication means are close to normal;
with 2 or 3 replications it is wide, and with 1 there is none.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BISECTION_STEPS = 200


@dataclass(frozen=True)
class Interval:
    """A mean with the half-width of its confidence interval (NaN: none)."""

    mean: float
    half_width: float
    num_samples: int
    confidence: float

    @property
    def low(self) -> float:
        """Lower end of the interval."""
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        """Upper end of the interval."""
        return self.mean + self.half_width


def t_within(t: float, df: int) -> float:
    """P(|T| < t) for Student's T with `df` degrees of freedom (df >= 1)."""
    if df < 1:
        raise ValueError(f"df must be >= 1, got {df}")
    theta = math.atan(t / math.sqrt(df))
    cos2 = math.cos(theta) ** 2
    if df % 2 == 1:
        term, total = 1.0, 1.0 if df > 1 else 0.0
        for k in range(1, (df - 1) // 2):
            term *= cos2 * (2 * k) / (2 * k + 1)
            total += term
        return 2 / math.pi * (theta + math.sin(theta) * math.cos(theta) * total)
    term, total = 1.0, 1.0
    for k in range(1, df // 2):
        term *= cos2 * (2 * k - 1) / (2 * k)
        total += term
    return math.sin(theta) * total


def t_quantile(confidence: float, df: int) -> float:
    """The t with P(|T| < t) = confidence (two-sided), for `df` degrees."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    low, high = 0.0, 1.0
    while t_within(high, df) < confidence:
        high *= 2
    for _ in range(BISECTION_STEPS):
        middle = (low + high) / 2
        if t_within(middle, df) < confidence:
            low = middle
        else:
            high = middle
        if high - low < 1e-12 * high:
            break
    return (low + high) / 2


def mean_interval(values: list[float] | np.ndarray, confidence: float = 0.95
                  ) -> Interval:
    """Mean of the finite values and their t-interval half-width."""
    data = np.asarray(values, dtype=float)
    data = data[np.isfinite(data)]
    n = len(data)
    if n == 0:
        return Interval(math.nan, math.nan, 0, confidence)
    mean = math.fsum(data) / n
    if n == 1:
        return Interval(mean, math.nan, 1, confidence)
    spread = float(np.std(data, ddof=1))
    return Interval(mean, t_quantile(confidence, n - 1) * spread / math.sqrt(n), n,
                    confidence)


def unpaired_interval(first: np.ndarray, second: np.ndarray,
                      confidence: float = 0.95) -> Interval:
    """Difference of means (second - first) of independent samples (Welch)."""
    a = np.asarray(first, dtype=float)
    b = np.asarray(second, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) < 2 or len(b) < 2:
        mean = (math.fsum(b) / len(b) - math.fsum(a) / len(a)
                if len(a) and len(b) else math.nan)
        return Interval(mean, math.nan, min(len(a), len(b)), confidence)
    var_a, var_b = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    mean = math.fsum(b) / len(b) - math.fsum(a) / len(a)
    if var_a + var_b == 0:
        return Interval(mean, 0.0, min(len(a), len(b)), confidence)
    df = (var_a + var_b) ** 2 / (var_a**2 / (len(a) - 1) + var_b**2 / (len(b) - 1))
    quantile = t_quantile(confidence, max(int(math.floor(df)), 1))
    return Interval(mean, quantile * math.sqrt(var_a + var_b),
                    min(len(a), len(b)), confidence)
