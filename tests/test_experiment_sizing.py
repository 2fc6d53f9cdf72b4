"""Sizing by bisection (M/M/c against Erlang C) and the experiment commands."""

from __future__ import annotations

import pandas as pd
import pytest

import simulator
from simulator import cli
from simulator.errors import SimulatorError
from simulator.experiment.sizing import Target, parse_dimension, parse_target
from simulator.metrics import erlang_c_wait_s
from tests.test_experiment import POOL, write_scenario

MMC = {
    "name": "mmc",
    "seed": 11,
    "horizon_s": 2000,
    "warmup_s": 100,
    "arrivals": {"kind": "poisson", "rate_per_s": 6.4},
    "models": {"m": {"tier": "small", "context_window_tokens": 8192}},
    "backends": {"api": {"kind": "api", "model": "m",
                         "prices": {"input_usd_per_mtok": 1, "output_usd_per_mtok": 1},
                         "ttft_s": 0.1, "time_per_output_token_s": 0.01}},
    "tools": {"pool": {"latency_s": {"dist": "exponential", "mean": 1.0},
                       "concurrency": 1, "usd_per_call": 0.0001}},
    "task_types": {"lookup": {"share": 1.0, "route": {"default": "api"},
                              "workflow": [{"kind": "retrieve", "tool": "pool"}]}},
}


def test_targets_and_dimensions_parse():
    """metric<=value and ranges or lists of whole numbers."""
    assert parse_target("p95_task_latency_s<=30") == Target("p95_task_latency_s",
                                                            "<=", 30.0)
    assert parse_target("mean_queue_wait_s < 0.2").metric == "mean_tool_wait_s"
    assert parse_dimension("backends.b.replicas=2..5").values == (2, 3, 4, 5)
    assert parse_dimension("tools.t.concurrency=8,2,4").values == (2, 4, 8)
    for bad in ("p95<=", "p95=30", "<=3", "p95<=nan"):
        with pytest.raises(SimulatorError, match="--target"):
            parse_target(bad)
    for bad in ("x=1.5..4", "x=a,b", "x", "x=5..1"):
        with pytest.raises(SimulatorError, match="--vary"):
            parse_dimension(bad)


def test_target_uses_the_interval_edge():
    """<= is met by the upper bound, >= by the lower bound; NaN never."""
    target = Target("m", "<=", 1.0)
    assert target.met_by(0.8, 0.2) and not target.met_by(0.9, 0.2)
    assert Target("m", ">=", 1.0).met_by(1.3, 0.3)
    assert not Target("m", ">", 1.0).met_by(1.3, 0.3)
    assert not target.met_by(float("nan"), 0.0)
    assert target.met_by(0.99, float("nan"))  # one replication: the value itself


def test_mmc_sizing_matches_erlang_c(tmp_path):
    """M/M/c at 6.4/s, 1 s service, mean wait <= 0.2 s: c = 9 (Erlang C)."""
    assert erlang_c_wait_s(6.4, 1.0, 8) == pytest.approx(0.286, abs=1e-3)
    assert erlang_c_wait_s(6.4, 1.0, 9) == pytest.approx(0.101, abs=1e-3)
    path = write_scenario(tmp_path, MMC, "mmc.yaml")
    result = simulator.size(path, "mean_queue_wait_s<=0.2",
                            ["tools.pool.concurrency=1..64"], replications=4,
                            workers=2)

    assert result.best["tools.pool.concurrency"] == 9
    assert result.best["metric_bound"] <= 0.2
    tried = result.evaluated.set_index("tools.pool.concurrency")
    assert sorted(tried.index) == [8, 9, 10, 12, 16, 32, 64]  # bisection, not a scan
    assert not tried.loc[8, "meets_target"]
    assert tried.loc[8, "metric_mean"] == pytest.approx(0.286, rel=0.25)
    assert tried.loc[9, "metric_mean"] == pytest.approx(0.101, rel=0.3)
    assert len(result.table) == 7 * 4


def test_sizing_cheapest_over_enumerated_dimension(tmp_path):
    """Two dimensions: each value of the first is searched; the cheapest wins."""
    path = write_scenario(tmp_path, POOL)
    result = simulator.size(path, "p95_task_latency_s<=12",
                            ["arrivals.rate_per_s=1,2",
                             "tools.search.concurrency=1..8"],
                            replications=2, workers=2)
    evaluated = result.evaluated
    assert set(evaluated["arrivals.rate_per_s"]) == {1, 2}
    feasible = evaluated[evaluated["meets_target"]]
    assert result.best["cost_mean"] == feasible["cost_mean"].min()
    assert result.best["arrivals.rate_per_s"] == 1  # fewer tasks, smaller bill


def test_infeasible_sizing_says_so(tmp_path):
    """When the largest value misses the target, no configuration is returned."""
    path = write_scenario(tmp_path, MMC, "mmc.yaml")
    result = simulator.size(path, "mean_tool_wait_s<=0.2",
                            ["tools.pool.concurrency=2..5"], replications=2,
                            workers=1)
    assert result.best is None
    assert len(result.evaluated) == 1
    assert "no configuration met" in result.notes[0]


def test_cli_sweep_compare_size(tmp_path, capsys):
    """The commands exit 0 and write their tables, charts and reports."""
    path = write_scenario(tmp_path, POOL)
    out = tmp_path / "sweep"
    assert cli.main(["sweep", str(path), "--grid", "tools.search.concurrency=2,3",
                     "-r", "2", "--workers", "1", "--out", str(out)]) == 0
    assert len(pd.read_csv(out / "results.csv")) == 4
    assert (out / "sweep_tools.search.concurrency.png").exists()
    assert cli.main(["sweep", str(path), "--grid", "tools.search.concurrency=2,3",
                     "-r", "2", "--workers", "1", "--out", str(out)]) == 0
    assert "(0 runs, 4 reused)" in capsys.readouterr().out

    out = tmp_path / "compare"
    assert cli.main(["compare", str(path), "--variant", "wide:tools.search."
                     "concurrency=6", "-r", "2", "--workers", "1",
                     "--out", str(out)]) == 0
    assert "## Differences" in (out / "compare.md").read_text()
    assert sorted(p.name for p in out.iterdir()) == [
        "compare.md", "differences.csv", "differences.png", "experiment.json",
        "points.jsonl", "results.csv", "side_by_side.csv"]

    out = tmp_path / "size"
    assert cli.main(["size", str(path), "--target", "mean_tool_wait_s<=0.5",
                     "--vary", "tools.search.concurrency=1..8", "-r", "2",
                     "--workers", "1", "--out", str(out)]) == 0
    assert "Cheapest meeting the target: tools.search.concurrency=" in (
        out / "sizing.md").read_text()
    assert (out / "frontier.png").exists()


def test_cli_spec_file_and_replications(tmp_path):
    """A sweep spec in YAML and run --replications both work from the CLI."""
    path = write_scenario(tmp_path, POOL)
    spec = tmp_path / "sweep.yaml"
    spec.write_text("scenario: pool.yaml\ngrid:\n  tools.search.concurrency: [2, 4]\n"
                    "replications: 2\nset: [horizon_s=300]\n"
                    "target: mean_tool_wait_s<=2\n", encoding="utf-8")
    assert cli.main(["sweep", "--spec", str(spec), "--workers", "1",
                     "--out", str(tmp_path / "s")]) == 0
    assert len(pd.read_csv(tmp_path / "s" / "results.csv")) == 4
    marked = pd.read_csv(tmp_path / "s" / "summary.csv")
    assert marked["meets_target"].tolist() == [False, True]
    assert cli.main(["run", str(path), "--replications", "3", "--workers", "1",
                     "--out", str(tmp_path / "r")]) == 0
    summary = pd.read_csv(tmp_path / "r" / "replications_summary.csv")
    assert summary.set_index("metric").loc["monthly_bill_usd", "replications"] == 3


@pytest.mark.parametrize("argv, message", [
    (["sweep", "{path}", "--grid", "tools.search.concurrency=0,2"],
     "point tools.search.concurrency=0"),
    (["sweep", "{path}", "--grid", "tools.search.concurrency"], "--grid"),
    (["sweep", "{path}"], "at least one --grid"),
    (["sweep", "{path}", "--random", "3"], "--range"),
    (["size", "{path}", "--target", "p95<=x", "--vary", "a=1..2"], "--target"),
    (["compare", "{path}"], "two or more"),
    (["compare", "{path}", "--variant", "novalue"], "--variant"),
    (["sensitivity", "{path}", "--param", "task_types.ask.nothing"], "--param"),
    (["run", "{path}", "--replications", "2", "--dask", "nowhere"], "--dask"),
])
def test_cli_bad_input_exits_2(tmp_path, capsys, argv, message):
    """Bad options exit 2 with a line naming the option, and write nothing."""
    path = write_scenario(tmp_path, POOL)
    out = tmp_path / "out"
    code = cli.main([a.replace("{path}", str(path)) for a in argv]
                    + ["--workers", "1", "--out", str(out)])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (out / "results.csv").exists()


def test_cli_refuses_a_foreign_folder(tmp_path, capsys):
    """An output folder holding other files is left alone (exit 2)."""
    path = write_scenario(tmp_path, POOL)
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep")
    assert cli.main(["sweep", str(path), "--grid", "tools.search.concurrency=2",
                     "--out", str(folder)]) == 2
    assert "not a flipsim sweep" in capsys.readouterr().err
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


ALLOWED = ("allowed: monthly_bill_usd, usd_per_task, p50_task_latency_s, "
           "p95_task_latency_s")


@pytest.mark.parametrize("argv, message", [
    (["sweep", "{path}", "--grid", "tools.search.concurrency=3,4", "--target",
      "p95<=3"], f"--target: found metric 'p95'; {ALLOWED}"),
    (["size", "{path}", "--target", "task_types.nope.p95_latency_s<=40", "--vary",
      "tools.search.concurrency=1..4"],
     "--target: found metric 'task_types.nope.p95_latency_s'; allowed:"),
    (["size", "{path}", "--target", "p95_task_latency_s<=40", "--cost", "nope",
      "--vary", "tools.search.concurrency=1..4"], "--cost: found metric 'nope'"),
    (["size", "{path}", "--target", "p95_task_latency_s<=40", "--vary",
      "tools.search.concurrency=0..4"], "point tools.search.concurrency=0"),
    (["sensitivity", "{path}", "--metric", "tools.nope.mean_wait_s"],
     "--metric: found metric 'tools.nope.mean_wait_s'"),
    (["compare", "{path}", "--variant", "bad"], "--variant 'bad': expected"),
    (["sweep", "{path}", "--grid", "foo=1,2"], "point foo=1: "),
    (["sweep", "{path}", "--grid", "tools.search.concurrency=a,b"],
     "point tools.search.concurrency=a: "),
    (["sweep", "{path}", "--grid", "tools.search.concurrency=3", "--dask",
      "nowhere"], "--dask: found 'nowhere'"),
])
def test_bad_input_is_refused_before_anything_runs_or_is_written(
        tmp_path, capsys, argv, message):
    """Exit 2 naming the option and value; no --out folder (nor its parents)."""
    path = write_scenario(tmp_path, POOL)
    out = tmp_path / "new" / "out"
    code = cli.main([a.replace("{path}", str(path)) for a in argv]
                    + ["--workers", "1", "--out", str(out)])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_target_names_allowed_are_the_scenarios_figures(tmp_path, capsys):
    """The allowed names follow the scenario's task types, tools and GPU pools."""
    path = write_scenario(tmp_path, POOL)
    assert cli.main(["sweep", str(path), "--grid", "tools.search.concurrency=3",
                     "--target", "p95<=3", "--out", str(tmp_path / "o")]) == 2
    allowed = capsys.readouterr().err.split("allowed: ")[1].replace("\n", "")
    names = allowed.split(", ")
    assert "task_types.ask.p95_latency_s" in names
    assert "tools.search.utilisation_frac" in names
    assert not any(n.startswith("gpu_backends.") for n in names)  # no GPU pool
    assert "monthly_bill.<backend or tool>.<item>" in names


def test_unreachable_dask_scheduler_leaves_no_folder(tmp_path, capsys):
    """A Dask scheduler that does not answer on 127.0.0.1: exit 2, no folder."""
    path = write_scenario(tmp_path, POOL)
    out = tmp_path / "new" / "out"
    assert cli.main(["sweep", str(path), "--grid", "tools.search.concurrency=3",
                     "--dask", "tcp://127.0.0.1:1", "--out", str(out)]) == 2
    assert "--dask: cannot reach the scheduler" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_bad_input_leaves_an_earlier_experiment_as_it_was(tmp_path):
    """Rerunning into a finished sweep with a bad grid changes none of its files."""
    path = write_scenario(tmp_path, POOL)
    out = tmp_path / "out"
    argv = ["sweep", str(path), "--grid", "tools.search.concurrency=3", "-r", "1",
            "--workers", "1", "--out", str(out)]
    assert cli.main(argv) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert cli.main([*argv, "--grid", "foo=1"]) == 2
    assert cli.main([*argv, "--target", "nope<=1"]) == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
