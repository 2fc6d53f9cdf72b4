"""What every flipsim command shares: the Typer app, the consoles, the option
types, the rule that bad input exits with code 2 and leaves nothing behind,
the progress bar of long runs, and money as the tables show it.
"""

from __future__ import annotations

import functools
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

from simulator.economics.pricing import format_usd
from simulator.errors import SimulatorError
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
err = Console(stderr=True, soft_wrap=True)  # messages stay one line each

SetOption = Annotated[list[str] | None, typer.Option(
    "--set", help="Override a scenario field: dotted.path=value (repeatable).")]
SeedOption = Annotated[int | None, typer.Option(
    "--seed", min=0, help="Seed for every random stream (overrides the scenario).")]
LogOption = Annotated[str, typer.Option(
    "--log-level", help="debug, info, warning or error.")]


MONTH_MODE_FROM_S = 7 * 86_400


def _wants_month_mode(scenario: Scenario) -> bool:
    """Month mode by default: a week or more of rate-model arrivals, no autoscaling."""
    autoscaled = any(getattr(b, "autoscale", None) is not None
                     for b in scenario.backends.values())
    return (scenario.horizon_s >= MONTH_MODE_FROM_S
            and scenario.arrivals.kind != "trace" and not autoscaled)


def _decimal(value: float):
    from decimal import Decimal

    return Decimal(repr(value))


def _configure_logging(level: str) -> None:
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise SimulatorError(f"--log-level: found {level!r}; allowed: debug, info, "
                             "warning, error")
    logging.basicConfig(level=numeric, format="%(levelname)s %(name)s: %(message)s")


def _usd(value: float | None) -> str:
    return "-" if value is None else format_usd(_decimal(value))


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
