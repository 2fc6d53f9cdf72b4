"""Month mode: a month of traffic estimated from simulated busy spans and quiet
windows, each figure with its 95% interval.

Simulating every call of a month event by event takes minutes and, kept as
records, gigabytes. Month mode simulates only the stretches where queueing
can happen, event by event with the full model, and extrapolates the rest.

How:

1. Day types. Days of the horizon with the same 24 hourly arrival rates (the
   daily profile times the weekly factor) form one day type.
2. Screening. A pilot run at the busiest hour's rate measures each task's
   demand on every limited resource. An hour is *busy* when, at its rate, a
   tool pool's Erlang C mean wait exceeds 1% of its mean service time (or the
   pool is 90% loaded), an API's expected requests or tokens per minute come
   within four standard deviations of its limit, or a GPU pool is more than
   5% utilised (batching makes GPU latency depend on load at any level).
   Every other hour is *quiet*: nothing waits there, so a task's cost and
   latency do not depend on how many other tasks run.
3. Busy spans. Each day type's runs of consecutive busy hours are simulated
   event by event on their real hourly rates, after a warm-up on the real
   hours before them, and run on (arrivals continuing) until every task that
   arrived inside the span has ended. Ramps into and out of the peak are
   therefore part of the simulated sample path, not lost between strata.
4. Quiet pool. All quiet hours share one window, simulated at the busiest
   quiet rate.
5. Extrapolation. Each task measured in a window stands for E / n tasks: E the
   expected arrivals of its stratum over the horizon (a span on every day of
   its type, or every quiet hour), n the tasks that arrived in the window's
   measured span (a ratio estimator: the month's task count is the expected
   one, so only the tasks' costs and latencies carry sampling noise). Money,
   tokens and counts scale by it; latency percentiles are weighted by it;
   utilisation is averaged over the hours each window stands for.
6. Replications. Every window is simulated R times with seeds derived from
   the scenario's; each replication is a complete month estimate, and each
   figure is reported as their mean with a Student-t 95% interval (its lower
   end clipped at zero: every figure is non-negative). Windows run
   in parallel processes; results do not depend on the number of workers.

Limitations: arrivals must come from the rate model (a trace is replayed
event by event); autoscaled GPU pools are not supported (their schedules
follow the clock of a whole run); a quiet hour's GPU busy fraction (for power)
is the quiet window's scaled by the hour's rate; tool and GPU utilisation in a
window is measured from the end of its warm-up to the end of the run, drain
included; the interval covers the randomness of the windows, not the choice
of strata; tasks still running when a window's drain limit is reached are
counted in flight.
"""


from __future__ import annotations

import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from simulator.errors import ScenarioError
from simulator.month.combine import (
    month_of_replication,
    t_interval,
    weighted_quantile,
    with_intervals,
)
from simulator.month.strata import (
    GPU_SCREEN,
    LIMIT_SIGMAS,
    LOAD_SCREEN,
    WAIT_SCREEN,
    Pilot,
    Window,
    horizon_hours,
    is_busy,
    pilot_demand,
    plan_windows,
)
from simulator.month.windows import (
    WARMUP_S,
    WindowResult,
    replace_scenario,
    run_window_job,
)
from simulator.records import COMPLETED
from simulator.scenario.schema import ApiBackend, Scenario
from simulator.workload.arrivals import expected_arrivals_in_month

DEFAULT_REPLICATIONS = 4


@dataclass
class MonthEstimate:
    """Month-mode result: figures with intervals, and how they were obtained."""

    scenario: Scenario
    figures: dict[str, dict]
    method: dict
    strata: list[dict]
    windows: list[WindowResult] = field(repr=False)
    wall_s: float
    warnings: list[str] = field(default_factory=list)

    def summary(self, version: str) -> dict:
        """JSON-ready summary (summary.json of a month-mode run)."""
        return {
            "schema_version": 1,
            "flipsim_version": version,
            "mode": "month",
            "scenario": {"name": self.scenario.name, "seed": self.scenario.seed,
                         "horizon_s": self.scenario.horizon_s},
            "billing_month": {"label": self.scenario.billing.label(),
                              "hours": self.scenario.billing.hours(),
                              "month_factor": self.method["month_factor"]},
            "figures": self.figures,
            "method": self.method,
            "strata": self.strata,
            "warnings": self.warnings,
        }


def check_month_mode(scenario: Scenario) -> None:
    """Refuse scenarios month mode cannot estimate, saying why."""
    if scenario.arrivals.kind == "trace":
        raise ScenarioError("arrivals.kind: found 'trace'; month mode needs the "
                            "rate model (poisson or population); run with --exact")
    for name, backend in scenario.backends.items():
        if getattr(backend, "autoscale", None) is not None:
            raise ScenarioError(f"backends.{name}.autoscale: month mode does not "
                                "support autoscaled pools; run with --exact")


@dataclass(frozen=True)
class MonthPlan:
    """What month mode will simulate, decided before it simulates anything."""

    pilot: Pilot
    busy: np.ndarray
    windows: list[Window]
    strata: list[dict]
    hour_rates: np.ndarray
    hour_lengths: np.ndarray
    replications: int

    @property
    def horizon_tasks(self) -> float:
        """Expected tasks of the whole horizon (what an exact run simulates)."""
        return float(np.sum(self.hour_rates * self.hour_lengths))

    @property
    def planned_tasks(self) -> float:
        """Expected tasks the windows will simulate, warm-ups and drains
        included (drains at their longest), plus the pilot's."""
        from simulator.month.windows import expected_between

        per_replication = sum(
            w.constant_rate_per_s * w.simulated_s if w.constant_rate_per_s
            is not None else expected_between(self.hour_rates, w.start_s - w.warmup_s,
                                              w.start_s - w.warmup_s + w.simulated_s)
            for w in self.windows)
        return self.pilot.tasks + self.replications * per_replication


def plan_month(scenario: Scenario, replications: int = DEFAULT_REPLICATIONS
               ) -> MonthPlan:
    """Run the pilot, screen every hour and choose the windows."""
    check_month_mode(scenario)
    hour_rates, hour_lengths = horizon_hours(scenario)
    pilot = pilot_demand(scenario, float(hour_rates.max()))
    busy = np.array([is_busy(scenario, pilot, rate) for rate in hour_rates])
    windows, strata = plan_windows(scenario, hour_rates, hour_lengths, busy,
                                   pilot.drain_s)
    return MonthPlan(pilot, busy, windows, strata, hour_rates, hour_lengths,
                     replications)


def estimate_month(scenario: Scenario, replications: int = DEFAULT_REPLICATIONS,
                   workers: int = 1, plan: MonthPlan | None = None
                   ) -> MonthEstimate:
    """Estimate the scenario's horizon (and billing month) from sampled windows."""
    started = time.perf_counter()
    plan = plan or plan_month(scenario, replications)
    pilot, busy, windows, strata = plan.pilot, plan.busy, plan.windows, plan.strata
    hour_rates, hour_lengths = plan.hour_rates, plan.hour_lengths
    jobs = [(scenario, window, r) for window in windows for r in range(replications)]
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(run_window_job, jobs, chunksize=1))
    else:
        results = [run_window_job(job) for job in jobs]
    estimates = [month_of_replication(scenario, [w for w in results
                                                  if w.replication == r],
                                       windows, hour_rates, hour_lengths)
                 for r in range(replications)]
    figures = with_intervals(estimates)
    warnings = _warnings(scenario, results, pilot, hour_rates)
    if scenario.warmup_s > 0:
        warnings.append(f"warmup_s: {scenario.warmup_s:g} s is not used in month "
                        "mode; every window warms up on its own")
    wall_s = time.perf_counter() - started
    method = {
        "kind": "stratified windows",
        "replications": replications,
        "windows_per_replication": len(windows),
        "busy_hours": int(busy.sum()),
        "quiet_hours": int(np.count_nonzero(~busy & (hour_rates > 0))),
        "empty_hours": int(np.count_nonzero(hour_rates <= 0)),
        "calls_simulated": int(sum(w.calls for w in results)),
        "calls_estimated_in_horizon": figures["llm_calls_in_horizon"]["mean"],
        "pilot": pilot.describe(),
        "screen": {"tool_wait_frac": WAIT_SCREEN, "tool_load_frac": LOAD_SCREEN,
                   "gpu_utilisation_frac": GPU_SCREEN,
                   "api_limit_sigmas": LIMIT_SIGMAS},
        "warmup_s": WARMUP_S,
        "max_drain_s": pilot.drain_s,
    }
    expected_horizon = float(np.sum(hour_rates * hour_lengths))
    method["month_factor"] = (expected_arrivals_in_month(scenario) / expected_horizon
                              if expected_horizon else 0.0)
    return MonthEstimate(scenario, figures, method, strata, results, wall_s,
                         warnings)


LEFT_IN_FLIGHT_WARN = 0.005
"""Warn when more than this share of a window's measured tasks never ended."""


def _warnings(scenario: Scenario, results: list[WindowResult], pilot: Pilot,
              hour_rates: np.ndarray) -> list[str]:
    """Plain-language cautions: overload that month mode cannot estimate."""
    found = []
    stuck = [(w.stratum, float(w.in_flight.sum()) / max(float(w.arrived.sum()), 1))
             for w in results if w.in_flight.sum()]
    worst = max(stuck, key=lambda item: item[1], default=None)
    if worst is not None and worst[1] > LEFT_IN_FLIGHT_WARN:
        found.append(
            f"overload: {100 * worst[1]:.1f}% of the tasks measured in "
            f"'{worst[0]}' were still running {pilot.drain_s / 3600:.3g} h after it "
            "ended; month mode leaves them out of the bill and latency, so both "
            "are too low. A backlog that lasts for hours needs --exact.")
    peak = float(hour_rates.max()) if len(hour_rates) else 0.0
    for index, (name, tool) in enumerate(scenario.tools.items()):
        if tool.concurrency is not None and peak * pilot.tool_s[index] >= \
                tool.concurrency:
            found.append(f"tools.{name}: offered load at the busiest hour is "
                         f"{peak * pilot.tool_s[index] / tool.concurrency:.2f} of "
                         "its slots; its queue grows through the peak")
    for index, (name, backend) in enumerate(scenario.backends.items()):
        if not isinstance(backend, ApiBackend) or not pilot.requests[index]:
            continue
        per_min = peak * 60 * pilot.requests[index]
        if backend.requests_per_min is not None and per_min >= \
                backend.requests_per_min:
            found.append(f"backends.{name}: {per_min:,.0f} requests a minute at the "
                         f"busiest hour against a limit of "
                         f"{backend.requests_per_min:,}")
        tokens = peak * 60 * pilot.tokens[index]
        if backend.tokens_per_min is not None and tokens >= backend.tokens_per_min:
            found.append(f"backends.{name}: {tokens:,.0f} tokens a minute at the "
                         f"busiest hour against a limit of "
                         f"{backend.tokens_per_min:,}")
    if not any(w.arrived.sum() for w in results):
        found.append("no tasks arrived in any simulated window")
    return found


def exact_reference(scenario: Scenario, seeds: list[int]) -> dict[str, list[float]]:
    """The figures month mode estimates, from full event-by-event runs, one per
    seed: monthly bill, mean and p95 latency of completed tasks (the same
    quantile rule as month mode's)."""
    import simulator

    found: dict[str, list[float]] = defaultdict(list)
    for seed in seeds:
        run = simulator.simulate(replace_scenario(scenario, seed=seed))
        summary = simulator.summarize(run)
        done = run.tasks["status"] == COMPLETED
        latency = (run.tasks["finished_at"] - run.tasks["arrived_at"])[done]
        found["monthly_bill_usd"].append(float(summary["monthly_bill"]["total_usd"]))
        found["latency_mean_s"].append(float(latency.mean()))
        found["latency_p95_s"].append(weighted_quantile(
            latency, np.ones(len(latency)), 0.95))
    return dict(found)


__all__ = ["DEFAULT_REPLICATIONS", "MonthEstimate", "MonthPlan", "check_month_mode",
           "estimate_month", "exact_reference", "plan_month", "t_interval",
           "weighted_quantile"]
