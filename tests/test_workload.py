"""Arrivals, samplers and task plans."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.rng import Streams
from simulator.scenario.base import Lognormal
from simulator.workload.arrivals import (
    draw_arrivals,
    expected_arrivals,
    expected_arrivals_in_month,
)
from simulator.workload.plans import build_planners
from simulator.workload.sampling import make_sampler
from tests.conftest import build, tiny


def test_poisson_count_matches_expectation():
    """A day at 0.5 tasks/s draws 43,200 tasks within four standard deviations."""
    scenario = build(tiny(horizon_s=86_400,
                          arrivals={"kind": "poisson", "rate_per_s": 0.5}))
    arrivals = draw_arrivals(scenario, Streams(0))
    assert arrivals.expected_count == pytest.approx(43_200)
    assert abs(len(arrivals) - 43_200) < 4 * 43_200**0.5
    assert np.all(np.diff(arrivals.arrived_at) >= 0)
    assert arrivals.arrived_at[-1] < 86_400


def test_profiles_shape_the_rate():
    """Hours with weight 0 get no tasks; a population sets the mean rate."""
    daily = [0.0] * 8 + [1.0] * 10 + [0.0] * 6
    scenario = build(tiny(horizon_s=86_400, arrivals={
        "kind": "population", "num_users": 1000, "tasks_per_user_per_day": 8.64,
        "daily_profile": daily}))
    arrivals = draw_arrivals(scenario, Streams(0))
    hours = (arrivals.arrived_at // 3600).astype(int)
    assert set(hours.tolist()) <= set(range(8, 18))
    assert expected_arrivals(scenario, 0, 86_400) == pytest.approx(8640)
    assert expected_arrivals(scenario, 8 * 3600, 9 * 3600) == pytest.approx(864)


def test_weekly_profile_and_month():
    """Weekends at half weight: a Monday expects more than the weekly mean."""
    scenario = build(tiny(horizon_s=86_400, arrivals={
        "kind": "poisson", "tasks_per_day": 1000,
        "weekly_profile": [1, 1, 1, 1, 1, 0.5, 0.5]}))
    monday = expected_arrivals(scenario, 0, 86_400)
    assert monday == pytest.approx(1000 * 7 / 6)
    assert expected_arrivals_in_month(scenario) == pytest.approx(1000 * 730 / 24)
    february = build(tiny(horizon_s=86_400, billing={"month": "2027-02"},
                          arrivals={"kind": "poisson", "tasks_per_day": 1000,
                                    "weekly_profile": [1, 1, 1, 1, 1, 0.5, 0.5]}))
    assert expected_arrivals_in_month(february) == pytest.approx(
        1000 * 7 / 6 * (20 + 8 * 0.5))


def test_arrival_stream_ignores_other_streams():
    """Changing a task's tokens does not move the arrivals (common random numbers)."""
    base = tiny(horizon_s=3600)
    other = tiny(horizon_s=3600)
    other["task_types"]["chat"]["workflow"][0]["output_tokens"] = {
        "dist": "exponential", "mean": 50}
    first = draw_arrivals(build(base), Streams(3)).arrived_at
    second = draw_arrivals(build(other), Streams(3)).arrived_at
    assert np.array_equal(first, second)


def test_lognormal_sampler_median_and_p90():
    """A lognormal given by median 100 and p90 300 draws them back."""
    spec = Lognormal(dist="lognormal", median=100, p90=300)
    sampler = make_sampler(spec, Streams(0).generator("x"))
    draws = np.array([sampler() for _ in range(50_000)])
    assert np.median(draws) == pytest.approx(100, rel=0.03)
    assert np.quantile(draws, 0.9) == pytest.approx(300, rel=0.04)


def test_context_grows_and_cache_reads_the_previous_prompt():
    """Each call re-sends the context; the cached part is the previous prompt."""
    data = tiny(tools={"db": {"latency_s": 1}})
    chat = data["task_types"]["chat"]
    chat.update(system_prompt_tokens=1000, user_input_tokens=100, cache_read_frac=0.5)
    chat["workflow"] = [
        {"kind": "plan", "output_tokens": 200},
        {"kind": "tool", "tool": "db", "output_tokens": 100, "result_tokens": 2000},
        {"kind": "answer", "input_tokens": 50, "output_tokens": 300},
    ]
    planner = build_planners(build(data), Streams(0))[0]
    plan = planner.draw()
    assert [a.tokens_in for a in plan.actions] == [1100, 1300, 3450]
    assert [a.tokens_cached for a in plan.actions] == [500, 550, 650]
    assert [a.tokens_out for a in plan.actions] == [200, 100, 300]
    assert plan.actions[1].tool == 0 and plan.actions[1].tool_ok


def test_branch_probability():
    """A step taken with probability 0.3 runs in about 30% of tasks."""
    data = tiny()
    data["task_types"]["chat"]["workflow"] = [
        {"kind": "answer", "output_tokens": 1},
        {"kind": "reflect", "output_tokens": 1, "probability": 0.3}]
    planner = build_planners(build(data), Streams(0))[0]
    taken = np.mean([len(planner.draw().actions) == 2 for _ in range(10_000)])
    assert abs(taken - 0.3) < 0.02
