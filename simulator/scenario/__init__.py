"""Scenario schema and loading; imports neither simpy nor matplotlib."""

from simulator.scenario.base import Dist
from simulator.scenario.load import (
    apply_overrides,
    describe_errors,
    dump_resolved,
    load_scenario,
    scenario_from_dict,
)
from simulator.scenario.prices import TOKENS_PER_MTOK, TokenPrices
from simulator.scenario.schema import (
    ApiBackend,
    Model,
    PoissonArrivals,
    PopulationArrivals,
    Scenario,
    ToolService,
)
from simulator.scenario.workflow import (
    STEP_KINDS,
    Caps,
    Loop,
    Route,
    Step,
    StepKind,
    TaskType,
)

__all__ = [
    "STEP_KINDS", "TOKENS_PER_MTOK", "ApiBackend", "Caps", "Dist", "Loop", "Model",
    "PoissonArrivals", "PopulationArrivals", "Route", "Scenario", "Step", "StepKind",
    "TaskType", "TokenPrices", "ToolService", "apply_overrides", "describe_errors",
    "dump_resolved", "load_scenario", "scenario_from_dict",
]
