"""Percentiles with counts and flags, Erlang C, Little's law."""

from __future__ import annotations

import math

import numpy as np
import pytest

import simulator
from simulator.metrics import (
    erlang_c_wait_s,
    mean_with_ci,
    percentile,
    percentiles,
    time_average_in_system,
)
from tests.conftest import build, tiny


def test_eight_samples_flag_the_tail():
    """From 1..8 s, p50 is 4 s by nearest rank; p95 and p99 are flagged."""
    found = percentiles(np.arange(1, 9, dtype=float))
    assert found["p50"].value == 4.0 and not found["p50"].too_few_samples
    assert found["p50"].method == "nearest_rank"
    assert found["p95"].too_few_samples and found["p99"].too_few_samples
    assert found["p95"].ci95_low is None


def test_hundred_samples_p99_by_method():
    """From 1..100 s, p99 is 99 s by nearest rank and 99.01 s linear, unflagged."""
    values = np.arange(1, 101, dtype=float)
    nearest = percentile(values, 0.99, "nearest_rank")
    linear = percentile(values, 0.99, "linear")
    assert (nearest.value, nearest.too_few_samples) == (99.0, False)
    assert linear.value == pytest.approx(99.01, abs=1e-12)
    assert linear.method == "linear" and not linear.too_few_samples


def test_percentile_interval_brackets_the_value():
    """The order-statistic interval of p50 of 1..100 is ranks 40 to 61."""
    found = percentile(np.arange(1, 101, dtype=float), 0.5)
    assert (found.ci95_low, found.value, found.ci95_high) == (40.0, 50.0, 61.0)


def test_empty_sample():
    """No samples: no value, flagged."""
    found = percentile(np.array([]), 0.5)
    assert found.value is None and found.too_few_samples and found.num_samples == 0


def test_erlang_c_reference_value():
    """M/M/8 at 6.4 arrivals/s, 1 s service: mean wait 0.286028 s."""
    assert erlang_c_wait_s(6.4, 1.0, 8) == pytest.approx(0.2860280784, abs=1e-9)
    assert erlang_c_wait_s(1.0, 1.0, 1) == math.inf


def test_time_average_in_system():
    """One task for 2 s and one for 4 s in a 10 s window average 0.6 present."""
    arrived = np.array([0.0, 5.0])
    left = np.array([2.0, np.nan])
    assert time_average_in_system(arrived, left, 9.0) == pytest.approx(6 / 9)
    assert time_average_in_system(arrived, np.array([2.0, 9.0]), 10.0) == 0.6


def test_mean_with_ci():
    """Mean and 95% half-width of 1..4."""
    mean, half = mean_with_ci(np.array([1.0, 2.0, 3.0, 4.0]))
    assert mean == 2.5 and half == pytest.approx(1.959964 * 1.290994 / 2, rel=1e-5)


def test_littles_law_holds_on_a_run():
    """Time-average tasks present equals arrival rate times mean time present."""
    scenario = simulator.load_scenario("scenarios/support-bot-to-agent.yaml",
                                       ["horizon_s=14400"])
    little = simulator.summarize(simulator.simulate(scenario))["littles_law"]
    assert little["mean_in_system"] > 0
    assert little["mean_in_system"] == pytest.approx(
        little["arrival_rate_times_mean_time"], rel=1e-6)


def test_tool_pool_is_an_mmc_queue():
    """A tool with 8 slots, exponential 1 s latency and 6.4 calls/s waits as
    Erlang C says (0.286 s), and Little's law holds for the queue."""
    data = tiny(horizon_s=30_000, arrivals={"kind": "poisson", "rate_per_s": 6.4},
                tools={"pool": {"latency_s": {"dist": "exponential", "mean": 1},
                                "concurrency": 8}})
    data["task_types"]["chat"]["workflow"] = [{"kind": "retrieve", "tool": "pool"}]
    run = simulator.simulate(build(data))
    tools = run.tool_calls
    warm = tools["requested_at"] > 1000
    waits = tools["started_at"][warm] - tools["requested_at"][warm]
    expected = erlang_c_wait_s(6.4, 1.0, 8)
    assert abs(np.mean(waits) - expected) / expected < 0.12
    summary = simulator.summarize(run)["tools"]["pool"]
    assert summary["unstable"] is False
    assert summary["utilisation_frac"] == pytest.approx(0.8, abs=0.02)


def test_overloaded_tool_is_reported_unstable():
    """Offered load above the slots is flagged, and no mean wait is given."""
    data = tiny(horizon_s=2000, arrivals={"kind": "poisson", "rate_per_s": 3},
                tools={"pool": {"latency_s": 1, "concurrency": 2}})
    data["task_types"]["chat"]["workflow"] = [{"kind": "retrieve", "tool": "pool"}]
    summary = simulator.summarize(simulator.simulate(build(data)))["tools"]["pool"]
    assert summary["unstable"] is True and summary["mean_wait_s"] is None
    assert summary["offered_load_frac"] == pytest.approx(1.5, abs=0.05)


def test_rate_limited_backend_is_reported_overloaded():
    """Traffic above a requests-per-minute limit is flagged, with a warning."""
    data = tiny(horizon_s=1800, arrivals={"kind": "poisson", "rate_per_s": 1.0})
    data["backends"]["api"]["requests_per_min"] = 30
    summary = simulator.summarize(simulator.simulate(build(data)))
    backend = summary["calls"]["backends"]["api"]
    assert backend["unstable"] is True
    assert backend["offered_requests_per_min_frac"] == pytest.approx(2.0, rel=0.1)
    assert any("backend api is overloaded" in w for w in summary["warnings"])
    assert any("still in flight" in w for w in summary["warnings"])


def test_healthy_run_has_no_warnings():
    """A run well inside its limits carries no warnings."""
    data = tiny(horizon_s=3600, arrivals={"kind": "poisson", "rate_per_s": 0.1})
    data["backends"]["api"]["requests_per_min"] = 600
    summary = simulator.summarize(simulator.simulate(build(data)))
    assert summary["calls"]["backends"]["api"]["unstable"] is False
    assert summary["warnings"] == []
