"""Chart PNGs of a run, one function per figure.

Each function draws on its own matplotlib Figure (see canvas.py), saves it
and lets it go; the same run gives byte-identical files with the same
matplotlib. Money is USD, time seconds; missing data draws an empty axes
with a "no data" note instead of failing. Which charts a run gets depends
on its data: pool charts (pool_figures.py) only when something has slots.
Limitations: the latency CDF is thinned to at most 2,000 points per task
type; charts are static images, not interactive.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, StrMethodFormatter

from simulator.economics.pricing import format_usd
from simulator.records import COMPLETED, RunResult
from simulator.report.blocks import multiplier
from simulator.report.canvas import (
    LOG_SPREAD,
    PALETTE,
    Chart,
    cdf_line,
    new_figure,
    no_data,
    save_figure,
)
from simulator.report.pool_figures import (
    GPU_LATENCY_CHART,
    QUEUE_CHART,
    gpu_latency_samples,
    plot_gpu_latency,
    plot_queue_and_utilisation,
    sampled_pools,
)
from simulator.report.venue_figures import (  # noqa: E402
    REPLICAS_CHART,
    VENUE_CHART,
    has_venues,
    plot_cumulative_cost,
    plot_replicas,
    replica_series,
)

logger = logging.getLogger(__name__)

ITEM_COLOURS = {"input tokens": "#4e79a7", "cached input tokens": "#a0cbe8",
                "cache write tokens": "#1f3b5c",
                "output tokens": "#f28e2b", "calls": "#59a14f",
                "capex amortisation": "#76b7b2", "power": "#edc948",
                "support": "#b07aa1", "staff": "#9c755f", "space": "#bab0ac",
                "GPU-hours (on_demand)": "#e15759",
                "GPU-hours (hyperscaler)": "#ff9da7",
                "GPU-hours (reserved)": "#b8535e", "GPU-hours (spot)": "#7a1f24",
                "GPU-hours (given price)": "#e15759"}
ITEM_LABELS = {"input tokens": "input tokens", "cached input tokens":
               "cached input tokens", "output tokens": "output tokens",
               "calls": "tool calls", "capex amortisation": "GPU capex (amortised)",
               "power": "GPU power", "support": "GPU support", "staff": "GPU staff",
               "space": "GPU rack space"}
OTHER_COLOUR = "#6b6660"
TYPE_COLOURS = PALETTE

BILL_CHART = Chart("bill_by_backend.png",
                   "Monthly bill in USD per backend, stacked by bill item")
SPEND_CHART = Chart("monthly_spend_by_task_type.png",
                    "Projected monthly spend in USD per task type")
COST_CHART = Chart("cost_per_task.png",
                   "Cost in USD per completed task, by task type")
MULTIPLIER_CHART = Chart("compute_multiplier.png",
                         "Tokens per completed task relative to the baseline")
LATENCY_CHART = Chart("latency_cdf.png",
                      "Cumulative distribution of task latency per task type")

CHARTS = (BILL_CHART, SPEND_CHART, COST_CHART, MULTIPLIER_CHART, LATENCY_CHART,
          QUEUE_CHART, GPU_LATENCY_CHART, VENUE_CHART, REPLICAS_CHART)
"""Every chart a report may hold; a run gets those its data can fill."""


def write_charts(run: RunResult, summary: dict, directory: Path) -> list[Chart]:
    """Draw the charts this run has data for into `directory`; return them."""
    plots = [(BILL_CHART, plot_bill_by_backend),
             (SPEND_CHART, plot_monthly_spend_by_task_type),
             (COST_CHART, plot_cost_per_task),
             (MULTIPLIER_CHART, plot_compute_multiplier),
             (LATENCY_CHART, plot_latency_cdf)]
    if sampled_pools(run, summary):
        plots.append((QUEUE_CHART, plot_queue_and_utilisation))
    if gpu_latency_samples(run, summary):
        plots.append((GPU_LATENCY_CHART, plot_gpu_latency))
    if replica_series(run):
        plots.append((REPLICAS_CHART, plot_replicas))
    if has_venues(summary):
        plots.append((VENUE_CHART, plot_cumulative_cost))
    for chart, plot in plots:
        plot(run, summary, directory / chart.file_name)
        logger.debug("wrote %s", chart.file_name)
    return [chart for chart, _ in plots]


def plot_bill_by_backend(run: RunResult, summary: dict, path: Path) -> None:
    """Monthly bill per backend (and priced tool), bars stacked by item."""
    bill = summary["monthly_bill"]
    owners = list(dict.fromkeys(_bill_owner(line) for line in bill["lines"]))
    figure, axes = new_figure(bars=len(owners) + 1)
    amounts = {owner: {} for owner in owners}
    for line in bill["lines"]:
        amounts[_bill_owner(line)][line["item"]] = float(line["exact_amount_usd"])
    if not owners or Decimal(bill["exact_total_usd"]) == 0:
        no_data(axes)
    else:
        _stacked_bars(axes, owners, amounts)
        shown = {owner: Decimal(0) for owner in owners}  # cents that add up
        for line in bill["lines"]:
            shown[_bill_owner(line)] += Decimal(repr(line["amount_usd"]))
        _bar_labels(axes, [format_usd(shown[owner]) for owner in owners])
        axes.set_xlabel("cost (USD per month)")
        axes.xaxis.set_major_formatter(FuncFormatter(_usd_tick))
        axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=4,
                    fontsize="small", frameon=False)
    axes.set_title(f"Monthly bill by backend: {format_usd(bill['total_usd'])}\n"
                   f"{bill['period']}")
    save_figure(figure, path)


def plot_monthly_spend_by_task_type(run: RunResult, summary: dict, path: Path
                                    ) -> None:
    """Projected monthly spend per task type, horizontal bars."""
    spend = {name: entry["monthly_spend_usd"]
             for name, entry in summary["task_types"].items()}
    figure, axes = new_figure(bars=len(spend))
    total = sum(spend.values())
    if not total:
        no_data(axes)
    else:
        names = list(spend)
        axes.barh(range(len(names)), list(spend.values()), height=0.6,
                  color=_type_colours(names, summary))
        axes.set_yticks(range(len(names)), names)
        axes.invert_yaxis()
        arrived = sum(e["arrived"] for e in summary["task_types"].values()) or 1
        _bar_labels(axes, [
            f"{format_usd(value)}: {_share(value / total)} of spend, "
            f"{_share(summary['task_types'][name]['arrived'] / arrived)} of tasks"
            for name, value in spend.items()])
        axes.set_xlabel("cost (USD per month)")
        axes.xaxis.set_major_formatter(FuncFormatter(_usd_tick))
    axes.set_title("Monthly spend by task type\n"
                   f"{summary['billing_month']['label']}")
    save_figure(figure, path)


def plot_cost_per_task(run: RunResult, summary: dict, path: Path) -> None:
    """Cost per completed task by task type, log scale for a wide spread."""
    figure, axes = new_figure()
    costs = {name: entry["cost_per_completed_task_usd"]
             for name, entry in summary["task_types"].items()
             if entry["cost_per_completed_task_usd"] is not None}
    if not costs:
        no_data(axes)
    else:
        _column_chart(axes, costs, summary, [format_usd(v) for v in costs.values()])
        axes.yaxis.set_major_formatter(FuncFormatter(_usd_tick))
        axes.set_ylabel("cost (USD per completed task)")
    axes.set_title("Cost per completed task")
    save_figure(figure, path)


def plot_compute_multiplier(run: RunResult, summary: dict, path: Path) -> None:
    """Tokens per completed task over the baseline's; raw tokens without one."""
    figure, axes = new_figure()
    types = summary["task_types"]
    baseline = summary["scenario"]["baseline_task_type"]
    ratios = {name: entry["compute_multiplier"] for name, entry in types.items()
              if entry["compute_multiplier"] is not None}
    if ratios:
        _column_chart(axes, ratios, summary,
                      [multiplier(value) for value in ratios.values()])
        axes.axhline(1.0, color="black", linestyle="--", linewidth=1)
        axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"x{v:,g}"))
        axes.set_ylabel(f"tokens per completed task (x {baseline})")
        axes.set_title(f"Compute multiplier vs {baseline} (baseline = x1)")
    else:
        tokens = {name: entry["tokens_per_completed_task"]
                  for name, entry in types.items()
                  if entry["tokens_per_completed_task"] is not None}
        if tokens:
            _column_chart(axes, tokens, summary,
                          [f"{value:,.0f}" for value in tokens.values()])
            axes.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        else:
            no_data(axes)
        axes.set_ylabel("tokens per completed task")
        why = (f"baseline {baseline} has no completed tasks" if baseline
               else "no baseline task type set")
        axes.set_title(f"Tokens per completed task\n({why}, so no multiplier)")
    save_figure(figure, path)


def plot_latency_cdf(run: RunResult, summary: dict, path: Path) -> None:
    """Empirical CDF of completed-task latency per type, p95 and targets marked."""
    figure, axes = new_figure()
    tasks, drawn = run.tasks, 0
    done = tasks["status"] == COMPLETED
    latency = tasks["finished_at"] - tasks["arrived_at"]
    for index, (name, entry) in enumerate(summary["task_types"].items()):
        values = np.sort(latency[done & (tasks["task_type"] == index)])
        values = values[values > 0]
        if len(values) == 0:
            continue
        colour = TYPE_COLOURS[index % len(TYPE_COLOURS)]
        cdf_line(axes, values, colour, name)
        _latency_markers(axes, entry, colour, name)
        drawn += 1
    if drawn == 0:
        no_data(axes)
    else:
        axes.set_xscale("log")
        axes.set_ylim(0, 1.02)
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3,
                    fontsize="small", frameon=False)
        axes.set_xlabel("task latency (s), log scale")
        axes.set_ylabel("share of completed tasks")
    axes.set_title("Task latency, completed tasks\n"
                   "dotted: measured p95, dashed: p95 target")
    save_figure(figure, path)


def _usd_tick(value: float, _position: float) -> str:
    """An axis tick in dollars: whole dollars from $1 up, short decimals below."""
    if abs(value) >= 1:
        return f"${value:,.0f}" if float(value).is_integer() else f"${value:,.2f}"
    return f"${value:.3g}" if value else "$0"


def _share(frac: float) -> str:
    """A share of a total as a whole percentage; '<1%' for a sliver."""
    return "<1%" if 0 < frac < 0.005 else f"{frac:.0%}"


def _bill_owner(line: dict) -> str:
    """The bar a bill line belongs to: its backend, or its tool (billed per call)."""
    return f"{line['backend']} (tool)" if line["unit"] == "calls" else line["backend"]


def _item_label(item: str) -> str:
    """Legend text of a bill item, e.g. 'rented GPU-hours (on demand)'."""
    if item.startswith("GPU-hours"):
        return "rented " + item.replace("_", " ")
    return ITEM_LABELS.get(item, item)


def _stacked_bars(axes: Axes, owners: list[str], amounts: dict) -> None:
    """Horizontal bars, one per owner, stacked by bill item."""
    items = list(dict.fromkeys(item for owner in owners for item in amounts[owner]))
    left = np.zeros(len(owners))
    for item in items:
        widths = np.array([amounts[owner].get(item, 0.0) for owner in owners])
        if not widths.any():
            continue  # a $0 item (no space rent, say) has no bar to name
        axes.barh(range(len(owners)), widths, left=left, height=0.6,
                  label=_item_label(item), color=ITEM_COLOURS.get(item, OTHER_COLOUR))
        left += widths
    axes.set_yticks(range(len(owners)), owners)
    axes.invert_yaxis()


def _bar_labels(axes: Axes, labels: list[str]) -> None:
    """Write each bar's total at its end, with room kept for the text."""
    for index, label in enumerate(labels):
        end = sum(patch.get_width() for patch in axes.patches
                  if abs(patch.get_y() + patch.get_height() / 2 - index) < 1e-9)
        axes.annotate(f" {label}", (end, index), va="center", fontsize="small")
    axes.set_xlim(0, axes.get_xlim()[1] * 1.18)


def _column_chart(axes: Axes, values: dict[str, float], summary: dict,
                  labels: list[str]) -> None:
    """Vertical bars per task type, labelled, on a log axis for a wide spread."""
    names = list(values)
    heights = list(values.values())
    bars = axes.bar(names, heights, color=_type_colours(names, summary))
    axes.bar_label(bars, labels=labels, padding=2, fontsize="small")
    positive = [value for value in heights if value > 0]
    if len(positive) == len(heights) and max(positive) > LOG_SPREAD * min(positive):
        axes.set_yscale("log")
        axes.set_ylim(min(positive) / 2, max(positive) * 4)
    else:
        axes.set_ylim(0, max([*heights, 0]) * 1.15 or 1)
    if len(names) > 4 or max(len(name) for name in names) > 14:
        axes.tick_params(axis="x", labelrotation=30)
        for label in axes.get_xticklabels():
            label.set_horizontalalignment("right")


def _type_colours(names: list[str], summary: dict) -> list[str]:
    """The colour each task type keeps in every chart."""
    order = list(summary["task_types"])
    return [TYPE_COLOURS[order.index(name) % len(TYPE_COLOURS)] for name in names]


def _latency_markers(axes: Axes, entry: dict, colour: str, name: str) -> None:
    """Dotted line at the measured p95; dashed line at the p95 target."""
    p95 = entry["latency_s"]["p95"]
    if p95["value"] is not None and p95["value"] > 0:
        axes.axvline(p95["value"], color=colour, linestyle=":", linewidth=1.5)
    target = entry["latency_target_p95_s"]
    if target is not None:
        axes.axvline(target, color=colour, linestyle="--", linewidth=1,
                     label=f"{name} p95 target {target:g} s")
