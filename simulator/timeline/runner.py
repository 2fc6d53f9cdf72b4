"""Run a timeline: one representative-day simulation per monthly period.

Each period's scenario is the base scenario with that month's prices, users,
task mix and owned replicas applied, its bill projected to the calendar
month, and its own seed derived from the scenario seed by the month's name
(so a period gives the same numbers in any process, with any worker count).
A population larger than `sample_tasks_per_day` is simulated as a sample of
it: users are divided by a scale factor and the month's usage, capacity and
tokens multiplied back by it. With `onprem_share`, that share of the named
API backends' usage leaves the API bill and an owned fleet, sized from the
period's demand at real scale (economics.owned_fleet), joins it.
Limitations: a period is one representative day (or a weekday and a
Saturday) scaled to its month; a sampled period's GPU pools stand for the
fleet divided by the scale; queues start empty each period; calls moved
on-prem keep their simulated API latency (owned latency is not simulated).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

import simulator
from simulator.catalogue import PRESETS
from simulator.economics.owned_fleet import (
    NO_FLEET,
    OwnedFleet,
    hourly_busy_s,
    size_owned_fleet,
)
from simulator.metrics import percentiles
from simulator.records import COMPLETED
from simulator.rng import Streams
from simulator.scenario.load import scenario_from_dict
from simulator.scenario.schema import Scenario
from simulator.timeline.flip import find_flip
from simulator.timeline.periods import PeriodInputs, period_inputs, weekday_weights

SECONDS_PER_DAY = 86_400
USAGE_UNITS = ("tokens", "calls")  # bill lines that scale with traffic
PRICE_QUANTUM = Decimal("0.000001")  # USD per 1M tokens: six decimals
MAX_SEED = 2**63 - 1
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                 "sunday")


@dataclass(frozen=True)
class PeriodResult:
    """What one period cost and did, scaled to its whole month."""

    index: int
    month: str
    scale: float
    simulated_tasks: int
    inference_usd: Decimal
    training_usd: Decimal
    tokens: float
    api_usage_usd: Decimal
    output_prices: dict[str, float]
    users: float | None
    shares: dict[str, float]
    spend_by_task_type: dict[str, float]
    compute_multiplier: dict[str, float | None]
    p95_s: dict[str, float | None]
    token_lines: dict[str, tuple[float, float]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    onprem_share_frac: float = 0.0
    owned_replicas: int = 0
    owned_busy_frac: float = 0.0
    owned_usd: Decimal = Decimal(0)
    moved_api_usd: Decimal = Decimal(0)
    """What the calls moved to the owned fleet would have cost on their APIs."""

    @property
    def api_usd(self) -> Decimal:
        """Inference spend other than the owned fleet's (API usage plus any
        GPU pools the scenario simulates)."""
        return self.inference_usd - self.owned_usd

    @property
    def usd_per_mtok(self) -> float | None:
        """Average paid per 1M tokens ((API usage + owned fleet) / tokens)."""
        if self.tokens <= 0:
            return None
        return float(self.api_usage_usd + self.owned_usd) * 1e6 / self.tokens


@dataclass(frozen=True)
class TimelineResult:
    """Every period of a timeline run, in order."""

    scenario: Scenario
    periods: list[PeriodResult]
    wall_s: float

    @property
    def flip_index(self) -> int | None:
        """The first period whose inference spend passes training, or None."""
        return find_flip([p.inference_usd for p in self.periods],
                         [p.training_usd for p in self.periods])


def run_timeline(scenario: Scenario, workers: int = 1,
                 progress: Callable[[float], None] | None = None,
                 every_months: int = 1) -> TimelineResult:
    """Simulate every period of the scenario's timeline (or one in
    `every_months`, for a quick preview)."""
    if scenario.timeline is None:
        raise ValueError("scenario has no timeline")
    started = time.perf_counter()
    inputs = timeline_inputs(scenario)[::every_months]
    results: list[PeriodResult] = []
    if workers <= 1:
        for item in inputs:
            results.append(run_period(scenario, item))
            if progress is not None:
                progress(len(results) / len(inputs))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for result in pool.map(run_period, [scenario] * len(inputs), inputs):
                results.append(result)
                if progress is not None:
                    progress(len(results) / len(inputs))
    return TimelineResult(scenario, results, time.perf_counter() - started)


def timeline_inputs(scenario: Scenario) -> list[PeriodInputs]:
    """Each period's inputs for this scenario."""
    timeline = scenario.timeline
    outputs = {name: float(scenario.backends[name].prices.output_usd_per_mtok)
               for name in timeline.prices}
    owned = {name: backend.replicas for name, backend in scenario.backends.items()
             if backend.kind == "on_prem"}
    arrivals = scenario.arrivals
    population = arrivals.kind == "population"
    return period_inputs(
        timeline, outputs, owned,
        float(arrivals.num_users) if population else math.nan,
        arrivals.tasks_per_user_per_day if population else math.nan)


def period_seed(seed: int, month: str) -> int:
    """The seed of one period, derived from the scenario seed by the month."""
    generator = Streams(seed).generator(f"timeline-period:{month}")
    return int(generator.integers(0, MAX_SEED))


def period_scenario(base: Scenario, inputs: PeriodInputs,
                    weekday: str | None = None) -> tuple[Scenario, float]:
    """The base scenario with one period's values applied, and its scale."""
    data = base.model_dump(mode="python", by_alias=True, exclude_none=True)
    data.pop("timeline", None)
    data["seed"] = period_seed(base.seed, inputs.month)
    data["billing"] = {"month": inputs.month}
    if weekday is not None:
        data["start_weekday"] = weekday
    for name, factor in inputs.price_factors.items():
        data["backends"][name]["prices"] = _scaled_prices(
            data["backends"][name]["prices"], factor)
    if inputs.shares is not None:
        for name, share in inputs.shares.items():
            data["task_types"][name]["share"] = round(share, 12)
    for name, replicas in inputs.replicas.items():
        _set_replicas(data, name, replicas)
    scale = _sample_arrivals(data["arrivals"], inputs,
                             base.timeline.sample_tasks_per_day)
    return scenario_from_dict(data, source=f"timeline period {inputs.month}"), scale


def run_period(base: Scenario, inputs: PeriodInputs) -> PeriodResult:
    """Simulate one period's representative day(s); scale to the month."""
    days = [(None, 1.0)]
    if base.timeline.day_types == "weekday_weekend":
        weekday = base.start_weekday if base.start_weekday not in (
            "saturday", "sunday") else "wednesday"
        on_weekdays, on_weekends = weekday_weights(inputs.month,
                                                   base.arrivals.weekly_profile)
        total = on_weekdays + on_weekends
        days = [(weekday, on_weekdays / total), ("saturday", on_weekends / total)]

    usage, capacity, tokens, api_usage = Decimal(0), Decimal(0), 0.0, Decimal(0)
    moved_usage, busy_s = Decimal(0), [0.0, 0.0]  # peak hour, month
    moved = _moved_backends(base, inputs)
    moved_frac = Decimal(repr(inputs.onprem_share_frac))
    spend: dict[str, float] = {}
    token_lines: dict[str, tuple[float, float]] = {}
    first = None
    for number, (weekday, weight) in enumerate(days):
        scenario, scale = period_scenario(base, inputs, weekday)
        run = simulator.simulate(scenario)
        summary = simulator.summarize(run)
        share = Decimal(repr(weight))
        for line in summary["monthly_bill"]["lines"]:
            amount = Decimal(line["exact_amount_usd"])
            keep = 1.0
            if line["unit"] in USAGE_UNITS and line["backend"] in moved:
                keep = 1.0 - inputs.onprem_share_frac
                moved_usage += amount * moved_frac * share
                amount -= amount * moved_frac
            if line["unit"] in USAGE_UNITS:
                usage += amount * share
                if line["unit"] == "tokens":
                    api_usage += amount * share
                    key = f"{line['backend']}/{line['item']}"
                    quantity = token_lines.get(key, (0.0, 0.0))[0]
                    token_lines[key] = (quantity + line["quantity"] * weight * keep,
                                        line["unit_price_usd"])
            elif number == 0:
                capacity += amount
        factor = summary["billing_month"]["month_factor"] * weight
        tokens += factor * sum(entry["tokens_in"] + entry["tokens_out"]
                               for entry in summary["calls"]["backends"].values())
        if moved:
            hourly = hourly_busy_s(run, moved, PRESETS[base.timeline.onprem_share
                                                       .preset])
            busy_s = [max(busy_s[0], float(hourly.max())),
                      busy_s[1] + float(hourly.sum()) * factor]
        for name, entry in summary["task_types"].items():
            spend[name] = spend.get(name, 0.0) + entry["monthly_spend_usd"] * weight
        if first is None:
            first = (run, summary, scenario)
    run, summary, scenario = first
    exact_scale = Decimal(repr(scale))
    fleet = _owned_fleet(base, inputs, [value * scale for value in busy_s],
                         summary["billing_month"]["hours"])
    return PeriodResult(
        index=inputs.index, month=inputs.month, scale=scale,
        simulated_tasks=int(summary["tasks"]["arrived"]),
        inference_usd=(usage + capacity) * exact_scale + fleet.total_usd,
        training_usd=inputs.training_usd, tokens=tokens * scale,
        api_usage_usd=api_usage * exact_scale,
        output_prices={name: float(backend.prices.output_usd_per_mtok)
                       for name, backend in scenario.backends.items()
                       if backend.kind == "api"},
        users=inputs.users, shares={name: t.share for name, t in
                                    scenario.task_types.items()},
        spend_by_task_type={name: value * scale for name, value in spend.items()},
        compute_multiplier={name: entry["compute_multiplier"]
                            for name, entry in summary["task_types"].items()},
        p95_s=_p95(run, summary), warnings=list(summary["warnings"]),
        token_lines={key: (quantity * scale, price)
                     for key, (quantity, price) in token_lines.items()},
        onprem_share_frac=inputs.onprem_share_frac, owned_replicas=fleet.replicas,
        owned_busy_frac=fleet.busy_frac, owned_usd=fleet.total_usd,
        moved_api_usd=moved_usage * exact_scale)


def representative_days_usd(base: Scenario, weekdays: list[int]) -> Decimal:
    """Bill of the given days (weekday numbers, Monday 0) estimated from one
    simulated weekday and one simulated Saturday, each scaled by the weekly
    profile's weight of every day it stands for; one day each as in the base
    scenario but for its weekday (horizon_s should be one day)."""
    weights = base.arrivals.weekly_profile or [1.0] * 7
    first_weekday = WEEKDAY_NAMES.index(base.start_weekday)
    simulated = {"weekday": first_weekday if first_weekday < 5 else 2, "weekend": 5}
    bills = {}
    for kind, position in simulated.items():
        scenario = base.model_copy(update={"start_weekday": WEEKDAY_NAMES[position]})
        summary = simulator.summarize(simulator.simulate(scenario))
        bills[kind] = (Decimal(summary["bill"]["exact_total_usd"]),
                       weights[position])
    total = Decimal(0)
    for position in weekdays:
        bill, weight = bills["weekday" if position < 5 else "weekend"]
        if weight > 0:
            total += bill * Decimal(repr(weights[position] / weight))
    return total


def _moved_backends(base: Scenario, inputs: PeriodInputs) -> list[str]:
    """API backends part of whose calls move on-prem this period."""
    rule = base.timeline.onprem_share
    if rule is None or inputs.onprem_share_frac <= 0:
        return []
    return list(rule.from_backends)


def _owned_fleet(base: Scenario, inputs: PeriodInputs, busy_s: list[float],
                 month_hours: float) -> OwnedFleet:
    """The period's owned fleet for its peak-hour and monthly replica-seconds
    (all moved calls, at real scale), times the share moved."""
    rule = base.timeline.onprem_share
    share = inputs.onprem_share_frac
    if rule is None or share <= 0:
        return NO_FLEET
    return size_owned_fleet(
        share_frac=share, peak_hour_busy_s=busy_s[0] * share,
        month_busy_s=busy_s[1] * share, preset=PRESETS[rule.preset],
        target_utilisation_frac=rule.target_utilisation_frac, costs=rule.costs,
        month_hours=month_hours)


def _p95(run: object, summary: dict) -> dict[str, float | None]:
    """p95 task latency per task type and over all completed tasks."""
    found = {name: entry["latency_s"]["p95"]["value"]
             for name, entry in summary["task_types"].items()}
    tasks = run.tasks
    done = (tasks["status"] == COMPLETED) & (
        tasks["arrived_at"] >= run.scenario.warmup_s)
    latency = np.asarray(tasks["finished_at"][done] - tasks["arrived_at"][done])
    found["all"] = percentiles(latency, run.scenario.percentile_method)["p95"].value
    return found


def _scaled_prices(prices: dict, factor: float) -> dict:
    """Every per-1M-token price times `factor`, to six decimals."""
    exact = Decimal(repr(factor))
    scaled = {}
    for key, value in prices.items():
        if key.endswith("_usd_per_mtok"):
            scaled[key] = (Decimal(value) * exact).quantize(PRICE_QUANTUM)
        elif key == "long_context":
            scaled[key] = _scaled_prices(value, factor)
        else:
            scaled[key] = value
    return scaled


def _set_replicas(data: dict, name: str, replicas: int) -> None:
    """Set an owned pool's replicas; with none, drop it and the routes to it."""
    if replicas > 0:
        data["backends"][name]["replicas"] = replicas
        return
    del data["backends"][name]
    for task_type in data["task_types"].values():
        route = task_type["route"]
        if route.get("routine") == name or route.get("prefer") == name:
            for key in ("routine", "routine_frac", "prefer", "max_wait_s"):
                route.pop(key, None)
            route["policy"] = "fixed"
        route["by_step_kind"] = {kind: backend for kind, backend in
                                 route.get("by_step_kind", {}).items()
                                 if backend != name}


def _sample_arrivals(arrivals: dict, inputs: PeriodInputs, sample: float) -> float:
    """Scale arrivals down to at most `sample` tasks a day; return the factor."""
    if arrivals["kind"] == "population":
        users = arrivals["num_users"] if inputs.users is None else inputs.users
        per_user = (arrivals["tasks_per_user_per_day"]
                    if inputs.tasks_per_user_per_day is None
                    else inputs.tasks_per_user_per_day)
        arrivals["tasks_per_user_per_day"] = per_user
        simulated = max(1, round(users))
        if users * per_user > sample and per_user > 0:
            simulated = max(1, math.ceil(sample / per_user))
        arrivals["num_users"] = simulated if users > 0 else 0
        return users / simulated if users > 0 else 1.0
    daily = (arrivals["tasks_per_day"] if "tasks_per_day" in arrivals
             else arrivals["rate_per_s"] * SECONDS_PER_DAY)
    if daily <= sample:
        return 1.0
    scale = daily / sample
    key = "tasks_per_day" if "tasks_per_day" in arrivals else "rate_per_s"
    arrivals[key] = arrivals[key] / scale
    return scale
