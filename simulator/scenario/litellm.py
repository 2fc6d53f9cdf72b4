"""Import API prices from LiteLLM's model_prices_and_context_window.json.

Teams keep their model prices in LiteLLM's catalogue (USD per token). This
turns entries of that file into scenario `models` and API `prices` blocks,
with USD per 1M tokens held exactly, the context window, cache read and write
prices, a long-context tier where the file has one ("..._above_NNNk_tokens",
applied to the whole request), batch and priority factors where the file
gives both a base and a tier price, and the as-of date the user states.
Limitations: regional prices, audio and image tokens, flex tiers and 12-hour
cache writes are left out; a tier factor is read off the input price.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from simulator.errors import ScenarioError

PER_MTOK = Decimal(1_000_000)
_ABOVE = re.compile(r"^input_cost_per_token_above_(\d+)k_tokens$")


def read_catalogue(path: Path) -> dict[str, dict]:
    """The catalogue's entries by model key."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: not a JSON catalogue ({exc})") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: expected an object of model entries")
    return {key: value for key, value in data.items()
            if isinstance(value, dict) and key != "sample_spec"}


def scenario_prices(entry: dict, key: str, as_of: str | None) -> dict[str, Any]:
    """A `prices` block for one catalogue entry (USD per 1M tokens)."""
    if "input_cost_per_token" not in entry or "output_cost_per_token" not in entry:
        raise ScenarioError(f"{key}: the catalogue gives no per-token input and "
                            "output prices for it")
    try:
        return _prices(entry, key, as_of)
    except ScenarioError as exc:
        raise ScenarioError(f"{key}: {exc}") from None


def _prices(entry: dict, key: str, as_of: str | None) -> dict[str, Any]:
    prices: dict[str, Any] = {
        "input_usd_per_mtok": _per_mtok(entry["input_cost_per_token"]),
        "output_usd_per_mtok": _per_mtok(entry["output_cost_per_token"]),
    }
    optional = {"cached_input_usd_per_mtok": "cache_read_input_token_cost",
                "cache_write_5m_usd_per_mtok": "cache_creation_input_token_cost",
                "cache_write_1h_usd_per_mtok":
                    "cache_creation_input_token_cost_above_1hr"}
    for field, name in optional.items():
        if isinstance(entry.get(name), (int, float)):
            prices[field] = _per_mtok(entry[name])
    prices.update(_tiers(entry))
    long = _long_context(entry)
    if long:
        prices["long_context"] = long
    if as_of:
        prices["as_of"] = as_of
    prices["source"] = f"LiteLLM catalogue entry {key}"
    return prices


def import_models(path: Path, keys: list[str], as_of: str | None) -> dict[str, Any]:
    """`models` and `prices` blocks for the catalogue entries `keys`."""
    catalogue = read_catalogue(path)
    found: dict[str, Any] = {}
    for key in keys:
        if key not in catalogue:
            close = [k for k in catalogue if key.lower() in k.lower()][:5]
            hint = f"; close: {', '.join(close)}" if close else ""
            raise ScenarioError(f"{key}: not in {path}{hint}")
        entry = catalogue[key]
        model: dict[str, Any] = {"tier": "mid"}
        if isinstance(entry.get("max_input_tokens"), int):
            model["context_window_tokens"] = entry["max_input_tokens"]
        found[key] = {"model": model, "prices": scenario_prices(entry, key, as_of)}
    return found


def _tiers(entry: dict) -> dict[str, float]:
    base = entry.get("input_cost_per_token")
    found = {}
    for tier, field in (("batches", "batch_multiplier"),
                        ("priority", "priority_multiplier")):
        price = entry.get(f"input_cost_per_token_{tier}")
        if isinstance(price, (int, float)) and base:
            found[field] = float(Decimal(repr(price)) / Decimal(repr(base)))
    return found


def _long_context(entry: dict) -> dict[str, Any] | None:
    for name, value in sorted(entry.items()):
        match = _ABOVE.match(name)
        if match and isinstance(value, (int, float)):
            threshold = int(match.group(1)) * 1000
            output = entry.get(f"output_cost_per_token_above_{match.group(1)}k_tokens",
                               entry["output_cost_per_token"])
            return {"threshold_tokens": threshold,
                    "input_usd_per_mtok": _per_mtok(value),
                    "output_usd_per_mtok": _per_mtok(output),
                    "rule": "whole_request"}
    return None


def _per_mtok(usd_per_token: object) -> float:
    if (isinstance(usd_per_token, bool) or not isinstance(usd_per_token, (int, float))
            or not 0 <= usd_per_token < 1):
        raise ScenarioError(f"found the per-token price {usd_per_token!r}; a price "
                            "must be a number in [0, 1) USD per token")
    return float(Decimal(repr(usd_per_token)) * PER_MTOK)
