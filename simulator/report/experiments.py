"""Write experiment folders: tables (CSV, Parquet), charts and a Markdown report.

An experiment folder holds `experiment.json` (what ran), `points.jsonl` (the
resume file, appended while points run) and the outputs, which are written
once every point is done, each to a temporary name and renamed into place.
CSV numbers carry at most 12 significant digits, which hides the last-digit
noise of float sums (14391.780000000001 is written 14391.78).
A folder is reused only if it is empty or holds an earlier experiment of
the same kind; anything else is refused. Tables are written from data that
does not depend on the executor, so the same experiment gives the same bytes.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulator.errors import SimulatorError
from simulator.experiment.headline import HEADLINE_LABELS
from simulator.experiment.store import POINTS_FILE
from simulator.experiment.tables import measured_metrics

MARKER_FILE = "experiment.json"
CSV_FLOAT_FORMAT = "%.12g"  # 14391.780000000001 prints as 14391.78
CHART_METRICS = ("monthly_bill_usd", "usd_per_task", "p50_task_latency_s",
                 "p95_task_latency_s", "p99_task_latency_s", "gpu_utilisation_frac",
                 "mean_gpu_wait_s", "mean_tool_wait_s")


def prepare_folder(folder: Path, kind: str, description: dict[str, Any]) -> None:
    """Create (or reopen) an experiment folder of this kind; refuse others."""
    if folder.exists() and not folder.is_dir():
        raise SimulatorError(f"--out {folder}: is a file; give a folder")
    marker = folder / MARKER_FILE
    if folder.is_dir() and any(folder.iterdir()):
        try:
            found = json.loads(marker.read_text(encoding="utf-8")).get("kind")
        except (OSError, ValueError, AttributeError):
            found = None
        if found != kind:
            raise SimulatorError(
                f"--out {folder}: holds files that are not a flipsim {kind} "
                f"(found {'no ' + MARKER_FILE if found is None else found!r}); "
                "give an empty or new folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _write_text(marker, json.dumps({"kind": kind, **description}, indent=2,
                                       sort_keys=True, default=str) + "\n")
    except OSError as exc:
        raise SimulatorError(f"--out {folder}: cannot write there "
                             f"({exc.strerror or exc})") from None


def write_sweep(result: Any, folder: Path) -> list[Path]:
    """results.csv/.parquet, summary.csv, sweep_<field>.png, sweep.md."""
    from simulator.report.experiment_figures import sweep_figure

    written = _tables(folder, {"results": result.table, "summary": result.summary})
    written.append(_parquet(result.table, folder / "results.parquet"))
    metrics = measured_metrics(result.table, CHART_METRICS)
    charts = []
    for field in result.params:
        others = [p for p in result.params if p != field]
        name = f"sweep_{_safe(field)}.png"
        _atomic(folder / name, lambda tmp, f=field, o=others: sweep_figure(
            result.summary, f, o, metrics, tmp))
        charts.append(name)
    lines = [f"# Sweep of {result.spec.scenario}", "",
             f"{len(result.summary)} points x {result.spec.replications} "
             f"replications; means with {result.spec.confidence:.0%} t-intervals.",
             *([f"Target: {result.spec.target} (at the far end of the interval)."]
               if result.spec.target else []),
             "", *_summary_markdown(result.summary, ["label"], metrics), "",
             *[f"![{c}]({c})" for c in charts], ""]
    written.append(_write_text(folder / "sweep.md", "\n".join(lines)))
    return written + [folder / c for c in charts]


def write_comparison(result: Any, folder: Path) -> list[Path]:
    """results.csv, side_by_side.csv, differences.csv, crn.csv (with the CRN
    check), differences.png, compare.md (last)."""
    from simulator.report.experiment_figures import differences_figure

    tables = {"results": result.table, "side_by_side": result.side_by_side,
              "differences": result.differences}
    if result.crn_check is not None:
        tables["crn"] = result.crn_check
    written = _tables(folder, tables)
    diff = result.differences
    metrics = [m for m in CHART_METRICS
               if np.isfinite(diff.loc[diff["metric"] == m, "difference_mean"]
                              .to_numpy(dtype=float)).any()]
    _atomic(folder / "differences.png", lambda tmp: differences_figure(
        diff, metrics, tmp))
    written.append(folder / "differences.png")
    lines = comparison_markdown(result) + ["", "![differences](differences.png)"]
    written.append(_write_text(folder / "compare.md", "\n".join(lines) + "\n"))
    return written


def comparison_markdown(result: Any) -> list[str]:
    """The comparison report as Markdown lines."""
    seeds = ("independent seeds per scenario (Welch intervals)" if result.independent
             else "common random numbers (the same seeds in every scenario; paired "
             "intervals)")
    lines = [f"# Comparison: {' vs '.join(result.names)}", "",
             f"{result.replications} replications each, {seeds}; "
             f"{result.confidence:.0%} t-intervals. Differences are each scenario "
             f"minus {result.names[0]}.", "", "## Side by side", ""]
    side = result.side_by_side
    headers = ["metric", *result.names]
    rows = [[_label(r["metric"]), *[_pm(r[f"{n}_mean"], r[f"{n}_half_width"])
                                    for n in result.names]]
            for _, r in side.iterrows() if _any_finite(r, result.names)]
    lines += _markdown_table(headers, rows) + ["", "## Differences", ""]
    diff = result.differences
    rows = [[r["variant"], _label(r["metric"]), _pm(r["difference_mean"],
                                                    r["half_width"]),
             _pct(r["relative_frac"])] for _, r in diff.iterrows()
            if math.isfinite(r["difference_mean"])]
    lines += _markdown_table(["scenario", "metric", "difference", "relative"], rows)
    if result.crn_check is not None:
        lines += ["", "## Common random numbers against independent seeds", "",
                  "Half-width of the difference interval when both scenarios run the "
                  "same seeds, and when each runs its own:", ""]
        rows = [[r["variant"], _label(r["metric"]), _num(r["crn_half_width"]),
                 _num(r["independent_half_width"]), _num(r["width_ratio"])]
                for _, r in result.crn_check.iterrows()]
        lines += _markdown_table(["scenario", "metric", "common seeds",
                                  "independent seeds", "ratio"], rows)
    return lines


def write_sizing(result: Any, folder: Path) -> list[Path]:
    """results.csv, evaluated.csv, frontier.png, sizing.md."""
    from simulator.report.experiment_figures import frontier_figure

    evaluated = result.evaluated.drop(columns=["order"])
    evaluated.insert(0, "label", [
        ", ".join(f"{'.'.join(d.path.split('.')[-2:])}={row[d.path]}"
                  for d in result.dimensions) for _, row in evaluated.iterrows()])
    written = _tables(folder, {"results": result.table, "evaluated": evaluated})
    best_index = None
    if result.best is not None:
        best_index = int(result.evaluated.index[
            result.evaluated["order"] == result.best["order"]][0])
    _atomic(folder / "frontier.png", lambda tmp: frontier_figure(
        evaluated, _label(result.target.metric), _label(result.cost_metric),
        result.target.value, best_index, tmp))
    lines = ["# Sizing", "", *sizing_lines(result), "", "## Configurations evaluated",
             ""]
    headers = ["configuration", "metric", "bound", "cost", "meets"]
    rows = [[r["label"], _pm(r["metric_mean"], r["metric_half_width"]),
             _num(r["metric_bound"]), _num(r["cost_mean"]),
             "yes" if r["meets_target"] else "no"] for _, r in evaluated.iterrows()]
    lines += _markdown_table(headers, rows) + ["", "![frontier](frontier.png)", ""]
    written.append(_write_text(folder / "sizing.md", "\n".join(lines)))
    return written + [folder / "frontier.png"]


def sizing_lines(result: Any) -> list[str]:
    """The answer of a sizing search in words."""
    side = "upper" if result.target.op in ("<=", "<") else "lower"
    lines = [f"Target: {result.target} at the {side} end of the "
             f"{result.confidence:.0%} t-interval over {result.replications} "
             f"replications; cost: mean {result.cost_metric}.",
             f"Evaluated {len(result.evaluated)} configurations "
             f"({result.stats.ran} runs, {result.stats.reused} reused)."]
    if result.best is None:
        return lines + result.notes
    best = result.best
    choice = ", ".join(f"{d.path}={best[d.path]}" for d in result.dimensions)
    return lines + [f"Cheapest meeting the target: {choice}: {result.target.metric} "
                    f"{_pm(best['metric_mean'], best['metric_half_width'])} "
                    f"(bound {_num(best['metric_bound'])}), "
                    f"{result.cost_metric} "
                    f"{_pm(best['cost_mean'], best['cost_half_width'])}."]


def write_sensitivity(result: Any, folder: Path) -> list[Path]:
    """results.csv, swings.csv, tornado.png, sensitivity.md."""
    from simulator.report.experiment_figures import tornado_figure

    written = _tables(folder, {"results": result.table, "swings": result.swings})
    _atomic(folder / "tornado.png", lambda tmp: tornado_figure(
        result.swings, result.metrics, tmp))
    lines = ["# Sensitivity", "", "Each input moved to its low and high value, the "
             "rest at base, on the same seeds.", ""]
    for metric in result.metrics:
        rows = result.swings[result.swings["metric"] == metric]
        lines += [f"## {_label(metric)}", ""]
        lines += _markdown_table(
            ["rank", "input", "low / high", "at low", "at high", "swing"],
            [[f"{int(r['rank'])}", r["input"], f"{r['low_value']} / {r['high_value']}",
              _num(r["at_low"]), _num(r["at_high"]), _num(r["swing"])]
             for _, r in rows.iterrows()]) + [""]
    lines.append("![tornado](tornado.png)\n")
    written.append(_write_text(folder / "sensitivity.md", "\n".join(lines)))
    return written + [folder / "tornado.png"]


def write_replications(table: pd.DataFrame, summary: pd.DataFrame,
                       folder: Path) -> list[Path]:
    """replications.csv (one row per replication) and replications_summary.csv."""
    return _tables(folder, {"replications": table,
                            "replications_summary": summary})


def _summary_markdown(summary: pd.DataFrame, keys: list[str], metrics: list[str]
                      ) -> list[str]:
    marks = "meets_target" in summary
    headers = [*keys, *[_label(m) for m in metrics], *(["meets target"] if marks
                                                       else [])]
    rows = [[*[str(r[k]) for k in keys],
             *[_pm(r[f"{m}_mean"], r[f"{m}_half_width"]) for m in metrics],
             *([("yes" if r["meets_target"] else "no")] if marks else [])]
            for _, r in summary.iterrows()]
    return _markdown_table(headers, rows)


def _markdown_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    def line(cells: list[str]) -> str:
        """One table row, pipes in cells escaped."""
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    return [line(headers), line(["---"] * len(headers)), *map(line, rows)]


def _tables(folder: Path, tables: dict[str, pd.DataFrame]) -> list[Path]:
    paths = []
    for name, frame in tables.items():
        path = folder / f"{name}.csv"
        _atomic(path, lambda tmp, f=frame: _csv_ready(f).to_csv(
            tmp, index=False, float_format=CSV_FLOAT_FORMAT))
        paths.append(path)
    return paths


def _csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Floats inside text columns formatted as the float columns are."""
    frame = frame.copy()
    for name in frame.columns:
        if frame[name].dtype.kind != "O":
            continue
        frame[name] = frame[name].map(
            lambda v: CSV_FLOAT_FORMAT % v
            if isinstance(v, float) and math.isfinite(v) else v)
    return frame


def _parquet(frame: pd.DataFrame, path: Path) -> Path:
    _atomic(path, lambda tmp: frame.to_parquet(tmp, index=False, engine="pyarrow"))
    return path


def _atomic(path: Path, write: Any) -> None:
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise SimulatorError(f"--out {path.parent}: cannot write {path.name} "
                             f"({exc.strerror or exc})") from None


def _write_text(path: Path, text: str) -> Path:
    _atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return path


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _label(metric: str) -> str:
    return HEADLINE_LABELS.get(metric, metric)


def _num(value: float) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    size = abs(value)
    if size >= 1000:
        return f"{value:,.0f}"
    if size >= 1:
        return f"{value:,.3f}"
    return f"{value:.4g}"


def _pm(mean: float, half: float) -> str:
    if not math.isfinite(mean):
        return "-"
    return _num(mean) + ("" if not math.isfinite(half) else f" ± {_num(half)}")


def _pct(frac: float) -> str:
    return "-" if not math.isfinite(frac) else f"{frac:+.1%}"


def _any_finite(row: pd.Series, names: list[str]) -> bool:
    return any(math.isfinite(row[f"{n}_mean"]) for n in names)


__all__ = ["POINTS_FILE", "prepare_folder", "write_comparison", "write_sensitivity",
           "write_sizing", "write_sweep"]
