"""The engine on tiny cases: exact timelines, failures, limits, caps."""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
import pytest

import simulator
from simulator.economics.bill import run_bill
from simulator.rng import Streams
from simulator.workload.plans import build_planners
from tests.conftest import build, run_at, tiny


def _tool_scenario() -> simulator.Scenario:
    data = tiny(tools={"db": {"latency_s": 3, "concurrency": 1}})
    data["backends"]["api"].update(ttft_s=0.5, time_per_output_token_s=0.0625)
    data["task_types"]["chat"]["workflow"] = [
        {"kind": "tool", "tool": "db", "input_tokens": 1000, "output_tokens": 16}]
    return build(data)


def test_exact_timeline_two_tasks_one_tool_slot():
    """Two tasks share one tool slot: the second waits for the first."""
    run = run_at(_tool_scenario(), [0.0, 1.0])
    calls, tools, tasks = run.calls, run.tool_calls, run.tasks
    assert list(zip(calls["task_id"].tolist(), calls["requested_at"].tolist(),
                    calls["first_token_at"].tolist(),
                    calls["finished_at"].tolist(), strict=True)) == [
        (0, 0.0, 0.5, 1.5), (1, 1.0, 1.5, 2.5)]
    assert list(zip(tools["task_id"].tolist(), tools["requested_at"].tolist(),
                    tools["started_at"].tolist(), tools["finished_at"].tolist(),
                    strict=True)) == [
        (0, 1.5, 1.5, 4.5), (1, 2.5, 4.5, 7.5)]
    assert tasks["finished_at"].tolist() == [4.5, 7.5]
    assert tasks["status"].tolist() == [0, 0]


def test_exact_bill_two_tasks():
    """Two calls of 1,000 in and 16 out at $3/$15: $0.00648, shown $0.01."""
    bill = run_bill(run_at(_tool_scenario(), [0.0, 1.0]))
    assert bill.total_usd == Decimal("0.00648")
    assert bill.shown_total_usd() == Decimal("0.01")
    assert sum(bill.shown_amounts_usd()) == Decimal("0.01")


def test_latency_is_ttft_plus_tokens_times_tpot():
    """500 ms + 1,000 x 20 ms is 20.5 s, and a 5 s p95 target is missed."""
    data = tiny()
    data["task_types"]["chat"]["workflow"][0]["output_tokens"] = 1000
    data["task_types"]["chat"]["latency_target_p95_s"] = 5
    run = run_at(build(data), [0.0])
    assert run.calls["finished_at"][0] == pytest.approx(20.5, abs=1e-12)
    entry = simulator.summarize(run)["task_types"]["chat"]
    assert entry["latency_s"]["p95"]["value"] == pytest.approx(20.5, abs=1e-12)
    assert entry["latency_s"]["p95"]["too_few_samples"] is True
    assert entry["latency_target_met"] is False


def test_reasoning_tokens_take_decode_time_and_bill_as_output():
    """500 visible + 1,500 reasoning at 20 ms decode for 40 s and cost $0.018."""
    data = tiny()
    data["backends"]["api"]["prices"] = {"input_usd_per_mtok": 2,
                                         "output_usd_per_mtok": 8}
    data["task_types"]["chat"]["workflow"] = [
        {"kind": "answer", "input_tokens": 1000, "output_tokens": 500,
         "reasoning_tokens": 1500}]
    run = run_at(build(data), [0.0])
    decode_s = run.calls["finished_at"][0] - run.calls["first_token_at"][0]
    assert decode_s == pytest.approx(40.0, abs=1e-12)
    assert run.calls["tokens_out"].tolist() == [2000]
    assert run.calls["tokens_reasoning"].tolist() == [1500]
    assert run_bill(run).total_usd == Decimal("0.018")


def _window_scenario() -> simulator.Scenario:
    data = tiny(tools={"x": {"latency_s": 0}})
    chat = data["task_types"]["chat"]
    chat["user_input_tokens"] = 20_000
    chat["workflow"] = [{"loop": {"iterations": 5, "steps": [
        {"kind": "act", "tool": "x", "output_tokens": 1000,
         "result_tokens": 29_000}]}}]
    return build(data)


def test_context_window_overflow():
    """Calls of 20k, 50k, 80k, 110k pass a 128k window; the 140k call fails."""
    run = run_at(_window_scenario(), [0.0])
    assert run.calls["tokens_in"].tolist() == [20_000, 50_000, 80_000, 110_000,
                                               140_000]
    assert run.calls["status"].tolist() == [0, 0, 0, 0, 1]
    assert run_bill(run).total_usd == Decimal("0.84")
    summary = simulator.summarize(run)
    assert summary["calls"]["context_overflows"] == 1
    assert summary["tasks"]["failed_by_reason"] == {"context_window": 1}


def test_requests_per_minute_limit_waits_for_next_window():
    """With 2 requests a minute, the third call at t=0 starts at t=60."""
    data = tiny()
    data["backends"]["api"]["requests_per_min"] = 2
    run = run_at(build(data), [0.0, 0.0, 0.0])
    assert run.calls["started_at"].tolist() == [0.0, 0.0, 60.0]
    summary = simulator.summarize(run)
    assert summary["calls"]["rate_limited"] == 1
    assert summary["calls"]["rate_limit_wait_s"] == 60.0
    assert summary["calls"]["ttft_s"]["p99"]["value"] == 60.5


def test_tokens_per_minute_limit():
    """Calls share a minute's token budget; a call larger than it fails."""
    data = tiny()
    data["backends"]["api"]["tokens_per_min"] = 450
    data["task_types"]["chat"]["workflow"][0].update(input_tokens=100,
                                                     output_tokens=100)
    run = run_at(build(data), [0.0, 1.0, 2.0])
    assert run.calls["started_at"].tolist() == [0.0, 1.0, 60.0]
    data["task_types"]["chat"]["workflow"][0]["input_tokens"] = 400
    run = run_at(build(data), [0.0])
    assert run.calls["status"].tolist() == [2]
    assert simulator.summarize(run)["tasks"]["failed_by_reason"] == {
        "over_tokens_per_min": 1}


def _capped(caps: dict) -> simulator.Scenario:
    data = tiny()
    chat = data["task_types"]["chat"]
    chat["caps"] = caps
    chat["workflow"] = [{"loop": {"iterations": 10, "steps": [
        {"kind": "act", "input_tokens": 1000, "output_tokens": 100}]}}]
    return build(data)


@pytest.mark.parametrize("caps, calls, reason", [
    ({"max_llm_calls": 3}, 3, "cap_llm_calls"),
    ({"max_tokens": 5000}, 3, "cap_tokens"),  # 1,100 + 2,200 + 3,300 tokens
    ({"max_usd": 0.01}, 2, "cap_usd"),  # $0.0045 + $0.0078
])
def test_caps_stop_a_task(caps, calls, reason):
    """A task stops at its cap and fails with the cap as reason."""
    run = run_at(_capped(caps), [0.0])
    assert len(run.calls["task_id"]) == calls
    assert simulator.summarize(run)["tasks"]["failed_by_reason"] == {reason: 1}


def test_self_correction_redoes_the_block_up_to_the_cap():
    """A reflect step that always finds a fault redoes the block twice, no more."""
    data = tiny()
    chat = data["task_types"]["chat"]
    chat["caps"] = {"max_corrections": 2}
    chat["workflow"] = [{"kind": "act", "output_tokens": 10},
                        {"kind": "reflect", "output_tokens": 10, "fault_prob": 1},
                        {"kind": "answer", "output_tokens": 10}]
    run = run_at(build(data), [0.0])
    assert run.calls["step_index"].tolist() == [0, 1, 0, 1, 0, 1, 2]
    assert run.tasks["num_corrections"].tolist() == [2]
    assert run.tasks["status"].tolist() == [0]


def test_tool_failures_after_retries():
    """With failure 0.5 and one retry, about a quarter of tasks fail."""
    data = tiny(tools={"flaky": {"latency_s": 0.1, "failure_prob": 0.5,
                                 "max_retries": 1}})
    data["task_types"]["chat"]["workflow"] = [{"kind": "retrieve", "tool": "flaky"}]
    run = run_at(build(data), [t * 0.5 for t in range(4000)])
    failed_tasks = np.count_nonzero(run.tasks["status"] == 1)
    assert abs(failed_tasks / 4000 - 0.25) < 0.03
    failed_attempts = np.count_nonzero(~run.tool_calls["ok"])
    assert len(run.tool_calls["ok"]) == 4000 + failed_attempts - failed_tasks


def test_same_seed_same_results_different_seed_different():
    """A seed fixes every record; another seed changes them."""
    scenario = simulator.load_scenario(
        "scenarios/chat-vs-agents.yaml", ["horizon_s=7200"])
    first, second = simulator.simulate(scenario), simulator.simulate(scenario)
    assert json.dumps(simulator.summarize(first)) == json.dumps(
        simulator.summarize(second))
    for name, column in first.calls.items():
        assert np.array_equal(column, second.calls[name], equal_nan=True), name
    other = simulator.simulate(scenario.model_copy(update={"seed": 1}))
    assert json.dumps(simulator.summarize(other)) != json.dumps(
        simulator.summarize(first))


def test_every_task_is_accounted_for():
    """Arrived = completed + failed + in flight, overall and per task type."""
    scenario = simulator.load_scenario("scenarios/chat-vs-agents.yaml",
                                       ["horizon_s=36000"])
    run = simulator.simulate(scenario)
    summary = simulator.summarize(run)
    tasks = summary["tasks"]
    assert tasks["in_flight"] > 0 and tasks["completed"] > 0
    assert tasks["arrived"] == tasks["completed"] + tasks["failed"] + tasks["in_flight"]
    assert tasks["arrived"] == len(run.tasks["task_id"])
    assert sum(t["arrived"] for t in summary["task_types"].values()) == tasks["arrived"]
    assert np.all(np.isnan(run.tasks["finished_at"]) == (run.tasks["status"] == 2))


def test_tokenizer_factor_scales_counted_tokens():
    """A model counting 1.3 tokens per reference token sends and bills 1.3x."""
    data = tiny()
    data["models"]["m"]["tokenizer_factor"] = 1.3
    data["task_types"]["chat"]["workflow"][0].update(input_tokens=1000,
                                                     output_tokens=100)
    run = run_at(build(data), [0.0])
    assert (run.calls["tokens_in"][0], run.calls["tokens_out"][0]) == (1300, 130)
    assert run_bill(run).total_usd == Decimal("0.00585")  # 1,300 x $3 + 130 x $15


def test_caps_allow_reaching_the_limit_exactly():
    """A task that spends exactly its token or dollar cap completes."""
    for caps in ({"max_tokens": 11_000}, {"max_usd": 0.045}):  # $0.03 + $0.015
        data = tiny()
        chat = data["task_types"]["chat"]
        chat["caps"] = caps
        chat["workflow"][0].update(input_tokens=10_000, output_tokens=1_000)
        run = run_at(build(data), [0.0])
        assert run.tasks["status"].tolist() == [0], caps


def test_corrections_count_only_what_ran():
    """A task that fails before its reflect step records no correction."""
    data = tiny()
    chat = data["task_types"]["chat"]
    chat["workflow"] = [{"kind": "act", "input_tokens": 200_000, "output_tokens": 1},
                        {"kind": "reflect", "output_tokens": 1, "fault_prob": 1}]
    run = run_at(build(data), [0.0])
    assert run.tasks["num_corrections"].tolist() == [0]
    assert simulator.summarize(run)["tasks"]["failed_by_reason"] == {
        "context_window": 1}


def test_plan_limit_without_a_call_cap():
    """Without max_llm_calls, a runaway plan stops at the safety limit, named."""
    data = tiny(horizon_s=10)
    chat = data["task_types"]["chat"]
    chat["caps"] = {"max_corrections": 0}
    chat["workflow"] = [{"loop": {"iterations": 10_000, "max_iterations": 10_000,
                                  "steps": [{"kind": "act", "output_tokens": 1}]}},
                        {"kind": "act", "output_tokens": 1}]
    plan = build_planners(build(data), Streams(0))[0].draw()
    assert len(plan.actions) == 10_000 and plan.stop_reason == "plan_limit"


def test_empty_loops_end_quickly():
    """A loop whose steps never run does not spin through a billion iterations."""
    data = tiny()
    data["task_types"]["chat"]["workflow"] = [
        {"loop": {"iterations": 10_000, "max_iterations": 10_000, "steps": [
            {"kind": "act", "output_tokens": 1, "probability": 0}]}},
        {"kind": "answer", "output_tokens": 1}]
    run = run_at(build(data), [0.0, 1.0])
    assert run.tasks["status"].tolist() == [0, 0]


def test_rate_limited_calls_keep_request_order():
    """With a token limit, a small call waits behind a large one (FIFO)."""
    data = tiny()
    data["backends"]["api"]["tokens_per_min"] = 1000
    chat = data["task_types"]["chat"]
    chat["workflow"][0].update(input_tokens={"dist": "empirical",
                                             "values": [900, 700, 50]},
                               output_tokens=0)
    scenario = build(data)
    run = run_at(scenario, [0.0, 1.0, 2.0, 3.0])
    started = dict(zip(run.calls["task_id"].tolist(),
                       run.calls["started_at"].tolist(), strict=True))
    assert sorted(started.values()) == [started[i] for i in sorted(started)]


def test_rate_limited_calls_retry_with_backoff():
    """429s back off 1, 2, 4, 8, 16, 32 s; the sixth retry fits the next minute."""
    data = tiny()
    data["backends"]["api"].update(
        requests_per_min=1, on_rate_limit="retry",
        retry={"max_retries": 6, "base_backoff_s": 1, "max_backoff_s": 60,
               "jitter_frac": 0})
    run = run_at(build(data), [0.0, 0.0])
    assert run.calls["started_at"].tolist() == [0.0, 63.0]
    assert run.calls["retries"].tolist() == [0, 6]


def test_out_of_retries_fails_the_task():
    """With five retries the call is still refused at 31 s and the task fails."""
    data = tiny()
    data["backends"]["api"].update(
        requests_per_min=1, on_rate_limit="retry",
        retry={"max_retries": 5, "base_backoff_s": 1, "jitter_frac": 0})
    run = run_at(build(data), [0.0, 0.0])
    assert run.calls["status"].tolist() == [0, 3]
    assert run.tasks["finished_at"].tolist()[1] == 31.0
    assert simulator.summarize(run)["tasks"]["failed_by_reason"] == {
        "rate_limited": 1}


def test_retry_counts_are_per_call():
    """Many limited calls at once: none retries more than its cap."""
    data = tiny()
    data["backends"]["api"].update(
        requests_per_min=2, on_rate_limit="retry",
        retry={"max_retries": 2, "base_backoff_s": 1, "max_backoff_s": 4,
               "jitter_frac": 0.5})
    run = run_at(build(data), [t * 0.25 for t in range(40)])
    assert run.calls["retries"].max() <= 2
    failed = run.calls["status"] == 3
    assert failed.any() and (run.calls["retries"][failed] == 2).all()
