"""Read request traces of real LLM traffic and rescale them for replay.

A trace lists requests: arrival instant, input tokens, output tokens. Readers
cover the Azure LLM inference trace 2023 (CSV), the Mooncake FAST'25 traces
(JSONL) and generic CSV/JSONL files with a column mapping. Arrival times come
out in seconds from the first request; datetime strings are parsed exactly
(to the nanosecond) and numeric times are scaled by `time_unit_s`; rows
are parsed and checked in trace_rows.
Limitations: datetimes without a UTC offset are taken as UTC and digits finer
than 1 ns are dropped; numeric times are floats; extra copies made by
`rate_multiplier > 1` arrive at uniform offsets, not in the trace's bursts.
"""

from __future__ import annotations

import logging
import math
import numbers
from pathlib import Path

import numpy as np

from simulator.errors import ScenarioError
from simulator.workload.trace_rows import (
    FIELDS,
    Rows,
    Trace,
    csv_rows,
    frozen_trace,
    jsonl_rows,
)

logger = logging.getLogger(__name__)

FORMATS = ("azure", "mooncake", "csv", "jsonl")
EXCERPTS: dict[str, tuple[str, str]] = {
    "azure-conv": ("AzureLLMInferenceTrace_conv_excerpt.csv", "azure"),
    "azure-code": ("AzureLLMInferenceTrace_code_excerpt.csv", "azure"),
    "mooncake-conversation": ("mooncake_conversation_trace_excerpt.jsonl", "mooncake"),
}
"""Shipped excerpt name -> (file name in simulator/data/traces, format)."""

MAX_SCALED_REQUESTS = 100_000_000

_EXCERPT_DIR = Path(__file__).resolve().parent.parent / "data" / "traces"
_DEFAULT_COLUMNS = {
    "azure": {"arrived_at": "TIMESTAMP", "tokens_in": "ContextTokens",
              "tokens_out": "GeneratedTokens"},
    "mooncake": {"arrived_at": "timestamp", "tokens_in": "input_length",
                 "tokens_out": "output_length"},
}
_DEFAULT_TIME_UNIT_S = {"azure": 1.0, "mooncake": 0.001, "csv": 1.0, "jsonl": 1.0}


def read_trace(
    path: Path,
    fmt: str,
    *,
    columns: dict[str, str] | None = None,
    time_unit_s: float | None = None,
    skip_bad_rows: bool = False,
    max_rows: int | None = None,
) -> Trace:
    """Read a request trace file of format `fmt` (one of FORMATS).

    `columns` maps arrived_at, tokens_in and tokens_out to the file's column
    (CSV) or key (JSONL) names; required for "csv" and "jsonl", optional
    overrides for "azure" and "mooncake". `time_unit_s` is seconds per unit of
    a numeric time column (default 1, or 0.001 for mooncake); ISO datetimes
    need none. `max_rows` stops after that many data rows.

    Raises:
        ScenarioError: unreadable file, missing header column, malformed row
            (unless skip_bad_rows), or no requests at all.
        ValueError: a bad argument, naming the parameter.
    """
    names, unit_s = _check_read_args(fmt, columns, time_unit_s, max_rows)
    path = Path(path)
    rows = Rows(str(path), names, skip_bad_rows)
    reader = csv_rows if fmt in ("azure", "csv") else jsonl_rows
    try:
        with path.open(encoding="utf-8-sig", newline="") as file:
            for line_number, values in reader(file, rows):
                if rows.num_rows == max_rows:
                    break
                rows.add(line_number, values)
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not UTF-8 text ({exc.reason}); save the "
                            "trace as UTF-8") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read trace file: "
                            f"{exc.strerror or exc}") from None
    return rows.to_trace(unit_s)


def scale_trace(
    trace: Trace,
    *,
    speedup: float = 1.0,
    rate_multiplier: float = 1.0,
    generator: np.random.Generator | None = None,
) -> Trace:
    """Replay `trace` `speedup` times faster with `rate_multiplier` times the load.

    m < 1 keeps each request with probability m; m > 1 keeps every request
    floor(m) times plus once more with probability m - floor(m), the extra
    copies delayed by a uniform offset in [0, mean inter-arrival gap). The
    result is sorted (stable) and shifted so its first request is at 0.0; it
    may be empty when m is small.
    """
    _check_positive("speedup", speedup)
    _check_positive("rate_multiplier", rate_multiplier)
    if len(trace) * rate_multiplier > MAX_SCALED_REQUESTS:
        raise ValueError(f"rate_multiplier={rate_multiplier!r} would give more than "
                         f"{MAX_SCALED_REQUESTS:,} requests from {len(trace):,}")
    if rate_multiplier != 1.0 and generator is None:
        raise ValueError(f"generator is required when rate_multiplier != 1 "
                         f"(got rate_multiplier={rate_multiplier!r})")
    arrived_at = trace.arrived_at / speedup
    index, offsets = _copies(arrived_at, rate_multiplier, generator)

    times = arrived_at[index] + offsets
    order = np.argsort(times, kind="stable")
    times, index = times[order], index[order]
    if len(times):
        times -= times[0]
    else:
        logger.warning("%s: rate_multiplier=%s kept no request", trace.source,
                       rate_multiplier)
    return frozen_trace(times, trace.tokens_in[index], trace.tokens_out[index],
                   trace.source, trace.num_rows, trace.num_skipped)


def excerpt_path(name: str) -> Path:
    """Path of a trace excerpt shipped with flipsim (a key of EXCERPTS)."""
    if name not in EXCERPTS:
        raise ValueError(f"name must be one of {', '.join(EXCERPTS)}; got {name!r}")
    return _EXCERPT_DIR / EXCERPTS[name][0]


def _check_read_args(fmt: str, columns: dict[str, str] | None,
                     time_unit_s: float | None, max_rows: int | None
                     ) -> tuple[dict[str, str], float]:
    """Column names and time unit for `fmt`, or ValueError naming the parameter."""
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}; got {fmt!r}")
    unknown = sorted(set(columns or {}) - set(FIELDS))
    if unknown:
        raise ValueError(f"columns has unknown keys {unknown}; allowed: "
                         f"{', '.join(FIELDS)}")
    names = {**_DEFAULT_COLUMNS.get(fmt, {}), **(columns or {})}
    missing = [field for field in FIELDS if field not in names]
    if missing:
        raise ValueError(f"columns must name the file's column for each of "
                         f"{', '.join(FIELDS)} with fmt {fmt!r}; missing: "
                         f"{', '.join(missing)}")
    if time_unit_s is None:
        time_unit_s = _DEFAULT_TIME_UNIT_S[fmt]
    _check_positive("time_unit_s", time_unit_s)
    if max_rows is not None and (isinstance(max_rows, bool)
                                 or not isinstance(max_rows, numbers.Integral)
                                 or max_rows < 1):
        raise ValueError(f"max_rows must be a whole number >= 1; got {max_rows!r}")
    return names, float(time_unit_s)


def _check_positive(name: str, value: float) -> None:
    """Raise ValueError unless `value` is a finite number > 0."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or value <= 0):
        raise ValueError(f"{name} must be a finite number > 0; got {value!r}")


def _copies(arrived_at: np.ndarray, rate_multiplier: float,
            generator: np.random.Generator | None
            ) -> tuple[np.ndarray, np.ndarray]:
    """Request index and arrival offset of each request's copies, in input order."""
    count = len(arrived_at)
    if rate_multiplier == 1.0:
        return np.arange(count), np.zeros(count)
    if rate_multiplier < 1.0:
        kept = np.flatnonzero(generator.random(count) < rate_multiplier)
        return kept, np.zeros(len(kept))

    whole = math.floor(rate_multiplier)
    copies = np.full(count, whole, dtype=np.int64)
    if rate_multiplier > whole:
        copies += generator.random(count) < rate_multiplier - whole

    # The first copy keeps the original time; later ones get a uniform delay.
    index = np.repeat(np.arange(count), copies)
    starts = np.repeat(np.cumsum(copies) - copies, copies)
    extra = np.arange(len(index)) > starts
    gap_s = (arrived_at[-1] - arrived_at[0]) / (count - 1) if count > 1 else 0.0
    offsets = np.zeros(len(index))
    offsets[extra] = generator.uniform(0.0, gap_s, size=int(extra.sum()))
    return index, offsets


