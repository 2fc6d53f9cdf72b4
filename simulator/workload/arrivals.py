"""When tasks arrive and which task type each one is.

The arrival rate is piecewise constant: the average rate times the hour-of-day
weight times the day-of-week weight, each profile normalised to mean 1. Within
each hour the count is Poisson and the instants uniform, which is exactly a
non-homogeneous Poisson process with that rate. Everything is drawn before
the run, from the `arrivals` and `task_mix` streams.
A trace replays recorded requests instead: their instants (scaled) and
their token counts, which become each task's request and first answer.
Limitations: the rate steps at each hour instead of ramping smoothly; a
replayed trace starts at time 0 whatever the weekday it was recorded on.
"""

from __future__ import annotations

import calendar
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simulator.errors import ScenarioError
from simulator.rng import Streams
from simulator.scenario.schema import WEEKDAYS, Scenario
from simulator.workload.traces import Trace, excerpt_path, read_trace, scale_trace

logger = logging.getLogger(__name__)

SECONDS_PER_HOUR = 3_600.0
HOURS_PER_WEEK = 168


@dataclass(frozen=True)
class Arrivals:
    """Arrival instants and task-type indices, sorted by time."""

    arrived_at: np.ndarray
    task_type: np.ndarray
    expected_count: float
    tokens_in: np.ndarray | None = None
    tokens_out: np.ndarray | None = None
    """Trace replay only: each request's input and output tokens."""
    trace: dict | None = None
    """Trace replay only: source, rows read and skipped, requests, span."""

    def __len__(self) -> int:
        return len(self.arrived_at)


def hourly_rates_per_s(scenario: Scenario) -> np.ndarray:
    """Arrival rate for each hour of the week, Monday 00:00 first."""
    arrivals = scenario.arrivals
    daily = _normalised(arrivals.daily_profile, 24)
    weekly = _normalised(arrivals.weekly_profile, 7)
    return arrivals.mean_rate_per_s() * np.outer(weekly, daily).reshape(-1)


def expected_arrivals(scenario: Scenario, start_s: float, end_s: float) -> float:
    """Expected number of arrivals in [start_s, end_s)."""
    rates = hourly_rates_per_s(scenario)
    offset_h = WEEKDAYS.index(scenario.start_weekday) * 24
    total = 0.0
    hour = int(start_s // SECONDS_PER_HOUR)
    while hour * SECONDS_PER_HOUR < end_s:
        lo = max(start_s, hour * SECONDS_PER_HOUR)
        hi = min(end_s, (hour + 1) * SECONDS_PER_HOUR)
        total += float(rates[(hour + offset_h) % HOURS_PER_WEEK]) * (hi - lo)
        hour += 1
    return total


def expected_arrivals_in_month(scenario: Scenario) -> float:
    """Expected tasks in the billing month (average month or calendar month)."""
    billing = scenario.billing
    rate = scenario.arrivals.mean_rate_per_s()
    if billing.month == "average":
        return rate * billing.hours() * SECONDS_PER_HOUR
    year, month = (int(part) for part in billing.month.split("-"))
    weekly = _normalised(scenario.arrivals.weekly_profile, 7)
    first_weekday, num_days = calendar.monthrange(year, month)
    days = [(first_weekday + day) % 7 for day in range(num_days)]
    return rate * 86_400 * float(sum(weekly[d] for d in days))


def expected_in_window(scenario: Scenario, arrivals: Arrivals, drawn: bool
                        ) -> float:
    """Tasks the measured window [warmup_s, horizon_s) expected: from the rate
    model when `drawn` from it, else the given arrivals after the warm-up."""
    if scenario.warmup_s == 0:
        return arrivals.expected_count
    if drawn and arrivals.tokens_in is None:
        return float(expected_arrivals(scenario, scenario.warmup_s,
                                       scenario.horizon_s))
    return float(np.count_nonzero(arrivals.arrived_at >= scenario.warmup_s))


def draw_arrivals(scenario: Scenario, streams: Streams) -> Arrivals:
    """Every task arriving before the horizon, with its task type."""
    if scenario.arrivals.kind == "trace":
        return _replay(scenario, streams)
    rates = hourly_rates_per_s(scenario)
    offset_h = WEEKDAYS.index(scenario.start_weekday) * 24
    num_hours = int(np.ceil(scenario.horizon_s / SECONDS_PER_HOUR))
    starts = np.arange(num_hours) * SECONDS_PER_HOUR
    lengths = np.minimum(SECONDS_PER_HOUR, scenario.horizon_s - starts)
    hour_rates = rates[(np.arange(num_hours) + offset_h) % HOURS_PER_WEEK]

    generator = streams.generator("arrivals")
    counts = generator.poisson(hour_rates * lengths)
    offsets = generator.random(int(counts.sum())) * np.repeat(lengths, counts)
    arrived_at = np.sort(np.repeat(starts, counts) + offsets)

    shares = np.array([t.share for t in scenario.task_types.values()])
    mix = streams.generator("task_mix")
    task_type = mix.choice(len(shares), size=len(arrived_at), p=shares / shares.sum())
    expected = float(np.sum(hour_rates * lengths))
    return Arrivals(arrived_at, task_type.astype(np.int16), expected)


def _replay(scenario: Scenario, streams: Streams) -> Arrivals:
    """The trace's requests before the horizon, scaled as the scenario asks."""
    spec = scenario.arrivals
    _, trace = _read(spec)
    try:
        trace = scale_trace(trace, speedup=spec.speedup,
                            rate_multiplier=spec.rate_multiplier,
                            generator=streams.generator("trace"))
    except ValueError as exc:
        raise ScenarioError(f"arrivals.path: {exc}") from None
    keep = trace.arrived_at < scenario.horizon_s
    arrived_at = trace.arrived_at[keep]
    names = list(scenario.task_types)
    tokens_in, tokens_out = trace.tokens_in[keep], trace.tokens_out[keep]
    if spec.each_task_type:
        count = len(names)
        arrived_at = np.repeat(arrived_at, count)
        tokens_in = np.repeat(tokens_in, count)
        tokens_out = np.repeat(tokens_out, count)
        task_type = np.tile(np.arange(count), len(arrived_at) // count)
    elif spec.task_type is not None:
        task_type = np.full(len(arrived_at), names.index(spec.task_type))
    else:
        shares = np.array([t.share for t in scenario.task_types.values()])
        task_type = streams.generator("task_mix").choice(
            len(shares), size=len(arrived_at), p=shares / shares.sum())
    logger.info("trace %s: %d rows, %d skipped, %d requests before the horizon",
                trace.source, trace.num_rows, trace.num_skipped, len(arrived_at))
    info = {"source": str(spec.path), "rows": trace.num_rows,
            "skipped_rows": trace.num_skipped, "requests": int(keep.sum()),
            "last_request_at": float(trace.arrived_at[keep][-1]) if keep.any() else 0.0,
            "speedup": spec.speedup, "rate_multiplier": spec.rate_multiplier}
    return Arrivals(arrived_at, task_type.astype(np.int16), float(len(arrived_at)),
                    tokens_in, tokens_out, info)


def check_trace(scenario: Scenario) -> str:
    """Read a scenario's trace to check it; a line describing what it holds."""
    path, trace = _read(scenario.arrivals)
    span = float(trace.arrived_at[-1]) if len(trace) else 0.0
    return (f"trace {path}: {len(trace):,} requests over {span:,.0f} s "
            f"({trace.num_skipped:,} malformed rows skipped)")


def _read(spec: object) -> tuple[Path, Trace]:
    """The trace file an arrivals block names, read as it asks."""
    try:
        path = trace_path(spec)
        return path, read_trace(path, spec.format, columns=spec.columns,
                                time_unit_s=spec.time_unit_s,
                                skip_bad_rows=spec.skip_bad_rows,
                                max_rows=spec.max_rows)
    except ValueError as exc:
        raise ScenarioError(f"arrivals.path: {exc}") from None


def trace_path(spec: object) -> Path:
    """The file a trace-replay arrivals block names."""
    if spec.path.startswith("excerpt:"):
        return excerpt_path(spec.path.removeprefix("excerpt:"))
    return Path(spec.base_dir or ".") / spec.path


def _normalised(profile: list[float] | None, size: int) -> np.ndarray:
    if profile is None:
        return np.ones(size)
    weights = np.asarray(profile, dtype=float)
    return weights * size / weights.sum()
