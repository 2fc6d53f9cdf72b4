"""Tests of timelines: period rules, the Flip, the representative day, the report."""

from __future__ import annotations

import csv
import json
import math
from decimal import Decimal

import numpy as np
import pytest
import yaml

import simulator
from simulator.cli import main
from simulator.errors import ScenarioError
from simulator.report import write_timeline_report
from simulator.scenario import dump_resolved
from simulator.scenario.timeline import Curve
from simulator.timeline import (
    find_flip,
    period_scenario,
    run_timeline,
    timeline_inputs,
)
from simulator.timeline.flip import basket_prices, price_and_bill
from simulator.timeline.periods import curve_value, mix_at, weekday_weights
from simulator.timeline.runner import period_seed, representative_days_usd
from simulator.timeline.summary import timeline_run_summary
from tests.conftest import build, tiny

MONTHLY_GROWTH_30 = 1.3**12 - 1  # 30% a month as a yearly rate


def timeline_data(**timeline: object) -> dict:
    """The tiny scenario as a population, with a timeline from 2024-01."""
    spec = {"start": "2024-01", "end": "2024-12", **timeline}
    return tiny(horizon_s=86400,
                arrivals={"kind": "population", "num_users": 100,
                          "tasks_per_user_per_day": 2},
                timeline=spec)


def test_flip_in_period_9_when_inference_grows_10_percent_a_month():
    training = [Decimal(1_000_000)] * 24
    inference = [Decimal(500_000) * Decimal("1.1") ** k for k in range(24)]
    flip = find_flip(inference, training)
    assert flip == 8  # period 9: 0.5 x 1.1^8 = 1.07 > 1, while 0.5 x 1.1^7 = 0.97
    assert inference[8] > training[8] > inference[7]


def test_no_flip_when_inference_never_passes_training():
    assert find_flip([1.0, 2.0, 3.0], [3.0, 3.0, 3.0]) is None  # equal is no flip
    assert find_flip([], []) is None
    with pytest.raises(ValueError, match="must match"):
        find_flip([1.0], [1.0, 2.0])


def test_price_decline_80_percent_a_year_applied_monthly():
    curve = Curve(decline_per_year_frac=0.8)
    assert round(curve_value(curve, 12, "2025-01", 10.0), 2) == 2.00  # period 13
    assert round(curve_value(curve, 6, "2024-07", 10.0), 2) == 4.47  # period 7
    assert curve_value(curve, 0, "2024-01", 10.0) == 10.0


def test_period_scenarios_carry_the_declined_prices_exactly():
    data = timeline_data(end="2025-01", prices={"api": {"decline_per_year_frac": 0.8}})
    data["backends"]["api"]["prices"] = {"input_usd_per_mtok": 10,
                                         "output_usd_per_mtok": 10}
    scenario = build(data)
    inputs = timeline_inputs(scenario)
    prices = [period_scenario(scenario, inputs[k])[0].backends["api"].prices
              for k in (0, 6, 12)]
    assert [p.output_usd_per_mtok for p in prices] == [
        Decimal("10.000000"), Decimal("4.472136"), Decimal("2.000000")]
    assert prices[1].input_usd_per_mtok == Decimal("4.472136")


def test_points_interpolate_geometrically_and_hold_flat_outside():
    curve = Curve(points={"2024-01": 100, "2025-01": 400})
    assert curve_value(curve, 6, "2024-07", 0) == pytest.approx(200.0)
    assert curve_value(curve, 0, "2023-06", 0) == 100
    assert curve_value(curve, 0, "2026-06", 0) == 400
    linear = Curve(points={"2024-01": 100, "2025-01": 400}, interpolate="linear")
    assert curve_value(linear, 6, "2024-07", 0) == pytest.approx(250.0)


def test_task_mix_is_linear_between_points_and_sums_to_one():
    mix = {"2024-01": {"chat": 0.9, "agent": 0.1},
           "2025-01": {"chat": 0.5, "agent": 0.5}}
    halfway = mix_at(mix, "2024-07")
    assert halfway == pytest.approx({"chat": 0.7, "agent": 0.3})
    assert sum(halfway.values()) == pytest.approx(1.0)


def test_training_runs_spread_over_months_and_gpu_hours_are_priced():
    data = timeline_data(training={
        "monthly_usd": {"start": 1000, "growth_per_year_frac": 0},
        "runs": [{"start": "2024-03", "months": 4, "gpu_hours": 1000,
                  "usd_per_gpu_hour": 2}, {"start": "2024-12", "usd": 50}]})
    spend = [p.training_usd for p in timeline_inputs(build(data))]
    assert spend[:2] == [Decimal(1000)] * 2
    assert spend[2:6] == [Decimal(1500)] * 4  # 2,000 USD over 4 months
    assert spend[6] == Decimal(1000)
    assert spend[11] == Decimal(1050)


def owned_timeline() -> dict:
    """A timeline whose owned pool gains a replica in 2024-03."""
    data = timeline_data(end="2024-04", capacity=[
        {"at": "2024-03", "backend": "owned", "add_replicas": 1}])
    data["backends"]["owned"] = {
        "kind": "on_prem", "model": "m", "gpu": "L40S", "gpus_per_replica": 1,
        "replicas": 1, "max_concurrency": 4,
        "performance": {"kind": "service_time", "service_time_s": 1.0}}
    data["task_types"]["chat"]["route"] = {"policy": "tiered", "default": "api",
                                           "routine": "owned", "routine_frac": 0.5}
    return data


def test_owned_capacity_is_added_at_its_date():
    scenario = build(owned_timeline())
    inputs = timeline_inputs(scenario)
    assert [p.replicas["owned"] for p in inputs] == [1, 1, 2, 2]
    assert period_scenario(scenario, inputs[0])[0].backends["owned"].replicas == 1
    later = period_scenario(scenario, inputs[3])[0]
    assert later.backends["owned"].replicas == 2
    assert later.task_types["chat"].route.routine_frac == 0.5
    result = run_timeline(scenario)
    assert result.periods[3].inference_usd > result.periods[0].inference_usd


@pytest.mark.parametrize(("timeline", "message"), [
    ({"start": "2024-05", "end": "2024-01"}, "must not be before start"),
    ({"start": "2024-13", "end": "2025-01"}, "YYYY-MM"),
    ({"start": "2024-01", "end": "2024-03", "prices": {"nope": {
        "decline_per_year_frac": 0.5}}}, "timeline.prices.nope: not an api backend"),
    ({"start": "2024-01", "end": "2024-03", "prices": {"api": {
        "decline_per_year_frac": 0.5, "points": {"2024-01": 1}}}}, "exactly one"),
    ({"start": "2024-01", "end": "2024-03", "task_mix": {"2024-01": {
        "chat": 0.5}}}, "sum to 1"),
    ({"start": "2024-01", "end": "2024-03", "task_mix": {"2024-01": {
        "chat": 0.5, "other": 0.5}}}, "name every task type"),
    ({"start": "2024-01", "end": "2024-03", "capacity": [{
        "at": "2024-02", "backend": "api", "add_replicas": 1}]}, "allowed: none"),
    ({"start": "2024-01", "end": "2024-03", "training": {"runs": [{
        "start": "2024-01", "usd": 5, "gpu_hours": 3}]}}, "give usd, or gpu_hours"),
    ({"start": "2024-01", "end": "2024-03", "surprise": 1}, "unknown field"),
])
def test_bad_timelines_are_refused_with_the_field_named(timeline, message):
    with pytest.raises(ScenarioError, match=message):
        build(timeline_data(**timeline))


def test_users_need_population_arrivals():
    data = tiny(timeline={"start": "2024-01", "end": "2024-02",
                          "users": {"growth_per_year_frac": 1.0}})
    with pytest.raises(ScenarioError, match="need arrivals.kind population"):
        build(data)


def test_flip_found_through_a_real_timeline_run():
    # One 1-call task type at 0.0018 USD a task (8.96M a day: 0.5M USD in a
    # 31-day month); users grow 30% a month, so inference is about 0.5, 0.65,
    # 0.85 and 1.10M USD in months 1-4 (a margin wider than the sample's noise)
    # against a flat 1M USD of training: the Flip is month 4.
    data = timeline_data(
        end="2024-06", sample_tasks_per_day=3000,
        users={"start": 896_000, "growth_per_year_frac": MONTHLY_GROWTH_30},
        training={"monthly_usd": {"start": 1_000_000, "growth_per_year_frac": 0}})
    data["arrivals"]["tasks_per_user_per_day"] = 10
    result = run_timeline(build(data))
    spends = [p.inference_usd for p in result.periods]
    assert spends[0] == pytest.approx(Decimal(500_000), rel=Decimal("0.05"))
    assert result.flip_index == find_flip(spends, [p.training_usd for p in
                                                   result.periods]) == 3
    summary = timeline_run_summary(result, simulator.__version__)
    assert summary["timeline"]["flip_period"] == "2024-04"

    flat = timeline_data(end="2024-03", training={
        "monthly_usd": {"start": 1e9, "growth_per_year_frac": 0}})
    none = timeline_run_summary(run_timeline(build(flat)), simulator.__version__)
    assert none["timeline"]["flip_period"] is None


def test_seeds_by_period_name_and_workers_do_not_change_results():
    assert period_seed(0, "2024-01") == period_seed(0, "2024-01")
    assert period_seed(0, "2024-01") != period_seed(0, "2024-02")
    data = timeline_data(end="2024-04", prices={"api": {"decline_per_year_frac": 0.5}})
    one = run_timeline(build(data), workers=1)
    two = run_timeline(build(data), workers=2)
    assert [p.inference_usd for p in one.periods] == [p.inference_usd
                                                      for p in two.periods]


def test_representative_days_within_2_percent_of_a_whole_week():
    weekly = [1, 1, 1, 1, 1, 0.3, 0.3]
    daily = [0.2] * 7 + [2.0] * 10 + [0.5] * 7
    arrivals = {"kind": "poisson", "tasks_per_day": 8000, "weekly_profile": weekly,
                "daily_profile": daily}
    data = tiny(horizon_s=86400, seed=3, arrivals=arrivals)
    data["task_types"]["chat"]["workflow"][0]["output_tokens"] = {
        "dist": "lognormal", "median": 100, "p90": 400}
    week = build({**data, "horizon_s": 7 * 86400})
    whole = Decimal(simulator.summarize(simulator.simulate(week))["bill"][
        "exact_total_usd"])
    estimate = representative_days_usd(build(data), list(range(7)))
    assert whole > 0
    assert abs(estimate / whole - 1) < Decimal("0.02")


def test_weekday_weights_follow_the_calendar():
    weekdays, weekends = weekday_weights("2024-02", None)  # 29 days, 8 weekend
    assert (weekdays, weekends) == (21.0, 8.0)


def test_price_and_bill_pair_and_fixed_basket():
    lines = [{"a/input": (1e6, 10.0), "a/output": (1e6, 30.0)},
             {"a/input": (5e6, 5.0), "a/output": (5e6, 15.0)}]
    assert basket_prices(lines) == [20.0, 10.0]
    pair = price_and_bill([20.0, 10.0], [100.0, 300.0])
    assert pair["price_change_frac"] == pytest.approx(-0.5)
    assert pair["bill_change_frac"] == pytest.approx(2.0)


def test_timeline_report_files(tmp_path):
    data = timeline_data(end="2024-06", prices={"api": {"decline_per_year_frac": 0.8}},
                         users={"growth_per_year_frac": 20.0},
                         training={"monthly_usd": {"start": 0.5,
                                                   "growth_per_year_frac": 0}})
    scenario = build(data)
    summary = timeline_run_summary(run_timeline(scenario), simulator.__version__)
    names = write_timeline_report(summary, tmp_path / "out",
                                  dump_resolved(scenario, simulator.__version__))
    assert {p.name for p in names} >= {"report.md", "report.html", "summary.json",
                                       "periods.csv", "inference_vs_training.png"}
    written = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert written["timeline"]["num_periods"] == 6
    rows = list(csv.reader((tmp_path / "out" / "periods.csv").open()))
    assert len(rows) == 7 and rows[0][1] == "month" and rows[1][1] == "2024-01"
    markdown = (tmp_path / "out" / "report.md").read_text()
    flip = written["timeline"]["flip_period"]
    assert (f"In {flip}," in markdown) if flip else ("(none)" in markdown)
    assert "price of the same mix of tokens fell" in markdown


ONPREM = {"from_backends": ["api"], "preset": "llama2-70b-8xh100-mlperf",
          "target_utilisation_frac": 0.6}


def sampled_data(**onprem: object) -> dict:
    """896,000 users x 10 one-call tasks (1,000 tokens in, 1,000 out) a day,
    sampled to 3,000 tasks a day, and an on-prem share rule (none when
    `onprem` is empty)."""
    data = timeline_data(end="2024-02", sample_tasks_per_day=3000,
                         users={"start": 896_000, "growth_per_year_frac": 0})
    data["arrivals"]["tasks_per_user_per_day"] = 10
    data["task_types"]["chat"]["workflow"] = [
        {"kind": "answer", "input_tokens": 1000, "output_tokens": 1000}]
    if onprem:
        data["timeline"]["onprem_share"] = {**ONPREM, **onprem}
    return data


def test_onprem_share_0_gives_exactly_the_old_result():
    """A rule whose share is 0 changes no number of any period."""
    old = run_timeline(build(sampled_data())).periods
    for rule in ({"share_frac": 0}, {"points": {"2024-03": 0.0}}):
        new = run_timeline(build(sampled_data(**rule))).periods
        for before, after in zip(old, new, strict=True):
            assert after.owned_replicas == 0 and after.owned_usd == 0
            assert (after.inference_usd, after.api_usage_usd, after.tokens,
                    after.token_lines, after.usd_per_mtok) == (
                before.inference_usd, before.api_usage_usd, before.tokens,
                before.token_lines, before.usd_per_mtok)


def test_onprem_share_half_moves_half_the_api_bill_to_a_fleet_sized_at_scale():
    """Share 0.5: API usage halves exactly, the other half is the moved spend,
    and the fleet is sized for the real peak hour, not the sample's."""
    base = build(sampled_data())
    half = build(sampled_data(share_frac=0.5))
    old, new = run_timeline(base).periods[0], run_timeline(half).periods[0]
    assert new.api_usage_usd == old.api_usage_usd / 2 == new.moved_api_usd
    assert new.inference_usd == old.inference_usd / 2 + new.owned_usd
    assert new.api_usd == old.inference_usd / 2

    # the real peak hour: the sample's busiest hour times the scale, halved
    scenario, scale = period_scenario(half, timeline_inputs(half)[0])
    assert scale == pytest.approx(896_000 * 10 / 3000, rel=1e-3)
    run = simulator.simulate(scenario)
    calls = np.bincount((run.calls["started_at"] // 3600).astype(int) % 24,
                        weights=np.ones(len(run.calls["started_at"])), minlength=24)
    per_call_s = 1000 / 24_525 + 1000 / 60_000  # 1,000 out, 1,000 uncached in
    needed = calls.max() * scale * 0.5 * per_call_s / (3600 * 0.6)
    assert new.owned_replicas == math.ceil(needed) > 1
    entry = timeline_run_summary(run_timeline(half), simulator.__version__)
    assert entry["timeline"]["periods"][0]["owned_replicas"] == new.owned_replicas
    assert entry["timeline"]["onprem_share"]["gpu"] == "H100"


@pytest.mark.parametrize(("rule", "message"), [
    ({"share_frac": 1.5}, "timeline.onprem_share.share_frac: found 1.5; must be "
                          "less than or equal to 1"),
    ({"share_frac": -0.1}, "timeline.onprem_share.share_frac: found -0.1; must be "
                           "greater than or equal to 0"),
    ({"points": {"2024-01": 2}}, "timeline.onprem_share.points.2024-01: found 2"),
    ({"share_frac": 0.2, "points": {"2024-01": 0.1}}, "give exactly one of "
                                                      "share_frac"),
    ({"share_frac": 0.2, "from_backends": ["nope"]},
     "timeline.onprem_share.from_backends[0]: found 'nope'; allowed: api"),
    ({"share_frac": "half"}, "timeline.onprem_share.share_frac: must be a number, "
                           "found str 'half'"),
])
def test_bad_onprem_shares_exit_2_naming_the_field(tmp_path, capsys, rule, message):
    """A share outside [0, 1], both rules, or a backend that is not an API."""
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(sampled_data(**rule)))
    assert main(["validate", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_onprem_story_says_what_owning_did(tmp_path):
    """The report tells the owned fleet's cost against the API spend it replaced."""
    scenario = build(sampled_data(share_frac=0.5))
    summary = timeline_run_summary(run_timeline(scenario), simulator.__version__)
    write_timeline_report(summary, tmp_path, dump_resolved(scenario,
                                                           simulator.__version__))
    markdown = (tmp_path / "report.md").read_text()
    year = summary["timeline"]["years"][0]
    assert "## Owning GPUs for the steady load" in markdown
    assert "ran on the company's own H100 servers (8 GPUs a replica)" in markdown
    assert f"the owned fleet cost ${year['owned_usd']:,.0f}" in markdown
    rows = list(csv.reader((tmp_path / "periods.csv").open()))
    assert rows[0][-3:] == ["owned_replicas", "owned_usd", "api_usd"]


def test_timeline_files_are_byte_identical_across_runs_and_workers(tmp_path, capsys):
    """summary.json, periods.csv and report.md hold no wall-clock figure."""
    data = timeline_data(end="2024-03", prices={"api": {"decline_per_year_frac": 0.5}})
    path = tmp_path / "timeline.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    for workers, folder in (("1", "one"), ("2", "two")):
        assert main(["run", str(path), "--workers", workers,
                     "--out", str(tmp_path / folder)]) == 0
    assert "simulated in" in capsys.readouterr().out  # the wall time is printed
    for name in ("summary.json", "periods.csv", "report.md"):
        assert ((tmp_path / "one" / name).read_bytes()
                == (tmp_path / "two" / name).read_bytes()), name
    summary = json.loads((tmp_path / "one" / "summary.json").read_text())
    assert "wall_s" not in summary["timeline"]


@pytest.mark.parametrize("day_types, says, never", [
    ("one", "one representative day", "weekday"),
    ("weekday_weekend", "two representative days, a weekday and a Saturday",
     "one representative day"),
])
def test_timeline_report_names_the_simulated_days(tmp_path, day_types, says, never):
    """The report describes one day, or a weekday and a Saturday, as simulated."""
    scenario = build(timeline_data(end="2024-02", day_types=day_types))
    summary = timeline_run_summary(run_timeline(scenario), simulator.__version__)
    write_timeline_report(summary, tmp_path / "out",
                          dump_resolved(scenario, simulator.__version__))
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert markdown.count(says) == 2  # the opening and the method
    assert never not in markdown.lower()
    assert "(one)" not in markdown and "(weekday and weekend)" not in markdown
