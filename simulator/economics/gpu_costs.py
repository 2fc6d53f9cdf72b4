"""What GPUs cost: rented by the hour, or owned and run on site.

Rented replicas are billed per replica lifetime at a granularity: per second
with a minimum, per minute rounded up, or per hour rounded up. Owned GPUs cost
capex spread straight-line over a depreciation life, power drawn (busy and idle
watts by simulated utilisation, times PUE, times the electricity price), and
fixed opex (support as a share of capex per year, staff, space). All amounts
are exact Decimals.
Limitations: no residual value, financing cost, egress, storage or software
licences; power draw is linear in utilisation between idle and busy watts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

SECONDS_PER_HOUR = 3600
MONTHS_PER_YEAR = 12
WATTS_PER_KW = 1000
GRANULARITIES = ("per_second", "per_minute", "per_hour")


def billed_seconds(lifetime_s: float, granularity: str, minimum_s: float = 0.0
                   ) -> int:
    """Seconds a provider bills for one replica that lived `lifetime_s`."""
    if lifetime_s < 0:
        raise ValueError(f"lifetime_s must be >= 0, got {lifetime_s}")
    if granularity == "per_second":
        return max(math.ceil(lifetime_s), math.ceil(minimum_s))
    if granularity == "per_minute":
        return math.ceil(max(lifetime_s, minimum_s) / 60) * 60
    if granularity == "per_hour":
        return math.ceil(max(lifetime_s, minimum_s) / 3600) * 3600
    raise ValueError(f"granularity must be one of {GRANULARITIES}, got "
                     f"{granularity!r}")


def rental_usd(lifetimes_s: list[float], usd_per_gpu_hour: Decimal,
               gpus_per_replica: int, granularity: str, minimum_s: float = 0.0
               ) -> Decimal:
    """Rent of replicas with the given lifetimes, billed per replica."""
    seconds = sum(billed_seconds(s, granularity, minimum_s) for s in lifetimes_s)
    return usd_per_gpu_hour * gpus_per_replica * seconds / SECONDS_PER_HOUR


@dataclass(frozen=True)
class OnPremCosts:
    """One month of an owned fleet, by part."""

    capex_usd: Decimal
    power_usd: Decimal
    support_usd: Decimal
    staff_usd: Decimal
    space_usd: Decimal

    @property
    def total_usd(self) -> Decimal:
        """Sum of the parts."""
        return (self.capex_usd + self.power_usd + self.support_usd + self.staff_usd
                + self.space_usd)


def power_usd(num_gpus: int, busy_w: float, idle_w: float, busy_frac: float,
              pue: float, usd_per_kwh: Decimal, hours: float) -> Decimal:
    """Electricity for `hours`: draw by utilisation, times PUE, times price."""
    watts = num_gpus * (busy_w * busy_frac + idle_w * (1 - busy_frac)) * pue
    kwh = Decimal(repr(watts)) * Decimal(repr(hours)) / WATTS_PER_KW
    return kwh * usd_per_kwh


def on_prem_month_usd(*, num_gpus: int, capex_usd_per_gpu: Decimal,
                      depreciation_months: int, busy_w: float, idle_w: float,
                      busy_frac: float, pue: float, usd_per_kwh: Decimal,
                      support_frac_per_year: Decimal, staff_fte: Decimal,
                      usd_per_fte_year: Decimal, space_usd_per_month: Decimal,
                      hours: float) -> OnPremCosts:
    """One billing month of an owned fleet of `hours` hours."""
    capex = capex_usd_per_gpu * num_gpus
    return OnPremCosts(
        capex_usd=capex / depreciation_months,
        power_usd=power_usd(num_gpus, busy_w, idle_w, busy_frac, pue, usd_per_kwh,
                            hours),
        support_usd=capex * support_frac_per_year / MONTHS_PER_YEAR,
        staff_usd=staff_fte * usd_per_fte_year / MONTHS_PER_YEAR,
        space_usd=space_usd_per_month,
    )
