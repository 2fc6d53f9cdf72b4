"""Write a run's report folder: the only code in flipsim that writes files.

write_report() puts summary.json, scenario.resolved.yaml, the per-record CSV
tables, the chart PNGs, report.md and a self-contained report.html into a
fresh hidden sibling of the output folder, then swaps it in by renames. A
crash part-way leaves the previous report as it was and no staging folder.
Same run and summary give byte-identical files.
An existing folder is replaced only if everything in it is a file flipsim
writes and its summary.json names a flipsim version; anything else is refused.
Limitations: the swap is two renames, so for an instant the folder is absent;
a killed process (SIGKILL) can leave a hidden `.NAME.*.tmp` sibling behind.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from simulator.errors import SimulatorError
from simulator.records import RunResult
from simulator.report.document import SCENARIO_FILE, SUMMARY_FILE, build_document
from simulator.report.figures import CHARTS, write_charts
from simulator.report.records import RECORD_FILES, write_record_tables
from simulator.report.render import render_html, render_markdown

logger = logging.getLogger(__name__)

MARKDOWN_FILE = "report.md"
HTML_FILE = "report.html"
MAX_NAME_BYTES = 200


def write_report(run: RunResult, summary: dict, out_dir: Path,
                 resolved_yaml: str) -> list[Path]:
    """Write every report file into `out_dir`, replacing it whole; return paths.

    Raises:
        SimulatorError: `out_dir` is a file, or a non-empty folder that is not
            a flipsim report (it has no summary.json), so it is left alone.
    """
    return write_folder(out_dir, lambda staging: write_files(
        run, summary, staging, resolved_yaml))


def write_timeline_report(summary: dict, out_dir: Path, resolved_yaml: str
                          ) -> list[Path]:
    """Write a timeline's report (story, charts, periods.csv) into `out_dir`."""
    from simulator.report.timeline_writer import write_timeline_files

    return write_folder(out_dir, lambda staging: write_timeline_files(
        summary, staging, resolved_yaml))


def write_folder(out_dir: Path, write_into: Callable[[Path], list[str]]
                 ) -> list[Path]:
    """Let `write_into` fill a fresh staging folder, then swap it in for
    `out_dir` (see write_report); return the paths written."""
    started = time.perf_counter()
    out_dir = Path(os.path.abspath(out_dir))  # a name to rename, even for "."
    check_out_dir(out_dir)
    created = [p for p in reversed(out_dir.parents) if not os.path.lexists(p)]
    staging = None
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = _fresh_sibling(out_dir, "tmp", create=True)
        names = write_into(staging)
        _swap_in(staging, out_dir)
    except BaseException as exc:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        for parent in reversed(created):
            _remove_if_empty(parent)
        if isinstance(exc, OSError):
            raise SimulatorError(f"--out {out_dir}: cannot write the report there "
                                 f"({exc.strerror or exc})") from None
        raise
    logger.info("wrote report %s: %d files in %.2fs", out_dir, len(names),
                time.perf_counter() - started)
    return [out_dir / name for name in names]


def write_files(run: RunResult, summary: dict, directory: Path,
                resolved_yaml: str) -> list[str]:
    """Write the report's files into an existing folder; return their names."""
    _write_text(directory / SUMMARY_FILE,
                json.dumps(summary, indent=2, sort_keys=False) + "\n")
    _write_text(directory / SCENARIO_FILE, resolved_yaml)
    tables = write_record_tables(run, directory)
    charts = write_charts(run, summary, directory)

    blocks = build_document(run, summary, charts)
    _write_text(directory / MARKDOWN_FILE, render_markdown(blocks))
    images = {chart.file_name: (directory / chart.file_name).read_bytes()
              for chart in charts}
    _write_text(directory / HTML_FILE, render_html(blocks, images))
    return [SUMMARY_FILE, SCENARIO_FILE, *(path.name for path in tables),
            *(chart.file_name for chart in charts), MARKDOWN_FILE, HTML_FILE]


def report_file_names() -> set[str]:
    """Every file name a report folder may hold (of a run, a month-mode run or
    a timeline)."""
    from simulator.report.month import MONTH_FILES
    from simulator.report.timeline_document import PERIODS_FILE
    from simulator.report.timeline_figures import TIMELINE_CHARTS

    return {SUMMARY_FILE, SCENARIO_FILE, MARKDOWN_FILE, HTML_FILE, *RECORD_FILES,
            *(chart.file_name for chart in CHARTS), PERIODS_FILE,
            *(chart.file_name for chart in TIMELINE_CHARTS), *MONTH_FILES}


def check_out_dir(out_dir: Path) -> None:
    """Refuse, before anything runs, an output path flipsim must not replace."""
    out_dir = Path(os.path.abspath(out_dir))
    for parent in out_dir.parents:
        if os.path.lexists(parent) and not parent.is_dir():
            raise SimulatorError(f"--out {out_dir}: {parent} is a file, not a folder")
    if len(out_dir.name.encode()) > MAX_NAME_BYTES:
        raise SimulatorError(f"--out {out_dir}: the folder name is longer than "
                             f"{MAX_NAME_BYTES} bytes")
    here = Path.cwd().resolve()
    if out_dir == here or out_dir in here.parents:
        raise SimulatorError(f"--out {out_dir}: is the current folder or holds it; "
                             "choose a folder of its own")
    if not os.path.lexists(out_dir):
        return
    if out_dir.is_symlink() or not out_dir.is_dir():
        raise SimulatorError(f"--out {out_dir}: exists and is not a folder; choose "
                             "another output path")
    foreign = sorted(p.name for p in out_dir.iterdir()
                     if p.name not in report_file_names() or not p.is_file())
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise SimulatorError(f"--out {out_dir}: holds files flipsim did not write "
                             f"({shown}); refusing to replace it")
    if any(out_dir.iterdir()) and not _is_flipsim_summary(out_dir / SUMMARY_FILE):
        raise SimulatorError(f"--out {out_dir}: its {SUMMARY_FILE} was not written "
                             "by flipsim; refusing to replace it")


def _is_flipsim_summary(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "flipsim_version" in data


def _remove_if_empty(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass


def _fresh_sibling(out_dir: Path, suffix: str, create: bool) -> Path:
    """A new hidden path next to `out_dir`; created as a folder if asked."""
    while True:
        path = out_dir.with_name(f".{out_dir.name}.{os.getpid()}."
                                 f"{secrets.token_hex(4)}.{suffix}")
        if os.path.lexists(path):
            continue
        if create:
            path.mkdir()
        return path


def _swap_in(staging: Path, out_dir: Path) -> None:
    """Move `staging` to `out_dir`; the old folder goes only once that worked."""
    if not os.path.lexists(out_dir):
        os.replace(staging, out_dir)
        return
    old = _fresh_sibling(out_dir, "old", create=False)
    os.replace(out_dir, old)
    try:
        os.replace(staging, out_dir)
    except BaseException:
        os.replace(old, out_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _write_text(path: Path, text: str) -> None:
    """UTF-8 text with Unix line ends, whatever the platform."""
    path.write_text(text, encoding="utf-8", newline="\n")


__all__ = ["HTML_FILE", "MARKDOWN_FILE", "check_out_dir", "report_file_names",
           "write_files", "write_report", "write_timeline_report"]
