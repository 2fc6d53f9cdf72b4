"""The resume file of an experiment: one JSON line per finished point.

Each finished point is appended to `points.jsonl` in the output folder as
soon as it is done, and flushed to disk, so a killed experiment keeps every
point that finished. Rerunning the same experiment into the same folder
reads the file and runs only the points whose key is not there. A line cut
short by a kill is ignored (that point simply runs again).
"""

from __future__ import annotations

import json
import logging
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
                    record = json.loads(line)
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
                text = json.dumps(record, sort_keys=True, separators=(",", ":"))
                handle.write(text.encode("utf-8") + b"\n")
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise SimulatorError(f"--out {self.folder}: cannot write {POINTS_FILE} "
                                 f"({exc.strerror or exc})") from None
