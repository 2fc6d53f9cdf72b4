"""The classroom server's query checks, against a real server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest

from simulator.classroom import SLIDERS, serve, slider_values
from simulator.errors import SimulatorError
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def address():
    """The classroom of scenarios/inference-flip.yaml on a free 127.0.0.1 port."""
    server = serve(ROOT / "scenarios" / "inference-flip.yaml", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    assert host == "127.0.0.1"
    yield f"http://{host}:{port}"
    server.shutdown()
    server.server_close()


def test_slider_values_in_range_are_read():
    """Numbers within each slider's range pass; a repeated slider does not."""
    query = {"agent_share": ["0.5"], "steps": ["3"]}
    assert slider_values(query) == {"agent_share": 0.5, "steps": 3.0}
    with pytest.raises(SimulatorError, match="steps: given 2 times; give it once"):
        slider_values({"steps": ["0.25", "3"]})


def test_unknown_parameters_and_unusual_number_spellings_are_refused():
    with pytest.raises(SimulatorError, match="agent_shar: not a slider; allowed: "
                       "agent_share, steps"):
        slider_values({"agent_shar": ["0.5"]})
    for text in ("0_1", "0x1", "inf", "nan", ""):
        with pytest.raises(SimulatorError, match="agent_share: found"):
            slider_values({"agent_share": [text]})


@pytest.mark.parametrize("name, text", [
    ("agent_share", "abc"), ("agent_share", "nan"), ("agent_share", "inf"),
    ("agent_share", "-0.1"), ("agent_share", "1.5"), ("steps", "0"),
    ("steps", "3.5"), ("self_correction", "0.7"), ("price_decline", "1"),
    ("on_prem_share", "-inf"), ("on_prem_share", ""),
])
def test_bad_slider_values_are_refused_with_the_range(name, text):
    """No finite number, or outside the slider's range: the message says which."""
    low, high = next((lo, hi) for n, _, lo, hi, _ in SLIDERS if n == name)
    with pytest.raises(SimulatorError) as raised:
        slider_values({name: [text]})
    assert str(raised.value) == (f"{name}: found {text!r}; a number from {low:g} "
                                 f"to {high:g}")


@pytest.mark.parametrize("query, message", [
    ("agent_share=abc", "agent_share: found 'abc'; a number from 0 to 1"),
    ("agent_share=NaN", "agent_share: found 'NaN'; a number from 0 to 1"),
    ("steps=1e9", "steps: found '1e9'; a number from 0.25 to 3"),
    ("self_correction=-1&price_decline=Infinity",
     "self_correction: found '-1'; a number from 0 to 0.6\n"
     "price_decline: found 'Infinity'; a number from 0 to 0.95"),
])
def test_server_answers_400_naming_the_slider(address, query, message):
    """A bad query value gets a 400 whose error names the slider and its range."""
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy
    with pytest.raises(urllib.error.HTTPError) as raised:
        direct.open(f"{address}/charts.json?{query}", timeout=30)
    assert raised.value.code == 400
    assert json.loads(raised.value.read()) == {"error": message}
