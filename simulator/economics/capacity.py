"""Bill items for GPU capacity: rented GPU-hours, or owned GPUs' costs.

Capacity costs do not scale with task volume: a rented replica is billed for
its lifetime (the simulated window for the window bill, the whole billing
month for the monthly bill), an owned one costs its depreciation, power at the
simulated utilisation, support, staff and space, each for the period's share
of a month. Power uses the share of time each replica had at least one
sequence, measured after the warm-up.
Limitations: replicas are always on; the month's power assumes the simulated
window's utilisation holds all month.
"""

from __future__ import annotations

from decimal import Decimal

from simulator.catalogue import GPU_TYPES
from simulator.economics.gpu_costs import on_prem_month_usd, rental_usd
from simulator.scenario.gpu import CloudGpuBackend, OnPremBackend

SECONDS_PER_HOUR = 3600

Item = tuple[str, Decimal, str, Decimal, Decimal]
"""(item, quantity, unit, unit price USD, amount USD)."""


def capacity_items(backend: CloudGpuBackend | OnPremBackend, *, busy_frac: float,
                   period_s: float, month_hours: float, whole_month: bool,
                   lifetimes_s: list[float] | None = None) -> list[Item]:
    """Items for one GPU backend over the window, or over a whole month.

    `lifetimes_s` (autoscaled pools) are the replicas' seconds alive in the
    window; the month then scales the window's billed GPU-hours by time.
    """
    if isinstance(backend, CloudGpuBackend):
        if lifetimes_s is not None:
            return [_scaled_rental(backend, lifetimes_s, period_s, month_hours,
                                   whole_month)]
        return [_rental(backend, period_s, month_hours, whole_month)]
    return _on_prem(backend, busy_frac, period_s, month_hours, whole_month)


def usd_per_gpu_hour(backend: CloudGpuBackend) -> Decimal:
    """The rent that applies: given, or the catalogue's for the pricing series."""
    if backend.cloud.usd_per_gpu_hour is not None:
        return backend.cloud.usd_per_gpu_hour
    return GPU_TYPES[backend.gpu].price(backend.cloud.pricing)


def _rental(backend: CloudGpuBackend, period_s: float, month_hours: float,
            whole_month: bool) -> Item:
    rate = usd_per_gpu_hour(backend)
    if whole_month:
        quantity = Decimal(repr(month_hours)) * backend.gpus_per_replica * (
            backend.replicas)
        amount = quantity * rate
    else:
        cloud = backend.cloud
        amount = rental_usd([period_s] * backend.replicas, rate,
                            backend.gpus_per_replica, cloud.billing_granularity,
                            cloud.minimum_billed_s)
        quantity = amount / rate if rate else Decimal(0)
    basis = (backend.cloud.pricing if backend.cloud.usd_per_gpu_hour is None
             else "given price")
    return (f"GPU-hours ({basis})", quantity, "GPU-hours", rate, amount)


def _scaled_rental(backend: CloudGpuBackend, lifetimes_s: list[float],
                   period_s: float, month_hours: float, whole_month: bool) -> Item:
    rate = usd_per_gpu_hour(backend)
    cloud = backend.cloud
    amount = rental_usd(lifetimes_s, rate, backend.gpus_per_replica,
                        cloud.billing_granularity, cloud.minimum_billed_s)
    if whole_month:
        amount = amount * Decimal(repr(month_hours * SECONDS_PER_HOUR)) / Decimal(
            repr(period_s))
    quantity = amount / rate if rate else Decimal(0)
    basis = cloud.pricing if cloud.usd_per_gpu_hour is None else "given price"
    return (f"GPU-hours ({basis}, autoscaled)", quantity, "GPU-hours", rate, amount)


def _on_prem(backend: OnPremBackend, busy_frac: float, period_s: float,
             month_hours: float, whole_month: bool) -> list[Item]:
    costs, gpu = backend.costs, GPU_TYPES[backend.gpu]
    num_gpus = backend.gpus_per_replica * backend.replicas
    period_h = month_hours if whole_month else period_s / SECONDS_PER_HOUR
    kwh_price = costs.kwh_price()
    month = on_prem_month_usd(
        num_gpus=num_gpus,
        capex_usd_per_gpu=_given(costs.capex_usd_per_gpu, gpu.capex_usd_per_gpu),
        depreciation_months=costs.depreciation_months,
        busy_w=_given(costs.busy_w_per_gpu, gpu.busy_w),
        idle_w=_given(costs.idle_w_per_gpu, gpu.idle_w),
        busy_frac=busy_frac, pue=costs.pue, usd_per_kwh=kwh_price,
        support_frac_per_year=Decimal(repr(costs.support_frac_per_year)),
        staff_fte=Decimal(repr(costs.staff_fte)),
        usd_per_fte_year=costs.usd_per_fte_year,
        space_usd_per_month=costs.space_usd_per_month, hours=period_h)
    share = Decimal(repr(period_h)) / Decimal(repr(month_hours))
    fte = Decimal(repr(costs.staff_fte))
    kwh = month.power_usd / kwh_price if kwh_price else Decimal(0)
    parts = (("capex amortisation", month.capex_usd * share, num_gpus * share,
              "GPU-months"),
             ("power", month.power_usd, kwh, "kWh"),
             ("support", month.support_usd * share, share, "months"),
             ("staff", month.staff_usd * share, fte * share, "FTE-months"),
             ("space", month.space_usd * share, share, "months"))
    return [(item, quantity, unit, amount / quantity if quantity else Decimal(0),
             amount) for item, amount, quantity, unit in parts]


def _given(value, default):
    return default if value is None else value
