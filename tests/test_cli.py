"""The command line: exit codes, outputs, and nothing written for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from simulator.cli import main
from tests.conftest import ROOT, tiny

BAD = """\
name: bad
horizon_s: 3600
arrivals: {kind: poisson, rate_per_s: -2}
models: {m: {tier: mid, context_window_tokens: 1000}}
backends:
  api:
    kind: api
    model: m
    prices: {input_usd_per_mtok: -3, output_usd_per_mtok: 15}
    ttft_s: 0.5
    time_per_output_token_s: 0.02
tools:
  db: {latency_s: 1, concurrency: 0}
task_types:
  chat:
    share: 1
    cache_read_frac: 1.5
    route: {default: api}
    workflow:
      - {kind: answer, output_tokens: -5}
"""


def _write(tmp_path: Path, data: dict | str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def test_run_writes_the_report(tmp_path, capsys):
    """A good scenario exits 0 and writes every output file."""
    out = tmp_path / "out"
    code = main(["run", str(_write(tmp_path, tiny())), "--out", str(out),
                 "--set", "arrivals.rate_per_s=0.05", "--seed", "4"])
    assert code == 0
    for name in ("summary.json", "report.md", "report.html", "calls.csv",
                 "tasks.csv", "tool_calls.csv", "scenario.resolved.yaml",
                 "bill_by_backend.png", "cost_per_task.png",
                 "compute_multiplier.png", "latency_cdf.png"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"]["seed"] == 4
    assert "seed: 4" in (out / "scenario.resolved.yaml").read_text()
    assert "monthly bill" in capsys.readouterr().out


def test_bad_scenario_exits_2_and_writes_nothing(tmp_path, capsys):
    """Five bad fields are all named on stderr; exit 2; no report folder."""
    out = tmp_path / "out"
    code = main(["run", str(_write(tmp_path, BAD)), "--out", str(out)])
    assert code == 2
    assert not out.exists()
    err = capsys.readouterr().err
    for field in ("arrivals.rate_per_s", "backends.api.prices.input_usd_per_mtok",
                  "tools.db.concurrency", "task_types.chat.cache_read_frac",
                  "task_types.chat.workflow[0].output_tokens"):
        assert field in err
    assert "Traceback" not in err


def test_validate(tmp_path, capsys):
    """validate says valid with exit 0, or lists problems with exit 2."""
    assert main(["validate", str(ROOT / "scenarios" / "chat-vs-agents.yaml")]) == 0
    assert "valid scenario 'chat-vs-agents'" in capsys.readouterr().out
    assert main(["validate", str(_write(tmp_path, BAD))]) == 2
    assert main(["validate", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml: no such file" in capsys.readouterr().err


def test_duplicate_key_exits_2(tmp_path, capsys):
    """A duplicate key is named with its lines."""
    path = _write(tmp_path, "name: a\nname: b\n")
    assert main(["validate", str(path)]) == 2
    assert "duplicate key 'name' at line 2 (first at line 1)" in capsys.readouterr().err


def test_bad_options_exit_2(tmp_path):
    """A malformed --set and an unknown log level are bad input."""
    path = _write(tmp_path, tiny())
    assert main(["validate", str(path), "--set", "horizon_s"]) == 2
    assert main(["run", str(path), "--log-level", "loud",
                 "--out", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()
    assert main(["run"]) == 2


def test_schema_is_json_schema(capsys):
    """schema prints a JSON Schema naming the scenario fields."""
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert {"horizon_s", "task_types", "backends"} <= set(schema["properties"])
