"""Shared builders: tiny scenarios written as dicts, and runs with fixed arrivals."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

import simulator
from simulator.scenario import scenario_from_dict
from simulator.workload.arrivals import Arrivals

ROOT = Path(__file__).resolve().parent.parent

TINY = {
    "name": "tiny",
    "horizon_s": 3600,
    "arrivals": {"kind": "poisson", "rate_per_s": 0.01},
    "models": {"m": {"tier": "mid", "context_window_tokens": 128000}},
    "backends": {
        "api": {
            "kind": "api",
            "model": "m",
            "prices": {"input_usd_per_mtok": 3, "cached_input_usd_per_mtok": 0.3,
                       "output_usd_per_mtok": 15},
            "ttft_s": 0.5,
            "time_per_output_token_s": 0.02,
        }
    },
    "task_types": {
        "chat": {
            "share": 1.0,
            "route": {"default": "api"},
            "workflow": [{"kind": "answer", "input_tokens": 100,
                          "output_tokens": 100}],
        }
    },
}


def tiny(**changes: object) -> dict:
    """A deep copy of the tiny scenario with top-level keys replaced."""
    data = copy.deepcopy(TINY)
    data.update(copy.deepcopy(changes))
    return data


def build(data: dict) -> simulator.Scenario:
    """Validate a scenario dict."""
    return scenario_from_dict(data, source="test")


def run_at(scenario: simulator.Scenario, times: list[float],
           types: list[int] | None = None) -> simulator.engine.RunResult:
    """Run a scenario with tasks arriving exactly at `times`."""
    arrivals = Arrivals(np.asarray(times, dtype=float),
                        np.asarray(types or [0] * len(times), dtype=np.int16),
                        float(len(times)))
    return simulator.simulate(scenario, arrivals=arrivals)


@pytest.fixture
def tiny_scenario() -> simulator.Scenario:
    """The tiny scenario, validated."""
    return build(tiny())
