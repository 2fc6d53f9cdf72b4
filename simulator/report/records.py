"""Per-record CSV tables: calls.csv, tasks.csv and tool_calls.csv.

One row per record of the run, columns in the engine's order, integer codes
replaced by names, then derived columns: `latency_s`, `ttft_s` and `cost_usd`.
Money is written exactly (pico-USD as a 12-decimal USD string), times with
Python's shortest round-trip float repr; an unknown time (a task still in
flight) is an empty cell. Same records give byte-identical files.
Limitations: CSV only (no Parquet); a cost is pinned to the task or call,
never spread over time.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from simulator.economics.bill import task_costs_pusd
from simulator.economics.pricing import PICO_PER_USD, backend_rates, call_costs_pusd
from simulator.metrics import window_view
from simulator.records import CALL_STATUSES, FAIL_REASONS, TASK_STATUSES, RunResult
from simulator.scenario.workflow import STEP_KINDS

logger = logging.getLogger(__name__)

CALLS_FILE = "calls.csv"
TASKS_FILE = "tasks.csv"
TOOL_CALLS_FILE = "tool_calls.csv"
RECORD_FILES = (CALLS_FILE, TASKS_FILE, TOOL_CALLS_FILE)
TIME_DIGITS = 9  # derived durations rounded to the nanosecond


def write_record_tables(run: RunResult, directory: Path) -> list[Path]:
    """Write the three record tables into `directory`; return their paths."""
    paths = [
        _write_csv(directory / CALLS_FILE, calls_columns(run)),
        _write_csv(directory / TASKS_FILE, tasks_columns(run)),
        _write_csv(directory / TOOL_CALLS_FILE, tool_calls_columns(run)),
    ]
    logger.debug("wrote %s", ", ".join(path.name for path in paths))
    return paths


def calls_columns(run: RunResult) -> dict[str, list]:
    """Cells of calls.csv, column by column."""
    calls = run.calls
    names = {"task_type": run.task_type_names, "backend": run.backend_names,
             "kind": STEP_KINDS, "status": CALL_STATUSES}
    columns = _named_columns(calls, names)

    requested = calls["requested_at"]
    columns["latency_s"] = _times(calls["finished_at"] - requested)
    columns["ttft_s"] = _times(calls["first_token_at"] - requested)
    rates = backend_rates(run.scenario)
    columns["cost_usd"] = usd_cells(call_costs_pusd(calls, rates))
    return columns


def tasks_columns(run: RunResult) -> dict[str, list]:
    """Cells of tasks.csv, column by column."""
    tasks = run.tasks
    names = {"task_type": run.task_type_names, "status": TASK_STATUSES,
             "reason": FAIL_REASONS}
    columns = _named_columns(tasks, names)

    columns["latency_s"] = _times(tasks["finished_at"] - tasks["arrived_at"])
    measured = tasks["arrived_at"] >= run.scenario.warmup_s
    columns["measured"] = np.where(measured, "true", "false").tolist()
    cells = [""] * len(measured)  # warm-up tasks are on no bill
    window_cells = usd_cells(task_costs_pusd(window_view(run)))
    for row, cell in zip(np.flatnonzero(measured).tolist(), window_cells,
                         strict=True):
        cells[row] = cell
    columns["cost_usd"] = cells
    return columns


def tool_calls_columns(run: RunResult) -> dict[str, list]:
    """Cells of tool_calls.csv, column by column."""
    tool_calls = run.tool_calls
    columns = _named_columns(tool_calls, {"tool": run.tool_names})
    columns["latency_s"] = _times(tool_calls["finished_at"]
                                  - tool_calls["requested_at"])
    return columns


def usd_cells(pusd: np.ndarray) -> list[str]:
    """Pico-USD integers as exact USD strings with 12 decimals."""
    cells = []
    for value in np.asarray(pusd).tolist():  # Python ints: exact at any size
        whole, fraction = divmod(abs(int(value)), PICO_PER_USD)
        cells.append(f"{'-' if value < 0 else ''}{whole}.{fraction:012d}")
    return cells


def _named_columns(records: dict[str, np.ndarray],
                   names: dict[str, Sequence[str]]) -> dict[str, list]:
    """Every record column as cells, codes replaced by names where known."""
    columns: dict[str, list] = {}
    for column, values in records.items():
        if column in names:
            lookup = np.asarray(list(names[column]) or [""], dtype=object)
            columns[column] = lookup[values.astype(np.intp)].tolist()
        elif values.dtype == np.bool_:
            columns[column] = np.where(values, "true", "false").tolist()
        elif values.dtype.kind == "f":
            columns[column] = _float_cells(values)
        else:
            columns[column] = values.tolist()
    return columns


def _times(seconds: np.ndarray) -> list:
    """Durations rounded to the nanosecond; NaN (unknown) as an empty cell."""
    return _float_cells(np.round(seconds, TIME_DIGITS))


def _float_cells(values: np.ndarray) -> list:
    """Floats as cells (csv writes their repr); NaN as an empty cell."""
    cells = values.astype(np.float64).tolist()
    if np.isnan(values).any():
        cells = ["" if value != value else value for value in cells]
    return cells


def _write_csv(path: Path, columns: dict[str, list]) -> Path:
    """Header then rows, written from whole columns."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(list(columns))
        writer.writerows(zip(*columns.values(), strict=True))
    return path
