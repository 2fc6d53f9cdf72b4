"""Charts of pools with slots: queues over time, and GPU call latency.

queue_and_utilisation.png plots the run's samples for every GPU backend and
every tool with a concurrency limit: calls waiting, and busy slots as a
percentage of slots, over the whole run with the warm-up shaded.
gpu_latency.png plots the distribution of time to first token and time per
output token per GPU backend, over the calls summary.json counts: served
calls of tasks that arrived after the warm-up.
Limitations: samples are instants every max(horizon / 400, 1) s, so bursts
between two samples do not show; distributions are thinned to 2,000 points.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from simulator.metrics import window_view
from simulator.records import CALL_OK, RunResult
from simulator.report.canvas import (
    LOG_SPREAD,
    Chart,
    blank_figure,
    cdf_line,
    colour,
    no_data,
    save_figure,
)

SECONDS_PER_MINUTE = 60
SECONDS_PER_HOUR = 3600
HOURS_FROM_S = 2 * SECONDS_PER_HOUR  # runs this long get an axis in hours
MINUTES_FROM_S = 5 * SECONDS_PER_MINUTE
WARMUP_COLOUR = "#d0d7de"
WARMUP_LABEL = "warm-up (excluded)"
POOL_KINDS = {"backend": "GPU", "tool": "tool"}
SMOOTH_SAMPLES = 10  # utilisation is also drawn as a trailing mean of this many

QUEUE_CHART = Chart("queue_and_utilisation.png",
                    "Calls waiting and slot utilisation over time, per GPU "
                    "backend and per tool with a concurrency limit")
GPU_LATENCY_CHART = Chart("gpu_latency.png",
                          "Distribution of time to first token and time per "
                          "output token per GPU backend")


@dataclass(frozen=True)
class Pool:
    """One sampled pool: legend label, slot count and its sample columns."""

    label: str
    slots: int
    waiting: np.ndarray
    busy_slots: np.ndarray


@dataclass(frozen=True)
class GpuLatency:
    """One GPU backend's served calls: sorted TTFT and TPOT in seconds."""

    ttft_s: np.ndarray
    tpot_s: np.ndarray


def sampled_pools(run: RunResult, summary: dict) -> list[Pool]:
    """Every pool the run sampled, GPU backends first, in scenario order."""
    pools = []
    for key in run.samples:
        kind, _, rest = key.partition(":")
        name, _, gauge = rest.rpartition(":")
        if kind not in POOL_KINDS or gauge != "waiting":
            continue
        slots = _slots(run, summary, kind, name)
        pools.append(Pool(f"{name} ({POOL_KINDS[kind]}, {slots:,} slots)", slots,
                          run.samples[key], run.samples[f"{kind}:{name}:busy_slots"]))
    return pools


def gpu_latency_samples(run: RunResult, summary: dict) -> dict[str, GpuLatency]:
    """TTFT and TPOT of each GPU backend that served a call after the warm-up."""
    calls = window_view(run).calls
    found = {}
    for name in summary["gpu_backends"]:
        mine = (calls["status"] == CALL_OK) & (
            calls["backend"] == run.backend_names.index(name))
        if not mine.any():
            continue
        ttft = calls["first_token_at"][mine] - calls["requested_at"][mine]
        out = calls["tokens_out"][mine]
        decode_s = calls["finished_at"][mine] - calls["first_token_at"][mine]
        tpot = decode_s[out > 1] / (out[out > 1] - 1)
        found[name] = GpuLatency(np.sort(ttft), np.sort(tpot))
    return found


def plot_queue_and_utilisation(run: RunResult, summary: dict, path: Path) -> None:
    """Calls waiting and slot utilisation per pool over time, warm-up shaded."""
    pools = sampled_pools(run, summary)
    figure = blank_figure(8.0, 6.4)
    queue_axes, busy_axes = figure.subplots(2, 1, sharex=True)
    divisor, unit = _time_unit(run.horizon_s)
    times = run.samples["time_s"] / divisor
    for index, pool in enumerate(pools):
        queue_axes.plot(times, pool.waiting, color=colour(index), linewidth=1.2,
                        label=pool.label)
        busy = 100 * pool.busy_slots / pool.slots
        busy_axes.plot(times, busy, color=colour(index), linewidth=0.7, alpha=0.35)
        busy_axes.plot(times, _trailing_mean(busy, SMOOTH_SAMPLES),
                       color=colour(index), linewidth=1.6)

    _queue_axes(queue_axes, pools)
    busy_axes.set_ylim(0, 105)
    busy_axes.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    busy_axes.set_ylabel("busy slots (% of slots)")
    busy_axes.set_xlabel(f"time since start ({unit})")
    busy_axes.set_xlim(0, run.horizon_s / divisor)

    handles, labels = queue_axes.get_legend_handles_labels()
    warmup_s = summary["scenario"]["warmup_s"]
    if warmup_s > 0:
        for axes in (queue_axes, busy_axes):
            axes.axvspan(0, warmup_s / divisor, color=WARMUP_COLOUR, alpha=0.6,
                         linewidth=0, zorder=0)
        handles.append(Patch(color=WARMUP_COLOUR, alpha=0.6))
        labels.append(WARMUP_LABEL)
    busy_axes.legend(handles, labels, loc="upper center", ncol=2,
                     bbox_to_anchor=(0.5, -0.25), fontsize="small", frameon=False)

    interval_s = float(np.diff(run.samples["time_s"][:2])[0]) if len(times) > 1 else 0
    queue_axes.set_title(f"Queues and slot utilisation, sampled every "
                         f"{interval_s:.3g} s\nutilisation: faint each sample, bold "
                         f"mean of the last {SMOOTH_SAMPLES} samples")
    save_figure(figure, path)


def plot_gpu_latency(run: RunResult, summary: dict, path: Path) -> None:
    """ECDFs of time to first token and time per output token per GPU backend."""
    samples = gpu_latency_samples(run, summary)
    figure = blank_figure(9.0, 4.6)
    ttft_axes, tpot_axes = figure.subplots(1, 2)
    panels = ((ttft_axes, "ttft_s", "time to first token (s)"),
              (tpot_axes, "tpot_s", "time per output token (s)"))
    for axes, key, label in panels:
        values = {name: getattr(found, key) for name, found in samples.items()}
        _latency_panel(axes, values, summary, key)
        axes.set_xlabel(label)
    ttft_axes.set_ylabel("share of served calls")

    order = list(summary["gpu_backends"])
    handles = [Line2D([], [], color=colour(order.index(name)), linewidth=1.6,
                      label=f"{name} ({len(found.ttft_s):,} calls)")
               for name, found in samples.items()]
    figure.legend(handles=handles, loc="lower center", ncol=min(len(handles), 4),
                  bbox_to_anchor=(0.5, -0.06), fontsize="small", frameon=False)
    warmup_s = summary["scenario"]["warmup_s"]
    after = (f"tasks arriving after the {warmup_s:g} s warm-up" if warmup_s
             else "all tasks")
    figure.suptitle(f"GPU call latency: served calls of {after}\n"
                    "dotted: p95")
    save_figure(figure, path)


def _slots(run: RunResult, summary: dict, kind: str, name: str) -> int:
    """Slots of a GPU backend (all replicas) or of a tool."""
    if kind == "tool":
        return int(run.scenario.tools[name].concurrency)
    found = summary["gpu_backends"].get(name) or run.gpu_usage[name]
    return int(found["slots"])


def _time_unit(horizon_s: float) -> tuple[float, str]:
    """Seconds per tick unit: hours for long runs, minutes, or seconds."""
    if horizon_s >= HOURS_FROM_S:
        return float(SECONDS_PER_HOUR), "h"
    if horizon_s >= MINUTES_FROM_S:
        return float(SECONDS_PER_MINUTE), "min"
    return 1.0, "s"


def _trailing_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of each value and the up to `window - 1` before it."""
    sums = np.cumsum(np.concatenate([[0.0], values]))
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(ends - window, 0)
    return (sums[ends] - sums[starts]) / (ends - starts)


def _queue_axes(axes: Axes, pools: list[Pool]) -> None:
    """Label the queue panel; say so when no call ever waited."""
    top = max((float(pool.waiting.max(initial=0)) for pool in pools), default=0.0)
    axes.set_ylim(0, top * 1.08 if top else 1)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    axes.set_ylabel("calls waiting for a slot")
    if not top:
        axes.text(0.5, 0.5, "no call waited at any sample", ha="center",
                  va="center", color="grey", transform=axes.transAxes)
    axes.grid(True, alpha=0.3)


def _latency_panel(axes: Axes, values: dict[str, np.ndarray], summary: dict,
                   key: str) -> None:
    """One ECDF per backend, log x for a wide spread, p95 dotted."""
    order = list(summary["gpu_backends"])
    log = _wide_spread(values)
    drawn, at_zero = 0, []
    for name, ordered in values.items():
        shown = ordered[ordered > 0] if log else ordered
        if len(ordered) and len(shown) < len(ordered):
            at_zero.append(f"{name} {1 - len(shown) / len(ordered):.0%}")
        if len(shown) == 0:
            continue
        tint = colour(order.index(name))
        cdf_line(axes, shown, tint, name, start_share=1 - len(shown) / len(ordered))
        p95 = summary["gpu_backends"][name][key]["p95"]["value"]
        if p95 is not None and (p95 > 0 or not log):
            axes.axvline(p95, color=tint, linestyle=":", linewidth=1.5)
        drawn += 1
    if not drawn:
        no_data(axes)
        return
    if log:
        axes.set_xscale("log")
        axes.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    if at_zero:  # a log axis has no 0: say what the curves start from
        axes.text(0.98, 0.04, "at 0 s: " + ", ".join(at_zero), ha="right",
                  fontsize="small", color="grey", transform=axes.transAxes)
    axes.set_ylim(0, 1.02)
    axes.grid(True, which="both", alpha=0.3)


def _wide_spread(values: dict[str, np.ndarray]) -> bool:
    """Whether the positive values span more than LOG_SPREAD (log axis then)."""
    positive = [ordered[ordered > 0] for ordered in values.values()]
    positive = [ordered for ordered in positive if len(ordered)]
    if not positive:
        return False
    low = min(float(ordered[0]) for ordered in positive)
    high = max(float(ordered[-1]) for ordered in positive)
    return high > LOG_SPREAD * low
