"""The `flipsim` command line: run, validate and schema.

Exit codes: 0 success, 2 bad input (unreadable or invalid scenario, bad
option); anything else is a bug. Problems are printed one per line on stderr,
without a traceback, and nothing is written for a bad scenario.
"""

from __future__ import annotations

import datetime
import functools
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

import simulator
from simulator.economics.pricing import format_usd
from simulator.errors import SimulatorError
from simulator.scenario import dump_resolved, load_scenario
from simulator.scenario.schema import Scenario

EXIT_BAD_INPUT = 2
PROGRESS_AFTER_S = 2.0
DEFAULT_WORKERS = os.cpu_count() or 1


_FRESH_FOLDERS: list[tuple[Path, Path]] = []
"""Experiment folders this command created, each with the outermost folder
created for it; removed again if the command fails on bad input (such as a
Dask scheduler it cannot reach) while they hold nothing but the marker file.
Experiments check all their input before they create a folder."""


def _prepare_folder(folder: Path, kind: str, description: dict) -> None:
    """Create (or reopen) an experiment folder, remembering a new one."""
    from simulator.report.experiments import prepare_folder

    outermost = None
    for parent in (folder, *folder.parents):
        if parent.exists():
            break
        outermost = parent
    prepare_folder(folder, kind, description)
    if outermost is not None:
        _FRESH_FOLDERS.append((folder, outermost))


def _remove_fresh_folders() -> None:
    import shutil

    from simulator.report.experiments import MARKER_FILE

    for folder, outermost in _FRESH_FOLDERS:
        if not folder.is_dir() or not {p.name for p in folder.iterdir()} <= {
                MARKER_FILE}:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        for parent in folder.parents:  # the empty folders made on the way
            if parent == outermost.parent:
                break
            try:
                parent.rmdir()
            except OSError:
                break
    _FRESH_FOLDERS.clear()


def _bad_input_exits_2(command: Callable) -> Callable:
    """Turn a SimulatorError into its lines on stderr and exit code 2."""

    @functools.wraps(command)
    def wrapper(*args: object, **kwargs: object) -> object:
        """The command, with bad input turned into exit code 2."""
        _FRESH_FOLDERS.clear()
        try:
            return command(*args, **kwargs)
        except SimulatorError as exc:
            _remove_fresh_folders()
            for line in str(exc).splitlines():
                err.print(line, markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None

    return wrapper


app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Simulate what AI agents do to inference bills and latency.")
out = Console(width=None if sys.stdout.isatty() else 132)
err = Console(stderr=True)

SetOption = Annotated[list[str] | None, typer.Option(
    "--set", help="Override a scenario field: dotted.path=value (repeatable).")]
SeedOption = Annotated[int | None, typer.Option(
    "--seed", min=0, help="Seed for every random stream (overrides the scenario).")]
LogOption = Annotated[str, typer.Option(
    "--log-level", help="debug, info, warning or error.")]


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
    month_replications: Annotated[int, typer.Option(
        "--month-replications", min=2, max=100,
        help="Month mode: runs of every window, each with its own seed.")] = 4,
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
    confidence: Annotated[float, typer.Option(
        "--confidence", min=0.5, max=0.999, help="Interval level.")] = 0.95,
) -> None:
    """Run a scenario; print a summary and write the report folder.

    A horizon of a week or more runs in month mode (sampled windows, each
    figure with its 95% interval) unless --exact is given.
    """
    from simulator.report import check_out_dir, write_report

    _configure_logging(log_level)
    if exact and month:
        raise SimulatorError("--exact and --month: choose one")
    if (exact or month) and (replications > 1 or dask is not None):
        raise SimulatorError(
            f"--{'exact' if exact else 'month'} with --replications {replications}: "
            "replications run every call of short horizons; month mode has its "
            "own --month-replications")
    if replications > 1 or dask is not None:
        _run_replications(scenario_file, out_dir, seed, overrides or [], trace,
                          replications, workers, dask, confidence)
        return
    scenario = load_scenario(scenario_file, overrides or [], seed, trace)
    folder = out_dir or Path("reports") / scenario.name
    check_out_dir(folder)
    if scenario.timeline is not None:
        if exact or month:
            raise SimulatorError(
                f"--{'exact' if exact else 'month'}: a timeline simulates "
                "representative days of each month; drop the option")
        _run_timeline(scenario, folder, workers or DEFAULT_WORKERS)
        return
    if month or (not exact and _wants_month_mode(scenario)):
        return _run_month(scenario, folder, month_replications,
                          workers or DEFAULT_WORKERS)
    _warn_if_large(scenario)
    with _LazyProgress(scenario.name) as progress:
        result = simulator.simulate(scenario, progress=progress.update)
    summary = simulator.summarize(result)

    write_report(result, summary, folder,
                 dump_resolved(scenario, simulator.__version__))
    _print_summary(summary)
    out.print(f"report: {folder}/report.html (simulated in {result.wall_s:.1f} s)")


MONTH_MODE_FROM_S = 7 * 86_400


def _wants_month_mode(scenario: Scenario) -> bool:
    """Month mode by default: a week or more of rate-model arrivals, no autoscaling."""
    autoscaled = any(getattr(b, "autoscale", None) is not None
                     for b in scenario.backends.values())
    return (scenario.horizon_s >= MONTH_MODE_FROM_S
            and scenario.arrivals.kind != "trace" and not autoscaled)


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
        return f"{seconds / 86_400:,.4g} days"
    return f"{seconds / 3600:,.4g} hours"


def _run_month(scenario: Scenario, folder: Path, replications: int,
               workers: int) -> None:
    """Month mode: estimate, print the headline figures, write the report."""
    from simulator.month import check_month_mode, estimate_month
    from simulator.report import write_folder
    from simulator.report.month import interval_text, write_month_files

    check_month_mode(scenario)
    err.print(f"month mode: {_span(scenario.horizon_s)} estimated from "
              f"sampled windows x {replications} replications on {workers} "
              "process(es) (--exact simulates every call)", highlight=False)
    estimate = estimate_month(scenario, replications=replications, workers=workers)
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
              f"day type; {method['quiet_hours']} quiet hours screened)")
    for warning in estimate.warnings:
        err.print(f"warning: {warning}", markup=False, highlight=False)
    out.print(f"report: {folder}/report.html (estimated in {estimate.wall_s:.1f} s)")


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


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    try:
        app(args=argv, prog_name="flipsim")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


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


def _decimal(value: float):
    from decimal import Decimal

    return Decimal(repr(value))


def _configure_logging(level: str) -> None:
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise SimulatorError(f"--log-level: found {level!r}; allowed: debug, info, "
                             "warning, error")
    logging.basicConfig(level=numeric, format="%(levelname)s %(name)s: %(message)s")


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

WorkersOption = Annotated[int | None, typer.Option(
    "--workers", min=1, help="Local processes (default: all cores; 1 runs in this "
    "process).")]
DaskOption = Annotated[str | None, typer.Option(
    "--dask", help="Run on Dask: a scheduler tcp://host:port, or local for a "
    "cluster on this machine (127.0.0.1).")]
ReplicationsOption = Annotated[int, typer.Option(
    "--replications", "-r", min=1, max=10_000,
    help="Runs per point, on seeds derived from the scenario seed by name.")]
ConfidenceOption = Annotated[float, typer.Option(
    "--confidence", min=0.5, max=0.999, help="Level of the t-intervals.")]
OutOption = Annotated[Path | None, typer.Option(
    "--out", help="Output folder (default reports/<scenario>-<command>); "
    "rerunning into it resumes.")]


def _run_replications(scenario_file: Path, out_dir: Path | None, seed: int | None,
                      overrides: list[str], trace: Path | None, replications: int,
                      workers: int | None, dask: str | None,
                      confidence: float) -> None:
    from simulator.experiment.api import replicate
    from simulator.experiment.executors import check_dask
    from simulator.report.experiments import write_replications

    if trace is not None:
        raise SimulatorError("--trace: not available with --replications; set "
                             "arrivals.path with --set instead")
    scenario = load_scenario(scenario_file, overrides, seed)
    if scenario.timeline is not None or _wants_month_mode(scenario):
        raise SimulatorError(
            f"--replications {replications}: runs every call of every replication; "
            "a timeline or a horizon of a week or more already reports intervals "
            "(month mode: --month-replications), or shorten horizon_s with --set")
    check_dask(dask)
    folder = out_dir or Path("reports") / f"{scenario.name}-replications"
    _prepare_folder(folder, "replications", {"scenario": str(scenario_file),
                                            "overrides": overrides})
    with _ExperimentProgress("replications") as progress:
        result = replicate(scenario_file, replications, overrides, seed, confidence,
                           workers, dask, folder, progress.update)
    write_replications(result.table, result.summary, folder)
    table = Table(title=f"{scenario.name}: {replications} replications, "
                  f"{confidence:.0%} t-intervals")
    for heading in ("figure", "mean", f"± ({confidence:.0%})", "low", "high"):
        table.add_column(heading, justify="left" if heading == "figure" else "right")
    for _, row in result.summary.iterrows():
        if "." in row["metric"]:
            continue
        table.add_row(row["metric"], *(_figure(row[k]) for k in
                                       ("mean", "half_width", "low", "high")))
    out.print(table)
    _report_errors(result.table)
    out.print(f"tables: {folder}/replications.csv, replications_summary.csv "
              f"({result.stats.ran} runs, {result.stats.reused} reused)")


@app.command()
@_bad_input_exits_2
def compare(
    scenario_files: Annotated[list[Path], typer.Argument(
        help="Scenario files; the first is the baseline.")],
    variants: Annotated[list[str] | None, typer.Option(
        "--variant", help="name:path=value[,path=value]: a variant of the first "
        "scenario (repeatable).")] = None,
    replications: ReplicationsOption = 5,
    seed: SeedOption = None,
    overrides: SetOption = None,
    independent: Annotated[bool, typer.Option(
        "--independent", help="Give each scenario its own seeds (no common random "
        "numbers).")] = False,
    check_crn: Annotated[bool, typer.Option(
        "--check-crn", help="Also run independent seeds and report how much the "
        "common seeds narrow the intervals.")] = False,
    confidence: ConfidenceOption = 0.95,
    workers: WorkersOption = None,
    dask: DaskOption = None,
    out_dir: OutOption = None,
    log_level: LogOption = "warning",
) -> None:
    """Compare scenarios (or variants of one) on the same random numbers."""
    from simulator.experiment.api import compare_variants
    from simulator.experiment.compare import run_compare
    from simulator.experiment.executors import check_dask
    from simulator.report.experiments import (
        comparison_markdown,
        write_comparison,
    )

    _configure_logging(log_level)
    if len(scenario_files) + len(variants or []) < 2:
        raise SimulatorError("compare: give two or more scenario files, or one and "
                             "--variant name:path=value")
    for path in scenario_files:
        load_scenario(path, overrides or [])
    chosen = compare_variants(scenario_files, variants, overrides or [])
    check_dask(dask)
    names = "-vs-".join(p.stem for p in scenario_files[:2])
    folder = out_dir or Path("reports") / f"compare-{names}"
    _prepare_folder(folder, "compare", {"scenarios": [str(p) for p in scenario_files],
                                       "variants": variants or []})
    with _ExperimentProgress("compare") as progress:
        result = run_compare(chosen, replications, seed, confidence, workers, dask,
                             independent, check_crn, folder, progress.update)
    written = write_comparison(result, folder)
    _print_markdown_tables(comparison_markdown(result))
    _report_errors(result.table)
    out.print(f"report: {written[-1]} ({result.stats.ran} runs, "
              f"{result.stats.reused} reused)")


@app.command()
@_bad_input_exits_2
def sweep(
    scenario_file: Annotated[Path | None, typer.Argument(
        help="Scenario YAML file (or give --spec).")] = None,
    grid: Annotated[list[str] | None, typer.Option(
        "--grid", help="path=v1,v2,...: values of a field (repeatable; the grid "
        "is their product).")] = None,
    ranges: Annotated[list[str] | None, typer.Option(
        "--range", help="path=lo..hi: a range for --random draws (repeatable).")
    ] = None,
    random: Annotated[int, typer.Option(
        "--random", min=0, max=100_000, help="Draw N points uniformly from the "
        "--range ranges.")] = 0,
    spec_file: Annotated[Path | None, typer.Option(
        "--spec", help="A sweep spec YAML (scenario, grid, ranges, random, "
        "replications, seed, set, target).")] = None,
    target: Annotated[str | None, typer.Option(
        "--target", help="metric<=value (or <, >=, >): mark the points whose "
        "interval meets it.")] = None,
    replications: Annotated[int | None, typer.Option(
        "--replications", "-r", min=1, max=10_000, help="Runs per point.")] = None,
    seed: SeedOption = None,
    overrides: SetOption = None,
    confidence: Annotated[float | None, typer.Option(
        "--confidence", min=0.5, max=0.999,
        help="Level of the t-intervals (default 0.95).")] = None,
    workers: WorkersOption = None,
    dask: DaskOption = None,
    out_dir: OutOption = None,
    log_level: LogOption = "warning",
) -> None:
    """Run a grid (and random draws) of scenario fields; tables and charts."""
    import dataclasses

    from simulator.experiment.executors import check_dask
    from simulator.experiment.spec import read_spec
    from simulator.experiment.sweep import (
        SweepSpec,
        parse_grid,
        parse_ranges,
        plan_sweep,
        run_sweep,
    )
    from simulator.report.experiments import write_sweep

    _configure_logging(log_level)
    spec = read_spec(spec_file) if spec_file is not None else None
    if spec is None and scenario_file is None:
        raise SimulatorError("sweep: give a scenario file or --spec FILE")
    spec = spec or SweepSpec(scenario_file)
    spec = dataclasses.replace(
        spec, scenario=scenario_file or spec.scenario,
        grid={**spec.grid, **parse_grid(grid or [])},
        ranges={**spec.ranges, **parse_ranges(ranges or [])},
        random=random or spec.random,
        replications=replications or spec.replications,
        overrides=(*spec.overrides, *(overrides or [])),
        seed=seed if seed is not None else spec.seed,
        confidence=confidence if confidence is not None else spec.confidence,
        target=target or spec.target)
    if spec.target is not None:
        from simulator.experiment.sizing import parse_target

        parse_target(spec.target)
    if not spec.grid and not spec.random:
        raise SimulatorError("sweep: give at least one --grid path=v1,v2 or "
                             "--random N with --range path=lo..hi")
    if spec.random and not spec.ranges:
        raise SimulatorError("--random: give the ranges with --range path=lo..hi")
    scenario = load_scenario(spec.scenario, list(spec.overrides))
    plan = plan_sweep(spec)  # every point and the target, before any file
    check_dask(dask)
    folder = out_dir or Path("reports") / f"{scenario.name}-sweep"
    _prepare_folder(folder, "sweep", {"spec": dataclasses.asdict(spec)})
    with _ExperimentProgress("sweep") as progress:
        result = run_sweep(spec, workers, dask, folder, progress.update, plan)
    written = write_sweep(result, folder)
    _print_sweep(result)
    _report_errors(result.table)
    out.print(f"tables: {folder}/results.csv, results.parquet, summary.csv; "
              f"report: {written[3]} ({result.stats.ran} runs, "
              f"{result.stats.reused} reused)")


@app.command()
@_bad_input_exits_2
def sensitivity(
    scenario_file: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    params: Annotated[list[str] | None, typer.Option(
        "--param", help="path (moved by --delta) or path=lo..hi: an input to add "
        "or override (repeatable).")] = None,
    delta: Annotated[float, typer.Option(
        "--delta", help="Relative move of each found input, low and high.")] = 0.25,
    metrics: Annotated[list[str] | None, typer.Option(
        "--metric", help="Figures to rank by (default monthly_bill_usd and "
        "p95_task_latency_s; repeatable).")] = None,
    replications: ReplicationsOption = 3,
    seed: SeedOption = None,
    overrides: SetOption = None,
    confidence: ConfidenceOption = 0.95,
    workers: WorkersOption = None,
    dask: DaskOption = None,
    out_dir: OutOption = None,
    log_level: LogOption = "warning",
) -> None:
    """Tornado: each uncertain input moved low and high, ranked by its effect."""
    from simulator.experiment.api import sensitivity as run_sensitivity
    from simulator.experiment.executors import check_dask
    from simulator.experiment.sensitivity import plan_sensitivity
    from simulator.report.experiments import write_sensitivity

    _configure_logging(log_level)
    scenario = load_scenario(scenario_file, overrides or [])
    plan_sensitivity(scenario_file, params, delta, metrics, replications,
                     tuple(overrides or []), seed)
    check_dask(dask)
    folder = out_dir or Path("reports") / f"{scenario.name}-sensitivity"
    _prepare_folder(folder, "sensitivity", {"scenario": str(scenario_file),
                                           "params": params or [], "delta": delta})
    with _ExperimentProgress("sensitivity") as progress:
        result = run_sensitivity(scenario_file, params, delta, metrics, replications,
                                 overrides or [], seed, confidence, workers, dask,
                                 folder, progress.update)
    written = write_sensitivity(result, folder)
    for metric in result.metrics:
        table = Table(title=f"swing of {metric}")
        for heading in ("input", "low / high", "at low", "at high", "swing"):
            table.add_column(heading, justify="left" if heading == "input"
                             else "right")
        for _, row in result.swings[result.swings["metric"] == metric].iterrows():
            table.add_row(row["input"], f"{row['low_value']} / {row['high_value']}",
                          *(_figure(row[k]) for k in ("at_low", "at_high", "swing")))
        out.print(table)
    _report_errors(result.table)
    out.print(f"report: {written[2]}, tornado: {folder}/tornado.png")


@app.command()
@_bad_input_exits_2
def size(
    scenario_file: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    target: Annotated[str, typer.Option(
        "--target", help="metric<=value (or <, >=, >), e.g. p95_task_latency_s<=30 "
        "or mean_tool_wait_s<=0.2.")],
    vary: Annotated[list[str], typer.Option(
        "--vary", help="path=lo..hi or path=v1,v2: whole-number field to search; "
        "the last is bisected, earlier ones enumerated (repeatable).")],
    cost: Annotated[str, typer.Option(
        "--cost", help="Figure to minimise.")] = "monthly_bill_usd",
    replications: ReplicationsOption = 5,
    seed: SeedOption = None,
    overrides: SetOption = None,
    confidence: ConfidenceOption = 0.95,
    workers: WorkersOption = None,
    dask: DaskOption = None,
    out_dir: OutOption = None,
    log_level: LogOption = "warning",
) -> None:
    """The cheapest configuration meeting a target, with stated confidence."""
    from simulator.experiment.api import size as run_size
    from simulator.experiment.executors import check_dask
    from simulator.experiment.sizing import check_sizing, parse_dimension, parse_target
    from simulator.report.experiments import sizing_lines, write_sizing

    _configure_logging(log_level)
    goal = parse_target(target)
    dimensions = [parse_dimension(v) for v in vary]
    scenario = load_scenario(scenario_file, overrides or [])
    goal, cost = check_sizing(scenario_file, goal, dimensions, cost,
                              tuple(overrides or []))
    check_dask(dask)
    folder = out_dir or Path("reports") / f"{scenario.name}-size"
    _prepare_folder(folder, "size", {"scenario": str(scenario_file), "target": target,
                                    "vary": vary})
    with _ExperimentProgress("size") as progress:
        result = run_size(scenario_file, goal, dimensions, replications, confidence,
                          cost, overrides or [], seed, workers, dask, folder,
                          progress.update)
    written = write_sizing(result, folder)
    for line in sizing_lines(result):
        out.print(line, markup=False, highlight=False)
    _report_errors(result.table)
    out.print(f"report: {written[2]}, frontier: {folder}/frontier.png")


def _print_sweep(result: object) -> None:
    from simulator.experiment.tables import measured_metrics

    metrics = measured_metrics(result.table, ("monthly_bill_usd", "usd_per_task",
                                              "p95_task_latency_s",
                                              "gpu_utilisation_frac",
                                              "mean_tool_wait_s"))
    table = Table(title=f"sweep: {len(result.summary)} points x "
                  f"{result.spec.replications} replications (mean ± half-width)")
    marks = "meets_target" in result.summary
    for heading in [*result.params, *metrics, *(["meets target"] if marks else [])]:
        table.add_column(heading, justify="right", overflow="fold")
    for _, row in result.summary.iterrows():
        table.add_row(*[str(row[p]) for p in result.params],
                      *[_figure(row[f"{m}_mean"]) + (
                          "" if row[f"{m}_half_width"] != row[f"{m}_half_width"]
                          else f" ± {_figure(row[f'{m}_half_width'])}")
                        for m in metrics],
                      *([("yes" if row["meets_target"] else "no")] if marks else []))
    out.print(table)


def _print_markdown_tables(lines: list[str]) -> None:
    for line in lines:
        out.print(line, markup=False, highlight=False, soft_wrap=True)


def _report_errors(table: object) -> None:
    failed = table[table["error"] != ""]
    for _, row in failed.iterrows():
        err.print(f"error: point {row['label'] or '(base)'} replication "
                  f"{row['replication']}: {row['error']}", markup=False,
                  highlight=False, soft_wrap=True)


def _figure(value: float) -> str:
    if value != value:  # NaN: no value
        return "-"
    size = abs(value)
    if size >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.3f}" if size >= 1 else f"{value:.4g}"


class _ExperimentProgress:
    """A progress bar with ETA over the points of an experiment, on a terminal."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Progress | None = None
        self.task = None

    def update(self, done: int, total: int) -> None:
        """Called as points finish."""
        if self.bar is None:
            if not err.is_terminal or total == 0:
                return
            self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                TextColumn("{task.completed}/{task.total} runs"),
                                TimeRemainingColumn(), console=err, transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=total)
        self.bar.update(self.task, completed=done, total=total)

    def __enter__(self) -> _ExperimentProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.bar is not None:
            self.bar.stop()
