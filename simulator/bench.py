"""`make bench`: engine speed against bare SimPy, and month mode's time,
memory and error, in one run.

1. Exact engine: one simulated day of chat-vs-agents, fastest of --repeat
   runs; LLM calls per wall-second, as users run it (the vectorised
   contention-free shortcut when no task can make another wait, which gives
   the same records) and forced event by event.
2. Bare SimPy, in the same process and run, on the same calls:
   - timeouts: one process yielding one timeout per LLM call;
   - task replay: one process per task started at its arrival instant,
     yielding exactly the timeouts the engine's task spent in LLM calls and
     tool attempts (no queues, plans, routing or records).
   Each ratio is bare time / engine time: 1.0 would mean the engine costs
   nothing beyond SimPy's own events.
3. Month mode on enterprise-month (30 days, about 30M LLM calls), in a child
   process: wall time and peak memory (the main process plus its largest
   worker, times the number of workers, bounds the total).
4. Month mode's error against exact runs of the small month-mode-check
   scenario (several seeds).

Wall-clock figures move by 10-20% between runs on a shared machine; the
ratios of figures taken in one run are steadier. Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import simpy

import simulator

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
DEFAULT_SCENARIO = SCENARIOS / "chat-vs-agents.yaml"
MONTH_SCENARIO = SCENARIOS / "enterprise-month.yaml"
CHECK_SCENARIO = SCENARIOS / "month-mode-check.yaml"


def bare_timeouts_s(num_timeouts: int) -> float:
    """Wall seconds for one SimPy process to yield `num_timeouts` timeouts."""
    env = simpy.Environment()

    def loop(count: int):
        """The bare process: one timeout after another."""
        for _ in range(count):
            yield env.timeout(1.0)

    env.process(loop(num_timeouts))
    started = time.perf_counter()
    env.run()
    return time.perf_counter() - started


def task_timeouts(run) -> tuple[list[float], list[list[float]]]:
    """Each task's arrival and the durations of its calls and tool attempts,
    in the order it made them."""
    calls, tools = run.calls, run.tool_calls
    task_ids = np.concatenate([calls["task_id"], tools["task_id"]])
    starts = np.concatenate([calls["requested_at"], tools["requested_at"]])
    durations = np.concatenate([calls["finished_at"] - calls["requested_at"],
                                tools["finished_at"] - tools["requested_at"]])
    order = np.lexsort((starts, task_ids))
    per_task: list[list[float]] = [[] for _ in range(len(run.tasks["task_id"]))]
    for task, duration in zip(task_ids[order].tolist(), durations[order].tolist(),
                              strict=True):
        per_task[task].append(duration)
    return run.tasks["arrived_at"].tolist(), per_task


def bare_task_replay_s(arrivals: list[float], per_task: list[list[float]]) -> float:
    """Wall seconds for bare SimPy processes replaying the engine's timeouts."""
    env = simpy.Environment()

    def task(durations: list[float]):
        """One task: its timeouts, one after another."""
        for duration in durations:
            yield env.timeout(duration)

    def arrive():
        """Start each task at its arrival instant."""
        for arrived_at, durations in zip(arrivals, per_task, strict=True):
            if arrived_at > env.now:
                yield env.timeout(arrived_at - env.now)
            env.process(task(durations))

    env.process(arrive())
    started = time.perf_counter()
    env.run()
    return time.perf_counter() - started


def engine_figures(scenario_path: Path, repeat: int) -> None:
    """Print the exact engine's speed and its ratios to bare SimPy, as users
    run it (the vectorised shortcut when it applies) and event by event."""
    scenario = simulator.load_scenario(scenario_path, ["horizon_s=86400"])
    timed: dict[bool, list[float]] = {False: [], True: []}
    runs = {}
    for _ in range(repeat):
        for forced in (False, True):
            started = time.perf_counter()
            runs[forced] = simulator.simulate(scenario, event_by_event=forced)
            timed[forced].append(time.perf_counter() - started)
    run = runs[True]
    num_calls = len(run.calls["task_id"])
    arrivals, per_task = task_timeouts(run)
    num_timeouts = sum(len(d) for d in per_task)
    timeouts_s = min(bare_timeouts_s(num_calls) for _ in range(repeat))
    replay_s = min(bare_task_replay_s(arrivals, per_task) for _ in range(repeat))
    print(f"== exact engine: {scenario.name}, one simulated day, seed {scenario.seed}")
    print(f"LLM calls: {num_calls:,} (plus {len(run.tool_calls['task_id']):,} tool "
          f"attempts, {len(run.tasks['task_id']):,} tasks)")
    print(f"bare SimPy: {num_calls:,} timeouts in one process {timeouts_s:.3f} s; "
          f"the same {len(per_task):,} tasks replaying the engine's "
          f"{num_timeouts:,} timeouts as processes {replay_s:.3f} s")
    for forced, label in ((False, f"as run ({runs[False].path})"),
                          (True, "forced event by event")):
        best = min(timed[forced])
        print(f"engine, {label}: {best:.3f} s wall, {num_calls / best:,.0f} LLM "
              f"calls per wall-second, {86_400 / best:,.0f} simulated seconds per "
              f"wall-second (best of {repeat}); ratio bare / engine "
              f"{timeouts_s / best:.3f} (timeouts), {replay_s / best:.3f} "
              "(task replay)")
    same = all(np.array_equal(runs[False].calls[name], runs[True].calls[name],
                              equal_nan=True) for name in run.calls)
    print(f"the two runs' call records are {'identical' if same else 'DIFFERENT'}")


def peak_kib() -> int:
    """This process's peak resident memory in KiB since it started its
    program (Linux's VmHWM: ru_maxrss would carry over the peak of the
    process that forked it)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def month_figures(workers: int) -> None:
    """Run month mode on the 30M-call month in a child process; print its
    wall time and peak memory."""
    code = (
        "import json, resource, sys, time, simulator\n"
        "from simulator.bench import peak_kib\n"
        "from simulator.month import estimate_month\n"
        f"scenario = simulator.load_scenario({str(MONTH_SCENARIO)!r})\n"
        "started = time.perf_counter()\n"
        f"estimate = estimate_month(scenario, replications=4, workers={workers})\n"
        "wall = time.perf_counter() - started\n"
        "print(json.dumps({'wall_s': wall, 'method': estimate.method,\n"
        "  'bill': estimate.figures['monthly_bill_usd'],\n"
        "  'p95': estimate.figures['latency_p95_s'],\n"
        "  'self_kib': peak_kib(),\n"
        "  'worker_kib': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))\n"
    )
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, check=True)
    whole_s = time.perf_counter() - started
    found = json.loads(done.stdout.strip().splitlines()[-1])
    method = found["method"]
    self_mib, worker_mib = found["self_kib"] / 1024, found["worker_kib"] / 1024
    bound = self_mib + (worker_mib * workers if workers > 1 else 0)
    calls = method["calls_estimated_in_horizon"]
    print(f"== month mode: {MONTH_SCENARIO.stem}, 30 days, "
          f"{method['replications']} replications, {workers} worker process(es)")
    print(f"estimated LLM calls in the month: {calls:,.0f}; simulated "
          f"{method['calls_simulated']:,} ({method['busy_hours']} busy hours "
          f"simulated, {method['quiet_hours']} quiet hours screened)")
    print(f"wall: {found['wall_s']:.1f} s in month mode ({whole_s:.1f} s with "
          f"start-up), {calls / found['wall_s']:,.0f} month calls per wall-second, "
          f"{method['calls_simulated'] / found['wall_s']:,.0f} simulated calls per "
          "wall-second")
    print(f"peak memory: main process {self_mib:,.0f} MiB, largest worker "
          f"{worker_mib:,.0f} MiB; all processes together at most {bound:,.0f} MiB")
    bill, p95 = found["bill"], found["p95"]
    print(f"monthly bill ${bill['mean']:,.2f} (95% interval ${bill['ci95_low']:,.2f}"
          f" to ${bill['ci95_high']:,.2f}); p95 task latency {p95['mean']:.1f} s "
          f"({p95['ci95_low']:.1f} to {p95['ci95_high']:.1f} s)")


def error_figures(seeds: int) -> None:
    """Print month mode's error against exact runs of the small scenario."""
    from simulator.month import estimate_month, exact_reference, t_interval

    scenario = simulator.load_scenario(CHECK_SCENARIO)
    started = time.perf_counter()
    estimate = estimate_month(scenario, replications=4)
    month_s = time.perf_counter() - started
    started = time.perf_counter()
    exact = exact_reference(scenario, seeds=list(range(101, 101 + seeds)))
    exact_s = (time.perf_counter() - started) / seeds
    print(f"== month mode against {seeds} exact runs: {CHECK_SCENARIO.stem} "
          f"({scenario.horizon_s / 86_400:g} days); month mode {month_s:.1f} s, "
          f"one exact run {exact_s:.1f} s")
    for key, label in (("monthly_bill_usd", "monthly bill"),
                       ("latency_mean_s", "mean task latency"),
                       ("latency_p95_s", "p95 task latency")):
        mean, low, high = t_interval(exact[key])
        value = estimate.figures[key]["mean"]
        inside = "inside" if low <= value <= high else "OUTSIDE"
        print(f"{label}: month mode {value:,.3f}, exact {mean:,.3f} "
              f"(95% interval {low:,.3f} to {high:,.3f}); error "
              f"{100 * (value - mean) / mean:+.2f}%, {inside} the interval")


def main(argv: list[str] | None = None) -> int:
    """Print every benchmark figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of the engine and baselines; the fastest counts")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="month mode's worker processes")
    parser.add_argument("--seeds", type=int, default=4,
                        help="exact runs month mode is checked against")
    parser.add_argument("--skip-month", action="store_true",
                        help="only the engine figures")
    args = parser.parse_args(argv)
    engine_figures(args.scenario, args.repeat)
    if not args.skip_month:
        month_figures(args.workers)
        error_figures(args.seeds)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(this process peaked at {peak:,.0f} MiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
