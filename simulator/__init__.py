"""flipsim: what AI agents do to inference bills and latency, simulated.

`load_scenario(path)` reads and validates a scenario; `simulate(scenario)` runs
it and returns columnar records; `summarize(run)` turns them into the bill,
latency percentiles and compute multipliers.
"""

from __future__ import annotations

__version__ = "0.1.0"

from collections.abc import Callable  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

from simulator.errors import ScenarioError, SimulatorError  # noqa: E402
from simulator.scenario import Scenario, load_scenario  # noqa: E402

if TYPE_CHECKING:
    from simulator.records import RunResult
    from simulator.workload.arrivals import Arrivals


def simulate(scenario: Scenario, progress: Callable[[float], None] | None = None,
             arrivals: Arrivals | None = None, event_by_event: bool = False
             ) -> RunResult:
    """Run a validated scenario; per-task dollar caps priced from the scenario.

    A run in which no task can make another wait is computed vectorised
    (`result.path`), with the same records; `event_by_event` forces SimPy.
    """
    from simulator.economics.pricing import call_cost_if_needed
    from simulator.engine import simulate as run_engine

    return run_engine(scenario, call_cost=call_cost_if_needed(scenario),
                      progress=progress, arrivals=arrivals,
                      event_by_event=event_by_event)


def summarize(run: RunResult) -> dict:
    """Headline figures of a run as JSON-ready data (summary.json)."""
    from simulator.economics.summary import summarize as build

    return build(run, __version__)


_EXPERIMENTS = ("replicate", "compare", "sweep", "size", "sensitivity")


def __getattr__(name: str) -> object:
    """The experiment functions, imported from simulator.experiment.api on use."""
    if name in _EXPERIMENTS:
        from simulator.experiment import api

        return getattr(api, name)
    raise AttributeError(f"module 'simulator' has no attribute {name!r}")


__all__ = ["ScenarioError", "SimulatorError", "__version__", "compare",
           "load_scenario", "replicate", "sensitivity", "simulate", "size",
           "summarize", "sweep"]
