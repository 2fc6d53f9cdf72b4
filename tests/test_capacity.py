"""GPU capacity on the bill, through whole scenarios; trace replay end to end."""

from __future__ import annotations

from decimal import Decimal

import pytest

import simulator
from simulator.cli import main
from simulator.economics.bill import monthly_bill, run_bill
from tests.conftest import ROOT, build, run_at, tiny


def _gpu_data(kind: str, **backend: object) -> dict:
    data = tiny(horizon_s=3600)
    data["backends"]["gpu"] = {
        "kind": kind, "model": "m", "gpu": "H100", "gpus_per_replica": 8,
        "replicas": 1, "max_concurrency": 8,
        "performance": {"kind": "service_time", "service_time_s": 1}, **backend}
    data["task_types"]["chat"]["route"] = {"default": "gpu"}
    return data


@pytest.mark.parametrize("month, expected", [("average", "1825.00"),
                                             ("2025-02", "1680.00"),
                                             ("2024-02", "1740.00"),
                                             ("2025-01", "1860.00")])
def test_rented_gpu_always_on_for_a_month(month, expected):
    """One GPU at $2.50/h: $1,825 an average month, $1,680 in February 2025."""
    data = _gpu_data("cloud_gpu", gpus_per_replica=1,
                     cloud={"usd_per_gpu_hour": 2.5})
    data["billing"] = {"month": month}
    bill = monthly_bill(run_at(build(data), [0.0]))
    (line,) = [line for line in bill.lines if line.backend == "gpu"]
    assert (line.item, line.unit) == ("GPU-hours (given price)", "GPU-hours")
    assert bill.shown_total_usd() == Decimal(expected)
    assert ("calendar month" in bill.period) == (month != "average")


def test_rented_gpu_window_billed_per_hour():
    """A 20-minute window billed per hour, 8 GPUs at $3.60: one hour, $28.80."""
    data = _gpu_data("cloud_gpu", cloud={"usd_per_gpu_hour": 3.6,
                                         "billing_granularity": "per_hour"})
    data["horizon_s"] = 1200
    bill = run_bill(run_at(build(data), [0.0]))
    assert bill.total_usd == Decimal("28.8")


def test_on_prem_power_by_site_country():
    """8 GPUs at 700 W always busy, PUE 1.2, Norway at $0.06/kWh: $294.34 a month."""
    data = _gpu_data("on_prem", costs={
        "busy_w_per_gpu": 700, "idle_w_per_gpu": 100, "pue": 1.2,
        "site_country": "NO", "electricity_usd_per_kwh": {"SE": 0.08, "NO": 0.06},
        "staff_fte": 0})
    data["task_types"]["chat"]["workflow"] = [{"kind": "answer", "output_tokens": 1}]
    data["backends"]["gpu"]["performance"]["service_time_s"] = 10_000
    run = run_at(build(data), [0.0])
    assert run.gpu_usage["gpu"]["busy_s"] == 3600.0
    bill = monthly_bill(run)
    lines = {line.item: line for line in bill.lines}
    shown = dict(zip([line.item for line in bill.lines], bill.shown_amounts_usd(),
                     strict=True))
    assert lines["power"].amount_usd == Decimal("294.336")
    assert shown["power"] == Decimal("294.34")
    assert lines["power"].unit == "kWh" and lines["staff"].amount_usd == 0
    assert lines["capex amortisation"].amount_usd == Decimal(8 * 31268) / 60


def test_unknown_site_country_is_named():
    """A country with no electricity price is refused with the known ones."""
    data = _gpu_data("on_prem", costs={"site_country": "DK",
                                       "electricity_usd_per_kwh": {"NO": 0.06}})
    with pytest.raises(simulator.ScenarioError, match="found 'DK', which has no "
                                                       "electricity_usd_per_kwh"):
        build(data)


def test_gpu_capacity_is_shared_over_task_costs():
    """Task costs on a GPU pool add up to its window cost, to the pico-dollar."""
    data = _gpu_data("cloud_gpu", cloud={"usd_per_gpu_hour": 2.5})
    run = run_at(build(data), [float(t) for t in range(0, 3000, 7)])
    summary = simulator.summarize(run)
    total = sum(e["spend_usd"] for e in summary["task_types"].values())
    assert total == pytest.approx(float(run_bill(run).total_usd), abs=1e-6)
    assert summary["gpu_backends"]["gpu"]["monthly_usd"] == 8 * 2.5 * 730


def test_replay_gives_every_design_the_same_requests():
    """each_task_type turns each traced request into one task per design."""
    scenario = simulator.load_scenario(ROOT / "scenarios" / "azure-conv-replay.yaml",
                                       ["horizon_s=60", "warmup_s=0"])
    tasks = simulator.simulate(scenario).tasks
    first, second = (tasks[name][0::2] for name in ("arrived_at", "task_type")), (
        tasks[name][1::2] for name in ("arrived_at", "task_type"))
    (at_a, type_a), (at_b, type_b) = first, second
    assert len(at_a) == len(at_b) > 100
    assert (at_a == at_b).all() and (type_a == 0).all() and (type_b == 1).all()
    both = (tasks["status"][0::2] == 0) & (tasks["status"][1::2] == 0)
    assert (tasks["tokens_in"][0::2][both] == tasks["tokens_in"][1::2][both]).all()


def test_cli_trace_option(tmp_path, capsys):
    """--trace replays another file; a scenario without a trace refuses it."""
    trace = tmp_path / "t.csv"
    trace.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n"
                     "2023-11-16 18:00:00.0,100,10\n2023-11-16 18:00:01.5,200,20\n")
    out = tmp_path / "out"
    assert main(["run", str(ROOT / "scenarios" / "azure-conv-replay.yaml"),
                 "--trace", str(trace), "--set", "warmup_s=0", "--out", str(out)]) == 0
    summary = (out / "summary.json").read_text()
    assert '"arrived": 4' in summary
    assert main(["run", str(ROOT / "scenarios" / "chat-vs-agents.yaml"),
                 "--trace", str(trace), "--out", str(tmp_path / "x")]) == 2
    assert "does not replay a trace" in capsys.readouterr().err


def test_task_costs_after_warm_up_add_up_to_the_window_bill():
    """tasks.csv marks warm-up tasks and leaves them off; the rest sum to the bill."""
    from simulator.report.records import tasks_columns

    data = _gpu_data("cloud_gpu", cloud={"usd_per_gpu_hour": 2.5})
    data["warmup_s"] = 600
    data["tools"] = {"paid": {"latency_s": 1, "usd_per_call": 0.01}}
    data["task_types"]["chat"]["workflow"].append({"kind": "retrieve",
                                                   "tool": "paid"})
    run = run_at(build(data), [float(t) for t in range(0, 3000, 9)])
    columns = tasks_columns(run)
    costs = [Decimal(cell) for cell in columns["cost_usd"] if cell]
    assert columns["measured"].count("false") == len(range(0, 600, 9))
    window = run_bill(simulator.metrics.window_view(run)).total_usd
    assert abs(sum(costs) - window) < Decimal("1e-9")
