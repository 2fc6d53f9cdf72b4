"""Sweep specs written in YAML, so a study can be rerun from one file.

```yaml
scenario: ../scenarios/onprem-vs-cloud-gpu.yaml   # relative to this file
set: [horizon_s=3600]                              # overrides for every point
grid:
  backends.owned.replicas: [1, 2, 4]
ranges:                                            # with random: N
  arrivals.tasks_per_day: 100000..300000
random: 8
replications: 3
seed: 7
confidence: 0.95
target: p95_task_latency_s<=30                     # marks points meeting it
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ConfigDict, Field, ValidationError

from simulator.errors import ScenarioError
from simulator.experiment.sweep import SweepSpec, parse_bounds
from simulator.scenario.base import StrictModel
from simulator.scenario.load import describe_errors
from simulator.scenario.yamlio import read_yaml


class SweepFile(StrictModel):
    """A sweep as YAML: the scenario, the grid and ranges, replications."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scenario: str = Field(description="Scenario file, relative to the spec file.")
    set: list[str] = Field(default_factory=list,
                           description="Overrides (path=value) for every point.")
    grid: dict[str, list[Any]] = Field(default_factory=dict,
                                       description="Values of each swept field.")
    ranges: dict[str, str | list[float]] = Field(
        default_factory=dict, description="lo..hi (or [lo, hi]) for random draws.")
    random: int = Field(0, ge=0, le=100_000, description="Random points drawn.")
    replications: int = Field(1, ge=1, le=10_000, description="Runs per point.")
    seed: int | None = Field(None, ge=0, description="Base seed of replications.")
    confidence: float = Field(0.95, gt=0, lt=1, description="Interval level.")
    target: str | None = Field(None, description=(
        "metric<=value (or <, >=, >): marks the points whose interval meets it."))


def read_spec(path: Path) -> SweepSpec:
    """A SweepSpec from a YAML file; every problem named with its field."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a sweep spec is a mapping (scenario, grid, "
                            "ranges, random, replications, seed, confidence, set)")
    try:
        spec = SweepFile.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError([f"{path}: {line}" for line in describe_errors(exc)]
                            ) from None
    ranges = {}
    for field, value in spec.ranges.items():
        text = value if isinstance(value, str) else "..".join(map(str, value))
        ranges[field] = parse_bounds(text, f"{path}: ranges.{field}")
    scenario = (path.parent / spec.scenario) if not Path(spec.scenario).is_absolute() \
        else Path(spec.scenario)
    return SweepSpec(scenario, dict(spec.grid), ranges, spec.random,
                     spec.replications, tuple(spec.set), spec.seed, spec.confidence,
                     spec.target)
