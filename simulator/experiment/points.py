"""Points of an experiment: one scenario, its overrides and one replication seed.

A point is everything one run needs, as plain data (the scenario as read from
its file, the `--set` overrides of the point, the seed), so it can be sent to
another process or a Dask worker and gives the same figures there. Its key is
a SHA-256 of that data, which is how a resumed experiment recognises points
already done. Replication seeds are derived from the scenario seed by name
(`replication/<i>` through numpy's SeedSequence), never from Python's `hash`.
Limitations: a trace-replay scenario reads its trace file on the worker, so a
remote Dask worker must see the same path.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulator.errors import ScenarioError
from simulator.rng import stream_key
from simulator.scenario import Scenario, scenario_from_dict
from simulator.scenario.load import apply_overrides
from simulator.scenario.yamlio import read_yaml

logger = logging.getLogger(__name__)

MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class BaseScenario:
    """A scenario file read once: its mapping, and where it came from."""

    data: dict[str, Any]
    source: str

    @property
    def name(self) -> str:
        """The scenario's name field (or the file stem when missing)."""
        return str(self.data.get("name", Path(self.source).stem))


@dataclass(frozen=True)
class Point:
    """One run of an experiment."""

    base: BaseScenario
    overrides: tuple[str, ...]
    seed: int
    replication: int
    params: dict[str, Any] = field(default_factory=dict)
    label: str = ""

    @property
    def key(self) -> str:
        """Stable identity of the run: hash of scenario data, overrides and seed."""
        text = json.dumps({"scenario": self.base.data, "overrides": self.overrides,
                           "seed": self.seed}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


MAX_EXPERIMENT_HORIZON_S = 7 * 86_400 - 1


def read_base(path: str | Path) -> BaseScenario:
    """Read a scenario file as a mapping (validated later, per point).

    Raises:
        ScenarioError: unreadable, empty or not a mapping.
    """
    path = Path(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario is a mapping of fields, found "
                            f"{'nothing' if data is None else type(data).__name__}")
    arrivals = data.get("arrivals")
    if isinstance(arrivals, dict) and arrivals.get("kind") == "trace":
        arrivals.setdefault("base_dir", str(path.resolve().parent))
    return BaseScenario(data, str(path))


def build_scenario(base: BaseScenario, overrides: tuple[str, ...] | list[str],
                   seed: int | None = None) -> Scenario:
    """Validate the base scenario with overrides (and a seed) applied.

    Raises:
        ScenarioError: an override or the resulting scenario is invalid.
    """
    data = apply_overrides(copy.deepcopy(base.data), list(overrides))
    if seed is not None:
        data["seed"] = seed
    scenario = scenario_from_dict(data, source=base.source)
    if scenario.timeline is not None:
        raise ScenarioError(f"{base.source}: timeline: experiments run one "
                            "horizon; run a timeline with `flipsim run`")
    if scenario.horizon_s > MAX_EXPERIMENT_HORIZON_S:
        raise ScenarioError(
            f"horizon_s: found {scenario.horizon_s:g}; experiments simulate every "
            f"call of every point, so at most {MAX_EXPERIMENT_HORIZON_S:g} (a "
            "week minus a second, below month mode); set a shorter horizon_s "
            "with --set")
    return scenario


def replication_seeds(base_seed: int, count: int) -> list[int]:
    """`count` seeds derived from `base_seed` by the names replication/0, /1, ..."""
    seeds = []
    for index in range(count):
        sequence = np.random.SeedSequence(
            base_seed, spawn_key=stream_key(f"replication/{index}"))
        words = sequence.generate_state(2, np.uint64)
        seeds.append(int(words[0]) & MAX_SEED)
    return seeds


def run_point(point: Point) -> dict[str, Any]:
    """Run one point; its figures, or its error, as a JSON-ready record."""
    import simulator
    from simulator.experiment.headline import headline_figures

    record: dict[str, Any] = {"key": point.key, "label": point.label,
                              "replication": point.replication, "seed": point.seed,
                              "params": point.params, "error": None, "figures": {}}
    try:
        scenario = build_scenario(point.base, point.overrides, point.seed)
        run = simulator.simulate(scenario)
        record["figures"] = headline_figures(run, simulator.summarize(run))
    except Exception as exc:  # one failed point must not lose the others
        logger.warning("point %s (replication %d) failed: %s", point.params,
                       point.replication, exc)
        record["error"] = f"{type(exc).__name__}: {exc}"
        record["traceback"] = traceback.format_exc(limit=8)
    return record
