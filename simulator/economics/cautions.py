"""Plain-language cautions about a run's figures, for summary.json and the report.

Each warning names what misleads (an overloaded backend, tool or GPU pool,
tasks left in flight, too few samples, a trace that ends early, no tasks) and
what to do about it.
"""

from __future__ import annotations

IN_FLIGHT_WARNING_FRAC = 0.05
TRACE_END_FRAC = 0.8  # warn when the trace ends before 80% of the horizon


def warnings_for(summary: dict) -> list[str]:
    """Plain-language cautions about the figures of a run."""
    found = []
    for name, backend in summary["calls"]["backends"].items():
        if backend["unstable"]:
            found.append(f"backend {name} is overloaded: its rate limits admit less "
                         "than the traffic asks for, so waits grow without bound "
                         "and its latency figures depend on the horizon")
    for name, gpu in summary["gpu_backends"].items():
        if gpu.get("queue_growing"):
            found.append(f"GPU backend {name} looks overloaded: its queue kept "
                         "growing to the horizon, so waits depend on the horizon; "
                         "add replicas or lower the load")
    for name, tool in summary["tools"].items():
        if tool["unstable"]:
            found.append(f"tool {name} is overloaded: offered load "
                         f"{tool['offered_load_frac']:.2f} of its slots; its queue "
                         "grows without bound and no mean wait is given")
    trace = summary.get("trace")
    horizon = summary["scenario"]["horizon_s"]
    if trace and trace["last_request_at"] < TRACE_END_FRAC * horizon:
        found.append(f"the trace's last request arrives at "
                     f"{trace['last_request_at']:,.0f} s but the horizon runs to "
                     f"{horizon:,.0f} s; the idle rest dilutes every rate and the "
                     "monthly projection (by time): set horizon_s near the trace's end")
    if trace and trace["skipped_rows"]:
        found.append(f"{trace['skipped_rows']:,} malformed trace rows were skipped")
    tasks = summary["tasks"]
    if not tasks["arrived"]:
        found.append("no task arrived in the measured window, so every task "
                     "figure is empty; lengthen horizon_s, shorten warmup_s or "
                     "raise the arrival rate")
    if tasks["arrived"] and tasks["in_flight"] > IN_FLIGHT_WARNING_FRAC * tasks[
            "arrived"]:
        found.append(f"{tasks['in_flight']:,} of {tasks['arrived']:,} tasks were "
                     "still in flight at the horizon: latency percentiles cover "
                     "completed tasks only and understate the tail; run longer")
    for name, entry in summary["task_types"].items():
        p95 = entry["latency_s"]["p95"]
        if entry["arrived"] and p95["too_few_samples"]:
            found.append(f"task type {name}: {p95['num_samples']} completed tasks "
                         "are too few for a p95")
    return found
