"""The `flipsim` commands that run one scenario or inspect it: run (exact,
month mode, timeline, replications), validate, prices, serve and schema.
"""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

import simulator
from simulator.cli.common import (
    DEFAULT_WORKERS,
    LogOption,
    SeedOption,
    SetOption,
    _bad_input_exits_2,
    _configure_logging,
    _decimal,
    _LazyProgress,
    _usd,
    _wants_month_mode,
    app,
    err,
    out,
)
from simulator.cli.modes import _run_month, _run_timeline, _warn_if_large
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
        "--exact", help="Simulate every call, even for a horizon of a week or "
        "more (the reference for month mode): vectorised when no task can make "
        "another wait, else event by event.")] = False,
    month: Annotated[bool, typer.Option(
        "--month", help="Estimate from sampled windows (month mode), even for a "
        "horizon shorter than a week.")] = False,
    event_by_event: Annotated[bool, typer.Option(
        "--event-by-event", help="An exact run (as --exact) without the "
        "vectorised shortcut taken when no task can make another wait (the "
        "same records; to check it, or to time SimPy).")] = False,
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
    if event_by_event and (month or month_replications is not None):
        given = "--month" if month else "--month-replications"
        raise SimulatorError(f"--event-by-event and {given}: an event-by-event run "
                             "is exact, never month mode (whose windows always run "
                             "event by event); drop one")
    replicating = replications > 1 or dask is not None
    asked = "--dask" if dask is not None else f"--replications {replications}"
    if event_by_event and replicating:
        raise SimulatorError(f"--event-by-event with {asked}: replications take "
                             "the shortcut whenever it applies; drop one")
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
        if exact or month or month_replications is not None or event_by_event:
            given = ("--exact" if exact else "--month" if month
                     else "--event-by-event" if event_by_event
                     else "--month-replications")
            raise SimulatorError(f"{given}: a timeline simulates representative "
                                 "days of each month; drop the option")
        _run_timeline(scenario, folder, workers or DEFAULT_WORKERS)
        return
    fallback = None
    if month or (not exact and not event_by_event and _wants_month_mode(scenario)):
        fallback = _run_month(scenario, folder,
                              month_replications or DEFAULT_REPLICATIONS,
                              workers or DEFAULT_WORKERS, forced=month)
        if fallback is None:
            return
    elif month_replications is not None:
        raise SimulatorError("--month-replications: only for month mode (--month, "
                             "or a horizon of a week or more)")
    _warn_if_large(scenario, "--event-by-event" if event_by_event else "--exact")
    with _LazyProgress(scenario.name) as progress:
        result = simulator.simulate(scenario, progress=progress.update,
                                    event_by_event=event_by_event)
    summary = simulator.summarize(result)
    if fallback is not None:
        summary["warnings"].insert(0, fallback)

    write_report(result, summary, folder,
                 dump_resolved(scenario, simulator.__version__))
    _print_summary(summary)
    out.print(f"report: {folder}/report.html (simulated {result.path} in "
              f"{result.wall_s:.2f} s)")


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


def _pct(entry: dict) -> str:
    if entry["value"] is None:
        return "-"
    return f"{entry['value']:.1f}" + ("*" if entry["too_few_samples"] else "")
