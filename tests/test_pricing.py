"""Token prices to USD, exactly, and money shown to people."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from simulator.economics.bill import allocate_cents, run_bill, task_costs_pusd
from simulator.economics.pricing import call_cost_usd, format_usd
from simulator.scenario import TokenPrices
from tests.conftest import build, run_at, tiny


def _prices(**fields: float) -> TokenPrices:
    return TokenPrices(**fields)


def test_cached_tokens_are_a_subset_of_input():
    """10,000 input (5,000 cached) + 1,000 output at $3/$0.30/$15 is $0.0315."""
    prices = _prices(input_usd_per_mtok=3, cached_input_usd_per_mtok=0.3,
                     output_usd_per_mtok=15)
    assert call_cost_usd(prices, 10_000, 5_000, 1_000) == Decimal("0.0315")


def test_reasoning_tokens_bill_as_output():
    """1,000 input, 500 visible + 1,500 reasoning at $2/$8 is $0.018."""
    prices = _prices(input_usd_per_mtok=2, output_usd_per_mtok=8)
    assert call_cost_usd(prices, 1_000, 0, 500 + 1_500) == Decimal("0.018")


def test_small_calls_add_up_exactly():
    """4,000 calls of 300 in + 100 out at $0.15/$0.60 total $0.42; one is $0.000105."""
    prices = _prices(input_usd_per_mtok=0.15, output_usd_per_mtok=0.6)
    one = call_cost_usd(prices, 300, 0, 100)
    assert one == Decimal("0.000105")
    assert format_usd(one) == "$0.000105"
    assert sum([one] * 4000, Decimal(0)) == Decimal("0.42")


def test_bill_of_4000_small_calls():
    """The bill of 4,000 simulated calls totals $0.42 and shows $0.42."""
    data = tiny()
    data["backends"]["api"]["prices"] = {"input_usd_per_mtok": 0.15,
                                         "output_usd_per_mtok": 0.6}
    data["task_types"]["chat"]["workflow"][0].update(input_tokens=300,
                                                     output_tokens=100)
    run = run_at(build(data), [float(i) * 0.5 for i in range(4000)])
    bill = run_bill(run)
    assert len(run.calls["task_id"]) == 4000
    assert bill.total_usd == Decimal("0.42")
    assert sum(bill.shown_amounts_usd()) == bill.shown_total_usd() == Decimal("0.42")


def test_ten_tasks_of_ten_cents():
    """Ten tasks of exactly $0.10 show a total of $1.00 equal to the sum of lines."""
    data = tiny()
    data["backends"]["api"]["prices"] = {"input_usd_per_mtok": 1,
                                         "output_usd_per_mtok": 0}
    data["task_types"]["chat"]["workflow"][0].update(input_tokens=100_000,
                                                     output_tokens=0)
    bill = run_bill(run_at(build(data), [float(i) for i in range(10)]))
    assert bill.total_usd == Decimal("1")
    shown = bill.shown_amounts_usd()
    assert bill.shown_total_usd() == Decimal("1.00") == sum(shown)


def test_cents_allocation_keeps_the_total():
    """Three thirds of a dollar show as 0.34 + 0.33 + 0.33."""
    third = Decimal(1) / 3
    shown = allocate_cents([third, third, third], Decimal("1.00"))
    assert shown == [Decimal("0.34"), Decimal("0.33"), Decimal("0.33")]


def test_one_price_three_spellings():
    """$3 per 1M, $0.003 per 1K, $0.000003 per token: 10,000 tokens cost $0.03."""
    for field, value in (("input_usd_per_mtok", 3), ("input_usd_per_ktok", 0.003),
                         ("input_usd_per_token", 0.000003)):
        prices = TokenPrices(**{field: value, "output_usd_per_mtok": 0})
        assert call_cost_usd(prices, 10_000, 0, 0) == Decimal("0.03")


def test_money_formatting():
    """Cents from one cent up, significant digits below, never $0.00 for a cost."""
    assert format_usd(Decimal("1234.567")) == "$1,234.57"
    assert format_usd(Decimal("0.0042")) == "$0.0042"
    assert format_usd(Decimal("0")) == "$0.00"
    assert format_usd(Decimal("0.000000125")) == "$1.25e-7"


def test_failed_calls_are_not_billed():
    """Only calls with status ok appear on the bill."""
    data = tiny()
    data["models"]["m"]["context_window_tokens"] = 50
    run = run_at(build(data), [0.0])
    assert run.calls["status"].tolist() == [1]
    assert run_bill(run).total_usd == 0
    assert np.all(run.tasks["status"] == 1)


def test_huge_costs_stay_exact():
    """Costs beyond int64 pico-dollars are summed exactly, never wrapped."""
    data = tiny()
    data["backends"]["api"]["time_per_output_token_s"] = 0
    data["task_types"]["chat"]["workflow"][0]["output_tokens"] = 1e9
    data["task_types"]["chat"]["workflow"][0]["reasoning_tokens"] = 1e9
    run = run_at(build(data), [0.0, 1.0, 2.0])
    costs = task_costs_pusd(run)
    assert [int(c) for c in costs] == [(100 * 3 + 2 * 10**9 * 15) * 10**6] * 3
    assert run_bill(run).total_usd == Decimal(3 * (100 * 3 + 2 * 10**9 * 15)) / 10**6


def test_huge_tool_charges_stay_exact():
    """Tool charges past int64 pico-dollars are summed exactly, never wrapped."""
    data = tiny(tools={"x": {"latency_s": 0, "usd_per_call": 1000}})
    data["task_types"]["chat"]["workflow"] = [
        {"loop": {"iterations": 5000, "max_iterations": 5000,
                  "steps": [{"kind": "retrieve", "tool": "x"}]}}]
    run = run_at(build(data), [0.0, 1.0])
    assert [int(c) for c in task_costs_pusd(run)] == [5000 * 1000 * 10**12] * 2
    assert run_bill(run).total_usd == Decimal(10_000_000)
