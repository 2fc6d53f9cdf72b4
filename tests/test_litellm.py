"""Importing prices from a LiteLLM catalogue."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from simulator.cli import main
from simulator.scenario import TokenPrices
from simulator.scenario.litellm import import_models

ENTRY = {"input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
         "cache_read_input_token_cost": 3e-07,
         "cache_creation_input_token_cost": 3.75e-06,
         "cache_creation_input_token_cost_above_1hr": 6e-06,
         "input_cost_per_token_above_200k_tokens": 6e-06,
         "output_cost_per_token_above_200k_tokens": 2.25e-05,
         "input_cost_per_token_batches": 1.5e-06, "max_input_tokens": 1_000_000}


def _catalogue(tmp_path: Path) -> Path:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"sample_spec": {}, "m-1": ENTRY}))
    return path


def test_entry_becomes_exact_prices(tmp_path):
    """Per-token prices become exact per-1M prices, tiers and a long context."""
    found = import_models(_catalogue(tmp_path), ["m-1"], "2026-12-01")["m-1"]
    prices = TokenPrices.model_validate(found["prices"])
    assert prices.input_usd_per_mtok == Decimal(3)
    assert prices.cached_rate() == Decimal("0.3")
    assert prices.cache_write_1h_usd_per_mtok == Decimal(6)
    assert prices.batch_multiplier == 0.5
    assert prices.long_context.threshold_tokens == 200_000
    assert prices.long_context.output_usd_per_mtok == Decimal("22.5")
    assert str(prices.as_of) == "2026-12-01"
    assert found["model"]["context_window_tokens"] == 1_000_000


def test_cli_prints_blocks_and_refuses_unknown_models(tmp_path, capsys):
    """`flipsim prices` prints YAML; an unknown key exits 2 naming it."""
    path = _catalogue(tmp_path)
    assert main(["prices", str(path), "m-1", "--as-of", "2026-12-01"]) == 0
    assert "input_usd_per_mtok: 3.0" in capsys.readouterr().out
    assert main(["prices", str(path), "m-2"]) == 2
    assert "m-2: not in" in capsys.readouterr().err
    assert main(["prices", str(path), "m-1", "--as-of", "yesterday"]) == 2


@pytest.mark.parametrize("name", ["claude-sonnet-4-5", "gpt-4o"])
def test_shared_catalogue_entries_validate(name):
    """Entries of the real catalogue (when ../shared is present) validate."""
    path = (Path(__file__).resolve().parents[2] / "shared" / "data"
            / "litellm-model-prices" / "model_prices_and_context_window.json")
    if not path.exists():
        pytest.skip("the shared LiteLLM catalogue is not present")
    block = import_models(path, [name], None)[name]
    assert TokenPrices.model_validate(block["prices"]).output_usd_per_mtok > 0


@pytest.mark.parametrize("bad", ["abc", -1e-6, float("nan"), True])
def test_bad_catalogue_prices_are_named(tmp_path, capsys, bad):
    """A price that is not a number in [0, 1) per token exits 2 naming the model."""
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"m-1": {**ENTRY, "output_cost_per_token": bad}}))
    assert main(["prices", str(path), "m-1"]) == 2
    assert "m-1: found the per-token price" in capsys.readouterr().err
    assert main(["prices", str(_catalogue(tmp_path)), "m-1", "--as-of",
                 "2026-13-45"]) == 2
