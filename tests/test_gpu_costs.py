"""GPU rent by granularity, and the cost of owned GPUs."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest

from simulator.catalogue import GPU_TYPES
from simulator.economics.gpu_costs import (
    billed_seconds,
    on_prem_month_usd,
    power_usd,
    rental_usd,
)

CENT = Decimal("0.01")


@pytest.mark.parametrize("hours, expected", [(730, "1825.00"), (672, "1680.00"),
                                             (696, "1740.00"), (744, "1860.00")])
def test_always_on_rent_by_month(hours, expected):
    """$2.50/h always on: average month $1,825; Feb 2025 $1,680; Feb 2024 $1,740;
    Jan 2025 $1,860."""
    rent = rental_usd([hours * 3600.0], Decimal("2.50"), 1, "per_second")
    assert rent.quantize(CENT) == Decimal(expected)


@pytest.mark.parametrize("granularity, minimum_s, expected", [
    ("per_second", 60, "3.75"), ("per_minute", 0, "3.78"), ("per_hour", 0, "10.80")])
def test_billing_granularity(granularity, minimum_s, expected):
    """$3.60/h, replicas live 20 s, 90 s and 3,600 s."""
    rent = rental_usd([20.0, 90.0, 3600.0], Decimal("3.60"), 1, granularity,
                      minimum_s)
    assert rent.quantize(CENT) == Decimal(expected)


def test_billed_seconds_rounding():
    """Partial units round up; a minimum applies per replica."""
    assert billed_seconds(0.2, "per_second") == 1
    assert billed_seconds(61, "per_minute") == 120
    assert billed_seconds(10, "per_second", 60) == 60
    with pytest.raises(ValueError, match="granularity must be one of"):
        billed_seconds(1, "per_day")


def test_power_cost_of_eight_busy_gpus():
    """8 GPUs at 700 W, PUE 1.2, always busy, $0.06/kWh, 730 h: $294.34."""
    cost = power_usd(8, 700, 100, 1.0, 1.2, Decimal("0.06"), 730)
    assert cost == Decimal("294.336")
    assert cost.quantize(CENT, ROUND_HALF_UP) == Decimal("294.34")


def test_on_prem_month_parts():
    """Capex over 60 months, 15% support a year, half an FTE, and space."""
    costs = on_prem_month_usd(
        num_gpus=8, capex_usd_per_gpu=Decimal("31268"), depreciation_months=60,
        busy_w=700, idle_w=100, busy_frac=0.5, pue=1.5,
        usd_per_kwh=Decimal("0.10"), support_frac_per_year=Decimal("0.15"),
        staff_fte=Decimal("0.5"), usd_per_fte_year=Decimal("180000"),
        space_usd_per_month=Decimal("500"), hours=730)
    assert costs.capex_usd == Decimal("250144") / 60
    assert costs.power_usd == Decimal("8") * 400 * Decimal("1.5") * 730 / 1000 / 10
    assert costs.support_usd == Decimal("3126.8")
    assert costs.staff_usd == Decimal("7500")
    assert costs.total_usd == (costs.capex_usd + costs.power_usd + Decimal("3126.8")
                               + Decimal("7500") + Decimal("500"))


def test_catalogue_has_the_common_gpus():
    """H100, H200, B200, L40S, A100 and MI300X, with memory and power."""
    assert set(GPU_TYPES) == {"H100", "H200", "B200", "L40S", "A100", "MI300X"}
    h100 = GPU_TYPES["H100"]
    assert (h100.memory_gb, h100.tdp_w, h100.busy_w) == (80, 700, 490)
    assert h100.price("reserved") == Decimal("2.35")
    assert GPU_TYPES["H200"].price("reserved") == Decimal("2.75")
