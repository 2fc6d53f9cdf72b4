"""Routing policies: tiered, cascade, spill-over and cheapest-meeting-target."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

import simulator
from simulator.economics.bill import run_bill
from tests.conftest import build, run_at, tiny


def _two_apis(route: dict, **changes: object) -> dict:
    """tiny with a dear 'big' API and a cheap, slower 'small' one."""
    data = tiny(**changes)
    data["backends"]["big"] = data["backends"].pop("api")
    data["backends"]["small"] = {
        "kind": "api", "model": "m", "ttft_s": 0.5, "time_per_output_token_s": 0.01,
        "prices": {"input_usd_per_mtok": 0.3, "output_usd_per_mtok": 1.5}}
    data["task_types"]["chat"]["route"] = route
    return data


def test_tiered_sends_the_routine_share_to_the_small_model():
    """80% routine: about 80% of tasks on small, each task on one backend."""
    data = _two_apis({"policy": "tiered", "default": "big", "routine": "small",
                      "routine_frac": 0.8})
    data["task_types"]["chat"]["workflow"].append({"kind": "answer",
                                                   "output_tokens": 10})
    run = run_at(build(data), [float(t) for t in range(2000)])
    calls = run.calls
    small = calls["backend"] == 1
    per_task = np.bincount(calls["task_id"], weights=small) / 2
    assert set(per_task.tolist()) == {0.0, 1.0}
    assert abs(per_task.mean() - 0.8) < 0.03


def test_cascade_redoes_failed_answers_on_the_big_model():
    """fail_prob 1: every call runs on small, then again on big; both billed."""
    data = _two_apis({"policy": "cascade", "default": "big", "first": "small",
                      "fail_prob": 1.0})
    data["task_types"]["chat"]["workflow"][0].update(input_tokens=1000,
                                                     output_tokens=100)
    run = run_at(build(data), [0.0])
    assert run.calls["backend"].tolist() == [1, 0]
    assert run.calls["escalated"].tolist() == [0, 1]
    assert run.tasks["finished_at"].tolist() == [1.5 + 2.5]  # small, then big
    # small: 1,000 x $0.30 + 100 x $1.50; big: 1,000 x $3 + 100 x $15 (per 1M)
    assert run_bill(run).total_usd == Decimal("0.00495")
    entry = simulator.summarize(run)["task_types"]["chat"]
    assert entry["escalations_per_task"] == 1.0
    assert entry["calls_by_backend"] == {"big": 1, "small": 1}


def test_cascade_without_failures_stays_small():
    """fail_prob 0: one call per step, on the small model."""
    data = _two_apis({"policy": "cascade", "default": "big", "first": "small"})
    run = run_at(build(data), [0.0, 1.0])
    assert run.calls["backend"].tolist() == [1, 1]


def test_spillover_uses_the_cloud_when_the_pool_is_busy():
    """A one-slot pool with 10 s calls: the first call stays, the rest spill."""
    data = tiny()
    data["backends"]["pool"] = {
        "kind": "on_prem", "model": "m", "gpu": "H100", "gpus_per_replica": 1,
        "replicas": 1, "max_concurrency": 1,
        "performance": {"kind": "service_time", "service_time_s": 10}}
    data["task_types"]["chat"]["route"] = {"policy": "spillover", "prefer": "pool",
                                           "default": "api", "max_wait_s": 5}
    run = run_at(build(data), [0.0, 0.0, 0.0, 20.0])
    names = [run.backend_names[b] for b in run.calls["backend"].tolist()]
    by_task = dict(zip(run.calls["task_id"].tolist(), names, strict=True))
    assert by_task == {0: "pool", 1: "api", 2: "api", 3: "pool"}


def test_cheapest_meeting_the_latency_target():
    """The cheap model when it is fast enough, the dear one when it is not, and
    the fastest when none is."""
    for target, expected in ((5.0, "big"), (20.0, "small"), (1.0, "big")):
        data = _two_apis({"policy": "cheapest", "default": "big",
                          "candidates": ["small", "big"],
                          "target_latency_s": target})
        data["backends"]["big"]["time_per_output_token_s"] = 0.002  # 2.5 s a call
        data["task_types"]["chat"]["workflow"][0]["output_tokens"] = 1000  # 10.5 s
        run = run_at(build(data), [0.0])
        assert run.backend_names[run.calls["backend"][0]] == expected, target


def test_policies_see_the_same_tasks():
    """Changing the route leaves every task's arrival and tokens unchanged."""
    runs = []
    for route in ({"default": "big"},
                  {"policy": "tiered", "default": "big", "routine": "small",
                   "routine_frac": 0.5}):
        data = _two_apis(route, horizon_s=600,
                         arrivals={"kind": "poisson", "rate_per_s": 1})
        data["task_types"]["chat"]["workflow"][0]["output_tokens"] = {
            "dist": "lognormal", "median": 100, "p90": 300}
        runs.append(simulator.simulate(build(data)))
    first, second = (run.tasks for run in runs)
    assert np.array_equal(first["arrived_at"], second["arrived_at"])
    both = (first["status"] == 0) & (second["status"] == 0)
    assert both.sum() > 500
    assert np.array_equal(first["tokens_out"][both], second["tokens_out"][both])
