"""Where a GPU workload could run, and when owning pays off.

For each owned (on-prem) backend: its monthly cost at the simulated
utilisation, and the monthly cost of serving the same work elsewhere: the
same GPUs rented always on at each catalogue price series, and the same
tokens on each pay-per-token API backend of the scenario. Against each
alternative, the break-even month of buying the GPUs and the cumulative cost
month by month over the depreciation life. Costs come from the same
functions as the bill.
Limitations: rented alternatives are always on (no autoscaling); API
alternatives bill the pool's tokens at standard-tier prices without cache
writes, and assume the API serves them at any rate.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from simulator.catalogue import GPU_TYPES
from simulator.economics.api_pricing import ApiRates
from simulator.economics.breakeven import break_even, cumulative_costs
from simulator.economics.capacity import capacity_items
from simulator.records import RunResult
from simulator.scenario.gpu import OnPremBackend
from simulator.scenario.schema import ApiBackend

SERIES = ("hyperscaler", "on_demand", "reserved", "spot")
PICO_PER_USD = 10**12
CENT = Decimal("0.01")


def venues(run: RunResult, month_factor: Decimal) -> dict:
    """Per owned backend: its month, each alternative's, and break-even."""
    scenario = run.scenario
    hours = scenario.billing.hours()
    found = {}
    for name, backend in scenario.backends.items():
        if not isinstance(backend, OnPremBackend):
            continue
        usage = run.gpu_usage[name]
        busy = usage["busy_s"] / usage["live_s"] if usage["live_s"] else 0.0
        items = capacity_items(backend, busy_frac=busy, period_s=0.0,
                               month_hours=hours, whole_month=True)
        shown = [item[4].quantize(CENT, rounding=ROUND_HALF_UP) for item in items]
        capex_month = next(s for i, s in zip(items, shown, strict=True)
                           if i[0] == "capex amortisation")
        running = sum(shown, Decimal(0)) - capex_month  # as the bill shows it
        capex = next(i[4] for i in items if i[0] == "capex amortisation") * (
            backend.costs.depreciation_months)
        alternatives = _rentals(backend, hours)
        alternatives.update(_apis(run, name, month_factor))
        found[name] = {
            "monthly_usd": _usd(capex_month + running),
            "capex_usd": _usd(capex), "running_usd_per_month": _usd(running),
            "depreciation_months": backend.costs.depreciation_months,
            "alternatives": {
                alt: _compare(capex, running, monthly, hours,
                              backend.costs.depreciation_months)
                for alt, monthly in alternatives.items()},
        }
    return found


def _rentals(backend: OnPremBackend, hours: float) -> dict[str, Decimal]:
    gpus = backend.gpus_per_replica * backend.replicas
    gpu = GPU_TYPES[backend.gpu]
    return {f"rented {series.replace('_', '-')}": gpu.price(series) * gpus
            * Decimal(repr(hours)) for series in SERIES}


def _apis(run: RunResult, name: str, factor: Decimal) -> dict[str, Decimal]:
    calls = run.calls
    mine = (calls["backend"] == run.backend_names.index(name)) & (
        calls["status"] == 0)
    found = {}
    for api_name, spec in run.scenario.backends.items():
        if not isinstance(spec, ApiBackend):
            continue
        rates = ApiRates.from_prices(spec.prices)
        pusd = sum(int(tokens.sum()) * rate for _, tokens, rate in rates.split(
            calls["tokens_in"][mine], calls["tokens_cached"][mine],
            np.zeros(int(mine.sum()), dtype=np.int64), calls["tokens_out"][mine]))
        found[f"API {api_name}"] = Decimal(pusd) / PICO_PER_USD * factor
    return found


def _compare(capex: Decimal, running: Decimal, monthly: Decimal, hours: float,
             life_months: int) -> dict:
    per_hour = Decimal(repr(hours))
    result = break_even(capex_usd=capex, own_usd_per_hour=running / per_hour,
                        alternative_usd_per_hour=monthly / per_hour,
                        life_months=life_months)
    rows = cumulative_costs(capex_usd=capex, own_usd_per_month=running,
                            alternative_usd_per_month=monthly, months=life_months)
    return {"monthly_usd": _usd(monthly),
            "break_even_months": (None if result.months is None
                                  else round(float(result.months), 2)),
            "break_even": result.reason,
            "cumulative_usd": [[month, _usd(own), _usd(alt)]
                               for month, own, alt in rows]}


def _usd(amount: Decimal) -> float:
    return round(float(amount), 2)
