"""Break-even of owning GPUs against renting them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from simulator.economics.breakeven import break_even, cumulative_costs


def test_owning_breaks_even_in_under_four_months():
    """$250,141.80 capex and $6.37/h against $98.32/h: 2,720 hours (3.7 months)."""
    result = break_even(capex_usd=Decimal("250141.80"),
                        own_usd_per_hour=Decimal("6.37"),
                        alternative_usd_per_hour=Decimal("98.32"))
    assert round(result.hours) == 2720
    assert round(result.months, 1) == Decimal("3.7")
    assert "after 2,720 hours (3.7 months)" in result.reason


def test_no_break_even_within_the_life():
    """Against $23.92/h needed half the time: 44,750 hours, past a 5-year life."""
    result = break_even(capex_usd=Decimal("250141.80"),
                        own_usd_per_hour=Decimal("6.37"),
                        alternative_usd_per_hour=Decimal("23.92"),
                        needed_frac=Decimal("0.5"), life_months=60)
    assert result.hours is None and result.months is None
    assert round(result.uncapped_hours, -1) == 44_750  # 250,141.80 / 5.59 = 44,748
    assert "only after 44,748 hours (61.3 months), beyond the 60-month life" in (
        result.reason)


def test_no_break_even_when_renting_is_cheaper_per_hour():
    """A cheaper alternative never pays back the capex; no negative number."""
    result = break_even(capex_usd=Decimal(1000), own_usd_per_hour=Decimal(5),
                        alternative_usd_per_hour=Decimal(4))
    assert result.hours is None and "never pays off" in result.reason
    with pytest.raises(ValueError, match="needed_frac must be in"):
        break_even(capex_usd=Decimal(1), own_usd_per_hour=Decimal(1),
                   alternative_usd_per_hour=Decimal(2), needed_frac=Decimal(2))


def test_cumulative_costs_cross_at_break_even():
    """Cumulative owning starts at capex and is overtaken by renting."""
    rows = cumulative_costs(capex_usd=Decimal(100), own_usd_per_month=Decimal(10),
                            alternative_usd_per_month=Decimal(30), months=6)
    assert rows[0] == (0, Decimal(100), Decimal(0))
    assert rows[5] == (5, Decimal(150), Decimal(150))
    assert rows[6][1] < rows[6][2]
