"""The timeline report and the classroom page, opened in headless Chromium."""

from __future__ import annotations

import threading

import pytest

import simulator
from simulator.classroom import serve
from simulator.report import write_timeline_report
from simulator.scenario import dump_resolved
from simulator.timeline import run_timeline
from simulator.timeline.summary import timeline_run_summary
from tests.browser import Browser, need_chromium
from tests.conftest import ROOT, build, tiny


@pytest.fixture
def browser():
    """A fresh headless Chromium (skipped without one, outside CI)."""
    need_chromium()
    opened = Browser()
    yield opened
    opened.close()


def test_timeline_report_renders_with_every_chart(browser, tmp_path):
    data = tiny(horizon_s=86400, arrivals={"kind": "population", "num_users": 200,
                                           "tasks_per_user_per_day": 2},
                timeline={"start": "2024-01", "end": "2024-12",
                          "prices": {"api": {"decline_per_year_frac": 0.8}},
                          "users": {"growth_per_year_frac": 9.0},
                          "training": {"monthly_usd": {
                              "start": 20, "growth_per_year_frac": 0}}})
    scenario = build(data)
    summary = timeline_run_summary(run_timeline(scenario), simulator.__version__)
    folder = tmp_path / "report"
    write_timeline_report(summary, folder, dump_resolved(scenario,
                                                         simulator.__version__))

    browser.open((folder / "report.html").as_uri())
    widths = browser.evaluate("Array.from(document.images, i => i.naturalWidth)")
    assert len(widths) == 4 and all(width > 0 for width in widths)
    assert browser.errors() == []
    assert all(url.startswith(("file:", "data:")) for url in browser.requested_urls())
    assert browser.evaluate("document.querySelector('meta[name=viewport]') !== null")
    shot = browser.screenshot(tmp_path / "report.png")
    assert shot.startswith(b"\x89PNG")

    # on a phone the charts shrink to the screen: no sideways scrolling
    browser.send("Emulation.setDeviceMetricsOverride", width=390, height=844,
                 deviceScaleFactor=1, mobile=True)
    browser.open((folder / "report.html").as_uri())
    assert browser.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_classroom_slider_redraws_the_charts(browser):
    server = serve(ROOT / "scenarios" / "inference-flip.yaml", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1"
        browser.open(f"http://127.0.0.1:{port}/")
        browser.wait_for("document.getElementById('chart-flip').naturalWidth > 0",
                         timeout_s=60)
        before = browser.evaluate("document.getElementById('chart-flip').src")
        browser.evaluate(
            "(() => { const s = document.getElementById('agent_share');"
            " s.value = '0.1'; s.dispatchEvent(new Event('input'));"
            " s.dispatchEvent(new Event('change')); })()")
        browser.wait_for(f"document.getElementById('chart-flip').src !== {before!r}"
                         " && document.getElementById('chart-flip').naturalWidth > 0",
                         timeout_s=60)
        assert browser.evaluate("document.getElementById('flip').textContent")

        # share on-prem: enabled for inference-flip (its onprem_share rule)
        assert browser.evaluate("!document.getElementById('on_prem_share').disabled")
        before = browser.evaluate("document.getElementById('chart-flip').src")
        browser.evaluate(
            "(() => { const s = document.getElementById('on_prem_share');"
            " s.value = '1'; s.dispatchEvent(new Event('input'));"
            " s.dispatchEvent(new Event('change')); })()")
        browser.wait_for(f"document.getElementById('chart-flip').src !== {before!r}"
                         " && document.getElementById('chart-flip').naturalWidth > 0",
                         timeout_s=60)
        assert browser.errors() == []
        local = [url for url in browser.requested_urls()
                 if not url.startswith("data:")]
        assert all(url.startswith(f"http://127.0.0.1:{port}/") for url in local)
    finally:
        server.shutdown()
        server.server_close()
