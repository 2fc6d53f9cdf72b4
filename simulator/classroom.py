"""`flipsim serve`: a classroom page with sliders that re-run a timeline.

The server listens on 127.0.0.1 only (stdlib ThreadingHTTPServer) and serves
one self-contained page: no scripts, fonts or images from elsewhere. Moving a
slider asks `/charts.json` for a quick preview: the timeline re-run with a
small daily sample and one month in three, its charts returned as PNG data
URIs with the Flip month and the inference share.
Sliders: agent share (of tasks in the last month; earlier mixes scale along),
steps per task (a multiplier on every loop's iterations), self-correction
rate (every reflect step's fault_prob), yearly price decline (every API price
curve given as a decline) and share on-prem (the timeline's `onprem_share`,
its dated schedule scaled so its highest point is the slider's value; without
one, routine_frac of tiered routes to an owned pool; disabled when the
scenario has neither). A query value that is no finite number, or lies
outside its slider's range, gets a 400 naming the slider and its range.
Limitations: the preview is noisier than `flipsim run` (smaller sample, a
third of the months); one preview runs at a time.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import math
import re
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from simulator.classroom_page import page
from simulator.errors import SimulatorError
from simulator.report.canvas import new_figure, save_figure
from simulator.report.timeline_figures import draw_flip, draw_price_vs_bill
from simulator.scenario.load import scenario_from_dict
from simulator.scenario.yamlio import read_yaml
from simulator.timeline import run_timeline, timeline_summary

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
PREVIEW_SAMPLE_TASKS_PER_DAY = 150
PREVIEW_EVERY_MONTHS = 3
SLIDERS = (  # name, label, low, high, step
    ("agent_share", "Agent share of tasks (last month)", 0.0, 1.0, 0.05),
    ("steps", "Steps per task (x)", 0.25, 3.0, 0.25),
    ("self_correction", "Self-correction rate", 0.0, 0.6, 0.05),
    ("price_decline", "Price decline per year", 0.0, 0.95, 0.05),
    ("on_prem_share", "Share on-prem", 0.0, 1.0, 0.05),
)


class Classroom:
    """A timeline scenario (as data) and the previews made from it."""

    def __init__(self, path: Path) -> None:
        data = read_yaml(path)
        scenario = scenario_from_dict(copy.deepcopy(data), source=str(path))
        if scenario.timeline is None:
            raise SimulatorError(f"{path}: has no timeline; flipsim serve shows a "
                                 "timeline scenario (as scenarios/inference-flip.yaml)")
        self.data = data
        self.name = scenario.name
        self.defaults = slider_defaults(data)
        self.lock = threading.Lock()

    def preview(self, values: dict[str, float]) -> dict:
        """Re-run the timeline with slider values; charts as data URIs."""
        data = apply_sliders(self.data, {**self.defaults, **values})
        data["timeline"]["sample_tasks_per_day"] = PREVIEW_SAMPLE_TASKS_PER_DAY
        scenario = scenario_from_dict(data, source="classroom preview")
        with self.lock:
            result = run_timeline(scenario, every_months=PREVIEW_EVERY_MONTHS)
        timeline = timeline_summary(result)
        shares = {year["year"]: year["inference_share_frac"]
                  for year in timeline["years"]}
        return {"flip_period": timeline["flip_period"],
                "inference_share_by_year": shares,
                "price_change_frac": timeline["price_change_frac"],
                "bill_change_frac": timeline["bill_change_frac"],
                "charts": {"flip": _png_uri(draw_flip, timeline),
                           "price": _png_uri(draw_price_vs_bill, timeline)},
                "wall_s": round(result.wall_s, 3)}


def slider_defaults(data: dict) -> dict[str, float | None]:
    """Each slider's starting value from the scenario; None when it has no use."""
    timeline = data["timeline"]
    mix = timeline.get("task_mix") or {}
    baseline = data.get("baseline_task_type")
    last = mix[max(mix)] if mix else None
    declines = [curve["decline_per_year_frac"] for curve in
                timeline.get("prices", {}).values() if "decline_per_year_frac" in curve]
    faults = [step.get("fault_prob", 0.0) for step in _steps(data)
              if step.get("kind") == "reflect"]
    routes = _owned_routes(data)
    return {
        "agent_share": (1.0 - last.get(baseline, 0.0)) if last and baseline else None,
        "steps": 1.0,
        "self_correction": max(faults) if faults else None,
        "price_decline": max(declines) if declines else None,
        "on_prem_share": _onprem_default(timeline, routes),
    }


def apply_sliders(data: dict, values: dict[str, float | None]) -> dict:
    """A copy of the scenario data with the slider values applied."""
    data = copy.deepcopy(data)
    timeline = data["timeline"]
    baseline = data.get("baseline_task_type")
    mix = timeline.get("task_mix") or {}
    if values.get("agent_share") is not None and mix and baseline:
        _set_agent_share(mix, baseline, values["agent_share"])
    if values.get("steps") is not None:
        for loop in _loops(data):
            loop["iterations"] = _scaled_dist(loop["iterations"], values["steps"])
    if values.get("self_correction") is not None:
        for step in _steps(data):
            if step.get("kind") == "reflect":
                step["fault_prob"] = values["self_correction"]
    if values.get("price_decline") is not None:
        for curve in timeline.get("prices", {}).values():
            if "decline_per_year_frac" in curve:
                curve["decline_per_year_frac"] = values["price_decline"]
    if values.get("on_prem_share") is not None:
        if timeline.get("onprem_share"):
            _set_onprem_share(timeline["onprem_share"], values["on_prem_share"])
        else:
            for route in _owned_routes(data):
                route["routine_frac"] = values["on_prem_share"]
    return data


_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
"""A decimal number as a slider sends it (no underscores, hex, inf or nan)."""


def slider_values(query: dict[str, list[str]]) -> dict[str, float]:
    """The sliders' values in a query string, each checked.

    Raises:
        SimulatorError: a parameter that is no slider, or a value that is no
            plain finite decimal number or is outside its slider's range; one
            line per problem, naming the parameter and what is allowed.
    """
    values, problems = {}, []
    names = [slider[0] for slider in SLIDERS]
    for name, given in query.items():
        if name not in names:
            problems.append(f"{name}: not a slider; allowed: {', '.join(names)}")
        elif len(given) > 1:
            problems.append(f"{name}: given {len(given)} times; give it once")
    for name, _, low, high, _ in SLIDERS:
        if name not in query:
            continue
        text = query[name][-1]
        value = float(text) if _PLAIN_NUMBER.fullmatch(text.strip()) else math.nan
        if not (math.isfinite(value) and low <= value <= high):
            problems.append(f"{name}: found {text!r}; a number from {low:g} to "
                            f"{high:g}")
        values[name] = value
    if problems:
        raise SimulatorError("\n".join(problems))
    return values


def serve(path: Path, port: int) -> ThreadingHTTPServer:
    """A server for the classroom page on 127.0.0.1:`port` (0: any free port)."""
    classroom = Classroom(path)
    handler = type("Handler", (_Handler,), {"classroom": classroom})
    return ThreadingHTTPServer((HOST, port), handler)


class _Handler(BaseHTTPRequestHandler):
    """GET / (the page) and GET /charts.json?slider=value (a preview)."""

    classroom: Classroom

    def do_GET(self) -> None:  # noqa: N802 (the http.server hook's name)
        """Serve the page, a preview, or 404."""
        # http.server decodes the request line as Latin-1; raw UTF-8 bytes
        # in it (unescaped non-ASCII) are read back as UTF-8
        url = urlparse(self.path.encode("latin-1").decode("utf-8", "replace"))
        if url.path == "/":
            document = page(self.classroom.name, self.classroom.defaults, SLIDERS)
            self._send(200, "text/html; charset=utf-8", document.encode())
        elif url.path == "/charts.json":
            try:
                values = slider_values(parse_qs(url.query, keep_blank_values=True))
                body = json.dumps(self.classroom.preview(values)).encode()
                self._send(200, "application/json", body)
            except (ValueError, SimulatorError) as exc:
                self._send(400, "application/json",
                           json.dumps({"error": str(exc)}).encode())
        elif url.path == "/favicon.ico":
            self._send(204, "image/x-icon", b"")
        else:
            self._send(404, "text/plain; charset=utf-8", b"not found")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Requests go to the logger, not stderr."""
        logger.info("%s " + format, self.address_string(), *args)

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


def _set_agent_share(mix: dict, baseline: str, target: float) -> None:
    """Scale every point's agent shares so the last point's total is `target`."""
    current = 1.0 - mix[max(mix)].get(baseline, 0.0)
    factor = target / current if current > 0 else 0.0
    for shares in mix.values():
        agents = [name for name in shares if name != baseline]
        total = sum(shares[name] for name in agents) * factor
        shrink = 1.0 / total if total > 1.0 else 1.0
        for name in agents:
            shares[name] = shares[name] * factor * shrink
        shares[baseline] = max(0.0, 1.0 - sum(shares[name] for name in agents))


def _onprem_default(timeline: dict, routes: list[dict]) -> float | None:
    """The on-prem share slider's start: the rule's highest share, else the
    first owned route's routine_frac, else None (nothing to move)."""
    rule = timeline.get("onprem_share")
    if rule:
        if rule.get("points"):
            return max(rule["points"].values())
        return rule.get("share_frac", 0.0)
    return routes[0].get("routine_frac", 0.0) if routes else None


def _set_onprem_share(rule: dict, target: float) -> None:
    """Scale the dated shares so the highest is `target` (a constant when the
    rule has no points or all of them are 0)."""
    highest = max(rule["points"].values()) if rule.get("points") else 0.0
    if highest > 0:
        rule["points"] = {month: min(1.0, value * target / highest)
                          for month, value in rule["points"].items()}
        return
    rule.pop("points", None)
    rule["share_frac"] = target


def _scaled_dist(dist: Any, factor: float) -> Any:
    """A distribution of iteration counts with its values times `factor`."""
    if isinstance(dist, (int, float)):
        return dist * factor
    scaled = dict(dist)
    for key in ("value", "low", "high", "mean", "median", "p90"):
        if key in scaled:
            scaled[key] = scaled[key] * factor
    if "values" in scaled:
        scaled["values"] = [value * factor for value in scaled["values"]]
    return scaled


def _nodes(data: dict) -> list[dict]:
    found: list[dict] = []
    stack = [node for task in data["task_types"].values() for node in task["workflow"]]
    while stack:
        node = stack.pop()
        found.append(node)
        if "loop" in node:
            stack.extend(node["loop"]["steps"])
    return found


def _steps(data: dict) -> list[dict]:
    return [node for node in _nodes(data) if "loop" not in node]


def _loops(data: dict) -> list[dict]:
    return [node["loop"] for node in _nodes(data) if "loop" in node]


def _owned_routes(data: dict) -> list[dict]:
    owned = {name for name, spec in data["backends"].items()
             if spec.get("kind") == "on_prem"}
    return [task["route"] for task in data["task_types"].values()
            if task["route"].get("policy") == "tiered"
            and task["route"].get("routine") in owned]


def _png_uri(draw: Any, timeline: dict) -> str:
    figure, axes = new_figure()
    draw(axes, timeline)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "chart.png"
        save_figure(figure, path)
        data = path.read_bytes()
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")
