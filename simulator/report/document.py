"""What the report says, built once as blocks from the summary and the run.

Sections: what was simulated, task types (outcomes, cost, latency), the
monthly and window bills, LLM calls, GPU backends (when there are any),
tools, failures, Little's law, charts and the data files. Money comes from
the summary as it is (bill amounts are shown as given, never re-added), so
the report matches summary.json.
Limitations: one run per report; no side-by-side comparison of scenarios.
"""

from __future__ import annotations

from simulator.records import RunResult
from simulator.report import records
from simulator.report.blocks import (
    Block,
    FileLinks,
    Heading,
    Image,
    Paragraph,
    Table,
    duration,
    fraction,
    money,
    seconds,
)
from simulator.report.figures import (
    BILL_CHART,
    COST_CHART,
    GPU_LATENCY_CHART,
    LATENCY_CHART,
    MULTIPLIER_CHART,
    QUEUE_CHART,
    REPLICAS_CHART,
    SPEND_CHART,
    VENUE_CHART,
    Chart,
)
from simulator.report.tables import (
    backend_calls_table,
    bill_table,
    call_latency_table,
    failures_table,
    gpu_backends_table,
    latency_table,
    task_type_table,
    tools_table,
)

SUMMARY_FILE = "summary.json"
SCENARIO_FILE = "scenario.resolved.yaml"


def build_document(run: RunResult, summary: dict, charts: list[Chart]
                   ) -> list[Block]:
    """Every block of the report, in reading order."""
    drawn = {chart.file_name for chart in charts}
    blocks: list[Block] = [Heading(1, f"flipsim report: {summary['scenario']['name']}")]
    blocks += _introduction(run, summary)
    blocks += _warnings_section(summary)
    blocks += _task_section(summary, drawn)
    blocks += _bill_section(summary, drawn)
    blocks += _latency_section(summary, drawn)
    blocks += _calls_section(summary)
    blocks += _gpu_section(summary, drawn)
    blocks += _venues_section(summary, drawn)
    blocks += _tools_and_failures(summary, drawn)
    blocks += _little_section(summary)
    blocks += _files_section(summary)
    return blocks


def _count(number: int, noun: str) -> str:
    """'1 task', '2 tasks', '1,000 tasks'."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _introduction(run: RunResult, summary: dict) -> list[Block]:
    """What was simulated, and how the month is projected."""
    scenario, month = summary["scenario"], summary["billing_month"]
    tasks = summary["tasks"]
    text = (f"Simulated {scenario['horizon_s'] / 3600:g} h of work (seed "
            f"{scenario['seed']}, starting on a {scenario['start_weekday'].title()} at "
            f"midnight)")
    if scenario["warmup_s"] > 0:
        text += (f"; the first {seconds(scenario['warmup_s'])} are warm-up and "
                 f"excluded from every figure and bill (only the queue chart and "
                 f"the Little's law check include them). After the warm-up, ")
    else:
        text += ": "
    text += (f"{_count(tasks['arrived'], 'task')} arrived, "
             f"{tasks['completed']:,} completed, {tasks['failed']:,} failed and "
             f"{tasks['in_flight']:,} {'was' if tasks['in_flight'] == 1 else 'were'} "
             f"still in flight at the horizon. The billing month is the "
             f"{month['label']}. The monthly bill is the simulated window projected "
             f"by expected task volume: the tasks the month expects divided by the "
             f"tasks the window expected, a factor of {month['month_factor']:,.6g}.")
    blocks: list[Block] = []
    if run.scenario.description.strip():
        blocks.append(Paragraph(run.scenario.description.strip()))
    blocks.append(Paragraph(text))
    return blocks


def _warnings_section(summary: dict) -> list[Block]:
    """Cautions about the figures, before the figures."""
    warnings = summary.get("warnings") or []
    if not warnings:
        return []
    return [Heading(2, "Warnings"),
            *(Paragraph(f"Warning: {text}.") for text in warnings)]


def _task_section(summary: dict, drawn: set[str]) -> list[Block]:
    """Per task type: outcomes, calls, tokens, compute multiplier and cost."""
    baseline = summary["scenario"]["baseline_task_type"]
    note = ("Per-task means count tasks that ended (completed or failed); "
            "tokens and cost per completed task count completed tasks only. ")
    if baseline is None:
        note += "No baseline task type is set, so there is no compute multiplier."
    else:
        note += (f"The compute multiplier divides tokens per completed task by "
                 f"those of the baseline, {baseline}.")
    idle = summary.get("monthly_idle_capacity_usd") or 0
    if idle:
        note += (f" GPU capacity no task used costs {money(idle)} a month; the "
                 f"monthly spends above plus this add up to the monthly bill.")
    blocks: list[Block] = [Heading(2, "Task types"), task_type_table(summary),
                           Paragraph(note)]
    blocks += [Paragraph(text) for text in _routing_sentences(summary)]
    return blocks + _images(drawn, COST_CHART, MULTIPLIER_CHART)


def _routing_sentences(summary: dict) -> list[str]:
    """Where each task type's calls went, when more than one backend served it."""
    found = []
    for name, entry in summary["task_types"].items():
        by_backend = entry.get("calls_by_backend") or {}
        total = sum(by_backend.values())
        escalations = entry.get("escalations_per_task") or 0
        if len(by_backend) < 2 and not escalations:
            continue
        shares = ", ".join(f"{backend} {count / total:.1%} ({count:,})"
                           for backend, count in by_backend.items())
        text = f"{name} sent its {total:,} served calls to: {shares}."
        if escalations:
            text += (f" A cascade escalated {escalations:.2f} calls per task to the "
                     "larger model (a failed check, billed twice).")
        found.append(text)
    return found


def _bill_section(summary: dict, drawn: set[str]) -> list[Block]:
    """The monthly bill, then the bill of the simulated window."""
    monthly, window = summary["monthly_bill"], summary["bill"]
    month = summary["billing_month"]
    blocks: list[Block] = [
        Heading(2, f"Monthly bill: {money(monthly['total_usd'])}"),
        Paragraph(f"Period: {monthly['period']}. Projected from the simulated "
                  f"window by expected task volume (factor "
                  f"{month['month_factor']:,.6g}). Token prices are USD per 1M "
                  f"tokens; tool prices are USD per call.{_capacity_note(summary)} "
                  f"Each amount is rounded half up to the cent and the total is "
                  f"their sum, as on an invoice."),
        bill_table(monthly),
    ]
    blocks += _images(drawn, BILL_CHART, SPEND_CHART)
    per_task = summary["usd_per_task"]
    per_mtok = summary["usd_per_mtok"]
    blocks += [
        Heading(3, f"Bill of the simulated window: {money(window['total_usd'])}"),
        Paragraph(f"Period: {window['period']}. Exact total "
                  f"${window['exact_total_usd']}. Cost per ended task "
                  f"{money(per_task)}; cost per 1M tokens {money(per_mtok)}."),
        bill_table(window),
    ]
    return blocks


def _latency_section(summary: dict, drawn: set[str]) -> list[Block]:
    """Task latency percentiles per type, against targets."""
    method = summary["scenario"]["percentile_method"]
    text = (f"Task latency is arrival to finish, completed tasks only. "
            f"Percentile method: {method}. A percentile is marked "
            f"\"(too few samples)\" when fewer than one sample lies above it; "
            f"the 95% interval is distribution-free (binomial order statistics).")
    blocks: list[Block] = [Heading(2, "Task latency"), Paragraph(text),
                           latency_table(summary)]
    return blocks + _images(drawn, LATENCY_CHART)


def _calls_section(summary: dict) -> list[Block]:
    """LLM call counts, rate limiting, time to first token and call latency."""
    calls = summary["calls"]
    method = summary["scenario"]["percentile_method"]
    # rate limits only: GPU queue waits are in the GPU backends section
    why = "for a rate limit"
    text = (f"{_count(calls['count'], 'LLM call')} recorded, {calls['ok']:,} "
            f"served. {calls['context_overflows']:,} did not fit the context window "
            f"and {calls['over_tokens_per_min']:,} exceeded a tokens-per-minute "
            f"limit. {_count(calls['rate_limited'], 'call')} waited {why}, "
            f"{seconds(calls['rate_limit_wait_s'])} in all. Time to first token "
            f"(TTFT) and call latency count from the request, waits included; "
            f"percentile method: {method}.")
    return [Heading(2, "LLM calls"), Paragraph(text), call_latency_table(calls),
            backend_calls_table(calls, waited="rate-limited")]


def _gpu_section(summary: dict, drawn: set[str]) -> list[Block]:
    """Per GPU backend: capacity, use, latency, throughput and cost."""
    gpus = summary["gpu_backends"]
    if not gpus:
        return []
    text = ("Slot utilisation is the time-average of busy slots over all slots "
            "(a replica serves up to its cap of sequences at once); busy share "
            "is the share of time a replica served at least one call, which "
            "sets the power an owned GPU draws. Time to first token (TTFT) "
            "counts from the request, queue wait included; time per output "
            "token (TPOT) is the decode time over the output tokens after the "
            "first, for calls with more than one. Cost per 1M output tokens is "
            "the monthly cost over the month's output tokens at the simulated "
            "rate.")
    if summary["scenario"]["warmup_s"] > 0:
        text += (f" Every figure here leaves out the "
                 f"{seconds(summary['scenario']['warmup_s'])} warm-up.")
    blocks: list[Block] = [Heading(2, "GPU backends"), Paragraph(text),
                           gpu_backends_table(gpus)]
    blocks += [Paragraph(_gpu_sentence(name, entry)) for name, entry in gpus.items()]
    return blocks + _images(drawn, QUEUE_CHART, GPU_LATENCY_CHART)


def _venues_section(summary: dict, drawn: set[str]) -> list[Block]:
    """Owning against renting or buying tokens, and when owning pays off."""
    venues = summary.get("venues") or {}
    blocks: list[Block] = []
    if venues:
        blocks.append(Heading(2, "Owning against renting"))
    for name, venue in venues.items():
        blocks.append(Paragraph(
            f"{name} costs {money(venue['monthly_usd'])} a month at the simulated "
            f"utilisation: {money(venue['capex_usd'])} of capex over "
            f"{venue['depreciation_months']} months plus "
            f"{money(venue['running_usd_per_month'])} a month to run. The same "
            "work elsewhere, and when buying pays off:"))
        rows = tuple((alt, money(entry["monthly_usd"]),
                      "none" if entry["break_even_months"] is None
                      else f"{entry['break_even_months']:.1f} months",
                      entry["break_even"])
                     for alt, entry in venue["alternatives"].items())
        blocks.append(Table(("alternative", "monthly cost", "break-even", "why"),
                            rows, "lrrl"))
    return blocks + _images(drawn, VENUE_CHART, REPLICAS_CHART)


def _gpu_sentence(name: str, entry: dict) -> str:
    """What one GPU backend did and cost, in a sentence."""
    cost = f"it costs {money(entry['monthly_usd'])} a month"
    if not entry["calls"]:
        return f"{name} served no calls; {cost} all the same."
    per_mtok = entry["usd_per_mtok_output"]
    if per_mtok is not None:
        cost += f", {money(per_mtok)} per 1M output tokens"
    ttft = entry["ttft_s"]["p95"]["value"]
    return (f"{name} served {_count(entry['calls'], 'call')} at "
            f"{fraction(entry['utilisation_frac'])} slot utilisation; its replicas "
            f"were busy {fraction(entry['busy_frac'])} of the time, a call waited "
            f"{duration(entry['mean_wait_s'])} for a slot on average and the p95 "
            f"time to first token was {duration(ttft)}; {cost}.")


def _capacity_note(summary: dict) -> str:
    """How GPU capacity is billed, when the bill has any; else nothing."""
    units = {line["unit"] for line in summary["monthly_bill"]["lines"]}
    if not units - {"tokens", "calls"}:
        return ""
    return (" GPU capacity does not scale with traffic: rented GPUs are billed "
            "per GPU-hour for the whole period; owned GPUs as capex amortisation "
            "per GPU-month, power per kWh at the simulated busy share, support "
            "and space per month and staff per FTE-month.")


def _tools_and_failures(summary: dict, drawn: set[str]) -> list[Block]:
    """Tool services, then why tasks failed."""
    blocks: list[Block] = [Heading(2, "Tools")]
    if summary["tools"]:
        blocks.append(tools_table(summary["tools"]))
    else:
        blocks.append(Paragraph("The scenario defines no tool services."))
    if not summary["gpu_backends"]:  # else the GPU section shows the queues
        blocks += _images(drawn, QUEUE_CHART)

    blocks.append(Heading(2, "Failures"))
    tasks = summary["tasks"]
    if tasks["failed"]:
        blocks.append(failures_table(summary))
    else:
        blocks.append(Paragraph("No task failed."))
    conserved = "holds" if tasks["conserved"] else "DOES NOT HOLD"
    blocks.append(Paragraph(
        f"Conservation {conserved}: {tasks['arrived']:,} arrived = "
        f"{tasks['completed']:,} completed + {tasks['failed']:,} failed + "
        f"{tasks['in_flight']:,} in flight."))
    return blocks


def _little_section(summary: dict) -> list[Block]:
    """Little's law: time-average tasks in system against rate times time."""
    little = summary["littles_law"]
    text = (f"Arrival rate {little['arrival_rate_per_s']:.6g} tasks/s x mean time "
            f"in system {seconds(little['mean_time_in_system_s'])} = "
            f"{little['arrival_rate_times_mean_time']:,.4g} tasks; time-average "
            f"tasks in system {little['mean_in_system']:,.4g}. Tasks still in "
            f"flight count until the horizon.")
    if summary["scenario"]["warmup_s"] > 0:
        text += " Both sides cover the whole run, warm-up included."
    return [Heading(2, "Little's law"), Paragraph(text)]


def _files_section(summary: dict) -> list[Block]:
    """Links to the data behind the report, and what produced it."""
    links = FileLinks((
        ("headline figures (JSON)", SUMMARY_FILE),
        ("scenario as run, defaults filled in", SCENARIO_FILE),
        ("one row per LLM call", records.CALLS_FILE),
        ("one row per task", records.TASKS_FILE),
        ("one row per tool call attempt", records.TOOL_CALLS_FILE),
    ))
    footer = (f"Generated by flipsim {summary['flipsim_version']} (summary schema "
              f"{summary['schema_version']}). Percentile method: "
              f"{summary['scenario']['percentile_method']}.")
    return [Heading(2, "Data files"), links, Paragraph(footer)]


def _images(drawn: set[str], *charts: Chart) -> list[Block]:
    """Image blocks for the charts that were drawn."""
    return [Image(chart.file_name, chart.alt) for chart in charts
            if chart.file_name in drawn]

