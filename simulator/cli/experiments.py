"""The `flipsim` experiment commands: compare, sweep, sensitivity and size,
and `run --replications`; each checks all its input before it writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from simulator.cli.common import (
    LogOption,
    SeedOption,
    SetOption,
    _bad_input_exits_2,
    _configure_logging,
    _prepare_folder,
    _wants_month_mode,
    app,
    err,
    out,
)
from simulator.errors import SimulatorError
from simulator.scenario import load_scenario

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
        asked = "--dask" if dask is not None else f"--replications {replications}"
        raise SimulatorError(
            f"{asked}: runs every call of every replication; "
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
