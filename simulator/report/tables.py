"""The report's tables as rows of text, built once for Markdown and HTML.

Each function takes part of the summary dict and returns a Table block.
Money is shown with format_usd (a nonzero amount never shows as $0.00),
except unit prices, which are shown as the price sheet states them (worked-out
ones, such as capex per GPU-month, to the cent).
Bill amounts and totals are the summary's own cents: they already add up.
Limitations: column sets are fixed; tables do not wrap on narrow screens
(the HTML scrolls them sideways instead).
"""

from __future__ import annotations

import math

from simulator.report.blocks import (
    NO_VALUE,
    Table,
    count,
    duration,
    fraction,
    interval_cell,
    money,
    multiplier,
    percentile_cell,
    price_per_unit,
    quantity_with_unit,
    seconds,
)

PERCENTILE_KEYS = ("p50", "p95", "p99")
GPU_KINDS = {"on_prem": "on-prem", "cloud_gpu": "cloud GPU"}


def task_type_table(summary: dict) -> Table:
    """Outcomes, calls, tokens, compute multiplier and cost per task type."""
    header = ("task type", "arrived", "completed", "failed", "in flight",
              "LLM calls / task", "tokens / completed task", "compute multiplier",
              "cost / completed task", "monthly spend")
    rows = []
    for name, entry in summary["task_types"].items():
        rows.append((
            name, count(entry["arrived"]), count(entry["completed"]),
            count(entry["failed"]), count(entry["in_flight"]),
            count(entry["llm_calls_per_task"], 2),
            count(entry["tokens_per_completed_task"]),
            multiplier(entry["compute_multiplier"]),
            money(entry["cost_per_completed_task_usd"]),
            money(entry["monthly_spend_usd"]),
        ))
    return Table(header, tuple(rows), "l" + "r" * (len(header) - 1))


def latency_table(summary: dict) -> Table:
    """Task latency percentiles per task type, and the p95 target verdict."""
    header = ("task type", "completed", "p50", "p95", "p99", "p95 95% interval",
              "p95 target", "target")
    rows = []
    for name, entry in summary["task_types"].items():
        latency = entry["latency_s"]
        target = entry["latency_target_p95_s"]
        rows.append((
            name, count(entry["completed"]),
            *(percentile_cell(latency[key]) for key in PERCENTILE_KEYS),
            interval_cell(latency["p95"]),
            NO_VALUE if target is None else seconds(target),
            _verdict(entry),
        ))
    return Table(header, tuple(rows), "lrrrrrrl")


def bill_table(bill: dict) -> Table:
    """Bill lines with quantity, unit price and amount, and the total row."""
    header = ("backend", "model", "item", "quantity", "unit price", "amount")
    rows = []
    for line in bill["lines"]:
        unit = line["unit"]
        item = f"tool {line['item']}" if unit == "calls" else line["item"]
        rows.append((line["backend"], line["model"], item.replace("_", " "),
                     quantity_with_unit(line["quantity"], unit),
                     price_per_unit(line["unit_price_usd"], unit),
                     money(line["amount_usd"])))
    total = ("total", "", "", "", "", money(bill["total_usd"]))
    return Table(header, tuple(rows), "lllrrr", total)


def gpu_backends_table(gpu_backends: dict) -> Table:
    """One column per GPU backend: capacity, use, latency, throughput, cost."""
    entries = gpu_backends.values()
    rows = [
        ("kind", *(GPU_KINDS.get(e["kind"], e["kind"]) for e in entries)),
        ("replicas", *(count(e["replicas"]) for e in entries)),
        ("slots (sequences at once, all replicas)",
         *(count(e["slots"]) for e in entries)),
        ("calls served", *(count(e["calls"]) for e in entries)),
        ("slot utilisation", *(fraction(e["utilisation_frac"]) for e in entries)),
        ("busy share (replica serving at least one call)",
         *(fraction(e["busy_frac"]) for e in entries)),
        ("mean queue wait", *(duration(e["mean_wait_s"]) for e in entries)),
    ]
    for label, key, quantiles in (("TTFT", "ttft_s", PERCENTILE_KEYS),
                                  ("TPOT", "tpot_s", PERCENTILE_KEYS[:2])):
        rows += [(f"{label} {q}", *(percentile_cell(e[key][q], duration)
                                    for e in entries)) for q in quantiles]
    rows.append(("output tokens / s",
                 *(_rate(e["output_tokens_per_s"]) for e in entries)))
    if any(e.get("peak_output_tokens_per_s") is not None for e in entries):
        rows.append(("peak output tokens / s (calibrated preset)",
                     *(_rate(e.get("peak_output_tokens_per_s")) for e in entries)))
    rows += [
        ("monthly cost", *(money(e["monthly_usd"]) for e in entries)),
        ("cost / 1M output tokens",
         *(money(e["usd_per_mtok_output"]) for e in entries)),
        ("output tokens / s per $ / h",
         *(_rate(e["output_tokens_per_s_per_usd_per_hour"]) for e in entries)),
    ]
    header = ("measure", *gpu_backends)
    return Table(header, tuple(rows), "l" + "r" * len(gpu_backends))


def call_latency_table(calls: dict) -> Table:
    """TTFT and call latency percentiles over every served call."""
    rows = []
    for label, key in (("time to first token", "ttft_s"),
                       ("call latency", "latency_s")):
        entries = calls[key]
        rows.append((label, count(entries["p50"]["num_samples"]),
                     *(percentile_cell(entries[p]) for p in PERCENTILE_KEYS)))
    return Table(("measure", "calls", "p50", "p95", "p99"), tuple(rows), "lrrrr")


def backend_calls_table(calls: dict, waited: str = "rate-limited") -> Table:
    """Per backend: calls served, tokens, calls that waited, and TTFT."""
    header = ("backend", "calls", "tokens in", "of which cached", "tokens out",
              waited, "TTFT p50", "TTFT p95", "TTFT p99")
    rows = []
    for name, entry in calls["backends"].items():
        ttft = entry["ttft_s"]
        rows.append((name, count(entry["calls"]), count(entry["tokens_in"]),
                     count(entry["tokens_cached"]), count(entry["tokens_out"]),
                     count(entry["rate_limited"]),
                     *(percentile_cell(ttft[key]) for key in PERCENTILE_KEYS)))
    return Table(header, tuple(rows), "l" + "r" * (len(header) - 1))


def tools_table(tools: dict) -> Table:
    """Per tool service: attempts, failures, waits and utilisation."""
    header = ("tool", "calls", "failures", "mean wait", "mean busy slots",
              "utilisation")
    rows = tuple(
        (name, count(entry["calls"]), count(entry["failures"]),
         seconds(entry["mean_wait_s"]), count(entry["mean_busy_slots"], 2),
         fraction(entry["utilisation_frac"]))
        for name, entry in tools.items())
    return Table(header, rows, "lrrrrr")


def failures_table(summary: dict) -> Table:
    """Failed tasks by reason, overall and per task type."""
    names = list(summary["task_types"])
    reasons = summary["tasks"]["failed_by_reason"]
    rows = []
    for reason, total in reasons.items():
        per_type = [count(summary["task_types"][name]["failed_by_reason"]
                          .get(reason, 0)) for name in names]
        rows.append((reason, count(total), *per_type))
    header = ("reason", "failed tasks", *names)
    total = ("total", count(summary["tasks"]["failed"]),
             *(count(summary["task_types"][name]["failed"]) for name in names))
    return Table(header, tuple(rows), "l" + "r" * (len(header) - 1), total)


def _rate(value: float | None) -> str:
    """A rate with thousands separators, three significant digits below 100."""
    if value is None:
        return NO_VALUE
    if value == 0 or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{max(0, 2 - math.floor(math.log10(abs(value))))}f}"


def _verdict(entry: dict) -> str:
    """Whether the p95 target was met, with a caveat on thin samples."""
    met = entry["latency_target_met"]
    if entry["latency_target_p95_s"] is None:
        return ""
    if met is None:
        return "no completed tasks"
    verdict = "met" if met else "missed"
    if entry["latency_s"]["p95"]["too_few_samples"]:
        verdict += " (too few samples)"
    return verdict
