"""Tests of the owned fleet sized for an on-prem share at real scale."""

from __future__ import annotations

from decimal import Decimal

import pytest

from simulator.catalogue import PRESETS
from simulator.economics.owned_fleet import (
    NO_FLEET,
    replica_busy_s,
    size_owned_fleet,
)
from simulator.scenario.gpu import OnPremCosts

MLPERF = PRESETS["llama2-70b-8xh100-mlperf"]  # 24,525 out/s, 60,000 prefill/s, 8 H100


def costs() -> OnPremCosts:
    """Owned costs as inference-flip gives them (catalogue capex and watts)."""
    return OnPremCosts(depreciation_months=60, pue=1.5, usd_per_kwh=0.10,
                       support_frac_per_year=0.15, staff_fte=0.25,
                       usd_per_fte_year=160_000)


def test_busy_time_is_output_at_throughput_plus_prefill():
    """245,250 output and 60,000 uncached input tokens: 10 s + 1 s of a replica."""
    assert replica_busy_s(245_250, 60_000, MLPERF) == pytest.approx(11.0)


def test_half_of_a_known_peak_hour_sizes_4_replicas_to_the_cent():
    """Half of a peak hour of 300M output and 216M uncached input tokens.

    Busy: 300e6 / 24,525 + 216e6 / 60,000 = 15,832.87 replica-s; half is
    7,916.44; a replica gives 3,600 x 0.6 = 2,160 s at 60% busy: 3.66 -> 4.
    A month of 720 h at 25% busy, 32 H100s: capex 32 x $31,268 / 60 =
    $16,676.27; power 32 x (490 x 0.25 + 105 x 0.75) W x 1.5 x 720 h x
    $0.10/kWh = $695.52; support 32 x $31,268 x 0.15 / 12 = $12,507.20;
    staff 4 x 0.25 FTE x $160,000 / 12 = $13,333.33; total $43,212.32.
    """
    peak_s = replica_busy_s(300e6, 216e6, MLPERF) * 0.5
    month_s = 4 * 720 * 3600 * 0.25
    fleet = size_owned_fleet(share_frac=0.5, peak_hour_busy_s=peak_s,
                             month_busy_s=month_s, preset=MLPERF,
                             target_utilisation_frac=0.6, costs=costs(),
                             month_hours=720)
    assert fleet.replicas == 4
    assert fleet.busy_frac == pytest.approx(0.25)
    parts = fleet.costs
    cent = Decimal("0.01")
    assert [part.quantize(cent) for part in (
        parts.capex_usd, parts.power_usd, parts.support_usd, parts.staff_usd,
        parts.space_usd)] == [Decimal("16676.27"), Decimal("695.52"),
                              Decimal("12507.20"), Decimal("13333.33"),
                              Decimal("0.00")]
    assert fleet.total_usd.quantize(cent) == Decimal("43212.32")


def test_a_share_above_0_owns_at_least_one_replica_and_0_owns_none():
    """Any share keeps one replica; share 0 is no fleet and no cost."""
    tiny = size_owned_fleet(share_frac=0.01, peak_hour_busy_s=1.0, month_busy_s=1.0,
                            preset=MLPERF, target_utilisation_frac=0.6,
                            costs=costs(), month_hours=720)
    assert tiny.replicas == 1 and tiny.total_usd > 0
    none = size_owned_fleet(share_frac=0.0, peak_hour_busy_s=9e9, month_busy_s=9e9,
                            preset=MLPERF, target_utilisation_frac=0.6,
                            costs=costs(), month_hours=720)
    assert none == NO_FLEET and none.total_usd == 0
