"""Rows of a request trace: parse, check and collect them into a Trace.

Each row gives an arrival time (a number of time units, or an ISO 8601
datetime parsed exactly to the nanosecond) and whole input and output token
counts. A malformed row is an error naming file, line, column and the value
found, or is skipped and counted when the caller asks.
Limitations: datetimes without a UTC offset are taken as UTC; digits finer
than 1 ns are dropped.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from simulator.errors import ScenarioError

logger = logging.getLogger(__name__)

FIELDS = ("arrived_at", "tokens_in", "tokens_out")
NS_PER_S = 1_000_000_000
MAX_TOKENS = 2**63 - 1
_ISO_DATETIME = re.compile(
    r"(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?)"  # date and time to the second
    r"(?:[.,](\d+))?"  # fraction of a second, any number of digits
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?"  # UTC offset
)
_EPOCH = datetime(1970, 1, 1)
_MISSING = object()  # a column or key the row lacks
_WHOLE = "a whole number >= 0"
_NUMBER = "a finite number"
_DATETIME = "an ISO 8601 datetime such as 2023-11-16 18:15:46.6805900"
_TIME_ANY = f"{_NUMBER} or {_DATETIME}"


@dataclass(frozen=True)
class Trace:
    """Requests of a trace, sorted by arrival: seconds from the first request."""

    arrived_at: np.ndarray
    """float64 seconds, starting at 0.0 for the first kept request."""
    tokens_in: np.ndarray
    """int64 input tokens per request."""
    tokens_out: np.ndarray
    """int64 output tokens per request."""
    source: str
    """File path or excerpt name."""
    num_rows: int
    """Data rows read (blank lines and the header not counted)."""
    num_skipped: int
    """Malformed rows skipped (only when skip_bad_rows)."""

    def __len__(self) -> int:
        """Number of requests."""
        return len(self.arrived_at)


class _BadValue(Exception):
    """One malformed row; the message says what was found and what is allowed."""


class Rows:
    """Values of the rows read so far, checked one row at a time."""

    def __init__(self, source: str, names: dict[str, str], skip_bad: bool) -> None:
        self.source = source
        self.names = names
        self.skip_bad = skip_bad
        self.kind = "column"
        self.num_rows = 0
        self.num_skipped = 0
        self.time_mode: str | None = None  # "number" or "datetime": first good time
        self.times: list[float | int] = []
        self.tokens_in: list[int] = []
        self.tokens_out: list[int] = []

    def add(self, line_number: int, values: Any) -> None:
        """Check one data row and keep it, skip it or raise ScenarioError."""
        self.num_rows += 1
        try:
            if isinstance(values, str):  # the reader found the row unparsable
                raise _BadValue(values)
            arrived = self._time(values[0])
            tokens_in = self._tokens(self.names["tokens_in"], values[1])
            tokens_out = self._tokens(self.names["tokens_out"], values[2])
        except _BadValue as exc:
            if not self.skip_bad:
                raise ScenarioError(f"{self.source}:{line_number}: {exc}") from None
            self.num_skipped += 1
            return
        self.times.append(arrived)
        self.tokens_in.append(tokens_in)
        self.tokens_out.append(tokens_out)

    def to_trace(self, time_unit_s: float) -> Trace:
        """The kept rows as a Trace, sorted by arrival."""
        if not self.times:
            reason = (f"all {self.num_skipped} data rows are malformed"
                      if self.num_rows else "no data rows")
            raise ScenarioError(f"{self.source}: {reason}; a trace needs at "
                                "least one request")
        first = min(self.times)
        delta = np.array([t - first for t in self.times], dtype=np.float64)
        order = np.argsort(delta, kind="stable")
        if self.time_mode == "datetime":
            arrived_at = delta[order] / NS_PER_S
        else:
            arrived_at = _to_seconds(delta[order], time_unit_s)
        if not math.isfinite(arrived_at[-1]):
            raise ScenarioError(f"{self.source}: times span more seconds than a "
                                "float holds; check the time column and time_unit_s")
        tokens_in = np.array(self.tokens_in, dtype=np.int64)[order]
        tokens_out = np.array(self.tokens_out, dtype=np.int64)[order]
        if self.num_skipped:
            logger.warning("%s: skipped %d malformed rows of %d", self.source,
                           self.num_skipped, self.num_rows)
        return frozen_trace(arrived_at, tokens_in, tokens_out, self.source,
                       self.num_rows, self.num_skipped)

    def _time(self, value: Any) -> float | int:
        """A time as float (numbers) or integer nanoseconds since 1970 (datetimes)."""
        name = self.names["arrived_at"]
        if value is _MISSING:
            raise _BadValue(f"{self.kind} {name}: missing; must be {_TIME_ANY}")
        number = None if self.time_mode == "datetime" else _number(value)
        if number is not None:
            if not math.isfinite(number):
                allowed = _NUMBER if self.time_mode else _TIME_ANY
                raise _BadValue(self._found(name, value, allowed))
            self.time_mode = "number"
            return number
        nanoseconds = _datetime_ns(value) if self.time_mode != "number" else None
        if nanoseconds is None:
            allowed = {"number": _NUMBER, "datetime": _DATETIME}.get(
                self.time_mode or "", _TIME_ANY)
            raise _BadValue(self._found(name, value, allowed))
        self.time_mode = "datetime"
        return nanoseconds

    def _tokens(self, name: str, value: Any) -> int:
        """A token count: a whole number from 0 to MAX_TOKENS."""
        if value is _MISSING:
            raise _BadValue(f"{self.kind} {name}: missing; must be {_WHOLE}")
        tokens = _number(value, keep_int=True)
        if isinstance(tokens, float):
            whole = math.isfinite(tokens) and tokens == int(tokens)
            tokens = int(tokens) if whole else None
        if tokens is None or tokens < 0:
            raise _BadValue(self._found(name, value, _WHOLE))
        if tokens > MAX_TOKENS:
            raise _BadValue(self._found(name, value, f"at most {MAX_TOKENS}"))
        return tokens

    def _found(self, name: str, value: Any, allowed: str) -> str:
        """The problem text for a value that is not allowed."""
        return f"{self.kind} {name}: found {_show(value)}; must be {allowed}"


def csv_rows(file: Any, rows: Rows) -> Iterator[tuple[int, Any]]:
    """(line number, [time, tokens_in, tokens_out] or a problem) per CSV data row."""
    reader = csv.reader(file)
    try:
        header = next((row for row in reader if any(map(str.strip, row))), None)
        if header is None:
            raise ScenarioError(f"{rows.source}: empty file; must start with a "
                                "header line naming the columns")
        where = f"{rows.source}:{reader.line_num}"
        positions = _header_positions(where, header, rows.names)
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            yield reader.line_num, [
                row[i] if i < len(row) else _MISSING for i in positions]
    except csv.Error as exc:
        raise ScenarioError(f"{rows.source}:{reader.line_num}: not valid CSV "
                            f"({exc})") from None


def jsonl_rows(file: Any, rows: Rows) -> Iterator[tuple[int, Any]]:
    """(line number, [time, tokens_in, tokens_out] or a problem) per JSONL line."""
    rows.kind = "key"
    keys = [rows.names[field] for field in FIELDS]
    for line_number, line in enumerate(file, start=1):
        if not line.strip():
            continue  # blank line
        try:
            record = json.loads(line.rstrip())
        except (ValueError, RecursionError) as exc:
            problem = (f"{exc.msg} at column {exc.colno}"
                       if isinstance(exc, json.JSONDecodeError) else str(exc))
            yield line_number, (f"not valid JSON ({problem}); must be one JSON "
                                "object per line")
            continue
        if not isinstance(record, dict):
            yield line_number, (f"found a JSON {type(record).__name__} "
                                f"{_show(record)}; must be one JSON object per line")
            continue
        yield line_number, [record.get(key, _MISSING) for key in keys]


def _header_positions(where: str, header: list[str], names: dict[str, str]
                      ) -> list[int]:
    """Index in each row of the arrived_at, tokens_in and tokens_out columns."""
    stripped = [cell.strip() for cell in header]
    positions = []
    for field in FIELDS:
        if names[field] not in stripped:
            found = ", ".join(repr(cell) for cell in stripped)
            raise ScenarioError(f"{where}: header has no column {names[field]!r} "
                                f"(for {field}); columns found: {found}")
        positions.append(stripped.index(names[field]))
    return positions


def _number(value: Any, keep_int: bool = False) -> float | int | None:
    """`value` as a float (or int if keep_int), None if not a number at all."""
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if keep_int or isinstance(value, float):
        return value
    try:
        return float(value)
    except OverflowError:
        return math.inf  # an integer beyond float range is no finite number


def _datetime_ns(value: Any) -> int | None:
    """Nanoseconds since 1970-01-01 UTC of an ISO 8601 datetime string, or None."""
    if not isinstance(value, str):
        return None
    match = _ISO_DATETIME.fullmatch(value.strip())
    if match is None:
        return None
    whole, fraction, offset = match.groups()
    try:
        since_epoch = datetime.fromisoformat(whole) - _EPOCH
    except ValueError:
        return None
    seconds = since_epoch.days * 86_400 + since_epoch.seconds
    if offset and offset != "Z":
        digits = offset[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:] or 0)
        if hours > 23 or minutes > 59:
            return None
        sign = -1 if offset[0] == "-" else 1
        seconds -= sign * (hours * 3_600 + minutes * 60)
    nanoseconds = int((fraction or "")[:9].ljust(9, "0"))
    return seconds * NS_PER_S + nanoseconds


def _to_seconds(delta: np.ndarray, time_unit_s: float) -> np.ndarray:
    """Time differences in file units as seconds, exactly for 1/n-second units."""
    per_s = round(1.0 / time_unit_s)
    if time_unit_s < 1.0 and per_s * time_unit_s == 1.0:
        return delta / per_s  # e.g. ms: 500 / 1000 is exactly 0.5
    return delta * time_unit_s


def _show(value: Any) -> str:
    """A found value as a message shows it: quoted text, JSON otherwise."""
    try:
        shown = repr(value) if isinstance(value, str) else json.dumps(value)
    except (ValueError, RecursionError):
        shown = f"a {type(value).__name__}"
    return shown if len(shown) <= 60 else shown[:57] + "..."


def frozen_trace(arrived_at: np.ndarray, tokens_in: np.ndarray,
                 tokens_out: np.ndarray, source: str, num_rows: int,
                 num_skipped: int) -> Trace:
    """A Trace whose arrays are read-only."""
    for array in (arrived_at, tokens_in, tokens_out):
        array.setflags(write=False)
    return Trace(arrived_at, tokens_in, tokens_out, source, num_rows, num_skipped)
