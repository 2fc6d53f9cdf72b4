"""Every shipped scenario validates and finishes a short run."""

from __future__ import annotations

from pathlib import Path

import pytest

import simulator
from tests.conftest import ROOT

SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


def test_there_are_shipped_scenarios():
    """The default scenario and at least one more are shipped."""
    names = {path.name for path in SCENARIOS}
    assert "chat-vs-agents.yaml" in names and len(names) >= 2


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_scenario_runs_a_short_horizon(path: Path):
    """Validates, runs two busy hours, and accounts for every task."""
    scenario = simulator.load_scenario(path, ["horizon_s=7200",
                                              "start_weekday=tuesday"])
    summary = simulator.summarize(simulator.simulate(scenario))
    assert summary["tasks"]["conserved"]
    assert summary["tasks"]["arrived"] > 0
    assert summary["monthly_bill"]["total_usd"] > 0


def test_default_multipliers_rise_with_agency():
    """In chat-vs-agents the coding agent burns far more tokens than the tool agent,
    which burns far more than chat."""
    scenario = simulator.load_scenario(ROOT / "scenarios" / "chat-vs-agents.yaml",
                                       ["horizon_s=43200"])
    types = simulator.summarize(simulator.simulate(scenario))["task_types"]
    assert types["chat"]["compute_multiplier"] == 1.0
    assert 10 < types["tool_agent"]["compute_multiplier"] < 100
    assert types["coding_agent"]["compute_multiplier"] > 100
