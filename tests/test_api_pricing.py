"""API prices as billed: long context, batch and priority tiers, cache writes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from simulator.backends.api import PromptCache
from simulator.economics.api_pricing import ApiRates
from simulator.economics.bill import run_bill
from simulator.scenario import TokenPrices
from tests.conftest import build, run_at, tiny

PICO = 10**12


def _usd(pusd: int) -> Decimal:
    return Decimal(pusd) / PICO


@pytest.mark.parametrize("rule, tokens_in, expected", [
    ("whole_request", 200_000, "0.63"), ("whole_request", 200_001, "1.245006"),
    ("whole_request", 250_000, "1.545"), ("excess_only", 250_000, "0.93")])
def test_long_context_tier(rule, tokens_in, expected):
    """$3/$15, above 200,000 input $6/$22.50; 2,000 output tokens."""
    prices = TokenPrices(input_usd_per_mtok=3, output_usd_per_mtok=15,
                         long_context={"threshold_tokens": 200_000,
                                       "input_usd_per_mtok": 6,
                                       "output_usd_per_mtok": 22.5, "rule": rule})
    rates = ApiRates.from_prices(prices)
    assert _usd(rates.call_pusd(tokens_in, 0, 0, 2_000)) == Decimal(expected)


@pytest.mark.parametrize("on_reads, expected", [(True, "0.0095"), (False, "0.011")])
def test_batch_discount_and_cache_reads(on_reads, expected):
    """$2/$8, cache read $0.50, batch 0.5: 10,000 in (6,000 cached), 1,000 out."""
    prices = TokenPrices(input_usd_per_mtok=2, output_usd_per_mtok=8,
                         cached_input_usd_per_mtok=0.5, batch_multiplier=0.5,
                         batch_discount_on_cache_reads=on_reads)
    rates = ApiRates.from_prices(prices, tier="batch")
    assert _usd(rates.call_pusd(10_000, 6_000, 0, 1_000)) == Decimal(expected)


def test_priority_tier_multiplies_every_price():
    """Priority at 2x doubles a $3/$15 call."""
    prices = TokenPrices(input_usd_per_mtok=3, output_usd_per_mtok=15)
    rates = ApiRates.from_prices(prices, tier="priority")
    assert _usd(rates.call_pusd(1_000, 0, 0, 100)) == Decimal("0.009")


@pytest.mark.parametrize("ttl, first, second", [("1h", "0.63", "0.0405"),
                                                ("5m", "0.405", "0.3855")])
def test_cache_writes_and_expiry(ttl, first, second):
    """A 100,000-token prompt written, then read (or rewritten) ten minutes later."""
    prices = TokenPrices(input_usd_per_mtok=3, output_usd_per_mtok=15,
                         cached_input_usd_per_mtok=0.3,
                         cache_write_5m_usd_per_mtok=3.75,
                         cache_write_1h_usd_per_mtok=6.0)
    rates = ApiRates.from_prices(prices, ttl=ttl)
    cache = PromptCache(ttl)
    read, write = cache.use(0.0, 100_000)
    assert (read, write) == (0, 100_000)
    assert _usd(rates.call_pusd(100_000, read, write, 2_000)) == Decimal(first)
    read, write = cache.use(600.0, 101_000)
    assert (read, write) == ((100_000, 0) if ttl == "1h" else (0, 100_000))
    assert _usd(rates.call_pusd(101_000, read, write, 500)) == Decimal(second)


@pytest.mark.parametrize("ttl, expected", [("1h", "0.6765"), ("5m", "0.7965")])
def test_prompt_cache_through_a_run(ttl, expected):
    """Two calls ten minutes apart on a cached backend bill writes, then reads
    (1 h) or a second write (5 min); 2,000 output tokens join the context."""
    data = tiny(tools={"wait": {"latency_s": 600}})
    backend = data["backends"]["api"]
    backend.update(ttft_s=0, time_per_output_token_s=0, prompt_cache_ttl=ttl)
    backend["prices"] = {"input_usd_per_mtok": 3, "output_usd_per_mtok": 15,
                         "cached_input_usd_per_mtok": 0.3,
                         "cache_write_5m_usd_per_mtok": 3.75,
                         "cache_write_1h_usd_per_mtok": 6.0}
    chat = data["task_types"]["chat"]
    chat["user_input_tokens"] = 100_000
    chat["workflow"] = [{"kind": "tool", "tool": "wait", "output_tokens": 2_000},
                        {"kind": "answer", "input_tokens": 1_000, "output_tokens": 500}]
    run = run_at(build(data), [0.0])
    assert run.calls["tokens_in"].tolist() == [100_000, 103_000]
    writes = run.calls["tokens_cache_write"].tolist()
    assert writes == ([100_000, 0] if ttl == "1h" else [100_000, 100_000])
    bill = run_bill(run)
    assert bill.total_usd == Decimal(expected)
    assert any(line.item == "cache write tokens" for line in bill.lines)


def test_long_context_and_batch_through_a_run():
    """A 250,000-token call on a batch backend with a whole-request long tier."""
    data = tiny()
    data["models"]["m"]["context_window_tokens"] = 1_000_000
    backend = data["backends"]["api"]
    backend["service_tier"] = "batch"
    backend["prices"] = {"input_usd_per_mtok": 3, "output_usd_per_mtok": 15,
                         "long_context": {"threshold_tokens": 200_000,
                                          "input_usd_per_mtok": 6,
                                          "output_usd_per_mtok": 22.5}}
    data["task_types"]["chat"]["workflow"][0].update(input_tokens=250_000,
                                                     output_tokens=2_000)
    bill = run_bill(run_at(build(data), [0.0]))
    assert bill.total_usd == Decimal("0.7725")  # $1.545 at half price
    items = {line.item for line in bill.lines if line.amount_usd}
    assert items == {"input tokens (long context)", "output tokens (long context)"}
