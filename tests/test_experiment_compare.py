"""Comparisons on common random numbers, intervals and sensitivity."""

from __future__ import annotations

import math

import numpy as np
import pytest

import simulator
from simulator.experiment.points import read_base
from simulator.experiment.sensitivity import find_inputs
from simulator.experiment.stats import mean_interval, t_quantile, unpaired_interval
from tests.test_experiment import write_scenario

ROUTING = {
    "name": "routing",
    "seed": 0,
    "horizon_s": 900,
    "arrivals": {"kind": "poisson", "rate_per_s": 0.5},
    "models": {"big": {"tier": "frontier", "context_window_tokens": 128000},
               "small": {"tier": "small", "context_window_tokens": 128000}},
    "backends": {
        "big-api": {"kind": "api", "model": "big",
                    "prices": {"input_usd_per_mtok": 3, "output_usd_per_mtok": 15},
                    "ttft_s": {"dist": "lognormal", "median": 0.6, "p90": 1.5},
                    "time_per_output_token_s": 0.02},
        "small-api": {"kind": "api", "model": "small",
                      "prices": {"input_usd_per_mtok": 0.2,
                                 "output_usd_per_mtok": 0.8},
                      "ttft_s": {"dist": "lognormal", "median": 0.3, "p90": 0.8},
                      "time_per_output_token_s": 0.008}},
    "task_types": {"agent": {
        "share": 1.0, "system_prompt_tokens": 500,
        "user_input_tokens": {"dist": "lognormal", "median": 400, "p90": 2000},
        "route": {"default": "big-api"},
        "workflow": [
            {"kind": "plan",
             "output_tokens": {"dist": "lognormal", "median": 150, "p90": 600}},
            {"loop": {"iterations": {"dist": "uniform", "low": 1, "high": 8},
                      "steps": [{"kind": "act", "input_tokens": 100,
                                 "output_tokens": {"dist": "lognormal",
                                                   "median": 200, "p90": 800}}]}},
            {"kind": "reflect", "output_tokens": 50, "fault_prob": 0.2},
            {"kind": "answer",
             "output_tokens": {"dist": "lognormal", "median": 300, "p90": 900}}]}},
}
CASCADE = ("cascade:task_types.agent.route={policy: cascade, first: small-api, "
           "fail_prob: 0.2, default: big-api}")


def test_t_quantiles_match_tables():
    """Two-sided 95% t quantiles for 1, 4, 9 and 30 degrees of freedom."""
    assert t_quantile(0.95, 1) == pytest.approx(12.7062, abs=1e-4)
    assert t_quantile(0.95, 4) == pytest.approx(2.7764, abs=1e-4)
    assert t_quantile(0.95, 9) == pytest.approx(2.2622, abs=1e-4)
    assert t_quantile(0.99, 30) == pytest.approx(2.7500, abs=1e-4)


def test_intervals():
    """Mean and half-width of 1..5; none for one value; Welch for two samples."""
    interval = mean_interval([1, 2, 3, 4, 5])
    assert interval.mean == 3
    assert interval.half_width == pytest.approx(2.7764451 * math.sqrt(2.5 / 5))
    assert math.isnan(mean_interval([4.0]).half_width)
    welch = unpaired_interval(np.array([1.0, 2, 3]), np.array([2.0, 3, 4]))
    assert welch.mean == 1.0
    assert welch.half_width == pytest.approx(2.7764451 * math.sqrt(2 / 3))


def test_comparing_a_scenario_with_itself_is_exactly_zero(tmp_path):
    """Every difference and every half-width is exactly 0 (or NaN: no value)."""
    path = write_scenario(tmp_path, ROUTING, "routing.yaml")
    result = simulator.compare(path, path, replications=3, workers=1)
    diff = result.differences
    finite = diff[np.isfinite(diff["difference_mean"])]
    assert len(finite) > 15
    assert (finite["difference_mean"] == 0.0).all()
    assert (finite["half_width"] == 0.0).all()
    assert set(diff.loc[~np.isfinite(diff["difference_mean"]), "metric"]) == {
        "gpu_utilisation_frac", "mean_tool_wait_s", "mean_gpu_wait_s",
        "task_types.agent.compute_multiplier"}


def test_variants_share_arrivals(tmp_path):
    """A routing variant sees the same arrivals: same tasks each replication."""
    path = write_scenario(tmp_path, ROUTING, "routing.yaml")
    result = simulator.compare(path, variants=[CASCADE], replications=2, workers=1)
    table = result.table
    base = table[table["variant"] == "routing"]["seed"].tolist()
    assert table[table["variant"] == "cascade"]["seed"].tolist() == base
    bill = result.differences.set_index("metric").loc["monthly_bill_usd"]
    assert bill["difference_mean"] < 0  # the small model first is cheaper
    assert "monthly_bill.small-api.output_tokens" in set(result.differences["metric"])


def test_common_random_numbers_narrow_the_bill_interval(tmp_path):
    """Paired intervals on common seeds are narrower than independent ones
    (20 replications: with fewer, an interval's width is itself too noisy to
    rank a p95's)."""
    path = write_scenario(tmp_path, ROUTING, "routing.yaml")
    result = simulator.compare(path, variants=[CASCADE], replications=20,
                               check_crn=True, workers=2)
    crn = result.crn_check.set_index("metric")
    bill = crn.loc["monthly_bill_usd"]
    assert bill["crn_half_width"] < bill["independent_half_width"]
    assert bill["width_ratio"] == pytest.approx(
        bill["crn_half_width"] / bill["independent_half_width"])
    assert crn.loc["p95_task_latency_s", "width_ratio"] < 1


def test_sensitivity_inputs_found_in_the_scenario(tmp_path):
    """Arrival volume, loop iterations, fault_prob, tokens and prices are found."""
    path = write_scenario(tmp_path, ROUTING, "routing.yaml")
    inputs = {i.name: i for i in find_inputs(read_base(path).data, 0.25)}
    assert set(inputs) == {
        "arrival volume", "agent: loop iterations at workflow.1",
        "agent: fault_prob of workflow.2", "agent: tokens per step",
        "big-api: token prices", "small-api: token prices"}
    assert inputs["arrival volume"].low == ("arrivals.rate_per_s=0.375",)
    assert inputs["agent: fault_prob of workflow.2"].high == (
        "task_types.agent.workflow.2.fault_prob=0.25",)
    assert inputs["agent: loop iterations at workflow.1"].high == (
        'task_types.agent.workflow.1.loop.iterations={"dist": "uniform", '
        '"low": 1.25, "high": 10.0}',)
    empirical = find_inputs({"task_types": {"t": {"workflow": [{"loop": {
        "iterations": {"dist": "empirical", "values": [0, 2], "weights": [1, 3]},
        "steps": []}}]}}}, 0.5)[0]
    assert empirical.high == ('task_types.t.workflow.0.loop.iterations={"dist": '
                              '"empirical", "values": [0.0, 3.0], "weights": [1, 3]}',)


def test_sensitivity_ranks_swings(tmp_path):
    """The price of an unused backend moves nothing; big-api prices move the bill."""
    path = write_scenario(tmp_path, ROUTING, "routing.yaml")
    result = simulator.sensitivity(path, params=["horizon_s=600..900"],
                                   replications=2, workers=2)
    bill = result.swings[result.swings["metric"] == "monthly_bill_usd"].set_index(
        "input")
    assert bill.loc["small-api: token prices", "swing"] == 0
    assert bill.loc["big-api: token prices", "swing"] > 0
    assert bill["rank"].min() == 1
    assert len(result.table) == 2 * (1 + 2 * 7)
