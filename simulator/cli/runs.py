"""The `flipsim` commands that run one scenario or inspect it: run (exact,
month mode, timeline, replications), validate, prices, serve and schema.
"""

from __future__ import annotations

import datetime
import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

import simulator
from simulator.cli.common import (
    DEFAULT_WORKERS,
    PROGRESS_AFTER_S,
    LogOption,
    SeedOption,
    SetOption,
    _bad_input_exits_2,
    _configure_logging,
    _decimal,
    _wants_month_mode,
    app,
    err,
    out,
)
from simulator.economics.pricing import format_usd
from simulator.errors import SimulatorError
from simulator.month import DEFAULT_REPLICATIONS
from simulator.scenario import dump_resolved, load_scenario
from simulator.scenario.schema import Scenario


@app.command()
@_bad_input_exits_2
def run(
    scenario_file: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Report folder (default reports/<scenario name>).")] = None,
    seed: SeedOption = None,
    overrides: SetOption = None,
    trace: Annotated[Path | None, typer.Option(
        "--trace", help="Replay this trace file instead of the scenario's "
        "arrivals.path (a trace-replay scenario only).")] = None,
    log_level: LogOption = "warning",
    exact: Annotated[bool, typer.Option(
        "--exact", help="Simulate every call event by event, even for a horizon "
        "of a week or more (the reference for month mode).")] = False,
    month: Annotated[bool, typer.Option(
        "--month", help="Estimate from sampled windows (month mode), even for a "
        "horizon shorter than a week.")] = False,
    month_replications: Annotated[int | None, typer.Option(
        "--month-replications", min=2, max=100,
        help="Month mode: runs of every window, each with its own seed "
        "(default 4).")] = None,
    replications: Annotated[int, typer.Option(
        "--replications", min=1, max=10_000,
        help="Run this many seeds derived from the scenario seed and report each "
        "headline figure as a mean with its t-interval.")] = 1,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, max=256, help="Processes for replications, a "
        "timeline's periods or month mode's windows (default: all cores; "
        "results do not depend on it).")] = None,
    dask: Annotated[str | None, typer.Option(
        "--dask", help="Run replications on Dask: tcp://host:port, or local.")] = None,
    confidence: Annotated[float | None, typer.Option(
        "--confidence", min=0.5, max=0.999,
        help="Interval level of --replications (default 0.95).")] = None,
) -> None:
    """Run a scenario; print a summary and write the report folder.

    A horizon of a week or more runs in month mode (sampled windows, each
    figure with its 95% interval) unless --exact is given.
    """
    from simulator.report import check_out_dir, write_report

    _configure_logging(log_level)
    if exact and month:
        raise SimulatorError("--exact and --month: choose one")
    replicating = replications > 1 or dask is not None
    asked = "--dask" if dask is not None else f"--replications {replications}"
    if (exact or month) and replicating:
        raise SimulatorError(
            f"--{'exact' if exact else 'month'} with {asked}: replications run "
            "every call of short horizons; month mode has its own "
            "--month-replications")
    if confidence is not None and not replicating:
        raise SimulatorError(f"--confidence {confidence:g}: sets the interval of "
                             "--replications 2 or more (month mode's and "
                             "timelines' intervals are 95%)")
    if replicating:
        if month_replications is not None:
            raise SimulatorError(f"--month-replications with {asked}: choose one")
        from simulator.cli.experiments import _run_replications

        _run_replications(scenario_file, out_dir, seed, overrides or [], trace,
                          replications, workers, dask, confidence or 0.95)
        return
    scenario = load_scenario(scenario_file, overrides or [], seed, trace)
    folder = out_dir or Path("reports") / scenario.name
    check_out_dir(folder)
    if scenario.timeline is not None:
        if exact or month or month_replications is not None:
            given = ("--exact" if exact else "--month" if month
                     else "--month-replications")
            raise SimulatorError(f"{given}: a timeline simulates representative "
                                 "days of each month; drop the option")
        _run_timeline(scenario, folder, workers or DEFAULT_WORKERS)
        return
    fallback = None
    if month or (not exact and _wants_month_mode(scenario)):
        fallback = _run_month(scenario, folder,
                              month_replications or DEFAULT_REPLICATIONS,
                              workers or DEFAULT_WORKERS, forced=month)
        if fallback is None:
            return
    elif month_replications is not None:
        raise SimulatorError("--month-replications: only for month mode (--month, "
                             "or a horizon of a week or more)")
    _warn_if_large(scenario)
    with _LazyProgress(scenario.name) as progress:
        result = simulator.simulate(scenario, progress=progress.update)
    summary = simulator.summarize(result)
    if fallback is not None:
        summary["warnings"].insert(0, fallback)

    write_report(result, summary, folder,
                 dump_resolved(scenario, simulator.__version__))
    _print_summary(summary)
    out.print(f"report: {folder}/report.html (simulated in {result.wall_s:.1f} s)")


BYTES_PER_CALL = 1_000
"""Memory an exact run keeps per LLM call with its task and tool records
(measured: about 0.9 KB on chat-vs-agents)."""
WARN_RECORDS_BYTES = 4 * 2**30


def _warn_if_large(scenario: Scenario) -> None:
    """Say so before an exact run whose records would need gigabytes."""
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
                  "of memory; month mode (drop --exact) estimates it in seconds",
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


@app.command()
@_bad_input_exits_2
def validate(
    scenario_file: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    overrides: SetOption = None,
) -> None:
    """Check a scenario and report every problem at once."""
    scenario = load_scenario(scenario_file, overrides or [])
    if scenario.arrivals.kind == "trace":
        from simulator.workload.arrivals import check_trace

        out.print(check_trace(scenario))
    out.print(f"{scenario_file}: valid scenario {scenario.name!r} "
              f"({len(scenario.task_types)} task types, "
              f"{len(scenario.backends)} backends)")


@app.command()
@_bad_input_exits_2
def prices(
    catalogue: Annotated[Path, typer.Argument(
        help="LiteLLM model_prices_and_context_window.json.")],
    models: Annotated[list[str], typer.Argument(help="Model keys to import.")],
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Date the prices were read, YYYY-MM-DD.")] = None,
) -> None:
    """Print scenario models and prices for entries of a LiteLLM catalogue."""
    from simulator.scenario.litellm import import_models
    from simulator.scenario.yamlio import dump_yaml

    if as_of is not None:
        try:
            datetime.date.fromisoformat(as_of)
        except ValueError:
            raise SimulatorError(f"--as-of: found {as_of!r}; write a date as "
                                 "YYYY-MM-DD") from None
    sys.stdout.write(dump_yaml(import_models(catalogue, models, as_of)))


@app.command()
@_bad_input_exits_2
def serve(
    scenario_file: Annotated[Path, typer.Argument(help="Timeline scenario YAML.")],
    port: Annotated[int, typer.Option("--port", min=0, max=65535,
                                      help="Port on 127.0.0.1 (0: any free).")] = 8000,
    log_level: LogOption = "warning",
) -> None:
    """Serve a classroom page on 127.0.0.1 with sliders that re-run a timeline."""
    from simulator.classroom import serve as make_server

    _configure_logging(log_level)
    try:
        server = make_server(scenario_file, port)
    except OSError as exc:
        raise SimulatorError(f"--port {port}: cannot listen on 127.0.0.1 "
                             f"({exc.strerror or exc})") from None
    host, bound = server.server_address[:2]
    out.print(f"classroom page: http://{host}:{bound}/ (Ctrl-C stops it)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@app.command()
def schema() -> None:
    """Print the scenario JSON Schema (for editor completion)."""
    sys.stdout.write(json.dumps(Scenario.model_json_schema(by_alias=True), indent=2)
                     + "\n")


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


def _print_summary(summary: dict) -> None:
    table = Table(title=f"{summary['scenario']['name']}: "
                  f"{summary['billing_month']['label']}")
    rows = [_summary_row(name, entry)
            for name, entry in summary["task_types"].items()]
    headings = ("task type", "tasks", "done / failed / in flight",
                "LLM calls / task", "tokens / task", "multiplier", "cost / task",
                "monthly spend", "p50 / p95 latency (s)")
    for column, heading in enumerate(headings):
        widest = max((len(row[column]) for row in rows), default=1)
        if column == 0:
            table.add_column(heading, overflow="fold", min_width=min(widest, 24))
        else:  # numbers keep to one line; headings may wrap
            table.add_column(heading, justify="right", min_width=widest)
    for row in rows:
        table.add_row(*row)
    out.print(table)
    if any(row[-1].endswith("*") or "* /" in row[-1] for row in rows):
        out.print("* too few samples for this percentile (see report.md)")
    bill = summary["monthly_bill"]
    out.print(f"monthly bill: {format_usd(_decimal(bill['total_usd']))} "
              f"({summary['billing_month']['label']})")
    for warning in summary["warnings"]:
        err.print(f"warning: {warning}", markup=False, highlight=False)


def _summary_row(name: str, entry: dict) -> tuple[str, ...]:
    latency = entry["latency_s"]
    return (
        name, f"{entry['arrived']:,}",
        f"{entry['completed']:,} / {entry['failed']:,} / {entry['in_flight']:,}",
        _num(entry["llm_calls_per_task"], 1),
        _num(entry["tokens_per_completed_task"], 0),
        "-" if entry["compute_multiplier"] is None
        else f"x{entry['compute_multiplier']:.1f}",
        _usd(entry["cost_per_completed_task_usd"]),
        _usd(entry["monthly_spend_usd"]),
        f"{_pct(latency['p50'])} / {_pct(latency['p95'])}",
    )


def _num(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _usd(value: float | None) -> str:
    return "-" if value is None else format_usd(_decimal(value))


def _pct(entry: dict) -> str:
    if entry["value"] is None:
        return "-"
    return f"{entry['value']:.1f}" + ("*" if entry["too_few_samples"] else "")


class _LazyProgress:
    """A progress bar that appears only once a run has taken a couple of seconds."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.started = time.perf_counter()
        self.bar: Progress | None = None
        self.task = None

    def update(self, fraction: float) -> None:
        """Called by the engine with the simulated fraction done."""
        if self.bar is None:
            if time.perf_counter() - self.started < PROGRESS_AFTER_S:
                return
            self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                TextColumn("{task.percentage:>3.0f}%"),
                                TimeRemainingColumn(), console=err, transient=True)
            self.bar.start()
            self.task = self.bar.add_task(f"simulating {self.label}", total=1.0)
        self.bar.update(self.task, completed=fraction)

    def __enter__(self) -> _LazyProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.bar is not None:
            self.bar.stop()


# Experiments: replications, compare, sweep, sensitivity and size. Each runs
# many points through simulator.experiment and writes a folder of tables,
# charts and a Markdown report; finished points are kept in points.jsonl there,
# so running the same command again finishes only what is missing.
