"""The `timeline` section of summary.json and the rows of periods.csv.

Money per period is rounded to the cent when shown; yearly budgets add the
exact monthly amounts and round once. Shares are fractions in [0, 1].
`inference_usd` is `api_usd` (API usage and simulated pools) plus `owned_usd`
(the `onprem_share` fleet); `moved_api_usd` is what the moved calls would
have cost on their APIs.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from simulator.catalogue import PRESETS
from simulator.scenario.timeline import OnPremShare
from simulator.timeline.flip import basket_prices, inference_share, price_and_bill
from simulator.timeline.runner import PeriodResult, TimelineResult

CENT = Decimal("0.01")
PERIOD_COLUMNS = ("period", "month", "inference_usd", "training_usd",
                  "inference_share_frac", "tokens", "usd_per_mtok",
                  "basket_usd_per_mtok", "users",
                  "scale", "simulated_tasks", "p95_s", "onprem_share_frac",
                  "owned_replicas", "owned_usd", "api_usd")


def timeline_summary(result: TimelineResult) -> dict:
    """The Flip, yearly budgets, the price-and-bill pair and every period."""
    timeline = result.scenario.timeline
    periods = result.periods
    flip = result.flip_index
    basket = basket_prices([p.token_lines for p in periods]) if periods else []
    pair = price_and_bill(basket, [p.inference_usd for p in periods])
    return {
        "start": timeline.start, "end": timeline.end, "num_periods": len(periods),
        "day_types": timeline.day_types,
        "sample_tasks_per_day": timeline.sample_tasks_per_day,
        "flip_period": None if flip is None else periods[flip].month,
        "flip_index": flip,
        "price_change_frac": _maybe_round(pair["price_change_frac"]),
        "bill_change_frac": _maybe_round(pair["bill_change_frac"]),
        "price_and_bill_from": _month(periods, pair["first_period"]),
        "price_and_bill_to": _month(periods, pair["last_period"]),
        "years": yearly_budget(periods),
        "onprem_share": _onprem_rule(timeline.onprem_share),
        "periods": [period_entry(period, price) for period, price in
                    zip(periods, basket, strict=True)],
    }


def period_entry(period: PeriodResult, basket_usd_per_mtok: float | None) -> dict:
    """One period as JSON-ready data; `basket_usd_per_mtok` prices the first
    period's token mix at this period's prices."""
    share = inference_share(period.inference_usd, period.training_usd)
    return {
        "month": period.month,
        "inference_usd": _usd(period.inference_usd),
        "training_usd": _usd(period.training_usd),
        "inference_share_frac": _maybe_round(share),
        "tokens": round(period.tokens),
        "usd_per_mtok": _maybe_round(period.usd_per_mtok),
        "basket_usd_per_mtok": _maybe_round(basket_usd_per_mtok),
        "output_usd_per_mtok": period.output_prices,
        "users": None if period.users is None else round(period.users, 3),
        "task_shares": {name: round(value, 6) for name, value in
                        period.shares.items()},
        "spend_by_task_type_usd": {name: round(value, 2) for name, value in
                                   period.spend_by_task_type.items()},
        "compute_multiplier": {name: _maybe_round(value, 3) for name, value in
                               period.compute_multiplier.items()},
        "p95_s": {name: _maybe_round(value, 3) for name, value in
                  period.p95_s.items()},
        "scale": round(period.scale, 6),
        "simulated_tasks": period.simulated_tasks,
        "onprem_share_frac": round(period.onprem_share_frac, 6),
        "owned_replicas": period.owned_replicas,
        "owned_busy_frac": round(period.owned_busy_frac, 6),
        "owned_usd": _usd(period.owned_usd),
        "api_usd": _usd(period.api_usd),
        "moved_api_usd": _usd(period.moved_api_usd),
        "warnings": period.warnings,
    }


def yearly_budget(periods: list[PeriodResult]) -> list[dict]:
    """Inference and training spend per calendar year (months in the timeline)."""
    years: dict[str, list[Decimal]] = {}
    counts: dict[str, int] = {}
    for period in periods:
        year = period.month[:4]
        totals = years.setdefault(year, [Decimal(0)] * 4)
        for position, amount in enumerate((period.inference_usd, period.training_usd,
                                           period.owned_usd, period.moved_api_usd)):
            totals[position] += amount
        counts[year] = counts.get(year, 0) + 1
    return [{"year": year, "months": counts[year],
             "inference_usd": _usd(inference), "training_usd": _usd(training),
             "inference_share_frac": _maybe_round(inference_share(inference,
                                                                  training)),
             "owned_usd": _usd(owned), "moved_api_usd": _usd(moved)}
            for year, (inference, training, owned, moved) in years.items()]


def period_rows(summary: dict) -> list[list[str]]:
    """periods.csv rows (header first) from the timeline summary."""
    rows = [list(PERIOD_COLUMNS)]
    for number, entry in enumerate(summary["periods"], start=1):
        rows.append([str(number), entry["month"], f"{entry['inference_usd']:.2f}",
                     f"{entry['training_usd']:.2f}",
                     _text(entry["inference_share_frac"]), str(entry["tokens"]),
                     _text(entry["usd_per_mtok"]),
                     _text(entry["basket_usd_per_mtok"]), _text(entry["users"]),
                     _text(entry["scale"]), str(entry["simulated_tasks"]),
                     _text(entry["p95_s"].get("all")),
                     _text(entry["onprem_share_frac"]), str(entry["owned_replicas"]),
                     f"{entry['owned_usd']:.2f}", f"{entry['api_usd']:.2f}"])
    return rows


def _onprem_rule(rule: OnPremShare | None) -> dict | None:
    """What the owned fleet serves and how it is sized, or None."""
    if rule is None:
        return None
    preset = PRESETS[rule.preset]
    return {"from_backends": list(rule.from_backends), "preset": rule.preset,
            "gpu": preset.gpu, "gpus_per_replica": preset.gpus_per_replica,
            "target_utilisation_frac": rule.target_utilisation_frac}


def _usd(amount: Decimal) -> float:
    return float(amount.quantize(CENT, rounding=ROUND_HALF_UP))


def _maybe_round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def _month(periods: list[PeriodResult], index: int | None) -> str | None:
    return None if index is None else periods[index].month


def _text(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def timeline_run_summary(result: TimelineResult, version: str) -> dict:
    """The whole summary.json of a timeline run."""
    from simulator.economics.summary import SCHEMA_VERSION

    scenario = result.scenario
    return {
        "schema_version": SCHEMA_VERSION, "flipsim_version": version,
        "scenario": {"name": scenario.name,
                     "description": " ".join(scenario.description.split()),
                     "seed": scenario.seed, "horizon_s": scenario.horizon_s,
                     "start_weekday": scenario.start_weekday,
                     "baseline_task_type": scenario.baseline_task_type},
        "timeline": timeline_summary(result),
    }
