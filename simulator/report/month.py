"""The report folder of a month-mode run: figures with intervals and the method.

Files: summary.json, scenario.resolved.yaml, figures.csv (every figure: mean,
95% interval, each replication's value), strata.csv (what was simulated and
what each stratum stands for), two charts, report.md and report.html. Same
scenario and seed give byte-identical files (wall times are printed, not
written).
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import numpy as np
from matplotlib.ticker import FuncFormatter

from simulator.month import MonthEstimate
from simulator.report.blocks import Block, Heading, Image, Paragraph, Table, money
from simulator.report.canvas import colour, new_figure, save_figure
from simulator.report.document import SCENARIO_FILE, SUMMARY_FILE
from simulator.report.render import render_html, render_markdown

FIGURES_FILE = "figures.csv"
STRATA_FILE = "strata.csv"
SPEND_CHART = "month_spend_by_task_type.png"
LATENCY_CHART = "month_latency_by_task_type.png"
MONTH_FILES = (FIGURES_FILE, STRATA_FILE, SPEND_CHART, LATENCY_CHART)


def write_month_files(estimate: MonthEstimate, summary: dict, directory: Path,
                      resolved_yaml: str) -> list[str]:
    """Write a month-mode report into an existing folder; return the names."""
    (directory / SUMMARY_FILE).write_text(
        json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (directory / SCENARIO_FILE).write_text(resolved_yaml, encoding="utf-8")
    (directory / FIGURES_FILE).write_text(_figures_csv(estimate), encoding="utf-8")
    (directory / STRATA_FILE).write_text(_strata_csv(estimate), encoding="utf-8")
    _spend_chart(estimate, directory / SPEND_CHART)
    _latency_chart(estimate, directory / LATENCY_CHART)
    blocks = _document(estimate)
    (directory / "report.md").write_text(render_markdown(blocks), encoding="utf-8")
    images = {name: (directory / name).read_bytes()
              for name in (SPEND_CHART, LATENCY_CHART)}
    (directory / "report.html").write_text(render_html(blocks, images),
                                           encoding="utf-8")
    return [SUMMARY_FILE, SCENARIO_FILE, FIGURES_FILE, STRATA_FILE, SPEND_CHART,
            LATENCY_CHART, "report.md", "report.html"]


def interval_text(entry: dict, show) -> str:
    """'mean (low-high)' of one figure, shown with `show`."""
    if entry["mean"] is None:
        return "-"
    if entry["ci95_low"] is None or math.isclose(entry["ci95_low"],
                                                 entry["ci95_high"], rel_tol=1e-9):
        return show(entry["mean"])
    return f"{show(entry['mean'])} ({show(entry['ci95_low'])} to " \
           f"{show(entry['ci95_high'])})"


def _usd(value: float) -> str:
    return money(round(value, 2)) if abs(value) >= 1 else f"${value:.4f}"


def _secs(value: float) -> str:
    return f"{value:,.1f} s" if value < 100 else f"{value:,.0f} s"


def _frac(value: float) -> str:
    return f"{100 * value:.1f}%"


def _count(value: float) -> str:
    return f"{value:,.0f}"


def _document(estimate: MonthEstimate) -> list[Block]:
    f, m = estimate.figures, estimate.method
    scenario = estimate.scenario
    names = list(scenario.task_types)
    span = (f"{scenario.horizon_s / 86_400:,.4g} days" if scenario.horizon_s >= 86_400
            else f"{scenario.horizon_s / 3600:,.4g} hours")
    spans = [s for s in estimate.strata if s["kind"] == "busy span"]
    day_types = len({s["stratum"].split(",")[0] for s in spans})
    blocks: list[Block] = [
        Heading(1, f"{scenario.name}: {span}, month mode"),
        Paragraph(
            f"Estimated, not simulated call by call: {m['busy_hours']:,} busy hours "
            f"of the horizon were simulated event by event as {len(spans)} "
            f"busy span(s) of {day_types} day type(s), and {m['quiet_hours']:,} "
            "quiet hours "
            f"(where queueing theory shows nothing waits) share one quiet window. "
            f"Every window ran {m['replications']} times with its own seed; "
            f"{m['calls_simulated']:,} LLM calls were simulated to estimate "
            f"{m['calls_estimated_in_horizon']:,.0f}. Each figure is the mean of "
            f"the {m['replications']} estimates with its 95% interval "
            "(Student t). Bills are for the billing month, "
            f"{scenario.billing.label()}: usage scaled from the horizon by "
            f"expected task volume (x{m['month_factor']:.4g}), GPU capacity "
            "for the whole month."),
        *([Heading(2, "Warnings"), *(Paragraph(w) for w in estimate.warnings)]
          if estimate.warnings else []),
        Heading(2, "Headline figures"),
        Table(("figure", "mean (95% interval)"), tuple(
            (label, interval_text(f[key], show)) for label, key, show in (
                ("monthly bill", "monthly_bill_usd", _usd),
                ("cost per task", "usd_per_task", _usd),
                ("tasks in the horizon", "tasks_in_horizon", _count),
                ("LLM calls in the horizon", "llm_calls_in_horizon", _count),
                ("mean task latency", "latency_mean_s", _secs),
                ("p50 task latency", "latency_p50_s", _secs),
                ("p95 task latency", "latency_p95_s", _secs),
                ("p99 task latency", "latency_p99_s", _secs),
            )), "lr"),
        Heading(2, "By task type"),
        Table(("task type", "monthly spend", "cost per task", "p95 latency",
               "completed"), tuple(
            (name,
             interval_text(f[f"task_types.{name}.monthly_spend_usd"], _usd),
             interval_text(f[f"task_types.{name}.cost_per_task_usd"], _usd),
             interval_text(f[f"task_types.{name}.latency_p95_s"], _secs),
             interval_text(f[f"task_types.{name}.completed_frac"], _frac))
            for name in names), "lrrrr"),
        Image(SPEND_CHART, "Monthly spend by task type with 95% intervals"),
        Image(LATENCY_CHART, "p50, p95 and p99 task latency by task type with 95% "
              "intervals"),
    ]
    pools = [(key.split(".", 1)[1], key) for key in f
             if key.startswith(("tool_utilisation_frac.", "gpu_utilisation_frac."))]
    if pools:
        blocks += [Heading(2, "Utilisation over the horizon"),
                   Table(("pool", "mean utilisation (95% interval)"), tuple(
                       (name, interval_text(f[key], _frac)) for name, key in pools),
                       "lr")]
    blocks += [
        Heading(2, "What was simulated"),
        Table(("stratum", "kind", "stands for", "expected tasks"), tuple(
            (s["stratum"], s["kind"],
             f"{s['days']} days x {s['hours_per_day']} h" if "days" in s
             else f"{s['hours']} hours", _count(s["expected_tasks"]))
            for s in estimate.strata), "llrr"),
        Paragraph(
            f"Screening: a pilot of {m['pilot']['tasks']:,} tasks measured each "
            "task's demand on every limited resource. An hour is busy when, at its "
            "arrival rate, a tool pool's Erlang C mean wait exceeds "
            f"{_frac(m['screen']['tool_wait_frac'])} of its service time or its "
            f"load exceeds {_frac(m['screen']['tool_load_frac'])}, an API's "
            "requests or tokens per minute come within "
            f"{m['screen']['api_limit_sigmas']:g} standard deviations of its limit, "
            f"or a GPU pool is over {_frac(m['screen']['gpu_utilisation_frac'])} "
            "utilised. Busy spans start after a warm-up of "
            f"{m['warmup_s']:,.0f} s on the real hours before them (so the morning "
            "ramp is simulated) and run on until every task that arrived in them "
            f"has ended (at most {m['max_drain_s']:,.0f} s). Run with --exact to "
            "simulate every call instead."),
    ]
    return blocks


def _figures_csv(estimate: MonthEstimate) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    count = estimate.method["replications"]
    writer.writerow(["figure", "mean", "ci95_low", "ci95_high",
                     *(f"replication_{r + 1}" for r in range(count))])
    for key, entry in estimate.figures.items():
        writer.writerow([key, _cell(entry["mean"]), _cell(entry["ci95_low"]),
                         _cell(entry["ci95_high"]),
                         *(_cell(v) for v in entry["replications"])])
    return buffer.getvalue()


def _strata_csv(estimate: MonthEstimate) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["stratum", "kind", "days", "hours_per_day", "hours",
                     "expected_tasks", "calls_simulated"])
    calls: dict[str, int] = {}
    for window in estimate.windows:
        calls[window.stratum] = calls.get(window.stratum, 0) + window.calls
    for s in estimate.strata:
        writer.writerow([s["stratum"], s["kind"], s.get("days", ""),
                         s.get("hours_per_day", ""), s.get("hours", ""),
                         f"{s['expected_tasks']:.3f}", calls.get(s["stratum"], 0)])
    return buffer.getvalue()


def _cell(value: float | None) -> str:
    return "" if value is None or not math.isfinite(value) else repr(float(value))


def _errors(entries: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    means = np.array([e["mean"] or 0.0 for e in entries])
    low = np.array([e["ci95_low"] if e["ci95_low"] is not None else e["mean"] or 0.0
                    for e in entries])
    high = np.array([e["ci95_high"] if e["ci95_high"] is not None else e["mean"]
                     or 0.0 for e in entries])
    return means, np.vstack([means - low, high - means])


def _spend_chart(estimate: MonthEstimate, path: Path) -> None:
    names = list(estimate.scenario.task_types)
    entries = [estimate.figures[f"task_types.{n}.monthly_spend_usd"] for n in names]
    means, errors = _errors(entries)
    figure, axes = new_figure(bars=len(names))
    positions = np.arange(len(names))
    axes.barh(positions, means, xerr=errors, color=[colour(i) for i in positions],
              capsize=4)
    axes.set_yticks(positions, names)
    axes.invert_yaxis()
    axes.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"${v:,.0f}"))
    axes.set_xlabel("monthly spend (bars: mean; whiskers: 95% interval)")
    axes.set_title("Monthly spend by task type")
    save_figure(figure, path)


def _latency_chart(estimate: MonthEstimate, path: Path) -> None:
    names = list(estimate.scenario.task_types)
    figure, axes = new_figure(bars=3 * len(names))
    positions = np.arange(len(names))
    for offset, q in enumerate(("p50", "p95", "p99")):
        entries = [estimate.figures[f"task_types.{n}.latency_{q}_s"] for n in names]
        means, errors = _errors(entries)
        axes.barh(positions + (offset - 1) * 0.27, means, height=0.27, xerr=errors,
                  color=colour(offset), capsize=3, label=q)
    axes.set_yticks(positions, names)
    axes.invert_yaxis()
    if any(estimate.figures[f"task_types.{n}.latency_p50_s"]["mean"]
           for n in names):
        axes.set_xscale("log")  # a log axis needs a positive value to show
    seconds = FuncFormatter(lambda v, _: f"{v:g}")
    axes.xaxis.set_major_formatter(seconds)
    axes.xaxis.set_minor_formatter(FuncFormatter(
        lambda v, _: f"{v:g}" if f"{v:g}"[0] in "25" else ""))
    axes.set_xlabel("task latency, s (log scale; whiskers: 95% interval)")
    axes.set_title("Task latency by task type")
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    save_figure(figure, path)
