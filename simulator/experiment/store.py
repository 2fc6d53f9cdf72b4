"""The resume file of an experiment: one JSON line per finished point.

Each finished point is appended to `points.jsonl` in the output folder as
soon as it is done, and flushed to disk, so a killed experiment keeps every
point that finished. Rerunning the same experiment into the same folder
reads the file and runs only the points whose key is not there. A line cut
short by a kill is ignored (that point simply runs again). Every line is
strict JSON: a figure with no value (NaN, or an infinity) is written as null
and read back as NaN, and `round_trip` gives a fresh record that same form,
so a resumed experiment's tables match an uninterrupted one's byte for byte.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import Any

from simulator.errors import SimulatorError

logger = logging.getLogger(__name__)

POINTS_FILE = "points.jsonl"


class PointStore:
    """Append-only record of finished points in a folder."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / POINTS_FILE

    def load(self) -> dict[str, dict[str, Any]]:
        """Finished points by key; unreadable (cut-short) lines are skipped."""
        if not self.path.exists():
            return {}
        done: dict[str, dict[str, Any]] = {}
        with self.path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                try:
                    record = decode(line)
                    done[record["key"]] = record
                except (ValueError, KeyError, TypeError):
                    logger.warning("%s:%d: unreadable line skipped", self.path, number)
        return done

    def append(self, record: dict[str, Any]) -> None:
        """Add one finished point and flush it to disk."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with self.path.open("a+b") as handle:
                handle.seek(0, os.SEEK_END)
                if handle.tell() > 0:
                    handle.seek(-1, os.SEEK_END)
                    if handle.read(1) != b"\n":  # a line cut short by a kill
                        handle.write(b"\n")
                handle.write(encode(record).encode("utf-8") + b"\n")
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise SimulatorError(f"--out {self.folder}: cannot write {POINTS_FILE} "
                                 f"({exc.strerror or exc})") from None


def encode(record: dict[str, Any]) -> str:
    """One point as a line of strict JSON: non-finite numbers become null."""
    return json.dumps(_finite_or_null(record), sort_keys=True, separators=(",", ":"),
                      allow_nan=False)


def decode(line: str) -> dict[str, Any]:
    """A stored line as a record; a figure stored as null is NaN again."""
    record = json.loads(line)
    figures = record.get("figures")
    if isinstance(figures, dict):
        record["figures"] = {name: math.nan if value is None else value
                             for name, value in figures.items()}
    return record


def round_trip(record: dict[str, Any]) -> dict[str, Any]:
    """The record exactly as a resumed experiment would read it back."""
    return decode(encode(record))


def _finite_or_null(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite_or_null(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_null(item) for item in value]
    return value
