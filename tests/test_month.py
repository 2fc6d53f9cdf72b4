"""Month mode: sampled windows against the exact engine, and its bookkeeping."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import simulator
from simulator.cli import main
from simulator.month import (
    estimate_month,
    exact_reference,
    t_interval,
    weighted_quantile,
)

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
CHECK = SCENARIOS / "month-mode-check.yaml"


def test_month_mode_matches_the_exact_engine_on_a_small_scenario():
    """Bill within 1% of the exact runs' mean; mean and p95 task latency inside
    the exact runs' 95% interval. The peak starts abruptly at 9:00, so the
    morning ramp has to be inside the simulated spans for this to hold."""
    scenario = simulator.load_scenario(CHECK, ["horizon_s=172800"])
    estimate = estimate_month(scenario, replications=4)
    assert estimate.method["busy_hours"] == 16  # 9:00-17:00 on both days
    assert estimate.method["quiet_hours"] == 32
    exact = exact_reference(scenario, seeds=[11, 12, 13, 14])

    bill = estimate.figures["monthly_bill_usd"]["mean"]
    exact_bill = float(np.mean(exact["monthly_bill_usd"]))
    assert abs(bill - exact_bill) / exact_bill < 0.01
    for key in ("latency_mean_s", "latency_p95_s"):
        _, low, high = t_interval(exact[key])
        assert low <= estimate.figures[key]["mean"] <= high, (key, exact[key])


def test_a_scenario_with_nothing_to_queue_is_screened_whole(tmp_path):
    """No limited resource: every hour is quiet. Constant tokens make every
    task cost the same, so the month's bill is exact: the billing month's
    expected tasks (730 h x 360 tasks/h) x $0.0044 (1,000 tokens in at $2/1M
    plus 240 out at $10/1M)."""
    path = tmp_path / "flat.yaml"
    path.write_text(
        "name: flat\nseed: 1\nhorizon_s: 604800\n"
        "arrivals: {kind: poisson, rate_per_s: 0.1}\n"
        "models: {m: {tier: mid, context_window_tokens: 100000}}\n"
        "backends: {api: {kind: api, model: m, ttft_s: 0.2,"
        " time_per_output_token_s: 0.01, prices: {input_usd_per_mtok: 2,"
        " output_usd_per_mtok: 10, as_of: 2026-10-07}}}\n"
        "task_types: {t: {share: 1, system_prompt_tokens: 900,"
        " user_input_tokens: 100, route: {default: api},"
        " workflow: [{kind: answer, output_tokens: 240}]}}\n", encoding="utf-8")
    scenario = simulator.load_scenario(path)
    estimate = estimate_month(scenario, replications=2)
    assert estimate.method["busy_hours"] == 0
    bill = estimate.figures["monthly_bill_usd"]
    assert bill["mean"] == pytest.approx(730 * 360 * 0.0044, rel=1e-9)
    assert bill["ci95_low"] == pytest.approx(bill["ci95_high"], rel=1e-9)
    latency = estimate.figures["latency_mean_s"]["mean"]
    assert latency == pytest.approx(0.2 + 240 * 0.01)


def test_results_do_not_depend_on_the_number_of_workers():
    scenario = simulator.load_scenario(CHECK, ["horizon_s=86400",
                                               "arrivals.num_users=600"])
    one = estimate_month(scenario, replications=2, workers=1)
    two = estimate_month(scenario, replications=2, workers=2)
    assert json.dumps(one.summary("x")) == json.dumps(two.summary("x"))
    assert one.method["busy_hours"] > 0


def test_weighted_quantile_is_nearest_rank_with_unit_weights():
    values = np.array([5.0, 1.0, 4.0, 2.0, 3.0])
    assert weighted_quantile(values, np.ones(5), 0.5) == 3.0
    assert weighted_quantile(values, np.ones(5), 0.95) == 5.0
    # a weight of 3 on the value 1.0 makes it the median of 7 units
    assert weighted_quantile(values, np.array([1, 3, 1, 1, 1.0]), 0.5) == 2.0


def test_cli_runs_month_mode_for_long_horizons(tmp_path, capsys):
    out = tmp_path / "report"
    code = main(["run", str(CHECK), "--set", "horizon_s=604800", "--set",
                 "arrivals.num_users=3000", "--out", str(out), "--workers", "1",
                 "--month-replications", "2"])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["mode"] == "month"
    assert summary["method"]["replications"] == 2
    names = {p.name for p in out.iterdir()}
    assert {"report.html", "report.md", "figures.csv", "strata.csv"} <= names
    assert "month mode" in (out / "report.md").read_text()


def test_cli_refuses_both_modes_and_month_mode_on_a_trace(tmp_path, capsys):
    assert main(["run", str(CHECK), "--exact", "--month",
                 "--out", str(tmp_path / "a")]) == 2
    assert "--exact and --month" in capsys.readouterr().err
    assert main(["run", str(SCENARIOS / "azure-conv-replay.yaml"), "--month",
                 "--out", str(tmp_path / "b")]) == 2
    assert "arrivals.kind: found 'trace'" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_experiments_refuse_month_long_horizons(tmp_path, capsys):
    month = str(SCENARIOS / "enterprise-month.yaml")
    assert main(["run", month, "--replications", "3",
                 "--out", str(tmp_path / "r")]) == 2
    assert "--month-replications" in capsys.readouterr().err
    assert main(["sweep", month, "--grid", "tools.sandbox.concurrency=30,40",
                 "--out", str(tmp_path / "s")]) == 2
    assert "horizon_s: found 2.592e+06" in capsys.readouterr().err
    assert not (tmp_path / "r").exists() and not (tmp_path / "s").exists()


def test_month_mode_bills_owned_gpu_pools_like_the_exact_engine():
    """Owned and rented 8x H100 servers: capacity for the whole month, power
    at the month's busy fraction; the bill agrees with the exact engine."""
    scenario = simulator.load_scenario(SCENARIOS / "onprem-vs-cloud-gpu.yaml",
                                       ["arrivals.tasks_per_day=20000"])
    estimate = estimate_month(scenario, replications=2)
    exact = simulator.summarize(simulator.simulate(scenario))
    bill = estimate.figures["monthly_bill_usd"]["mean"]
    assert bill == pytest.approx(exact["monthly_bill"]["total_usd"], rel=0.005)
    assert estimate.figures["monthly_capacity_usd"]["mean"] > 0.9 * bill


def test_month_mode_with_no_arrivals_warns_instead_of_failing(tmp_path, capsys):
    out = tmp_path / "zero"
    code = main(["run", str(CHECK), "--month", "--set", "arrivals.num_users=0",
                 "--out", str(out), "--workers", "1", "--month-replications", "2"])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["figures"]["monthly_bill_usd"]["mean"] == 0
    assert summary["warnings"] == ["no tasks arrived in any simulated window"]


def test_month_mode_warns_when_a_backlog_outlasts_its_windows(capsys):
    """60 requests a minute against about 94 at the peak: the queue grows for
    hours, which windows cannot follow; the summary says so."""
    scenario = simulator.load_scenario(CHECK, ["backends.api.requests_per_min=60",
                                               "horizon_s=86400"])
    estimate = estimate_month(scenario, replications=2)
    assert any(w.startswith("overload:") for w in estimate.warnings)
    assert any(w.startswith("backends.api: 94 requests a minute")
               for w in estimate.warnings)


def test_modes_that_cannot_combine_are_refused(tmp_path, capsys):
    assert main(["run", str(SCENARIOS / "inference-flip.yaml"), "--month",
                 "--out", str(tmp_path / "t")]) == 2
    assert "a timeline simulates representative days" in capsys.readouterr().err
    assert main(["run", str(CHECK), "--month", "--replications", "2",
                 "--out", str(tmp_path / "r")]) == 2
    assert "--month-replications" in capsys.readouterr().err
    assert not (tmp_path / "t").exists() and not (tmp_path / "r").exists()


def test_month_mode_gives_way_when_exact_is_cheaper(tmp_path, capsys):
    """A week of 300 users: the windows would simulate more tasks than the
    week holds, so the horizon's own choice of month mode falls back to an
    exact run; forcing --month on a horizon of a minute is refused."""
    out = tmp_path / "small"
    assert main(["run", str(CHECK), "--set", "horizon_s=604800", "--set",
                 "arrivals.num_users=300", "--out", str(out)]) == 0
    assert "every call was run instead" in capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    assert "mode" not in summary
    assert summary["warnings"][0].endswith("every call was run instead")
    assert main(["run", str(CHECK), "--month", "--set", "horizon_s=60",
                 "--out", str(tmp_path / "minute")]) == 2
    assert "drop --month (an exact run is cheaper here)" in capsys.readouterr().err
    assert not (tmp_path / "minute").exists()


def test_options_of_another_mode_are_refused(tmp_path, capsys):
    for args, message in (
            (["--month-replications", "3"], "--month-replications: only for month"),
            (["--confidence", "0.8"], "--confidence 0.8: sets the interval"),
            (["--confidence", "0.8", "--replications", "1"],
             "--replications 2 or more"),
            (["--month", "--dask", "local"], "--month with --dask"),
    ):
        assert main(["run", str(CHECK), "--set", "horizon_s=3600",
                     "--out", str(tmp_path / "x"), *args]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
