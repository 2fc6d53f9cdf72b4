"""Each period's inputs, worked out from the timeline's rules; pure functions.

Rates apply monthly: a yearly decline d gives the value times (1 - d) to the
power months / 12, so 80% a year turns $10.00 into $4.47 after six months and
$2.00 after twelve. Points are interpolated geometrically (a steady rate
between two dated values) or linearly, and held flat outside their dates.
Task-mix shares and the on-prem share are interpolated linearly, so shares
stay in [0, 1].
Limitations: no within-month change; a value is the month's throughout.
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass
from decimal import Decimal

from simulator.scenario.timeline import Curve, Timeline, month_index

MONTHS_PER_YEAR = 12


@dataclass(frozen=True)
class PeriodInputs:
    """What one period changes in the base scenario."""

    index: int
    month: str
    price_factors: dict[str, float]
    users: float | None
    tasks_per_user_per_day: float | None
    shares: dict[str, float] | None
    replicas: dict[str, int]
    training_usd: Decimal
    onprem_share_frac: float = 0.0


def curve_value(curve: Curve, months_in: int, month: str, base: float) -> float:
    """The curve's value `months_in` months after the first period (`month`)."""
    if curve.points is None:
        start = base if curve.start is None else curve.start
        rate = (curve.growth_per_year_frac if curve.growth_per_year_frac is not None
                else -curve.decline_per_year_frac)
        return start * (1.0 + rate) ** (months_in / MONTHS_PER_YEAR)
    dated = sorted((month_index(at), value) for at, value in curve.points.items())
    return interpolate(dated, month_index(month), curve.interpolate == "geometric")


def interpolate(dated: list[tuple[int, float]], at: int, geometric: bool) -> float:
    """Value at month number `at` between sorted (month number, value) points."""
    if at <= dated[0][0]:
        return dated[0][1]
    if at >= dated[-1][0]:
        return dated[-1][1]
    for (left_at, left), (right_at, right) in zip(dated, dated[1:], strict=False):
        if left_at <= at <= right_at:
            weight = (at - left_at) / (right_at - left_at)
            if geometric:
                return math.exp(math.log(left) + weight * math.log(right / left))
            return left + weight * (right - left)
    raise AssertionError("unreachable: points are sorted and bracket `at`")


def mix_at(task_mix: dict[str, dict[str, float]], month: str) -> dict[str, float]:
    """Task-type shares at `month`, linear between dated mixes."""
    dated = sorted((month_index(at), shares) for at, shares in task_mix.items())
    names = list(dated[0][1])
    return {name: interpolate([(at, shares[name]) for at, shares in dated],
                              month_index(month), geometric=False)
            for name in names}


def training_usd(timeline: Timeline, months_in: int, month: str) -> Decimal:
    """Training spend of one month: the monthly curves plus runs under way."""
    training = timeline.training
    total = Decimal(0)
    if training.monthly_usd is not None:
        total += _money(curve_value(training.monthly_usd, months_in, month, 0.0))
    if training.monthly_gpu_hours is not None:
        hours = curve_value(training.monthly_gpu_hours, months_in, month, 0.0)
        total += _money(hours * float(training.usd_per_gpu_hour))
    here = month_index(month)
    for run in training.runs:
        first = month_index(run.start)
        if first <= here < first + run.months:
            total += run.total_usd() / run.months
    return total


def period_inputs(timeline: Timeline, base_output_prices: dict[str, float],
                  base_replicas: dict[str, int], base_users: float = math.nan,
                  base_tasks_per_user: float = math.nan) -> list[PeriodInputs]:
    """Every period's inputs, in order; `base_*` are the scenario's own values."""
    periods = []
    for index, month in enumerate(timeline.months()):
        factors = {name: curve_value(curve, index, month, base_output_prices[name])
                   / base_output_prices[name]
                   for name, curve in timeline.prices.items()}
        replicas = dict(base_replicas)
        for addition in timeline.capacity:
            if month_index(addition.at) <= month_index(month):
                replicas[addition.backend] += addition.add_replicas
        periods.append(PeriodInputs(
            index=index, month=month, price_factors=factors,
            users=_maybe(timeline.users, index, month, base_users),
            tasks_per_user_per_day=_maybe(timeline.tasks_per_user_per_day, index,
                                          month, base_tasks_per_user),
            shares=mix_at(timeline.task_mix, month) if timeline.task_mix else None,
            replicas=replicas,
            training_usd=training_usd(timeline, index, month),
            onprem_share_frac=onprem_share_at(timeline, month)))
    return periods


def onprem_share_at(timeline: Timeline, month: str) -> float:
    """The share of calls moved to the owned fleet in `month` (0 without a rule)."""
    rule = timeline.onprem_share
    if rule is None:
        return 0.0
    if rule.points is None:
        return rule.share_frac
    dated = sorted((month_index(at), value) for at, value in rule.points.items())
    return interpolate(dated, month_index(month), geometric=False)


def weekday_weights(month: str, weekly_profile: list[float] | None
                    ) -> tuple[float, float]:
    """The month's expected tasks on weekdays and on weekend days, in day units
    weighted by the weekly profile (normalised to mean 1)."""
    year, number = (int(part) for part in month.split("-"))
    weights = weekly_profile or [1.0] * 7
    mean = sum(weights) / 7
    weekday = weekend = 0.0
    for day in range(1, calendar.monthrange(year, number)[1] + 1):
        position = calendar.weekday(year, number, day)
        if position < 5:
            weekday += weights[position] / mean
        else:
            weekend += weights[position] / mean
    return weekday, weekend


def _maybe(curve: Curve | None, index: int, month: str, base: float
           ) -> float | None:
    return None if curve is None else curve_value(curve, index, month, base)


def _money(value: float) -> Decimal:
    """USD to the micro-dollar."""
    return Decimal(repr(value)).quantize(Decimal("0.000001"))
