"""Timeline schema: monthly periods whose inputs change by rule.

A timeline runs from `start` to `end` (months `YYYY-MM`). Each input that
changes is a curve: a start value grown (or shrunk) at a yearly rate applied
monthly, or values at dated points interpolated between them. Token prices
change per API backend; users and tasks per user grow; the task mix moves
between dated shares; owned GPU replicas are added at dates; a share of
named API backends' calls moves to an owned fleet sized at real scale
(`onprem_share`); training spend is a monthly amount or dated runs spread
over months.
Limitations: each period is simulated as a representative day (or one
weekday and one weekend day) scaled to its month, from a sample of at most
`sample_tasks_per_day` tasks; the sample's GPU pools stand for the whole
fleet divided by the same scale (an `onprem_share` fleet does not: it is
sized analytically, without queueing).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from simulator.catalogue import PRESETS
from simulator.scenario.base import Count, Money, Real, StrictModel
from simulator.scenario.gpu import OnPremCosts

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
MAX_PERIODS = 240
MAX_CURVE_VALUE = 1e12


def _month(value: str) -> str:
    if not isinstance(value, str) or not re.match(MONTH_PATTERN, value):
        raise ValueError(f"found {value!r}; write a month as YYYY-MM (quote it in "
                         "YAML, e.g. '2024-06')")
    return value


Month = Annotated[str, AfterValidator(_month)]
"""A calendar month, `YYYY-MM`."""


def month_index(month: str) -> int:
    """Months since year 0: '2024-01' - '2023-12' == 1."""
    year, number = (int(part) for part in month.split("-"))
    return year * 12 + number - 1


class Curve(StrictModel):
    """A value per month, by one rule.

    `growth_per_year_frac` or `decline_per_year_frac`: the value in the first
    period (`start`, or the scenario's own value) times (1 + growth) or
    (1 - decline) to the power months / 12. `points`: values at dated months,
    interpolated between them (geometrically by default) and held flat before
    the first and after the last.
    """

    start: Real | None = Field(
        None, ge=0, le=MAX_CURVE_VALUE,
        description="Value in the first period; omitted: the scenario's value.")
    growth_per_year_frac: Real | None = Field(
        None, gt=-1, le=1000,
        description="Yearly growth, applied monthly (1.0 doubles in a year).")
    decline_per_year_frac: Real | None = Field(
        None, ge=0, lt=1,
        description="Yearly decline, applied monthly (0.8: a fifth after a year).")
    points: dict[Month, Annotated[Real, Field(ge=0, le=MAX_CURVE_VALUE)]] | None = (
        Field(None, description="Values at dated months YYYY-MM."))
    interpolate: Literal["geometric", "linear"] = Field(
        "geometric", description="Between points: geometric (a steady yearly rate; "
        "needs values > 0) or linear.")

    @model_validator(mode="after")
    def _one_rule(self) -> Curve:
        given = [name for name in ("growth_per_year_frac", "decline_per_year_frac",
                                   "points") if getattr(self, name) is not None]
        if len(given) != 1:
            found = ", ".join(given) or "none"
            raise ValueError("give exactly one of growth_per_year_frac, "
                             f"decline_per_year_frac and points; found {found}")
        if self.points is not None:
            if self.start is not None:
                raise ValueError("start: not used with points (the points give "
                                 "every value)")
            if not self.points:
                raise ValueError("points: give at least one dated value")
            if self.interpolate == "geometric" and min(self.points.values()) <= 0:
                raise ValueError("points: geometric interpolation needs values > 0; "
                                 "use interpolate: linear for zeros")
        return self


class CapacityAddition(StrictModel):
    """Owned GPU replicas that enter service at a month."""

    at: Month = Field(description="First month the replicas serve, YYYY-MM.")
    backend: str = Field(description="An on_prem backend of the scenario.")
    add_replicas: Count = Field(ge=1, le=10_000, description="Replicas added.")


class OnPremShare(StrictModel):
    """A share of named API backends' LLM calls served by owned GPUs instead.

    The share is constant (`share_frac`) or dated `points`, linear between them
    and flat outside. The owned fleet is sized per period at real scale: enough
    replicas of `preset` that the peak hour's demand keeps them
    `target_utilisation_frac` busy; `costs` apply per replica.
    """

    share_frac: Real | None = Field(
        None, ge=0, le=1, description="Constant share of the calls moved; [0, 1].")
    points: dict[Month, Annotated[Real, Field(ge=0, le=1)]] | None = Field(
        None, description="Share moved at dated months YYYY-MM, each in [0, 1]; "
        "linear between them.")
    from_backends: list[str] = Field(
        min_length=1, description="API backends whose calls move (a share of each).")
    preset: Literal[tuple(PRESETS)] = Field(
        description="Catalogue performance preset of one owned replica (its GPU "
        "type, GPUs per replica and measured throughput).")
    target_utilisation_frac: Real = Field(
        0.6, gt=0, le=1,
        description="Busy share of the fleet in the peak hour it is sized for.")
    costs: OnPremCosts = Field(
        default_factory=OnPremCosts,
        description="Capex, power and fixed opex of each replica (staff_fte and "
        "space_usd_per_month per replica).")

    @model_validator(mode="after")
    def _one_rule(self) -> OnPremShare:
        if (self.share_frac is None) == (self.points is None):
            raise ValueError("give exactly one of share_frac (a constant in [0, 1]) "
                             "and points (dated shares in [0, 1])")
        if self.points is not None and not self.points:
            raise ValueError("points: give at least one dated share")
        return self


class TrainingRun(StrictModel):
    """A one-off training run, its cost spread evenly over its months."""

    name: str = Field("", description="Label for tables.")
    start: Month = Field(description="First month of the run, YYYY-MM.")
    months: Count = Field(1, ge=1, le=120, description="Months it runs; [1, 120].")
    usd: Money | None = Field(None, ge=0, le=Decimal(10**13),
                              description="Total cost; USD (or give GPU-hours).")
    gpu_hours: Real | None = Field(None, ge=0, le=1e12,
                                   description="Total GPU-hours (with a price).")
    usd_per_gpu_hour: Money | None = Field(
        None, ge=0, le=1000, description="Price of one GPU-hour; USD.")

    @model_validator(mode="after")
    def _one_cost(self) -> TrainingRun:
        by_hours = (self.gpu_hours, self.usd_per_gpu_hour)
        complete = None not in by_hours
        if (self.usd is None) != complete or (complete is False and any(
                value is not None for value in by_hours)):
            raise ValueError("give usd, or gpu_hours and usd_per_gpu_hour")
        return self

    def total_usd(self) -> Decimal:
        """The run's whole cost."""
        if self.usd is not None:
            return self.usd
        return Decimal(repr(self.gpu_hours)) * self.usd_per_gpu_hour


class Training(StrictModel):
    """Training spend: a monthly amount, dated runs, or both (added)."""

    monthly_usd: Curve | None = Field(
        None, description="USD per month (its start is required).")
    monthly_gpu_hours: Curve | None = Field(
        None, description="GPU-hours per month (start required), priced at "
        "usd_per_gpu_hour.")
    usd_per_gpu_hour: Money | None = Field(
        None, ge=0, le=1000, description="Price of a training GPU-hour; USD.")
    runs: list[TrainingRun] = Field(default_factory=list,
                                    description="Dated one-off runs.")

    @model_validator(mode="after")
    def _complete(self) -> Training:
        for name in ("monthly_usd", "monthly_gpu_hours"):
            curve = getattr(self, name)
            if curve is not None and curve.points is None and curve.start is None:
                raise ValueError(f"{name}.start: missing; a training curve has no "
                                 "scenario value to start from")
        if (self.monthly_gpu_hours is None) != (self.usd_per_gpu_hour is None):
            raise ValueError("monthly_gpu_hours and usd_per_gpu_hour go together")
        return self


class Timeline(StrictModel):
    """Monthly periods from `start` to `end`, each simulated as a representative
    day of the scenario with that month's inputs."""

    start: Month = Field(description="First period, YYYY-MM.")
    end: Month = Field(description="Last period, YYYY-MM (inclusive).")
    sample_tasks_per_day: Real = Field(
        400, gt=0, le=1e6,
        description="Most tasks a representative day simulates; a larger "
        "population is scaled down to this and its bill scaled up by the same "
        "factor (stated in the report).")
    day_types: Literal["one", "weekday_weekend"] = Field(
        "one", description="one: one representative day per period; "
        "weekday_weekend: a weekday and a Saturday, weighted by the month's days.")
    prices: dict[str, Curve] = Field(
        default_factory=dict,
        description="Per API backend: its output price per 1M tokens by month; "
        "the other token prices keep their ratio to it.")
    users: Curve | None = Field(None, description="Users (population arrivals).")
    tasks_per_user_per_day: Curve | None = Field(
        None, description="Tasks per user per day (population arrivals).")
    task_mix: dict[Month, dict[str, Annotated[Real, Field(ge=0, le=1)]]] = Field(
        default_factory=dict,
        description="Task-type shares at dated months, interpolated linearly; "
        "each point names every task type and sums to 1.")
    capacity: list[CapacityAddition] = Field(
        default_factory=list, description="Owned replicas added at dates.")
    onprem_share: OnPremShare | None = Field(
        None, description="A share of API calls moved to an owned fleet sized at "
        "real scale; omitted: none.")
    training: Training = Field(default_factory=Training,
                               description="Training spend by month.")

    @model_validator(mode="after")
    def _span(self) -> Timeline:
        first, last = month_index(self.start), month_index(self.end)
        if last < first:
            raise ValueError(f"end: found {self.end!r}; must not be before start "
                             f"({self.start!r})")
        if last - first + 1 > MAX_PERIODS:
            raise ValueError(f"end: {last - first + 1} periods; at most {MAX_PERIODS}")
        return self

    def months(self) -> list[str]:
        """Every period's month, in order."""
        first, last = month_index(self.start), month_index(self.end)
        return [f"{index // 12:04d}-{index % 12 + 1:02d}"
                for index in range(first, last + 1)]


def timeline_problems(timeline: Timeline, backends: dict, task_types: dict,
                      arrivals_kind: str) -> list[str]:
    """One line per timeline field that names something the scenario lacks."""
    problems = []
    population = arrivals_kind == "population"
    if arrivals_kind == "trace":
        problems.append("timeline: a replayed trace cannot change by month; use "
                        "poisson or population arrivals")
    for name in timeline.prices:
        backend = backends.get(name)
        if backend is None or backend.kind != "api":
            apis = sorted(b for b, spec in backends.items() if spec.kind == "api")
            problems.append(f"timeline.prices.{name}: not an api backend; allowed: "
                            f"{', '.join(apis) or 'none'}")
        elif backend.prices.output_usd_per_mtok <= 0:
            problems.append(f"timeline.prices.{name}: the backend's output price is "
                            "0; the curve scales every price by its ratio to it, so "
                            "give the backend an output price > 0")
    if (timeline.users or timeline.tasks_per_user_per_day) and not population:
        problems.append("timeline.users / tasks_per_user_per_day: need arrivals.kind "
                        "population")
    for month, shares in timeline.task_mix.items():
        if sorted(shares) != sorted(task_types):
            problems.append(f"timeline.task_mix.{month}: found {sorted(shares)}; "
                            f"name every task type: {sorted(task_types)}")
        elif abs(sum(shares.values()) - 1) > 1e-6:
            problems.append(f"timeline.task_mix.{month}: shares sum to "
                            f"{sum(shares.values()):g}; they must sum to 1")
    for index, addition in enumerate(timeline.capacity):
        backend = backends.get(addition.backend)
        if backend is None or backend.kind != "on_prem":
            owned = ", ".join(sorted(b for b, spec in backends.items()
                                     if spec.kind == "on_prem")) or "none"
            problems.append(f"timeline.capacity[{index}].backend: found "
                            f"{addition.backend!r}; allowed: {owned}")
    if timeline.onprem_share is not None:
        apis = sorted(b for b, spec in backends.items() if spec.kind == "api")
        for index, name in enumerate(timeline.onprem_share.from_backends):
            if name not in apis:
                problems.append(f"timeline.onprem_share.from_backends[{index}]: "
                                f"found {name!r}; allowed: "
                                f"{', '.join(apis) or 'none'}")
    return problems
