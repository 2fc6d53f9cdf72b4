"""Headline figures of one run as a flat mapping of metric name to number.

Every experiment (replications, comparisons, sweeps, sizing) works on these
flat figures, so a metric is named the same way everywhere: the headline
names below, plus detail names built from the summary, e.g.
`tools.search.mean_wait_s`, `gpu_backends.owned.utilisation_frac`,
`task_types.chat.p95_latency_s` or `monthly_bill.frontier-api.output_tokens`.
A figure that has no value in a run (no GPU pool, an unstable tool's wait,
no completed task) is NaN. `metric_names(scenario)` lists the names a run
of a scenario produces, without running it, so a bad metric is refused
before any point runs (bill lines are known only after a run, so only their
`monthly_bill.<backend or tool>.` part is checked up front).
Limitations: task latency percentiles pool every task type of the window;
`gpu_utilisation_frac` weights pools by their slots.
"""

from __future__ import annotations

import math

import numpy as np

from simulator.errors import SimulatorError
from simulator.metrics import percentiles, window_view
from simulator.records import COMPLETED, FAILED, IN_FLIGHT, RunResult
from simulator.scenario import Scenario

HEADLINE = (
    "monthly_bill_usd", "usd_per_task", "p50_task_latency_s", "p95_task_latency_s",
    "p99_task_latency_s", "mean_task_latency_s", "gpu_utilisation_frac",
    "mean_tool_wait_s", "mean_gpu_wait_s", "tasks_completed", "failed_frac",
)
HEADLINE_LABELS = {
    "monthly_bill_usd": "monthly bill (USD)",
    "usd_per_task": "cost per task (USD)",
    "p50_task_latency_s": "p50 task latency (s)",
    "p95_task_latency_s": "p95 task latency (s)",
    "p99_task_latency_s": "p99 task latency (s)",
    "mean_task_latency_s": "mean task latency (s)",
    "gpu_utilisation_frac": "GPU utilisation (fraction of slots)",
    "mean_tool_wait_s": "mean tool queue wait (s)",
    "mean_gpu_wait_s": "mean GPU queue wait (s)",
    "tasks_completed": "tasks completed",
    "failed_frac": "failed tasks (fraction)",
}
ALIASES = {"mean_queue_wait_s": "mean_tool_wait_s", "bill": "monthly_bill_usd",
           "cost_per_task_usd": "usd_per_task"}
NAN = math.nan


def headline_figures(run: RunResult, summary: dict) -> dict[str, float]:
    """Headline and detail figures of one run, by metric name."""
    figures = _task_figures(run)
    figures["monthly_bill_usd"] = float(summary["monthly_bill"]["total_usd"])
    figures["usd_per_task"] = _number(summary["usd_per_task"])
    figures.update(_pool_figures(summary))

    for line in summary["monthly_bill"]["lines"]:
        key = f"monthly_bill.{line['backend']}.{line['item'].replace(' ', '_')}"
        figures[key] = figures.get(key, 0.0) + float(line["amount_usd"])
    for name, entry in summary["task_types"].items():
        prefix = f"task_types.{name}."
        figures[prefix + "p95_latency_s"] = _number(entry["latency_s"]["p95"]["value"])
        for key in ("cost_per_completed_task_usd", "monthly_spend_usd",
                    "compute_multiplier", "tokens_per_completed_task"):
            figures[prefix + key] = _number(entry[key])
    return figures


def metric_name(name: str) -> str:
    """The canonical name of a metric written by a user (aliases resolved)."""
    return ALIASES.get(name, name)


TASK_TYPE_FIGURES = ("p95_latency_s", "cost_per_completed_task_usd",
                     "monthly_spend_usd", "compute_multiplier",
                     "tokens_per_completed_task")
TOOL_FIGURES = ("mean_wait_s", "utilisation_frac")
GPU_FIGURES = ("utilisation_frac", "mean_wait_s", "monthly_usd")


def metric_names(scenario: Scenario) -> list[str]:
    """Every figure name a run of `scenario` has (bill lines as a pattern)."""
    names = list(HEADLINE)
    names += [f"task_types.{t}.{f}" for t in scenario.task_types
              for f in TASK_TYPE_FIGURES]
    names += [f"tools.{t}.{f}" for t in scenario.tools for f in TOOL_FIGURES]
    names += [f"gpu_backends.{b}.{f}" for b, spec in scenario.backends.items()
              if spec.kind != "api" for f in GPU_FIGURES]
    return names + ["monthly_bill.<backend or tool>.<item>"]


def check_metric(name: str, scenario: Scenario, option: str) -> str:
    """The canonical name of a metric a run of `scenario` produces.

    Raises:
        SimulatorError: no run of the scenario has that figure; the message
            names the option, the value found and every allowed name.
    """
    name = metric_name(name)
    owner, _, item = name.removeprefix("monthly_bill.").partition(".")
    if name in metric_names(scenario) or (
            name.startswith("monthly_bill.") and item
            and (owner in scenario.backends or owner in scenario.tools)):
        return name
    allowed = ", ".join([*metric_names(scenario), *ALIASES])
    raise SimulatorError(f"{option}: found metric {name!r}; allowed: {allowed}")


def _task_figures(run: RunResult) -> dict[str, float]:
    window = window_view(run)
    tasks = window.tasks
    done = tasks["status"] == COMPLETED
    latency = tasks["finished_at"][done] - tasks["arrived_at"][done]
    pct = percentiles(latency, run.scenario.percentile_method)
    figures = {f"{key}_task_latency_s": _number(p.value) for key, p in pct.items()}
    figures["mean_task_latency_s"] = (float(np.mean(latency)) if len(latency)
                                      else NAN)

    figures["tasks_completed"] = float(np.count_nonzero(done))
    ended = np.count_nonzero(tasks["status"] != IN_FLIGHT)
    failed = np.count_nonzero(tasks["status"] == FAILED)
    figures["failed_frac"] = failed / ended if ended else NAN
    return figures


def _pool_figures(summary: dict) -> dict[str, float]:
    figures: dict[str, float] = {}
    slots = busy = 0.0
    gpu_waits: list[tuple[float, float]] = []
    for name, entry in summary["gpu_backends"].items():
        for key in ("utilisation_frac", "mean_wait_s", "monthly_usd"):
            figures[f"gpu_backends.{name}.{key}"] = _number(entry.get(key))
        slots += entry["slots"] or 0
        busy += (entry["slots"] or 0) * (entry["utilisation_frac"] or 0)
        gpu_waits.append((entry["calls"], _number(entry.get("mean_wait_s"))))
    figures["gpu_utilisation_frac"] = busy / slots if slots else NAN
    figures["mean_gpu_wait_s"] = _weighted(gpu_waits)

    tool_waits: list[tuple[float, float]] = []
    for name, entry in summary["tools"].items():
        for key in ("mean_wait_s", "utilisation_frac"):
            figures[f"tools.{name}.{key}"] = _number(entry.get(key))
        tool_waits.append((entry["calls"], _number(entry.get("mean_wait_s"))))
    figures["mean_tool_wait_s"] = _weighted(tool_waits)
    return figures


def _weighted(pairs: list[tuple[float, float]]) -> float:
    """Call-weighted mean; NaN when any pool has no value (unstable) or no calls."""
    total = sum(count for count, _ in pairs)
    if not pairs or total == 0 or any(math.isnan(v) for c, v in pairs if c):
        return NAN
    return math.fsum(count * value for count, value in pairs if count) / total


def _number(value: object) -> float:
    return NAN if value is None else float(value)
