"""Turn token counts into USD, exactly.

Prices are USD per 1M tokens, as vendors publish them. Inside, each price is a
whole number of pico-dollars (1e-12 USD) per token, which every price with at
most six decimals per 1M tokens is, so costs are integers and sums are exact.
Cached input tokens (cache reads) and cache writes are part of input tokens
and are billed at their own rates instead of the input rate; output tokens
include reasoning tokens. Tiers, long-context prices and cache writes are in
api_pricing; this module applies them to a run's records.
Limitations: a call that fails before it runs costs nothing.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from simulator.economics.api_pricing import ApiRates
from simulator.scenario.prices import TOKENS_PER_MTOK, TokenPrices
from simulator.scenario.schema import Scenario

PICO_PER_USD = 10**12
PICO_PER_TOKEN_PER_USD_PER_MTOK = PICO_PER_USD // TOKENS_PER_MTOK
INT64_SAFE = 2**62  # sums below this leave int64 headroom for tool charges


def backend_rates(scenario: Scenario) -> list[ApiRates | None]:
    """Rates of every API backend, in order; None for GPU backends."""
    return [ApiRates.from_prices(b.prices, b.service_tier, b.prompt_cache_ttl)
            if b.kind == "api" else None for b in scenario.backends.values()]


def make_call_cost(scenario: Scenario):
    """A function (backend index, in, read, write, out) -> pico-USD for the
    engine's dollar caps; GPU calls cost nothing here."""
    rates = backend_rates(scenario)

    def cost(backend: int, tokens_in: int, read: int, write: int, out: int) -> int:
        """Pico-USD of one call on `backend`."""
        api = rates[backend]
        return 0 if api is None else api.call_pusd(tokens_in, read, write, out)

    return cost


def call_cost_if_needed(scenario: Scenario):
    """make_call_cost(scenario) when a task type has a dollar cap or routes to
    the cheapest backend (the engine then prices calls as they run); else None."""
    needed = any(t.caps.max_usd is not None or t.route.policy == "cheapest"
                 for t in scenario.task_types.values())
    return make_call_cost(scenario) if needed else None


def call_cost_usd(prices: TokenPrices, tokens_in: int, tokens_cached: int,
                  tokens_out: int) -> Decimal:
    """Exact cost of one standard-tier call in USD."""
    rates = ApiRates.from_prices(prices)
    return to_usd(rates.call_pusd(tokens_in, tokens_cached, 0, tokens_out))


def call_costs_pusd(calls: dict[str, np.ndarray], rates: list[ApiRates | None]
                    ) -> np.ndarray:
    """Cost of every recorded call in pico-USD; failed and GPU calls cost 0.

    int64 when no sum of these costs can overflow it, else exact Python ints.
    """
    dtype = money_dtype(calls, rates)
    cost = np.zeros(len(calls["tokens_in"]), dtype=dtype)
    if dtype is object:
        cost[:] = 0
    for index, api in enumerate(rates):
        mine = (calls["backend"] == index) & (calls["status"] == 0)
        if api is None or not mine.any():
            continue
        for _, tokens, rate in api.split(*(calls[name][mine].astype(dtype) for name in
                                           ("tokens_in", "tokens_cached",
                                            "tokens_cache_write", "tokens_out"))):
            cost[mine] += tokens * rate
    return cost


def bill_items(calls: dict[str, np.ndarray], index: int, api: ApiRates
               ) -> list[tuple[str, int, int]]:
    """(item, tokens, pico-USD per token) of one API backend's served calls."""
    mine = (calls["backend"] == index) & (calls["status"] == 0)
    items: dict[tuple[str, int], int] = {}
    parts = api.split(*(calls[name][mine] for name in
                        ("tokens_in", "tokens_cached", "tokens_cache_write",
                         "tokens_out")))
    for item, tokens, rate in parts:
        items[item, rate] = items.get((item, rate), 0) + int(tokens.sum())
    return [(item, tokens, rate) for (item, rate), tokens in items.items()]


def money_dtype(calls: dict[str, np.ndarray], rates: list[ApiRates | None]) -> type:
    """np.int64 when every sum of call costs fits in it, else object (exact)."""
    apis = [api for api in rates if api is not None]
    if not len(calls["tokens_in"]) or not apis:
        return np.int64
    top_rate = max(api.top_rate() for api in apis)
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
