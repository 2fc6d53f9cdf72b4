"""YAML reading: 1.2 core scalars and duplicate keys."""

from __future__ import annotations

import pytest

from simulator.errors import ScenarioError
from simulator.scenario.yamlio import parse_scalar, parse_yaml


def test_region_codes_stay_strings():
    """NO is Norway, as a key and as a value, next to SE and DK."""
    data = parse_yaml("prices: {SE: 0.08, NO: 0.06, DK: 0.11}\nregion: NO\n")
    assert list(data["prices"]) == ["SE", "NO", "DK"]
    assert data["prices"]["NO"] == 0.06
    assert data["region"] == "NO"


def test_yaml11_booleans_are_strings():
    """yes, no, on and off are words; only true and false are booleans."""
    data = parse_yaml("a: yes\nb: off\nc: true\nd: False\n")
    assert data == {"a": "yes", "b": "off", "c": True, "d": False}


def test_exponent_is_a_number():
    """1e9 is one billion, not the string '1e9'."""
    assert parse_yaml("n: 1e9\n")["n"] == 1_000_000_000
    assert parse_scalar("2.5e-3") == 0.0025


def test_dates_stay_strings():
    """A date is left for the schema to parse."""
    assert parse_yaml("as_of: 2026-09-22\n")["as_of"] == "2026-09-22"


def test_duplicate_key_names_key_and_lines():
    """A key written twice is an error naming it and both lines."""
    with pytest.raises(ScenarioError) as caught:
        parse_yaml("seed: 1\nhorizon_s: 10\nseed: 2\n", source="s.yaml")
    assert str(caught.value) == (
        "s.yaml: duplicate key 'seed' at line 3 (first at line 1); "
        "each key may appear once"
    )


def test_duplicate_nested_key():
    """Duplicates are caught at any depth."""
    with pytest.raises(ScenarioError, match="duplicate key 'a' at line 3"):
        parse_yaml("x:\n  a: 1\n  a: 2\n")


def test_syntax_error_names_line():
    """Broken YAML is reported with file, line and column."""
    with pytest.raises(ScenarioError, match=r"^s.yaml:2:1: not valid YAML"):
        parse_yaml("a: [1\n", source="s.yaml")
