"""GPU pools: exact timelines, queueing theory, calibration."""

from __future__ import annotations

import numpy as np
import pytest

import simulator
from simulator.backends.gpu import GpuPool
from simulator.catalogue import PRESETS
from simulator.metrics import erlang_c_wait_s
from tests.conftest import build, run_at, tiny


def gpu_scenario(performance: dict, *, replicas: int = 1, max_concurrency: int = 1,
                 **changes: object) -> simulator.Scenario:
    """The tiny scenario with its one task type on an on-prem GPU pool."""
    data = tiny(**changes)
    data["backends"]["gpu"] = {
        "kind": "on_prem", "model": "m", "gpu": "H100", "gpus_per_replica": 1,
        "replicas": replicas, "max_concurrency": max_concurrency,
        "performance": performance}
    data["task_types"]["chat"]["route"] = {"default": "gpu"}
    return build(data)


def test_batch_of_four_ten_second_calls():
    """Ten calls at t=0 on 4 slots of 10 s: 4 x 10 s, 4 x 20 s, 2 x 30 s."""
    scenario = gpu_scenario({"kind": "service_time", "service_time_s": 10},
                            max_concurrency=4, horizon_s=31)
    run = run_at(scenario, [0.0] * 10)
    latency = run.calls["finished_at"] - run.calls["requested_at"]
    assert sorted(latency.tolist()) == [10.0] * 4 + [20.0] * 4 + [30.0] * 2
    assert latency.mean() == 18.0 and run.calls["finished_at"].max() == 30.0
    assert run.samples["backend:gpu:busy_slots"].max() == 4
    usage = run.gpu_usage["gpu"]
    assert usage["slot_s"] == 100.0  # so 100 / (4 x 30) = 83.3% over [0, 30]


def test_one_sequence_at_a_time_prefill_then_decode():
    """Prefill 0.5 s gives the first token; 99 more at 20 ms; the second waits."""
    scenario = gpu_scenario({"kind": "batched", "prefill_tokens_per_s": 1000,
                             "iteration_base_s": 0.02,
                             "iteration_per_sequence_s": 0})
    data = scenario.model_dump(by_alias=True)
    data["task_types"]["chat"]["workflow"] = [
        {"kind": "answer", "input_tokens": 500, "output_tokens": 100}]
    run = run_at(build(data), [0.0, 0.0])
    calls = run.calls
    ttft = calls["first_token_at"] - calls["requested_at"]
    assert ttft.tolist() == pytest.approx([0.5, 2.98], abs=1e-12)
    assert calls["finished_at"].tolist() == pytest.approx([2.48, 4.96], abs=1e-12)
    tpot = (calls["finished_at"] - calls["first_token_at"]) / 99
    assert tpot.tolist() == pytest.approx([0.02, 0.02], abs=1e-12)


def test_utilisation_excludes_the_warm_up():
    """Two GPUs, a 2 s call every second: 100% busy after a 2 s warm-up, 95% with."""
    base = {"performance": {"kind": "service_time", "service_time_s": 2},
            "replicas": 2, "horizon_s": 10}
    for warmup, expected in ((2, 1.0), (0, 0.95)):
        run = run_at(gpu_scenario(warmup_s=warmup, **base), [float(t)
                                                             for t in range(10)])
        usage = run.gpu_usage["gpu"]
        assert usage["slot_s"] / (usage["slots"] * (10 - warmup)) == pytest.approx(
            expected)
        done = run.calls["finished_at"] - run.calls["requested_at"]
        assert done.tolist() == [2.0] * len(done)


def test_pool_with_one_slot_per_replica_is_mmc():
    """2 servers, exponential 1 s, 1.5 arrivals/s: wait 1.286 s, stay 2.286 s."""
    scenario = gpu_scenario({"kind": "service_time",
                             "service_time_s": {"dist": "exponential", "mean": 1}},
                            replicas=2, horizon_s=60_000, warmup_s=2_000,
                            arrivals={"kind": "poisson", "rate_per_s": 1.5})
    run = simulator.simulate(scenario)
    calls = run.calls
    measured = calls["requested_at"] >= 2_000
    wait = (calls["started_at"] - calls["requested_at"])[measured]
    stay = (calls["finished_at"] - calls["requested_at"])[measured]
    expected = erlang_c_wait_s(1.5, 1.0, 2)
    assert expected == pytest.approx(1.2857, abs=1e-4)
    assert wait.mean() == pytest.approx(expected, rel=0.05)
    assert stay.mean() == pytest.approx(expected + 1, rel=0.05)
    in_queue = run.samples["backend:gpu:waiting"][run.samples["time_s"] >= 2_000]
    assert in_queue.mean() == pytest.approx(1.5 * wait.mean(), rel=0.1)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_saturated_preset_matches_its_calibration(name):
    """A saturated replica delivers within 10% of the figure it was fitted to."""
    import simpy

    preset = PRESETS[name]
    env = simpy.Environment()
    pool = GpuPool(env, replicas=1, max_concurrency=preset.max_concurrency,
                   prefill_tokens_per_s=preset.prefill_tokens_per_s,
                   base_s=preset.iteration_base_s,
                   per_sequence_s=preset.iteration_per_sequence_s)
    count = 12 * preset.max_concurrency
    sequences = [pool.request(preset.calibration_tokens_in,
                              preset.calibration_tokens_out - 1)
                 for _ in range(count)]
    env.run()
    finished = np.sort([s.finished_at for s in sequences])
    start, end = finished[count // 5], finished[4 * count // 5]
    tokens_per_s = (4 * count // 5 - count // 5) * preset.calibration_tokens_out / (
        end - start)
    assert tokens_per_s == pytest.approx(preset.calibrated_tokens_per_s, rel=0.10)


def test_decoding_late_in_a_long_run_finishes_on_time():
    """At t = 1e6 s the work clock still finishes a call when it is due."""
    import simpy

    env = simpy.Environment(initial_time=1e6)
    pool = GpuPool(env, replicas=1, max_concurrency=8, prefill_tokens_per_s=60_000,
                   base_s=0.009, per_sequence_s=1.65e-5)
    calls = []
    for gap in (0.0, 0.37, 1.1):
        if gap:
            env.run(until=env.now + gap)
        calls.append(pool.request(300, 299))
    env.run(until=env.now + 100)
    assert all(call.done.triggered for call in calls)
    assert all(call.finished_at - call.first_token_at < 3.5 for call in calls)
