"""Files of a timeline report: summary.json, periods.csv, charts, md and html.

The summary holds the scenario's name, seed and description and the
`timeline` section (the Flip, yearly budgets, every period); the report reads
only the summary, so the two always agree.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from simulator.report.document import SCENARIO_FILE, SUMMARY_FILE
from simulator.report.render import render_html, render_markdown
from simulator.report.timeline_document import PERIODS_FILE, build_timeline_document
from simulator.report.timeline_figures import write_timeline_charts
from simulator.timeline.summary import period_rows

MARKDOWN_FILE = "report.md"
HTML_FILE = "report.html"


def write_timeline_files(summary: dict, directory: Path, resolved_yaml: str
                         ) -> list[str]:
    """Write the timeline report into an existing folder; return file names."""
    _write_text(directory / SUMMARY_FILE,
                json.dumps(summary, indent=2, sort_keys=False) + "\n")
    _write_text(directory / SCENARIO_FILE, resolved_yaml)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(period_rows(summary["timeline"]))
    _write_text(directory / PERIODS_FILE, buffer.getvalue())
    charts = write_timeline_charts(summary["timeline"], directory)

    blocks = build_timeline_document(summary)
    _write_text(directory / MARKDOWN_FILE, render_markdown(blocks))
    images = {chart.file_name: (directory / chart.file_name).read_bytes()
              for chart in charts}
    _write_text(directory / HTML_FILE, render_html(blocks, images))
    return [SUMMARY_FILE, SCENARIO_FILE, PERIODS_FILE,
            *(chart.file_name for chart in charts), MARKDOWN_FILE, HTML_FILE]


def _write_text(path: Path, text: str) -> None:
    """UTF-8 text with Unix line ends."""
    path.write_text(text, encoding="utf-8", newline="\n")
