"""`make bench`: engine speed as a ratio to a bare SimPy loop in the same run.

Runs one simulated day of the chat-vs-agents scenario, counts the LLM calls,
then times a bare SimPy process doing that many timeouts, in the same
process. The ratio is bare time / engine time: 1.0 would mean the engine
costs no more per LLM call than SimPy's cheapest event. Wall-clock figures
move by 10-20% between runs on a shared machine; compare ratios.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import simpy

import simulator

DEFAULT_SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / (
    "chat-vs-agents.yaml")


def bare_simpy_s(num_timeouts: int) -> float:
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


def main(argv: list[str] | None = None) -> int:
    """Print the engine's calls per wall-second and its ratio to bare SimPy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each; the fastest is reported")
    args = parser.parse_args(argv)

    scenario = simulator.load_scenario(args.scenario, ["horizon_s=86400"])
    engine_s, num_calls, num_tools = [], 0, 0
    for _ in range(args.repeat):
        started = time.perf_counter()
        run = simulator.simulate(scenario)
        engine_s.append(time.perf_counter() - started)
        num_calls = len(run.calls["task_id"])
        num_tools = len(run.tool_calls["task_id"])
    bare_s = [bare_simpy_s(num_calls) for _ in range(args.repeat)]

    best_engine, best_bare = min(engine_s), min(bare_s)
    print(f"scenario: {scenario.name}, one simulated day, seed {scenario.seed}")
    print(f"LLM calls simulated: {num_calls:,} (plus {num_tools:,} tool calls, "
          f"{len(run.tasks['task_id']):,} tasks)")
    print(f"engine: {best_engine:.2f} s wall, {num_calls / best_engine:,.0f} LLM "
          "calls per wall-second (best of %d)" % args.repeat)
    print(f"bare SimPy, {num_calls:,} timeouts: {best_bare:.2f} s wall, "
          f"{num_calls / best_bare:,.0f} timeouts per wall-second")
    print(f"ratio bare / engine per LLM call: {best_bare / best_engine:.3f}")
    print(f"simulated seconds per wall-second: {86_400 / best_engine:,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
