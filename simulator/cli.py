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


def _bad_input_exits_2(command: Callable) -> Callable:
    """Turn a SimulatorError into its lines on stderr and exit code 2."""

    @functools.wraps(command)
    def wrapper(*args: object, **kwargs: object) -> object:
        """The command, with bad input turned into exit code 2."""
        try:
            return command(*args, **kwargs)
        except SimulatorError as exc:
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
    workers: Annotated[int, typer.Option(
        "--workers", min=1, max=64, help="Processes simulating a timeline's "
        "periods or month mode's windows at once (results do not depend on "
        "it).")] = DEFAULT_WORKERS,
) -> None:
    """Run a scenario; print a summary and write the report folder.

    A horizon of a week or more runs in month mode (sampled windows, each
    figure with its 95% interval) unless --exact is given.
    """
    from simulator.report import check_out_dir, write_report

    _configure_logging(log_level)
    if exact and month:
        raise SimulatorError("--exact and --month: choose one")
    scenario = load_scenario(scenario_file, overrides or [], seed, trace)
    folder = out_dir or Path("reports") / scenario.name
    check_out_dir(folder)
    if scenario.timeline is not None:
        _run_timeline(scenario, folder, workers)
        return
    if month or (not exact and _wants_month_mode(scenario)):
        return _run_month(scenario, folder, month_replications, workers)
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


def _run_month(scenario: Scenario, folder: Path, replications: int,
               workers: int) -> None:
    """Month mode: estimate, print the headline figures, write the report."""
    from simulator.month import check_month_mode, estimate_month
    from simulator.report import write_folder
    from simulator.report.month import interval_text, write_month_files

    check_month_mode(scenario)
    err.print(f"month mode: {scenario.horizon_s / 86_400:g} days estimated from "
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
    out.print(f"simulated {method['calls_simulated']:,} of "
              f"{method['calls_estimated_in_horizon']:,.0f} LLM calls "
              f"({method['busy_hours']} busy hours simulated, "
              f"{method['quiet_hours']} quiet hours screened)")
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
