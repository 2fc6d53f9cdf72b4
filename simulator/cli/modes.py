"""How `flipsim run` runs a long horizon or a timeline: month mode (with its
cost check against an exact run), a timeline's periods, and the warning
before an exact run whose records would need gigabytes.
"""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

import simulator
from simulator.cli.common import _decimal, _LazyProgress, _usd, err, out
from simulator.economics.pricing import format_usd
from simulator.errors import SimulatorError
from simulator.scenario import dump_resolved
from simulator.scenario.schema import Scenario

BYTES_PER_CALL = 1_000
"""Memory an exact run keeps per LLM call with its task and tool records
(measured: about 0.9 KB on chat-vs-agents)."""
WARN_RECORDS_BYTES = 4 * 2**30


def _warn_if_large(scenario: Scenario, flag: str = "--exact") -> None:
    """Say so before an exact run whose records would need gigabytes
    (`flag`: the option that asked for it)."""
    if scenario.arrivals.kind == "trace":
        return
    from simulator.rng import Streams
    from simulator.workload.arrivals import expected_arrivals
    from simulator.workload.plans import build_planners

    tasks = expected_arrivals(scenario, 0.0, scenario.horizon_s)
    if tasks * BYTES_PER_CALL < WARN_RECORDS_BYTES:
        return  # even one call a task fits
    planners = build_planners(scenario, Streams(scenario.seed))
    shares = [t.share for t in scenario.task_types.values()]
    calls_per_task = sum(
        share / sum(shares) * sum(sum(a.llm for a in planner.draw().actions)
                                  for _ in range(200)) / 200
        for share, planner in zip(shares, planners, strict=True))
    needed = tasks * calls_per_task * BYTES_PER_CALL
    if needed >= WARN_RECORDS_BYTES:
        err.print(f"warning: an exact run keeps every call's record: about "
                  f"{tasks * calls_per_task:,.0f} LLM calls, {needed / 2**30:,.0f} GiB "
                  f"of memory; month mode (drop {flag}) estimates it in seconds",
                  markup=False, highlight=False)


def _span(seconds: float) -> str:
    """A horizon in days, or in hours when shorter than a day."""
    if seconds >= 86_400:
        days = seconds / 86_400
        return f"{days:,.4g} day{'' if days == 1 else 's'}"
    if seconds >= 3600:
        return f"{seconds / 3600:,.4g} hours"
    return f"{seconds:,.4g} seconds"


MONTH_COST_REFUSED = 3.0
"""--month is refused when its windows would simulate this many times the
tasks of the whole horizon (run it exact instead)."""


def _run_month(scenario: Scenario, folder: Path, replications: int,
               workers: int, forced: bool) -> str | None:
    """Month mode: estimate, print the headline figures, write the report.

    Returns None when done, or (having done nothing) a note saying why not:
    month mode was chosen by the horizon but its windows would simulate more
    than the whole horizon, so an exact run is cheaper, and exact.
    """
    from simulator.month import check_month_mode, estimate_month, plan_month
    from simulator.report import write_folder
    from simulator.report.month import interval_text, write_month_files

    check_month_mode(scenario)
    plan = plan_month(scenario, replications)
    ratio = plan.planned_tasks / max(plan.horizon_tasks, 1.0)
    if ratio > 1 and not forced:
        note = (f"month mode would simulate {plan.planned_tasks:,.0f} tasks, more "
                f"than the horizon's {plan.horizon_tasks:,.0f}; every call was run "
                "instead")
        err.print(note, markup=False, highlight=False)
        return note
    if ratio > MONTH_COST_REFUSED:
        raise SimulatorError(
            f"--month: its windows would simulate about {plan.planned_tasks:,.0f} "
            f"tasks, {ratio:,.0f} times the {plan.horizon_tasks:,.0f} the horizon "
            f"holds ({replications} replications of each window); drop --month "
            "(an exact run is cheaper here) or give fewer --month-replications")
    costly = (f"month mode simulated about {plan.planned_tasks:,.0f} tasks, more "
              f"than the horizon's {plan.horizon_tasks:,.0f}; --exact would be "
              "cheaper") if ratio > 1 else None
    err.print(f"month mode: {_span(scenario.horizon_s)} estimated from "
              f"sampled windows x {replications} replications on {workers} "
              "process(es) (--exact simulates every call)", highlight=False)
    estimate = estimate_month(scenario, replications=replications, workers=workers,
                              plan=plan)
    if costly is not None:
        estimate.warnings.append(costly)
    summary = estimate.summary(simulator.__version__)
    write_folder(folder, lambda staging: write_month_files(
        estimate, summary, staging, dump_resolved(scenario, simulator.__version__)))
    figures = estimate.figures
    table = Table(title=f"{scenario.name}: month mode, mean (95% interval)")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for label, key, show in (
            ("monthly bill", "monthly_bill_usd", lambda v: format_usd(
                _decimal(round(v, 2)))),
            ("LLM calls in the horizon", "llm_calls_in_horizon",
             lambda v: f"{v:,.0f}"),
            ("mean task latency", "latency_mean_s", lambda v: f"{v:,.1f} s"),
            ("p95 task latency", "latency_p95_s", lambda v: f"{v:,.1f} s")):
        table.add_row(label, interval_text(figures[key], show))
    out.print(table)
    method = estimate.method
    out.print(f"simulated {method['calls_simulated']:,} LLM calls to estimate the "
              f"horizon's {method['calls_estimated_in_horizon']:,.0f} "
              f"({method['busy_hours']} busy hours, simulated on one day of each "
              f"day type; {method['quiet_hours']} quiet hours screened"
              + (f", {method['empty_hours']} with no arrivals"
                 if method["empty_hours"] else "") + ")")
    for warning in estimate.warnings:
        err.print(f"warning: {warning}", markup=False, highlight=False)
    out.print(f"report: {folder}/report.html (estimated in {estimate.wall_s:.1f} s)")
    return None


def _run_timeline(scenario: Scenario, folder: Path, workers: int) -> None:
    """Simulate every period of a timeline; write and summarise its report."""
    from simulator.report import write_timeline_report
    from simulator.timeline import run_timeline
    from simulator.timeline.summary import timeline_run_summary

    with _LazyProgress(scenario.name) as progress:
        result = run_timeline(scenario, workers=workers, progress=progress.update)
    summary = timeline_run_summary(result, simulator.__version__)
    write_timeline_report(summary, folder,
                          dump_resolved(scenario, simulator.__version__))
    timeline = summary["timeline"]
    table = Table(title=f"{scenario.name}: {timeline['start']} to {timeline['end']}")
    for heading in ("year", "training", "inference", "inference share"):
        table.add_column(heading, justify="left" if heading == "year" else "right")
    for year in timeline["years"]:
        share = year["inference_share_frac"]
        table.add_row(year["year"], _usd(year["training_usd"]),
                      _usd(year["inference_usd"]),
                      "-" if share is None else f"{share:.0%}")
    out.print(table)
    out.print(f"Inference Flip: {timeline['flip_period'] or 'none'}")
    out.print(f"report: {folder}/report.html (simulated in {result.wall_s:.1f} s)")
