"""Price API calls as vendors bill them: cache writes, tiers and long contexts.

Each call's input splits into fresh tokens, cache reads and cache writes
(5-minute or 1-hour lifetime); output includes reasoning. A backend's service
tier multiplies every price (batch, by default also cache reads; priority).
Above a long-context threshold, compared with the call's whole input, either
the whole call is billed at the long-context prices or only the input beyond
the threshold is. Rates are held in pico-dollars per token; a multiplied rate
is rounded to the pico-dollar.
Limitations: the cached prefix is a task's first prompt (later growth of the
context is billed as fresh input, not written); long-context cache reads bill
at the base cache price scaled as input is when none is given; with
excess_only the excess is taken from the fresh tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np

from simulator.scenario.prices import TokenPrices

PICO_PER_USD_PER_MTOK = 10**6
LONG = " (long context)"
CLASSES = ("input", "cached_input", "cache_write", "output")


@dataclass(frozen=True)
class ClassRates:
    """Pico-dollars per token of each class, one tier (base or long context)."""

    input: int
    cached_input: int
    cache_write: int
    output: int


@dataclass(frozen=True)
class ApiRates:
    """Everything needed to price a backend's calls."""

    base: ClassRates
    long: ClassRates | None
    threshold_tokens: int | None
    excess_only: bool

    @classmethod
    def from_prices(cls, prices: TokenPrices, tier: str = "standard",
                    ttl: str | None = None) -> ApiRates:
        """Rates after the service tier's multiplier, for a cache lifetime."""
        write = {"5m": prices.cache_write_5m_usd_per_mtok,
                 "1h": prices.cache_write_1h_usd_per_mtok}.get(ttl or "")
        base = _class_rates(prices.input_usd_per_mtok, prices.cached_rate(),
                            write, prices.output_usd_per_mtok, prices, tier)
        long, threshold, excess = None, None, False
        if prices.long_context is not None:
            spec = prices.long_context
            scale = (spec.input_usd_per_mtok / prices.input_usd_per_mtok
                     if prices.input_usd_per_mtok else Decimal(1))
            cached = (spec.cached_input_usd_per_mtok
                      if spec.cached_input_usd_per_mtok is not None
                      else prices.cached_rate() * scale)
            long = _class_rates(spec.input_usd_per_mtok, cached,
                                None if write is None else write * scale,
                                spec.output_usd_per_mtok, prices, tier)
            threshold, excess = spec.threshold_tokens, spec.rule == "excess_only"
        return cls(base, long, threshold, excess)

    def call_pusd(self, tokens_in: int, read: int, write: int, out: int) -> int:
        """Cost of one call; `read` and `write` are parts of `tokens_in`."""
        parts = self.split(np.array([tokens_in]), np.array([read]),
                           np.array([write]), np.array([out]))
        return int(sum(int(tokens[0]) * rate for _, tokens, rate in parts))

    def split(self, tokens_in: np.ndarray, read: np.ndarray, write: np.ndarray,
              out: np.ndarray) -> list[tuple[str, np.ndarray, int]]:
        """(bill item, tokens per call, rate) whose products sum to each cost."""
        fresh = tokens_in - read - write
        if self.long is None:
            return _items(self.base, "", fresh, read, write, out)
        long = tokens_in > self.threshold_tokens
        if not self.excess_only:
            zero = np.zeros_like(fresh)
            return (_items(self.base, "", *(np.where(long, zero, x) for x in
                                            (fresh, read, write, out)))
                    + _items(self.long, LONG, *(np.where(long, x, zero) for x in
                                                (fresh, read, write, out))))
        excess = np.maximum(tokens_in - self.threshold_tokens, 0)
        long_fresh = np.minimum(excess, fresh)
        return (_items(self.base, "", fresh - long_fresh, read, write, out)
                + [(f"input tokens{LONG}", long_fresh, self.long.input)])

    def top_rate(self) -> int:
        """The dearest rate, for overflow checks."""
        tiers = [self.base] + ([self.long] if self.long else [])
        return max(max(t.input, t.cached_input, t.cache_write, t.output)
                   for t in tiers)


def _class_rates(input_usd: Decimal, cached_usd: Decimal, write_usd: Decimal | None,
                 output_usd: Decimal, prices: TokenPrices, tier: str) -> ClassRates:
    factor = {"standard": Decimal(1), "priority": Decimal(repr(
        prices.priority_multiplier)), "batch": Decimal(repr(prices.batch_multiplier))
        }[tier]
    read_factor = factor if (tier != "batch"
                             or prices.batch_discount_on_cache_reads) else Decimal(1)
    return ClassRates(_pico(input_usd * factor), _pico(cached_usd * read_factor),
                      _pico((input_usd if write_usd is None else write_usd) * factor),
                      _pico(output_usd * factor))


def _items(rates: ClassRates, suffix: str, fresh: np.ndarray, read: np.ndarray,
           write: np.ndarray, out: np.ndarray) -> list[tuple[str, np.ndarray, int]]:
    return [(f"input tokens{suffix}", fresh, rates.input),
            (f"cached input tokens{suffix}", read, rates.cached_input),
            (f"cache write tokens{suffix}", write, rates.cache_write),
            (f"output tokens{suffix}", out, rates.output)]


def _pico(usd_per_mtok: Decimal) -> int:
    value = usd_per_mtok * PICO_PER_USD_PER_MTOK
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
