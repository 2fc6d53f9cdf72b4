"""The contention-free shortcut gives exactly the event-by-event records."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

import simulator
from simulator.cli import main
from simulator.records import FAIL_REASONS, TASK_STATUSES
from simulator.rng import Streams
from simulator.workload.arrivals import Arrivals, draw_arrivals
from simulator.workload.plans import build_planners
from tests.conftest import ROOT, build, run_at, tiny

LOGNORMAL = {"dist": "lognormal", "median": 0.6, "p90": 2.0}

MIXED = tiny(
    horizon_s=1800,
    arrivals={"kind": "poisson", "rate_per_s": 0.25},
    models={"m": {"tier": "mid", "context_window_tokens": 30000},
            "s": {"tier": "small", "context_window_tokens": 128000}},
    backends={
        "big": {"kind": "api", "model": "m",
                "prices": {"input_usd_per_mtok": 3, "output_usd_per_mtok": 15},
                "ttft_s": LOGNORMAL,
                "time_per_output_token_s": {"dist": "uniform", "low": 0.01,
                                            "high": 0.03},
                "requests_per_min": 600, "tokens_per_min": 5_000_000},
        "small": {"kind": "api", "model": "s",
                  "prices": {"input_usd_per_mtok": 0.2, "output_usd_per_mtok": 0.8},
                  "ttft_s": {"dist": "exponential", "mean": 0.3},
                  "time_per_output_token_s": {"dist": "empirical",
                                              "values": [0.004, 0.006, 0.01],
                                              "weights": [1, 2, 1]}}},
    tools={"search": {"latency_s": LOGNORMAL, "concurrency": 60, "failure_prob": 0.1,
                      "max_retries": 1},
           "sandbox": {"latency_s": {"dist": "exponential", "mean": 4},
                       "failure_prob": 0.05}},
    task_types={
        "agent": {
            "share": 0.6, "system_prompt_tokens": 2000,
            "user_input_tokens": {"dist": "lognormal", "median": 300, "p90": 2000},
            "cache_read_frac": 0.8,
            "route": {"policy": "tiered", "default": "big", "routine": "small",
                      "routine_frac": 0.3, "by_step_kind": {"reflect": "small"}},
            "caps": {"max_llm_calls": 12, "max_corrections": 2, "max_tokens": 150000,
                     "max_usd": 0.3},
            "workflow": [
                {"kind": "plan", "output_tokens": {"dist": "lognormal", "median": 200,
                                                   "p90": 800}},
                {"loop": {"iterations": {"dist": "lognormal", "median": 3, "p90": 9},
                          "max_iterations": 12,
                          "steps": [
                              {"kind": "tool", "tool": "search", "output_tokens": 80,
                               "result_tokens": {"dist": "lognormal", "median": 1500,
                                                 "p90": 6000}},
                              {"kind": "act", "tool": "sandbox", "probability": 0.7,
                               "output_tokens": {"dist": "uniform", "low": 50,
                                                 "high": 400}}]}},
                {"kind": "reflect", "output_tokens": 100, "fault_prob": 0.3},
                {"kind": "answer", "output_tokens": {"dist": "lognormal", "median": 300,
                                                     "p90": 900},
                 "reasoning_tokens": {"dist": "exponential", "mean": 200}}]},
        "triage": {
            "share": 0.2, "system_prompt_tokens": 8000,
            "route": {"policy": "cascade", "first": "small", "default": "big",
                      "fail_prob": 0.4, "by_step_kind": {"plan": "small"}},
            "workflow": [
                {"kind": "plan", "output_tokens": 100},
                {"loop": {"iterations": {"dist": "uniform", "low": 0, "high": 6},
                          "steps": [{"kind": "act", "tool": "sandbox",
                                     "output_tokens": 300,
                                     "result_tokens": {"dist": "exponential",
                                                       "mean": 4000}}]}},
                {"kind": "answer", "output_tokens": 200}]},
        "chat": {
            "share": 0.2, "route": {"default": "small"},
            "user_input_tokens": {"dist": "lognormal", "median": 70, "p90": 400},
            "workflow": [
                {"kind": "answer", "output_tokens": {"dist": "lognormal",
                                                     "median": 215, "p90": 700}},
                {"loop": {"iterations": {"dist": "empirical", "values": [0, 1, 2]},
                          "steps": [{"kind": "answer", "input_tokens": 70,
                                     "output_tokens": 200}]}}]}},
)


def _assert_same(fast, slow) -> None:
    assert fast.path == "vectorised" and slow.path == "event-by-event"
    for part in ("tasks", "calls", "tool_calls", "samples"):
        mine, theirs = getattr(fast, part), getattr(slow, part)
        assert list(mine) == list(theirs), part
        for name in mine:
            assert mine[name].dtype == theirs[name].dtype, (part, name)
            assert mine[name].tobytes() == theirs[name].tobytes(), (part, name)
    for name in ("tool_demand_s", "backend_requests", "backend_tokens", "gpu_usage",
                 "horizon_s", "expected_arrivals"):
        assert getattr(fast, name) == getattr(slow, name), name


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_shortcut_matches_events_bit_for_bit(seed):
    """Every ending (completed, in flight, context overflow, failed tool, token
    and call caps), corrections, retries, tiered and pinned routes, limited and
    unlimited tools and rate limits that never bind: the same bytes."""
    scenario = build({**MIXED, "seed": seed})
    fast = simulator.simulate(scenario)
    slow = simulator.simulate(scenario, event_by_event=True)
    _assert_same(fast, slow)
    reasons = {FAIL_REASONS[r] for r in fast.tasks["reason"].tolist()}
    statuses = {TASK_STATUSES[s] for s in fast.tasks["status"].tolist()}
    assert statuses == {"completed", "failed", "in_flight"}
    assert {"context_window", "tool_failed", "cap_llm_calls", "cap_usd"} <= reasons
    assert fast.tasks["num_corrections"].sum() > 0
    assert (fast.tool_calls["ok"] == 0).any()
    assert len(fast.samples["time_s"]) == 400
    redone = fast.calls["escalated"] == 1
    assert redone.any() and (fast.calls["status"][redone] == 1).any()


def test_token_cap_and_tokens_per_minute_endings_match():
    """A call larger than the tokens-per-minute limit fails its task; a task
    over its token cap fails after the call that crossed it."""
    data = tiny(horizon_s=3600, arrivals={"kind": "poisson", "rate_per_s": 0.02})
    data["backends"]["api"].update(tokens_per_min=60_000,
                                   ttft_s={"dist": "exponential", "mean": 0.5})
    data["task_types"]["chat"].update(
        user_input_tokens={"dist": "lognormal", "median": 2000, "p90": 15000},
        caps={"max_tokens": 9000},
        workflow=[{"kind": "answer", "output_tokens": 300},
                  {"kind": "answer", "input_tokens": 2000, "output_tokens": 300}])
    scenario = build(data)
    fast = simulator.simulate(scenario)
    _assert_same(fast, simulator.simulate(scenario, event_by_event=True))
    reasons = {FAIL_REASONS[r] for r in fast.tasks["reason"].tolist()}
    assert {"over_tokens_per_min", "cap_tokens", ""} <= reasons


def test_a_day_of_chat_and_agents_matches():
    """The shipped chat-vs-agents scenario, its busiest four hours."""
    scenario = simulator.load_scenario(ROOT / "scenarios" / "chat-vs-agents.yaml",
                                       ["horizon_s=43200", "warmup_s=28800"])
    fast = simulator.simulate(scenario)
    _assert_same(fast, simulator.simulate(scenario, event_by_event=True))
    assert len(fast.calls["task_id"]) > 40_000


def test_a_support_bot_with_dollar_caps_matches():
    """support-bot-to-agent: an agent with a per-task dollar cap, priced as
    the bill prices it (the order API given slots enough never to queue)."""
    scenario = simulator.load_scenario(
        ROOT / "scenarios" / "support-bot-to-agent.yaml",
        ["horizon_s=36000", "warmup_s=28800", "tools.order-api.concurrency=64",
         "task_types.support_agent.caps.max_usd=0.02"])
    fast = simulator.simulate(scenario)
    _assert_same(fast, simulator.simulate(scenario, event_by_event=True))
    assert "cap_usd" in {FAIL_REASONS[r] for r in fast.tasks["reason"].tolist()}


def test_cascade_routing_matches():
    """finops-routing: fixed, tiered and cascade policies side by side, the
    cascade's redone calls on the frontier model."""
    scenario = simulator.load_scenario(ROOT / "scenarios" / "finops-routing.yaml",
                                       ["horizon_s=36000", "warmup_s=28800"])
    fast = simulator.simulate(scenario)
    _assert_same(fast, simulator.simulate(scenario, event_by_event=True))
    assert (fast.calls["escalated"] == 1).sum() > 1000


def test_a_replayed_trace_on_apis_matches(tmp_path):
    """The Azure conversation excerpt replayed on an API, two calls a task:
    the trace's prompt and answer replace the drawn ones, shifting every later
    call's context and its cached prefix, the same both ways."""
    data = yaml.safe_load((ROOT / "scenarios" / "azure-conv-replay.yaml").read_text())
    del data["backends"]["onprem-h100"]
    for task_type in data["task_types"].values():
        task_type.update(route={"default": "frontier-api"}, system_prompt_tokens=500,
                         cache_read_frac=0.5)
        task_type["workflow"] = [
            {"kind": "answer", "output_tokens": {"dist": "lognormal", "median": 200,
                                                 "p90": 900}},
            {"kind": "answer", "input_tokens": 60, "output_tokens": 150}]
    path = tmp_path / "replay.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    scenario = simulator.load_scenario(path)
    fast = simulator.simulate(scenario)
    _assert_same(fast, simulator.simulate(scenario, event_by_event=True))
    assert fast.path == "vectorised"
    replayed = draw_arrivals(scenario, Streams(scenario.seed))
    first = fast.calls["step_index"] == 0
    tasks = fast.calls["task_id"][first]
    assert (fast.calls["tokens_out"][first] == replayed.tokens_out[tasks]).all()
    assert (fast.calls["tokens_in"][first]
            == replayed.tokens_in[tasks] + 500).all()          # system prompt


def test_a_task_type_that_plans_nothing_matches():
    """Tasks with no actions at all (a step taken with probability 0) beside
    ordinary ones: the same records and counters."""
    data = tiny(horizon_s=600, arrivals={"kind": "poisson", "rate_per_s": 0.05})
    data["backends"]["api"]["ttft_s"] = {"dist": "exponential", "mean": 0.5}
    data["task_types"] = {
        "chat": {"share": 0.5, "route": {"default": "api"},
                 "workflow": [{"kind": "reflect", "output_tokens": 100,
                               "fault_prob": 0.5}]},
        "noop": {"share": 0.5, "route": {"default": "api"},
                 "workflow": [{"kind": "answer", "output_tokens": 100,
                               "probability": 0}]}}
    scenario = build(data)
    fast = simulator.simulate(scenario)
    _assert_same(fast, simulator.simulate(scenario, event_by_event=True))
    assert fast.tasks["num_corrections"].sum() > 0


def test_blocks_without_a_single_action_match():
    """A task type whose steps are all skipped in whole blocks (a block of 26
    tasks here, since the loop may run 10,000 rounds): the same records."""
    data = tiny(horizon_s=3600, arrivals={"kind": "poisson", "rate_per_s": 0.1})
    data["task_types"]["chat"]["workflow"] = [
        {"kind": "reflect", "output_tokens": 100, "probability": 0.05,
         "fault_prob": 0.5},
        {"loop": {"iterations": 0, "max_iterations": 10000,
                  "steps": [{"kind": "answer", "output_tokens": 1}]}}]
    scenario = build(data)
    fast = simulator.simulate(scenario)
    _assert_same(fast, simulator.simulate(scenario, event_by_event=True))
    planner = build_planners(scenario, Streams(0))[0]
    assert planner.block_size == 26
    assert planner.columns(400).actions["tool_ok"].dtype == bool


def test_arrivals_before_time_zero_start_at_zero_both_ways():
    """Given arrivals at -5 s and -1 s start at 0 (the clock never runs
    backwards): both start together, so the run goes event by event."""
    arrivals = Arrivals(np.array([-5.0, -1.0, 3.0]), np.zeros(3, np.int16), 3.0)
    scenario = build(tiny())
    run = simulator.simulate(scenario, arrivals=arrivals)
    assert run.path == "event-by-event"
    assert run.calls["requested_at"].tolist() == [0.0, 0.0, 3.0]


def test_an_arrival_at_minus_zero_starts_at_zero():
    """-0.0 is not after 0: the task starts at the clock's +0.0 both ways."""
    data = tiny()
    data["backends"]["api"]["ttft_s"] = {"dist": "exponential", "mean": 0.5}
    arrivals = Arrivals(np.array([-0.0, 5.0]), np.zeros(2, np.int16), 2.0)
    scenario = build(data)
    fast = simulator.simulate(scenario, arrivals=arrivals)
    _assert_same(fast, simulator.simulate(scenario, arrivals=arrivals,
                                          event_by_event=True))


@pytest.mark.parametrize("horizon", [1991.624483, 1433.198794])
def test_a_progress_bar_does_not_move_the_horizon(horizon):
    """horizon * 100 / 100 misses these horizons by an ulp (above, below): a
    call ending exactly at the horizon is not recorded, with or without a
    progress callback, either way."""
    data = tiny(horizon_s=horizon)
    data["backends"]["api"].update(ttft_s=horizon, time_per_output_token_s=0)
    arrivals = Arrivals(np.array([0.0]), np.zeros(1, np.int16), 1.0)
    scenario = build(data)
    runs = [simulator.simulate(scenario, arrivals=arrivals, progress=progress,
                               event_by_event=forced)
            for progress in (None, lambda done: None) for forced in (False, True)]
    assert [len(run.calls["task_id"]) for run in runs] == [0, 0, 0, 0]
    assert [run.tasks["status"].tolist() for run in runs] == [[2]] * 4


def test_ten_thousand_steps_are_allowed_the_next_one_is_not():
    """A task of exactly 10,000 steps completes; a runaway one stops at
    10,000 with plan_limit (both drawn all rounds at once)."""
    for rounds, reason in ((10_000, None), (10_000_000, "plan_limit")):
        data = tiny()
        data["task_types"]["chat"]["workflow"] = [
            {"loop": {"iterations": rounds, "max_iterations": 10_000,
                      "steps": [{"kind": "act", "output_tokens": 1}]}}]
        if rounds > 10_000:
            data["task_types"]["chat"]["workflow"].append(
                {"kind": "answer", "output_tokens": 1})
        plan = build_planners(build(data), Streams(0))[0].draw()
        assert (len(plan.actions), plan.stop_reason) == (10_000, reason)


def test_cli_event_by_event_gives_the_same_report(tmp_path, capsys):
    """--event-by-event: the same summary.json; refused with month mode."""
    path = str(ROOT / "scenarios" / "chat-vs-agents.yaml")
    for name, extra in (("fast", []), ("slow", ["--event-by-event"])):
        assert main(["run", path, "--set", "horizon_s=7200",
                     "--out", str(tmp_path / name), *extra]) == 0
    printed = capsys.readouterr().out
    assert "simulated vectorised" in printed and "simulated event-by-event" in printed
    assert ((tmp_path / "fast" / "summary.json").read_bytes()
            == (tmp_path / "slow" / "summary.json").read_bytes())
    for extra in (["--month"], ["--month-replications", "3"], ["--replications", "2"]):
        assert main(["run", path, "--event-by-event", *extra,
                     "--out", str(tmp_path / "bad")]) == 2
        assert "--event-by-event" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize("max_usd", [1, 10**13])
def test_dollar_caps_past_int64_pico_dollars_match(max_usd):
    """A billion output tokens at $10,000 per million cost 10^19 pico-dollars,
    past int64: the spend is summed exactly (Python integers), as event by
    event; a cap of $10^13 is 10^25 pico-dollars."""
    data = tiny()
    data["backends"]["api"].update(
        prices={"input_usd_per_mtok": 1, "output_usd_per_mtok": 10_000},
        time_per_output_token_s=0)
    data["task_types"]["chat"].update(
        caps={"max_usd": max_usd},
        workflow=[{"kind": "answer", "output_tokens": 1_000_000_000}])
    arrivals = Arrivals(np.array([0.0]), np.zeros(1, np.int16), 1.0)
    scenario = build(data)
    fast = simulator.simulate(scenario, arrivals=arrivals)
    _assert_same(fast, simulator.simulate(scenario, arrivals=arrivals,
                                          event_by_event=True))
    expected = "cap_usd" if max_usd == 1 else ""
    assert [FAIL_REASONS[r] for r in fast.tasks["reason"].tolist()] == [expected]


def test_a_full_tool_pool_goes_event_by_event():
    """Two tasks share one tool slot: the second waits, so no shortcut."""
    data = tiny(tools={"db": {"latency_s": 3, "concurrency": 1}})
    data["task_types"]["chat"]["workflow"] = [
        {"kind": "tool", "tool": "db", "input_tokens": 1000, "output_tokens": 16}]
    run = run_at(build(data), [0.0, 1.0])
    assert run.path == "event-by-event"
    assert run.tool_calls["started_at"].tolist() == pytest.approx([0.82, 3.82])


def test_a_binding_rate_limit_goes_event_by_event():
    """Thirty calls a minute against a limit of ten: calls wait, no shortcut."""
    data = tiny(horizon_s=600, arrivals={"kind": "poisson", "rate_per_s": 0.5})
    data["backends"]["api"]["requests_per_min"] = 10
    run = simulator.simulate(build(data))
    assert run.path == "event-by-event"
    assert (run.calls["started_at"] > run.calls["requested_at"]).any()


def test_state_dependent_routing_goes_event_by_event():
    """Spillover reads queue state at each call: never the shortcut."""
    data = tiny()
    data["backends"]["other"] = dict(data["backends"]["api"])
    data["task_types"]["chat"]["route"] = {"policy": "spillover", "prefer": "other",
                                           "default": "api"}
    assert simulator.simulate(build(data)).path == "event-by-event"


def test_plans_do_not_depend_on_how_many_tasks_are_drawn():
    """Task k's plan is the same whether 10 or 5,000 tasks are drawn."""
    scenario = build({**MIXED, "seed": 4})
    few = build_planners(scenario, Streams(4))[0]
    many = build_planners(scenario, Streams(4))[0]
    small, large = few.columns(10), many.columns(5000)
    cut = int(small.task_start[-1])
    for name, values in small.actions.items():
        assert values.tobytes() == large.actions[name][:cut].tobytes(), name
    drawn = [few.draw() for _ in range(10)]
    assert [len(p.actions) for p in drawn] == np.diff(small.task_start).tolist()
    assert [a.tokens_in for a in drawn[3].actions] == small.actions["tokens_in"][
        small.task_start[3]:small.task_start[4]].tolist()


def _round_by_round(planner) -> None:
    """Make a planner walk every loop one round at a time."""
    def strip(nodes):
        return [(loop, drawn, chance, limit, strip(body) if body else body, None)
                for loop, drawn, chance, limit, body, _ in nodes]
    planner.expander.nodes = strip(planner.expander.nodes)


@pytest.mark.parametrize(("max_calls", "failure", "lengths"), [
    (None, 0, {2, 11, 38}), (7, 0, {2, 10}), (30, 0, {2, 11, 38}),
    (None, 0.999999, {2})])
def test_loops_drawn_at_once_match_round_by_round(max_calls, failure, lengths):
    """A loop of plain steps drawn for all its rounds at once gives the plans
    walking it round by round gives: context, cached prefix, calls cap, a
    tool out of retries ending the task in its first round."""
    data = tiny(tools={"db": {"latency_s": 2, "failure_prob": failure}})
    data["task_types"]["chat"].update(
        system_prompt_tokens=500, user_input_tokens=40, cache_read_frac=0.5,
        caps={"max_llm_calls": max_calls} if max_calls else {},
        workflow=[
            {"kind": "plan", "output_tokens": 100},
            {"loop": {"iterations": {"dist": "empirical", "values": [0, 3, 12]},
                      "max_iterations": 12,
                      "steps": [{"kind": "tool", "tool": "db", "output_tokens": 30,
                                 "input_tokens": 7, "result_tokens": 900},
                                {"kind": "retrieve", "tool": "db",
                                 "result_tokens": 50},
                                {"kind": "act", "output_tokens": 20,
                                 "reasoning_tokens": 11}]}},
            {"kind": "answer", "output_tokens": 200}])
    scenario = build(data)
    at_once = build_planners(scenario, Streams(0))[0]
    stepped = build_planners(scenario, Streams(0))[0]
    _round_by_round(stepped)
    fast, slow = at_once.columns(300), stepped.columns(300)
    assert fast.task_start.tolist() == slow.task_start.tolist()
    assert fast.stop.tolist() == slow.stop.tolist()
    for name in ("step_index", "kind", "llm", "tokens_in", "tokens_cached",
                 "tokens_out", "tokens_reasoning", "tool", "tool_ok"):
        assert fast.actions[name].tolist() == slow.actions[name].tolist(), name
    assert set(np.diff(fast.task_start).tolist()) == lengths   # 0, 3 or 12 rounds
    capped = (fast.stop == 1).any()
    assert capped == (max_calls == 7)
