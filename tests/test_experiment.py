"""Sweeps, replications, executors and resume of simulator.experiment."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simulator
from simulator.errors import SimulatorError
from simulator.experiment.points import read_base, replication_seeds
from simulator.experiment.store import POINTS_FILE
from simulator.experiment.sweep import SweepSpec, run_sweep
from simulator.report.experiments import write_sweep
from simulator.scenario.yamlio import dump_yaml

POOL = {
    "name": "pool",
    "seed": 3,
    "horizon_s": 600,
    "arrivals": {"kind": "poisson", "rate_per_s": 2.0},
    "models": {"m": {"tier": "small", "context_window_tokens": 8192}},
    "backends": {"api": {"kind": "api", "model": "m",
                         "prices": {"input_usd_per_mtok": 1, "output_usd_per_mtok": 2},
                         "ttft_s": {"dist": "exponential", "mean": 0.4},
                         "time_per_output_token_s": 0.01}},
    "tools": {"search": {"latency_s": {"dist": "exponential", "mean": 1.0},
                         "concurrency": 3, "usd_per_call": 0.001}},
    "task_types": {"ask": {
        "share": 1.0, "route": {"default": "api"},
        "workflow": [{"kind": "retrieve", "tool": "search", "result_tokens": 300},
                     {"kind": "answer", "input_tokens": 50,
                      "output_tokens": {"dist": "lognormal", "median": 100,
                                        "p90": 300}}]}},
}
GRID = {"tools.search.concurrency": [3, 4], "arrivals.rate_per_s": [1.0, 1.5, 2.0]}


def write_scenario(folder: Path, data: dict = POOL, name: str = "pool.yaml") -> Path:
    """Write a scenario mapping as YAML; return its path."""
    path = folder / name
    path.write_text(dump_yaml(data), encoding="utf-8")
    return path


def spec_for(path: Path, grid: dict = GRID, replications: int = 2) -> SweepSpec:
    """A sweep spec over the pool scenario."""
    return SweepSpec(path, grid, replications=replications)


def test_replication_seeds_are_derived_by_name():
    """Seeds depend only on the base seed and the index, not on the count."""
    assert replication_seeds(7, 3) == replication_seeds(7, 5)[:3]
    assert replication_seeds(7, 2) != replication_seeds(8, 2)
    assert len(set(replication_seeds(0, 50))) == 50
    assert replication_seeds(0, 1) == [replication_seeds(0, 1)[0]]


def test_sweep_rows_and_worker_independence(tmp_path):
    """2 x 3 points x 2 replications: 12 rows; 1 and 2 workers give the same bytes."""
    path = write_scenario(tmp_path)
    one = run_sweep(spec_for(path), workers=1)
    two = run_sweep(spec_for(path), workers=2)

    assert len(one.table) == 12
    assert list(one.table.columns[1:3]) == list(GRID)
    assert sorted(one.table["tools.search.concurrency"].unique()) == [3, 4]
    assert sorted(one.table["arrivals.rate_per_s"].unique()) == [1.0, 1.5, 2.0]
    assert (one.table["error"] == "").all()
    assert one.table["p95_task_latency_s"].notna().all()
    pd.testing.assert_frame_equal(one.table, two.table, check_exact=True)
    assert one.table.to_csv(index=False) == two.table.to_csv(index=False)
    assert len(one.summary) == 6
    assert (one.summary["replications"] == 2).all()


def test_sweep_points_share_replication_seeds(tmp_path):
    """Every point runs the same seeds (common random numbers across points)."""
    result = run_sweep(spec_for(write_scenario(tmp_path)), workers=1)
    seeds = result.table.groupby("label", sort=False)["seed"].apply(tuple)
    assert seeds.nunique() == 1
    assert list(seeds.iloc[0]) == replication_seeds(3, 2)


def test_sweep_outputs_written(tmp_path):
    """CSV, Parquet (same table), charts per swept field and a Markdown report."""
    result = run_sweep(spec_for(write_scenario(tmp_path)), workers=1)
    out = tmp_path / "out"
    out.mkdir()
    write_sweep(result, out)

    names = {p.name for p in out.iterdir()}
    assert {"results.csv", "results.parquet", "summary.csv", "sweep.md",
            "sweep_tools.search.concurrency.png",
            "sweep_arrivals.rate_per_s.png"} <= names
    back = pd.read_parquet(out / "results.parquet")
    pd.testing.assert_frame_equal(back, result.table, check_exact=True)
    assert len(pd.read_csv(out / "results.csv")) == 12


def test_resume_runs_only_the_rest(tmp_path):
    """Running part of a sweep, then the whole, runs only the missing points."""
    path = write_scenario(tmp_path)
    out = tmp_path / "out"
    part = run_sweep(spec_for(path, {"tools.search.concurrency": [3],
                                     "arrivals.rate_per_s": [1.0, 1.5, 2.0]}),
                     workers=1, out_dir=out)
    assert (part.stats.ran, part.stats.reused) == (6, 0)

    whole = run_sweep(spec_for(path), workers=2, out_dir=out)
    assert (whole.stats.ran, whole.stats.reused) == (6, 6)
    fresh = run_sweep(spec_for(path), workers=1)
    pd.testing.assert_frame_equal(whole.table, fresh.table, check_exact=True)

    again = run_sweep(spec_for(path), workers=1, out_dir=out)
    assert (again.stats.ran, again.stats.reused) == (0, 12)


def test_resume_after_a_kill_mid_write(tmp_path):
    """A store cut short (half the lines, then half a line) finishes the rest."""
    path = write_scenario(tmp_path)
    out = tmp_path / "out"
    full = run_sweep(spec_for(path), workers=1, out_dir=out)
    lines = (out / POINTS_FILE).read_text(encoding="utf-8").splitlines()
    (out / POINTS_FILE).write_text("\n".join(lines[:5]) + "\n" + lines[5][:40],
                                   encoding="utf-8")

    resumed = run_sweep(spec_for(path), workers=2, out_dir=out)
    assert (resumed.stats.ran, resumed.stats.reused) == (7, 5)
    pd.testing.assert_frame_equal(resumed.table, full.table, check_exact=True)
    stored = (out / POINTS_FILE).read_text(encoding="utf-8").splitlines()
    assert sum(1 for line in stored if line.endswith("}")) == 12


def _strict(constant: str) -> None:
    raise ValueError(f"bare {constant} in JSON")


def test_points_file_is_strict_json_and_resume_gives_the_same_bytes(tmp_path):
    """NaN figures are stored as null; a resumed sweep writes identical tables."""
    path = write_scenario(tmp_path)
    spec = spec_for(path, {"tools.search.concurrency": [3, 4]})
    full = tmp_path / "full"
    write_sweep(run_sweep(spec, workers=1, out_dir=full), full)
    lines = (full / POINTS_FILE).read_text(encoding="utf-8").splitlines()
    records = [json.loads(line, parse_constant=_strict) for line in lines]
    assert all(r["figures"]["gpu_utilisation_frac"] is None for r in records)
    assert "NaN" not in "".join(lines) and "Infinity" not in "".join(lines)

    part = tmp_path / "part"
    part.mkdir()
    (part / POINTS_FILE).write_text("\n".join(lines[:2]) + "\n", encoding="utf-8")
    resumed = run_sweep(spec, workers=2, out_dir=part)
    assert (resumed.stats.ran, resumed.stats.reused) == (2, 2)
    assert np.isnan(resumed.table["gpu_utilisation_frac"]).all()
    write_sweep(resumed, part)
    for name in ("results.csv", "summary.csv"):
        assert (part / name).read_bytes() == (full / name).read_bytes(), name


def test_csv_numbers_have_at_most_12_significant_digits(tmp_path):
    """Float noise in the last digits is not written: 14391.780000000001 is 14391.78."""
    result = run_sweep(spec_for(write_scenario(tmp_path)), workers=1)
    result.table.loc[0, "monthly_bill_usd"] = 14391.780000000001
    out = tmp_path / "out"
    out.mkdir()
    write_sweep(result, out)
    rows = list(csv.DictReader((out / "results.csv").open(encoding="utf-8")))
    assert rows[0]["monthly_bill_usd"] == "14391.78"
    for row in rows:
        for name, cell in row.items():
            if name == "seed" or not re.fullmatch(r"-?[\d.]+(e[-+]\d+)?", cell):
                continue  # seeds are exact 64-bit integers
            digits = re.sub(r"e.*", "", cell).replace("-", "").replace(".", "")
            assert len(digits.lstrip("0")) <= 12, (name, cell)


def test_crashing_point_keeps_the_others(tmp_path, monkeypatch):
    """A point that raises is a row with its error; the other points finish."""
    path = write_scenario(tmp_path)
    real = simulator.simulate

    def flaky(scenario, *args, **kwargs):
        if (scenario.tools["search"].concurrency,
                scenario.arrivals.rate_per_s) == (4, 1.5):
            raise RuntimeError("boom")
        return real(scenario, *args, **kwargs)

    monkeypatch.setattr(simulator, "simulate", flaky)
    result = run_sweep(spec_for(path), workers=1, out_dir=tmp_path / "out")
    failed = result.table[result.table["error"] != ""]
    assert len(failed) == 2
    assert set(failed["tools.search.concurrency"]) == {4}
    assert set(failed["arrivals.rate_per_s"]) == {1.5}
    assert failed["error"].iloc[0] == "RuntimeError: boom"
    good = result.table[result.table["error"] == ""]
    assert good["monthly_bill_usd"].notna().all()
    row = result.summary[result.summary["label"].str.contains("concurrency=4, arr"
                                                              "ivals.rate_per_s=1.5")]
    assert int(row["errors"].iloc[0]) == 2


def test_random_points_are_drawn_from_a_derived_stream(tmp_path):
    """--random draws are reproducible, within range, whole for whole ranges."""
    path = write_scenario(tmp_path)
    spec = SweepSpec(path, ranges={"tools.search.concurrency": (2, 6),
                                   "arrivals.rate_per_s": (0.5, 1.5)}, random=4)
    first = run_sweep(spec, workers=1)
    second = run_sweep(spec, workers=1)
    pd.testing.assert_frame_equal(first.table, second.table, check_exact=True)
    assert len(first.table) == 4
    assert first.table["tools.search.concurrency"].between(2, 6).all()
    assert first.table["tools.search.concurrency"].dtype == "int64"
    assert first.table["arrivals.rate_per_s"].between(0.5, 1.5).all()


def test_replications_report_intervals(tmp_path):
    """replicate() gives N rows and a t-interval per headline figure."""
    path = write_scenario(tmp_path)
    result = simulator.replicate(path, replications=3, workers=1)
    assert len(result.table) == 3
    row = result.summary.set_index("metric").loc["monthly_bill_usd"]
    values = result.table["monthly_bill_usd"]
    assert row["mean"] == pytest.approx(values.mean())
    assert row["half_width"] == pytest.approx(4.302652729749752 * values.std() / 3**0.5)
    assert row["replications"] == 3
    assert result.table["seed"].tolist() == replication_seeds(3, 3)


def test_dask_local_cluster_gives_the_same_table(tmp_path):
    """Points run on a Dask cluster on 127.0.0.1 match the in-process table."""
    distributed = pytest.importorskip("distributed")
    path = write_scenario(tmp_path)
    spec = spec_for(path, {"tools.search.concurrency": [3, 4]}, replications=2)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  host="127.0.0.1", protocol="tcp",
                                  dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        on_dask = run_sweep(spec, dask=cluster.scheduler_address,
                            out_dir=tmp_path / "out")
    local = run_sweep(spec, workers=1)
    assert on_dask.stats.ran == 4
    pd.testing.assert_frame_equal(on_dask.table, local.table, check_exact=True)


def test_bad_dask_address_is_bad_input(tmp_path):
    """A --dask value that is no address is refused before anything runs."""
    spec = spec_for(write_scenario(tmp_path), {"tools.search.concurrency": [3]}, 1)
    with pytest.raises(SimulatorError, match="tcp://host:port"):
        run_sweep(spec, dask="somewhere:8786")


def test_store_lines_are_json_with_keys(tmp_path):
    """Each stored point carries its key, params, seed and figures."""
    path = write_scenario(tmp_path)
    run_sweep(spec_for(path, {"tools.search.concurrency": [3]}, 1), workers=1,
              out_dir=tmp_path / "out")
    record = json.loads((tmp_path / "out" / POINTS_FILE).read_text().splitlines()[0])
    assert record["params"] == {"tools.search.concurrency": 3}
    assert record["seed"] == replication_seeds(3, 1)[0]
    assert len(record["key"]) == 24
    assert "monthly_bill_usd" in record["figures"]
    assert read_base(path).name == "pool"


def test_sweep_killed_mid_run_finishes_only_the_rest(tmp_path):
    """SIGKILL a sweep after a few points; the rerun runs only the others."""
    import signal
    import subprocess
    import sys
    import time

    data = {**POOL, "horizon_s": 1500}
    path = write_scenario(tmp_path, data)
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "simulator", "sweep", str(path), "--grid",
            "tools.search.concurrency=3,4,5,6", "--grid",
            "arrivals.rate_per_s=1.0,1.5,2.0", "-r", "2", "--workers", "1",
            "--out", str(out)]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    store = out / POINTS_FILE
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if store.exists() and len(store.read_bytes().splitlines()) >= 3:
                break
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    kept = sum(1 for line in store.read_text().splitlines() if line.endswith("}"))
    assert 3 <= kept < 24
    assert not (out / "results.csv").exists()

    spec = SweepSpec(path, {"tools.search.concurrency": [3, 4, 5, 6],
                            "arrivals.rate_per_s": [1.0, 1.5, 2.0]}, replications=2)
    resumed = run_sweep(spec, workers=2, out_dir=out)
    assert (resumed.stats.ran, resumed.stats.reused) == (24 - kept, kept)
    assert len(resumed.table) == 24
    assert (resumed.table["error"] == "").all()
