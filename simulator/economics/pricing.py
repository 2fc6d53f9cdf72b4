"""Turn token counts into USD, exactly.

Prices are USD per 1M tokens, as vendors publish them. Inside, each price is a
whole number of pico-dollars (1e-12 USD) per token, which every price with at
most six decimals per 1M tokens is, so costs are integers and sums are exact.
Cached input tokens are part of input tokens and are billed at the cached rate
instead of the input rate; output tokens include reasoning tokens.
Limitations: no cache-write surcharge, batch discount, priority multiplier or
long-context tier; a call that fails before it runs costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from simulator.scenario.prices import TOKENS_PER_MTOK, TokenPrices
from simulator.scenario.schema import Scenario

PICO_PER_USD = 10**12
PICO_PER_TOKEN_PER_USD_PER_MTOK = PICO_PER_USD // TOKENS_PER_MTOK
TOKEN_CLASSES = ("input", "cached_input", "output")
INT64_SAFE = 2**62  # sums below this leave int64 headroom for tool charges


@dataclass(frozen=True)
class TokenRates:
    """One backend's prices in pico-USD per token."""

    input: int
    cached_input: int
    output: int

    @classmethod
    def from_prices(cls, prices: TokenPrices) -> TokenRates:
        """Exact conversion from USD per 1M tokens."""
        return cls(_pico(prices.input_usd_per_mtok), _pico(prices.cached_rate()),
                   _pico(prices.output_usd_per_mtok))

    def call_pusd(self, tokens_in: int, tokens_cached: int, tokens_out: int) -> int:
        """Cost of one call in pico-USD."""
        return ((tokens_in - tokens_cached) * self.input
                + tokens_cached * self.cached_input + tokens_out * self.output)


def backend_rates(scenario: Scenario) -> list[TokenRates]:
    """Token rates of every backend, in order; GPU backends have none (zero)."""
    return [TokenRates.from_prices(b.prices) if hasattr(b, "prices")
            else TokenRates(0, 0, 0) for b in scenario.backends.values()]


def make_call_cost(scenario: Scenario):
    """A function (backend index, in, cached, out) -> pico-USD for the engine."""
    rates = backend_rates(scenario)
    return lambda backend, tokens_in, cached, out: rates[backend].call_pusd(
        tokens_in, cached, out)


def call_cost_usd(prices: TokenPrices, tokens_in: int, tokens_cached: int,
                  tokens_out: int) -> Decimal:
    """Exact cost of one call in USD."""
    rates = TokenRates.from_prices(prices)
    return to_usd(rates.call_pusd(tokens_in, tokens_cached, tokens_out))


def call_costs_pusd(calls: dict[str, np.ndarray], rates: list[TokenRates]
                    ) -> np.ndarray:
    """Cost of every recorded call in pico-USD; failed calls cost 0.

    int64 when no sum of these costs can overflow it, else exact Python ints.
    """
    dtype = money_dtype(calls, rates)
    backend = calls["backend"].astype(np.intp)
    table = np.array([[r.input, r.cached_input, r.output] for r in rates],
                     dtype=dtype).reshape(-1, 3)
    tokens_in, cached, out = (calls[name].astype(dtype) for name in
                              ("tokens_in", "tokens_cached", "tokens_out"))
    cost = ((tokens_in - cached) * table[backend, 0] + cached * table[backend, 1]
            + out * table[backend, 2])
    return np.where(calls["status"] == 0, cost, 0).astype(dtype)


def money_dtype(calls: dict[str, np.ndarray], rates: list[TokenRates]) -> type:
    """np.int64 when every sum of call costs fits in it, else object (exact)."""
    if not len(calls["tokens_in"]) or not rates:
        return np.int64
    top_rate = max(max(r.input, r.cached_input, r.output) for r in rates)
    tokens = int(calls["tokens_in"].sum()) + int(calls["tokens_out"].sum())
    return np.int64 if tokens * top_rate < INT64_SAFE else object


def to_usd(pusd: int | np.integer) -> Decimal:
    """Pico-USD as exact Decimal USD."""
    return Decimal(int(pusd)) / PICO_PER_USD


def format_usd(amount: Decimal | float) -> str:
    """Money for people: cents from $1 up, three significant digits below.

    A cost below a cent is never shown as $0.00: 0.000105 shows as $0.000105,
    0.0905 as $0.0905, 0.42 as $0.42.
    """
    amount = Decimal(str(amount)) if isinstance(amount, float) else amount
    if amount == 0:
        return "$0.00"
    sign = "-" if amount < 0 else ""
    magnitude = abs(amount)
    if magnitude >= 1:
        return f"{sign}${magnitude.quantize(Decimal('0.01'), ROUND_HALF_UP):,}"
    if magnitude < Decimal("1e-6"):
        return f"{sign}${magnitude:.2e}"
    shown = Decimal(f"{magnitude:.3g}")
    digits = max(2, -shown.normalize().as_tuple().exponent)
    return f"{sign}${shown:.{digits}f}"


def _pico(usd_per_mtok: Decimal) -> int:
    value = usd_per_mtok * PICO_PER_TOKEN_PER_USD_PER_MTOK
    if value != value.to_integral_value():
        raise ValueError(f"price {usd_per_mtok} USD per 1M tokens has more than six "
                         "decimals")
    return int(value)
