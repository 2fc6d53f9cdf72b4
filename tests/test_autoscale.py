"""Autoscaling rented GPU pools: launch, provisioning delay, idle stop, bill."""

from __future__ import annotations

from decimal import Decimal

from simulator.economics.bill import run_bill
from tests.conftest import build, run_at, tiny


def _autoscaled(**autoscale: object) -> dict:
    data = tiny(horizon_s=1000)
    data["backends"]["pool"] = {
        "kind": "cloud_gpu", "model": "m", "gpu": "H100", "gpus_per_replica": 1,
        "replicas": 0, "max_concurrency": 1,
        "performance": {"kind": "service_time", "service_time_s": 1.0},
        "cloud": {"usd_per_gpu_hour": 3.6, "billing_granularity": "per_second"},
        "autoscale": {"min_replicas": 0, "max_replicas": 4, "provisioning_s": 120,
                      "scale_up_queue": 1, "scale_down_idle_s": 300, **autoscale}}
    data["task_types"]["chat"]["route"] = {"default": "pool"}
    return data


def test_one_call_on_a_cold_pool():
    """One call at t=0: a replica is launched, ready at 120 s, the call takes
    121 s, the replica stops 300 s after, billed 421 s = $0.421."""
    run = run_at(build(_autoscaled()), [0.0])
    assert run.calls["finished_at"].tolist() == [121.0]
    assert run.gpu_usage["pool"]["lifetimes"] == [[0.0, 421.0]]
    assert run_bill(run).total_usd == Decimal("0.421")
    assert run.samples["backend:pool:replicas"].max() == 1


def test_queue_launches_up_to_the_maximum():
    """Ten calls at once launch four replicas, no more, all at t=0."""
    run = run_at(build(_autoscaled()), [0.0] * 10)
    lifetimes = run.gpu_usage["pool"]["lifetimes"]
    assert len(lifetimes) == 4 and all(start == 0.0 for start, _ in lifetimes)
    assert sorted(run.calls["finished_at"].tolist()) == [121.0] * 4 + [122.0] * 4 + [
        123.0] * 2


def test_an_empty_pool_launches_for_any_waiting_call():
    """Below scale_up_queue, a call waiting on a pool with no replica still
    gets one launched."""
    run = run_at(build(_autoscaled(scale_up_queue=8)), [0.0])
    assert run.calls["finished_at"].tolist() == [121.0]
