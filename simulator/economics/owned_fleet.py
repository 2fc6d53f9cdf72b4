"""An owned GPU fleet sized for a share of the traffic, at real scale.

A timeline period simulates a sample of its population, so a simulated owned
pool would stand for the fleet divided by the sample's scale. This module
sizes the fleet from demand instead: a call keeps one replica busy for its
output tokens at the preset's measured throughput plus its uncached input
tokens at the preset's prefill rate (replica-seconds). The fleet has enough
replicas that the peak hour keeps them `target_utilisation_frac` busy (at
least one while the share is above 0); each replica costs what an owned
replica costs a month (capex amortisation, power at the month's achieved
utilisation, support, staff and space).
Limitations: no queueing or latency for the moved calls (they keep the latency
the simulation gave them on their API); the measured throughput already
includes the calibration requests' own prefill, so adding prefill time sizes
a little high; the owned model caches input as well as the API did;
replicas are always on and bought as needed each month (no lead time, no
resale).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from simulator.catalogue import GPU_TYPES, PerformancePreset
from simulator.economics.gpu_costs import OnPremCosts, on_prem_month_usd
from simulator.records import CALL_OK, RunResult
from simulator.scenario.gpu import OnPremCosts as OnPremCostSpec

SECONDS_PER_HOUR = 3600
HOURS_PER_DAY = 24


@dataclass(frozen=True)
class OwnedFleet:
    """One month of the owned fleet: its size, how busy it was, its costs."""

    replicas: int
    busy_frac: float
    costs: OnPremCosts

    @property
    def total_usd(self) -> Decimal:
        """The fleet's monthly cost."""
        return self.costs.total_usd


NO_FLEET = OwnedFleet(0, 0.0, OnPremCosts(*[Decimal(0)] * 5))
"""No owned fleet: nothing moved."""


def replica_busy_s(tokens_out: float, uncached_tokens_in: float,
                   preset: PerformancePreset) -> float:
    """Replica-seconds that serving these tokens takes on `preset`."""
    return (tokens_out / preset.calibrated_tokens_per_s
            + uncached_tokens_in / preset.prefill_tokens_per_s)


def hourly_busy_s(run: RunResult, backends: list[str],
                  preset: PerformancePreset) -> np.ndarray:
    """Replica-seconds per hour of the day (24 values) that the run's served
    calls on `backends` would take on `preset`, at the run's own scale."""
    calls = run.calls
    indices = [run.backend_names.index(name) for name in backends
               if name in run.backend_names]
    chosen = np.isin(calls["backend"], indices) & (calls["status"] == CALL_OK)
    hours = (calls["started_at"][chosen] // SECONDS_PER_HOUR).astype(np.int64)
    out = calls["tokens_out"][chosen].astype(np.float64)
    uncached = (calls["tokens_in"][chosen] - calls["tokens_cached"][chosen]
                ).astype(np.float64)
    busy = replica_busy_s(out, uncached, preset)
    return np.bincount(hours % HOURS_PER_DAY, weights=busy, minlength=HOURS_PER_DAY)


def size_owned_fleet(*, share_frac: float, peak_hour_busy_s: float,
                     month_busy_s: float, preset: PerformancePreset,
                     target_utilisation_frac: float, costs: OnPremCostSpec,
                     month_hours: float) -> OwnedFleet:
    """The fleet and its month's cost for demand already multiplied by the
    share and brought to real scale (replica-seconds)."""
    if share_frac <= 0:
        return NO_FLEET
    needed = peak_hour_busy_s / (SECONDS_PER_HOUR * target_utilisation_frac)
    replicas = max(1, math.ceil(needed))
    busy_frac = min(1.0, month_busy_s / (replicas * month_hours * SECONDS_PER_HOUR))

    gpu = GPU_TYPES[preset.gpu]
    month = on_prem_month_usd(
        num_gpus=replicas * preset.gpus_per_replica,
        capex_usd_per_gpu=_given(costs.capex_usd_per_gpu, gpu.capex_usd_per_gpu),
        depreciation_months=costs.depreciation_months,
        busy_w=_given(costs.busy_w_per_gpu, gpu.busy_w),
        idle_w=_given(costs.idle_w_per_gpu, gpu.idle_w),
        busy_frac=busy_frac, pue=costs.pue, usd_per_kwh=costs.kwh_price(),
        support_frac_per_year=Decimal(repr(costs.support_frac_per_year)),
        staff_fte=Decimal(repr(costs.staff_fte)) * replicas,
        usd_per_fte_year=costs.usd_per_fte_year,
        space_usd_per_month=costs.space_usd_per_month * replicas,
        hours=month_hours)
    return OwnedFleet(replicas, busy_frac, month)


def _given(value, default):
    return default if value is None else value
