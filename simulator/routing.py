"""Routers: which backend serves each LLM call.

The fixed router gives every task type one backend, optionally another per
step kind. It is resolved before the run into a table indexed by task type
and step kind, so routing costs the engine one list lookup per call.
"""

from __future__ import annotations

from simulator.scenario.schema import Scenario
from simulator.scenario.workflow import STEP_KINDS, StepKind


def route_table(scenario: Scenario) -> list[list[int]]:
    """Backend index for each (task type index, step kind index)."""
    backend_names = list(scenario.backends)
    table = []
    for task_type in scenario.task_types.values():
        row = [backend_names.index(task_type.route.backend_for(StepKind(kind)))
               for kind in STEP_KINDS]
        table.append(row)
    return table
