"""Tests of the report writer: files, CSV tables, money, HTML, determinism, safety."""

from __future__ import annotations

import base64
import csv
import json
import re
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

import simulator
from simulator.economics.pricing import format_usd
from simulator.errors import SimulatorError
from simulator.records import CALL_STATUSES, TASK_STATUSES, RunResult
from simulator.report import figures, write_report
from simulator.report.blocks import (
    duration,
    price_per_unit,
    quantity_with_unit,
    unit_price,
)
from simulator.report.pool_figures import gpu_latency_samples
from simulator.report.records import usd_cells
from simulator.scenario import dump_resolved, scenario_from_dict

CHARTS = ("bill_by_backend.png", "monthly_spend_by_task_type.png",
          "cost_per_task.png", "compute_multiplier.png", "latency_cdf.png")
FILES = ("summary.json", "scenario.resolved.yaml", "calls.csv", "tasks.csv",
         "tool_calls.csv", *CHARTS, "report.md", "report.html")
POOL_CHARTS = ("queue_and_utilisation.png", "gpu_latency.png",
               "cumulative_cost_by_venue.png")  # the GPU scenario owns a pool
GPU_FILES = (*FILES[:-2], *POOL_CHARTS, *FILES[-2:])
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def scenario_data(tool_usd_per_call: float = 0.0, rate_per_s: float = 0.2) -> dict:
    """A two-type scenario small enough to run in well under a second."""
    return {
        "name": "report-test",
        "description": "Escape <script>alert(1)</script> & | pipes",
        "horizon_s": 600,
        "seed": 7,
        "baseline_task_type": "chat",
        "arrivals": {"kind": "poisson", "rate_per_s": rate_per_s},
        "models": {"m": {"tier": "mid", "context_window_tokens": 128000}},
        "backends": {"api": {
            "kind": "api", "model": "m",
            "prices": {"input_usd_per_mtok": 3, "cached_input_usd_per_mtok": 0.3,
                       "output_usd_per_mtok": 15},
            "ttft_s": {"dist": "lognormal", "median": 0.5, "p90": 1.5},
            "time_per_output_token_s": 0.05}},
        "tools": {"search": {"latency_s": {"dist": "exponential", "mean": 1},
                             "failure_prob": 0.2, "max_retries": 0,
                             "usd_per_call": tool_usd_per_call}},
        "task_types": {
            "chat": {"share": 0.6, "route": {"default": "api"},
                     "latency_target_p95_s": 10,
                     "workflow": [{"kind": "answer", "input_tokens": 100,
                                   "output_tokens": {"dist": "uniform", "low": 100,
                                                     "high": 300}}]},
            "agent": {"share": 0.4, "system_prompt_tokens": 1000,
                      "cache_read_frac": 0.8, "route": {"default": "api"},
                      "workflow": [
                          {"kind": "plan", "output_tokens": 200},
                          {"kind": "tool", "tool": "search", "output_tokens": 100,
                           "result_tokens": 2000},
                          {"kind": "answer", "output_tokens": 300}]},
        },
    }


def run_of(data: dict) -> tuple[RunResult, dict, str]:
    """Simulate a scenario dict; return the run, its summary and resolved YAML."""
    scenario = scenario_from_dict(data)
    run = simulator.simulate(scenario)
    return run, simulator.summarize(run), dump_resolved(scenario, "test")


@pytest.fixture(scope="module")
def free_tools() -> tuple[RunResult, dict, str]:
    """A run whose tools cost nothing."""
    return run_of(scenario_data())


@pytest.fixture(scope="module")
def report(free_tools: tuple, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report folder of the free-tools run, written once."""
    run, summary, resolved = free_tools
    out_dir = tmp_path_factory.mktemp("reports") / "report-test"
    write_report(run, summary, out_dir, resolved)
    return out_dir


def read_rows(path: Path) -> list[dict[str, str]]:
    """A CSV file as a list of dict rows."""
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_write_report_writes_every_file(free_tools: tuple, tmp_path: Path) -> None:
    """Every report file exists, is non-empty, and nothing else is in the folder."""
    run, summary, resolved = free_tools
    paths = write_report(run, summary, tmp_path / "out", resolved)
    assert [path.name for path in paths] == list(FILES)
    assert all(path.parent == tmp_path / "out" for path in paths)
    assert all(path.stat().st_size > 0 for path in paths)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(FILES)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_summary_json_round_trips(free_tools: tuple, report: Path) -> None:
    """summary.json parses back to the dict given, key order kept."""
    _, summary, resolved = free_tools
    text = (report / "summary.json").read_text(encoding="utf-8")
    assert json.loads(text) == summary
    assert list(json.loads(text)) == list(summary)
    assert text == json.dumps(summary, indent=2) + "\n"
    assert (report / "scenario.resolved.yaml").read_text(encoding="utf-8") == resolved


def test_csv_row_counts_equal_record_counts(free_tools: tuple, report: Path) -> None:
    """Each CSV has one row per record and the derived columns."""
    run = free_tools[0]
    calls = read_rows(report / "calls.csv")
    tasks = read_rows(report / "tasks.csv")
    tool_calls = read_rows(report / "tool_calls.csv")
    assert len(calls) == len(run.calls["task_id"]) > 0
    assert len(tasks) == len(run.tasks["task_id"]) > 0
    assert len(tool_calls) == len(run.tool_calls["task_id"]) > 0
    assert {"latency_s", "ttft_s", "cost_usd"} <= set(calls[0])
    assert {"latency_s", "cost_usd"} <= set(tasks[0])


def test_csv_codes_are_replaced_by_names(free_tools: tuple, report: Path) -> None:
    """Task type, backend, kind, status and reason codes appear as their names."""
    run = free_tools[0]
    calls = read_rows(report / "calls.csv")
    tasks = read_rows(report / "tasks.csv")
    assert [row["task_type"] for row in tasks] == [
        run.task_type_names[code] for code in run.tasks["task_type"]]
    assert [row["status"] for row in tasks] == [
        TASK_STATUSES[code] for code in run.tasks["status"]]
    assert {row["backend"] for row in calls} == {"api"}
    assert {row["status"] for row in calls} <= set(CALL_STATUSES)
    assert {row["kind"] for row in calls} == {"plan", "tool", "answer"}
    failed = [row for row in tasks if row["status"] == "failed"]
    assert failed and {row["reason"] for row in failed} == {"tool_failed"}
    assert {row["reason"] for row in tasks if row["status"] != "failed"} == {""}
    assert {row["tool"] for row in read_rows(report / "tool_calls.csv")} == {"search"}


def test_task_latency_is_empty_only_in_flight(free_tools: tuple, report: Path) -> None:
    """latency_s is finished_at - arrived_at, and empty for tasks in flight."""
    tasks = read_rows(report / "tasks.csv")
    in_flight = [row for row in tasks if row["status"] == "in_flight"]
    assert in_flight and all(row["latency_s"] == "" for row in in_flight)
    for row in tasks:
        if row["status"] != "in_flight":
            expected = float(row["finished_at"]) - float(row["arrived_at"])
            assert float(row["latency_s"]) == pytest.approx(expected, abs=1e-9)


def test_task_costs_sum_to_window_bill(free_tools: tuple, report: Path) -> None:
    """Without tool prices, task and call costs both add up to the exact bill."""
    summary = free_tools[1]
    exact = Decimal(summary["bill"]["exact_total_usd"])
    task_total = sum(Decimal(row["cost_usd"])
                     for row in read_rows(report / "tasks.csv"))
    call_total = sum(Decimal(row["cost_usd"])
                     for row in read_rows(report / "calls.csv"))
    assert exact > 0
    assert task_total == exact == call_total
    assert abs(sum(float(row["cost_usd"]) for row in read_rows(report / "tasks.csv"))
               - float(exact)) < 1e-9


def test_task_costs_include_tool_prices(tmp_path: Path) -> None:
    """With a priced tool, task costs add up to the bill including tool lines."""
    run, summary, resolved = run_of(scenario_data(tool_usd_per_call=0.01))
    write_report(run, summary, tmp_path / "out", resolved)
    tasks_total = sum(Decimal(row["cost_usd"])
                      for row in read_rows(tmp_path / "out" / "tasks.csv"))
    tool_lines = [line for line in summary["bill"]["lines"] if line["model"] == "tool"]
    assert tool_lines[0]["quantity"] == len(run.tool_calls["tool"])
    assert tasks_total == Decimal(summary["bill"]["exact_total_usd"])


def test_html_fetches_nothing_and_embeds_each_chart(report: Path) -> None:
    """report.html has no http(s) src/href and one inline PNG per chart file."""
    page = (report / "report.html").read_text(encoding="utf-8")
    targets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)""", page)
    assert targets and not [t for t in targets if re.match(r"(?i)https?:|//", t)]
    assert "http://" not in page and "https://" not in page
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == len(CHARTS)
    embedded = {base64.b64decode(data) for data in images}
    assert embedded == {(report / name).read_bytes() for name in CHARTS}


def test_html_and_markdown_escape_text(report: Path) -> None:
    """Scenario text cannot inject markup into either report."""
    page = (report / "report.html").read_text(encoding="utf-8")
    markdown = (report / "report.md").read_text(encoding="utf-8")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; | pipes" in page
    assert r"\<script\>alert(1)\</script\> & \| pipes" in markdown


def test_markdown_shows_summary_money_and_method(free_tools: tuple,
                                                 report: Path) -> None:
    """report.md shows the bill amounts and totals as given and the method."""
    summary = free_tools[1]
    markdown = (report / "report.md").read_text(encoding="utf-8")
    monthly = summary["monthly_bill"]
    for line in monthly["lines"]:
        assert f"| {format_usd(Decimal(str(line['amount_usd'])))} |" in markdown
    total = format_usd(Decimal(str(monthly["total_usd"])))
    assert f"| **total** |  |  |  |  | **{total}** |" in markdown
    assert f"## Monthly bill: {total}" in markdown
    assert "$3.00 / 1M tokens" in markdown and "$0.30 / 1M tokens" in markdown
    assert "Percentile method: nearest_rank" in markdown
    assert summary["billing_month"]["label"] in markdown
    for name in CHARTS:
        assert f"]({name})" in markdown


def test_markdown_marks_thin_percentiles(free_tools: tuple, report: Path) -> None:
    """Percentiles with too few samples are marked; the p95 target is judged."""
    summary = free_tools[1]
    markdown = (report / "report.md").read_text(encoding="utf-8")
    chat = summary["task_types"]["chat"]
    assert chat["latency_s"]["p99"]["too_few_samples"] is True
    row = next(line for line in markdown.splitlines()
               if line.startswith("| chat | ") and " s |" in line)
    assert "(too few samples)" in row
    assert ("| met |" if chat["latency_target_met"] else "| missed |") in row


def test_same_run_twice_gives_identical_files(free_tools: tuple,
                                              tmp_path: Path) -> None:
    """Two writes of one run, and a rewrite in place, are byte-identical."""
    run, summary, resolved = free_tools
    first = write_report(run, summary, tmp_path / "a", resolved)
    write_report(run, summary, tmp_path / "b", resolved)
    before = {path.name: path.read_bytes() for path in first}
    write_report(run, summary, tmp_path / "a", resolved)
    for name in FILES:
        assert (tmp_path / "b" / name).read_bytes() == before[name], name
        assert (tmp_path / "a" / name).read_bytes() == before[name], name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


def test_failure_leaves_previous_report_untouched(
        free_tools: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash mid-write keeps the old report and leaves no staging folder."""
    run, summary, resolved = free_tools
    out_dir = tmp_path / "out"
    write_report(run, summary, out_dir, resolved)
    (out_dir / "summary.json").write_text('{"flipsim_version": "old"}\n',
                                          encoding="utf-8")
    before = {p.name: p.read_bytes() for p in out_dir.iterdir()}

    def broken(*args: object) -> None:
        raise RuntimeError("figure failed")

    monkeypatch.setattr(figures, "plot_latency_cdf", broken)
    with pytest.raises(RuntimeError, match="figure failed"):
        write_report(run, summary, out_dir, resolved)
    assert {p.name: p.read_bytes() for p in out_dir.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_failure_on_first_write_leaves_nothing(
        free_tools: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash with no earlier report leaves neither the folder nor a temp one."""
    run, summary, resolved = free_tools

    def broken(*args: object) -> None:
        raise RuntimeError("figure failed")

    monkeypatch.setattr(figures, "plot_cost_per_task", broken)
    with pytest.raises(RuntimeError):
        write_report(run, summary, tmp_path / "out", resolved)
    assert list(tmp_path.iterdir()) == []


def test_refuses_to_replace_a_folder_that_is_not_a_report(
        free_tools: tuple, tmp_path: Path) -> None:
    """A non-empty folder without summary.json is left alone with an error."""
    run, summary, resolved = free_tools
    (tmp_path / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(SimulatorError, match=r"holds files flipsim did not write "
                                             r"\(notes.txt\)"):
        write_report(run, summary, tmp_path, resolved)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    assert [p.name for p in tmp_path.parent.iterdir()
            if p.name.startswith(f".{tmp_path.name}.")] == []


def test_empty_run_still_writes_a_report(tmp_path: Path) -> None:
    """A run with no tasks writes every file, with header-only CSV tables."""
    run, summary, resolved = run_of(scenario_data(rate_per_s=0.0))
    paths = write_report(run, summary, tmp_path / "out", resolved)
    assert [path.name for path in paths] == list(FILES)
    assert read_rows(tmp_path / "out" / "calls.csv") == []
    header = (tmp_path / "out" / "tasks.csv").read_text(encoding="utf-8")
    assert header.startswith("task_id,task_type,") and header.count("\n") == 1
    assert "No task failed." in (tmp_path / "out" / "report.md").read_text("utf-8")


def test_usd_cells_are_exact() -> None:
    """Pico-USD integers become exact 12-decimal USD strings."""
    cells = usd_cells(np.array([0, 1, 10**12 + 5, 3_552_826_050 * 10**6, -3]))
    assert cells == ["0.000000000000", "0.000000000001", "1.000000000005",
                     "3552.826050000000", "-0.000000000003"]


def test_unit_price_keeps_sheet_digits() -> None:
    """Unit prices show every digit of the price sheet, at least to the cent."""
    assert [unit_price(v) for v in (3.0, 0.075, 0.3, 1250.0, 0.00001)] == [
        "$3.00", "$0.075", "$0.30", "$1,250.00", "$0.00001"]


def test_refuses_a_folder_with_a_foreign_summary(free_tools: tuple,
                                                 tmp_path: Path) -> None:
    """A folder whose summary.json flipsim did not write keeps its files."""
    run, summary, resolved = free_tools
    (tmp_path / "summary.json").write_text('{"my": "data"}', encoding="utf-8")
    with pytest.raises(SimulatorError, match="was not written by flipsim"):
        write_report(run, summary, tmp_path, resolved)
    assert (tmp_path / "summary.json").read_text() == '{"my": "data"}'


def test_unwritable_path_is_bad_input(free_tools: tuple, tmp_path: Path) -> None:
    """A path under a file is refused up front, and no folder is created."""
    run, summary, resolved = free_tools
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    with pytest.raises(SimulatorError, match="is a file, not a folder"):
        write_report(run, summary, tmp_path / "afile" / "sub", resolved)
    with pytest.raises(SimulatorError, match="longer than 200 bytes"):
        write_report(run, summary, tmp_path / ("a" * 300), resolved)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def gpu_scenario_data() -> dict:
    """Half an hour on an on-prem preset and a rented service-time pool."""
    answer = {"kind": "answer", "input_tokens": 1000,
              "output_tokens": {"dist": "lognormal", "median": 250, "p90": 700}}
    return {
        "name": "gpu-report-test", "horizon_s": 1800, "warmup_s": 300, "seed": 3,
        "arrivals": {"kind": "poisson", "rate_per_s": 1.0},
        "models": {"m": {"tier": "mid", "context_window_tokens": 8192}},
        "backends": {
            "onprem": {"kind": "on_prem", "model": "m", "gpu": "H100",
                       "gpus_per_replica": 8, "replicas": 1, "max_concurrency": 6,
                       "performance": {"kind": "preset",
                                       "name": "llama2-70b-8xh100-mlperf"},
                       "costs": {"usd_per_kwh": 0.06}},
            "rented": {"kind": "cloud_gpu", "model": "m", "gpu": "H100",
                       "gpus_per_replica": 1, "replicas": 2, "max_concurrency": 2,
                       "performance": {"kind": "service_time", "service_time_s": {
                           "dist": "lognormal", "median": 2, "p90": 6}},
                       "cloud": {"usd_per_gpu_hour": 4.02}}},
        "task_types": {
            "chat": {"share": 0.5, "route": {"default": "onprem"},
                     "workflow": [answer]},
            "short": {"share": 0.5, "route": {"default": "rented"},
                      "workflow": [{"kind": "answer", "input_tokens": 200,
                                    "output_tokens": 100}]}},
    }


def run_file(path: Path) -> tuple[RunResult, dict, str]:
    """Load a scenario file and simulate it; return run, summary and resolved YAML."""
    scenario = simulator.load_scenario(path)
    run = simulator.simulate(scenario)
    return run, simulator.summarize(run), dump_resolved(scenario, "test")


@pytest.fixture(scope="module")
def gpu_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The GPU scenario as a YAML file (JSON is YAML) in a temporary folder."""
    path = tmp_path_factory.mktemp("scenarios") / "gpu.yaml"
    path.write_text(json.dumps(gpu_scenario_data(), indent=1), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def gpu_run(gpu_file: Path) -> tuple[RunResult, dict, str]:
    """One run of the GPU scenario."""
    return run_file(gpu_file)


@pytest.fixture(scope="module")
def gpu_report(gpu_run: tuple, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report folder of the GPU run, written once."""
    run, summary, resolved = gpu_run
    out_dir = tmp_path_factory.mktemp("reports") / "gpu"
    write_report(run, summary, out_dir, resolved)
    return out_dir


def test_gpu_run_writes_the_pool_charts(gpu_run: tuple, gpu_report: Path) -> None:
    """A GPU run gets the queue and GPU latency PNGs, each embedded in the HTML."""
    assert sorted(p.name for p in gpu_report.iterdir()) == sorted(GPU_FILES)
    for name in POOL_CHARTS:
        assert (gpu_report / name).read_bytes().startswith(PNG_SIGNATURE)
    page = (gpu_report / "report.html").read_text(encoding="utf-8")
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', page)
    assert {base64.b64decode(data) for data in images} == {
        (gpu_report / name).read_bytes() for name in (*CHARTS, *POOL_CHARTS)}


def test_gpu_section_reports_each_backend(gpu_run: tuple, gpu_report: Path) -> None:
    """The GPU section has the table, a sentence per backend and both charts."""
    summary = gpu_run[1]
    markdown = (gpu_report / "report.md").read_text(encoding="utf-8")
    section = markdown[markdown.index("## GPU backends"):markdown.index("## Tools")]
    assert "| measure | onprem | rented |" in section
    assert "| kind | on-prem | cloud GPU |" in section
    for name, entry in summary["gpu_backends"].items():
        assert entry["calls"] > 0
        assert (f"{name} served {entry['calls']:,} calls at "
                f"{entry['utilisation_frac'] * 100:.1f}% slot utilisation;") in section
        assert f"{format_usd(Decimal(str(entry['monthly_usd'])))} a month" in section
    for name in POOL_CHARTS:
        assert f"]({name})" in section
    assert ("the first 300 s are warm-up and excluded from every figure and bill"
            in markdown)


def test_gpu_bill_lines_show_their_units(gpu_run: tuple, gpu_report: Path) -> None:
    """Capacity lines show quantity and unit price in their own units."""
    markdown = (gpu_report / "report.md").read_text(encoding="utf-8")
    monthly = markdown[markdown.index("## Monthly bill"):
                       markdown.index("### Bill of the simulated window")]
    for line in gpu_run[1]["monthly_bill"]["lines"]:
        row = next(row for row in monthly.splitlines()
                   if row.startswith(f"| {line['backend']} | ")
                   and f" | {line['item'].replace('_', ' ')} | " in row)
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[3] == quantity_with_unit(line["quantity"], line["unit"])
        assert cells[4] == price_per_unit(line["unit_price_usd"], line["unit"])
    rented = ("| rented | m | GPU-hours (given price) | 1,460 GPU-hours | "
              "$4.02 / GPU-hour |")
    assert rented in monthly
    assert "| tool " not in monthly  # no capacity line is taken for a tool


def test_unit_prices_and_quantities_render_in_their_units() -> None:
    """Every bill unit reads sensibly in the price and quantity columns."""
    prices = [(4.0, "tokens"), (0.0005, "calls"), (4.02, "GPU-hours"),
              (521.1333333333333, "GPU-months"), (0.06, "kWh"), (3126.8, "months"),
              (13333.333333333334, "FTE-months")]
    assert [price_per_unit(amount, unit) for amount, unit in prices] == [
        "$4.00 / 1M tokens", "$0.0005 / call", "$4.02 / GPU-hour",
        "$521.13 / GPU-month", "$0.06 / kWh", "$3,126.80 / month",
        "$13,333.33 / FTE-month"]
    quantities = [(5840.0, "GPU-hours"), (4292.4, "kWh"), (8.0, "GPU-months"),
                  (0.5, "FTE-months"), (1.0, "months"), (0.0200913, "GPU-months"),
                  (1_234_567, "tokens"), (1, "calls")]
    assert [quantity_with_unit(value, unit) for value, unit in quantities] == [
        "5,840 GPU-hours", "4,292.4 kWh", "8 GPU-months", "0.5 FTE-months",
        "1 month", "0.0201 GPU-months", "1,234,567 tokens", "1 call"]
    assert [unit_price(v) for v in (0.30000000000000004, 0.0625, 1.2345)] == [
        "$0.30", "$0.0625", "$1.2345"]
    assert [duration(v) for v in (0.0116, 0.058, 0.0, 2.81, None)] == [
        "11.6 ms", "58.0 ms", "0 s", "2.81 s", "\u2013"]


def test_bill_chart_counts_only_per_call_lines_as_tools() -> None:
    """GPU capacity lines stay with their backend; lines billed per call are tools."""
    for unit in ("GPU-hours", "GPU-months", "kWh", "months", "FTE-months", "tokens"):
        assert figures._bill_owner({"backend": "onprem", "unit": unit}) == "onprem"
    assert figures._bill_owner({"backend": "search", "unit": "calls"}) == (
        "search (tool)")


def test_gpu_latency_chart_uses_the_summary_calls(gpu_run: tuple) -> None:
    """The chart's TTFT and TPOT samples are the ones summary.json counts."""
    run, summary, _ = gpu_run
    samples = gpu_latency_samples(run, summary)
    assert list(samples) == ["onprem", "rented"]
    for name, found in samples.items():
        entry = summary["gpu_backends"][name]
        assert len(found.ttft_s) == entry["ttft_s"]["p50"]["num_samples"]
        assert len(found.tpot_s) == entry["tpot_s"]["p50"]["num_samples"]
        rank = -(-95 * len(found.tpot_s) // 100)  # nearest rank
        assert found.tpot_s[rank - 1] == entry["tpot_s"]["p95"]["value"]


def test_api_only_run_has_no_pool_charts(free_tools: tuple, report: Path) -> None:
    """Without GPU backends or limited tools: no pool charts, no GPU section."""
    assert not [name for name in POOL_CHARTS if (report / name).exists()]
    markdown = (report / "report.md").read_text(encoding="utf-8")
    assert "GPU backends" not in markdown and "warm-up" not in markdown
    assert free_tools[1]["gpu_backends"] == {}


def test_limited_tool_gets_the_queue_chart_alone(tmp_path: Path) -> None:
    """An API run with a concurrency-limited tool charts that tool's queue only."""
    data = scenario_data()
    data["tools"]["search"]["concurrency"] = 1
    run, summary, resolved = run_of(data)
    write_report(run, summary, tmp_path / "out", resolved)
    assert (tmp_path / "out" / "queue_and_utilisation.png").exists()
    assert not (tmp_path / "out" / "gpu_latency.png").exists()
    markdown = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    tools = markdown[markdown.index("## Tools"):markdown.index("## Failures")]
    assert "](queue_and_utilisation.png)" in tools


def test_gpu_report_is_byte_identical_on_rerun(gpu_file: Path, gpu_report: Path,
                                              tmp_path: Path) -> None:
    """Simulating and writing the GPU scenario again gives the same bytes."""
    run, summary, resolved = run_file(gpu_file)
    write_report(run, summary, tmp_path / "again", resolved)
    for name in GPU_FILES:
        assert (tmp_path / "again" / name).read_bytes() == (
            gpu_report / name).read_bytes(), name


def test_api_report_replaces_a_gpu_report(gpu_run: tuple, free_tools: tuple,
                                          tmp_path: Path) -> None:
    """A report folder with pool charts is recognised and replaced whole."""
    run, summary, resolved = gpu_run
    write_report(run, summary, tmp_path / "out", resolved)
    assert (tmp_path / "out" / "gpu_latency.png").exists()
    run, summary, resolved = free_tools
    write_report(run, summary, tmp_path / "out", resolved)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(FILES)


def test_idle_gpu_capacity_is_billed_and_said(tmp_path: Path) -> None:
    """With no traffic, GPUs still cost money; no latency chart, queues still drawn."""
    data = gpu_scenario_data()
    data["arrivals"]["rate_per_s"] = 0.0
    run, summary, resolved = run_of(data)
    write_report(run, summary, tmp_path / "out", resolved)
    assert (tmp_path / "out" / "queue_and_utilisation.png").exists()
    assert not (tmp_path / "out" / "gpu_latency.png").exists()
    markdown = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    idle = format_usd(Decimal(str(summary["monthly_idle_capacity_usd"])))
    assert summary["monthly_idle_capacity_usd"] == summary["monthly_bill"]["total_usd"]
    assert f"GPU capacity no task used costs {idle} a month" in markdown
    assert "onprem served no calls;" in markdown
