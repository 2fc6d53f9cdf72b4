"""Request-trace readers, shipped excerpts and trace rescaling."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from simulator.errors import ScenarioError
from simulator.workload.traces import (
    EXCERPTS,
    Trace,
    excerpt_path,
    read_trace,
    scale_trace,
)

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
AZURE_DIR = SHARED_DATA / "azure-llm-inference-2023"
AZURE_CONV = AZURE_DIR / "AzureLLMInferenceTrace_conv.csv"
MOONCAKE_CONV = SHARED_DATA / "mooncake-traces" / "conversation_trace.jsonl"
AZURE_HEADER = "TIMESTAMP,ContextTokens,GeneratedTokens\n"
WHOLE = "must be a whole number >= 0"


def write(tmp_path: Path, name: str, text: str) -> Path:
    """Write `text` to tmp_path/name and return the path."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def azure_file(tmp_path: Path, *rows: str) -> Path:
    """An Azure-format CSV with the given data lines."""
    return write(tmp_path, "trace.csv", AZURE_HEADER + "".join(r + "\n" for r in rows))


def trace_of(times: list[float]) -> Trace:
    """A trace with the given arrival times and tokens_in 0, 1, 2, ..."""
    count = len(times)
    return Trace(np.array(times, dtype=np.float64), np.arange(count),
                 np.full(count, 7), "test", count, 0)


# Formats


def test_azure_rows_read_exactly(tmp_path):
    """Three Azure rows give exact offsets from the first timestamp and the tokens."""
    path = azure_file(tmp_path, "2023-11-16 18:15:46.6805900,374,44",
                      "2023-11-16 18:15:47.1805900,396,109",
                      "2023-11-16 18:15:48.9305900,879,55")
    trace = read_trace(path, "azure")
    assert trace.arrived_at.tolist() == [0.0, 0.5, 2.25]
    assert trace.arrived_at.dtype == np.float64
    assert trace.tokens_in.tolist() == [374, 396, 879]
    assert trace.tokens_out.tolist() == [44, 109, 55]
    assert trace.tokens_in.dtype == np.int64
    assert (trace.source, trace.num_rows, trace.num_skipped, len(trace)) == (
        str(path), 3, 0, 3)


def test_azure_keeps_100ns_digits_and_crosses_midnight(tmp_path):
    """The 7th fractional digit counts, and a date change adds a whole day."""
    path = azure_file(tmp_path, "2023-11-16 23:59:59.9000000,1,1",
                      "2023-11-16 23:59:59.9000001,2,2",
                      "2023-11-17 00:00:00.1000000,3,3")
    trace = read_trace(path, "azure")
    assert trace.arrived_at.tolist() == [0.0, 1e-7, 0.2]


def test_azure_crlf_file_reads(tmp_path):
    """CRLF line ends, as in the published files, read the same."""
    path = write(tmp_path, "trace.csv", AZURE_HEADER.replace("\n", "\r\n")
                 + "2023-11-16 18:00:00.0000000,10,20\r\n"
                 + "2023-11-16 18:00:01.0000000,11,21\r\n")
    assert read_trace(path, "azure").arrived_at.tolist() == [0.0, 1.0]


def test_mooncake_milliseconds_and_hash_ids_ignored(tmp_path):
    """Mooncake timestamps in ms become exact seconds; hash_ids are ignored."""
    path = write(tmp_path, "trace.jsonl",
                 '{"timestamp": 1000, "input_length": 6758, "output_length": 500, '
                 '"hash_ids": [0, 1]}\n'
                 '{"timestamp": 1500, "input_length": 7322, "output_length": 490}\n'
                 "\n"
                 '{"timestamp": 3250, "input_length": 2290, "output_length": 3}\n')
    trace = read_trace(path, "mooncake")
    assert trace.arrived_at.tolist() == [0.0, 0.5, 2.25]
    assert trace.tokens_in.tolist() == [6758, 7322, 2290]
    assert trace.tokens_out.tolist() == [500, 490, 3]
    assert trace.num_rows == 3


def test_generic_csv_with_columns_and_time_unit(tmp_path):
    """A generic CSV maps its columns and scales numeric times by time_unit_s."""
    path = write(tmp_path, "calls.csv", "t_min,prompt,completion,other\n"
                 "10,100,5,x\n10.5,200,6,y\n12,300,7,z\n")
    columns = {"arrived_at": "t_min", "tokens_in": "prompt", "tokens_out": "completion"}
    trace = read_trace(path, "csv", columns=columns, time_unit_s=60.0)
    assert trace.arrived_at.tolist() == [0.0, 30.0, 120.0]
    assert trace.tokens_in.tolist() == [100, 200, 300]
    assert trace.tokens_out.tolist() == [5, 6, 7]


def test_generic_csv_iso_datetimes_with_offsets(tmp_path):
    """ISO datetimes with T, Z and UTC offsets are compared in UTC."""
    path = write(tmp_path, "calls.csv", "at,in,out\n"
                 "2024-03-01T00:00:00Z,1,1\n"
                 "2024-03-01T01:00:00.25+01:00,2,2\n"
                 "2024-02-29T19:00:03-05:00,3,3\n")
    columns = {"arrived_at": "at", "tokens_in": "in", "tokens_out": "out"}
    trace = read_trace(path, "csv", columns=columns)
    assert trace.arrived_at.tolist() == [0.0, 0.25, 3.0]
    assert trace.tokens_in.tolist() == [1, 2, 3]


def test_generic_jsonl_with_columns(tmp_path):
    """A generic JSONL file maps its keys; whole-valued floats count as tokens."""
    path = write(tmp_path, "calls.jsonl",
                 '{"t": 2.5, "i": 10, "o": 1.0}\n{"t": 4, "i": 20, "o": 2}\n')
    columns = {"arrived_at": "t", "tokens_in": "i", "tokens_out": "o"}
    trace = read_trace(path, "jsonl", columns=columns)
    assert trace.arrived_at.tolist() == [0.0, 1.5]
    assert trace.tokens_out.tolist() == [1, 2]


def test_azure_columns_can_be_overridden(tmp_path):
    """For azure, columns overrides only the names given."""
    path = write(tmp_path, "trace.csv",
                 "TIMESTAMP,Prompt,GeneratedTokens\n2023-11-16 18:00:00,5,6\n")
    trace = read_trace(path, "azure", columns={"tokens_in": "Prompt"})
    assert (trace.tokens_in.tolist(), trace.tokens_out.tolist()) == ([5], [6])


def test_unsorted_rows_are_sorted_stably(tmp_path):
    """Rows out of order are sorted by time; ties keep file order."""
    path = write(tmp_path, "calls.csv",
                 "t,i,o\n105,1,0\n101,2,0\n101,3,0\n103,4,0\n")
    columns = {"arrived_at": "t", "tokens_in": "i", "tokens_out": "o"}
    trace = read_trace(path, "csv", columns=columns)
    assert trace.arrived_at.tolist() == [0.0, 0.0, 2.0, 4.0]
    assert trace.tokens_in.tolist() == [2, 3, 4, 1]


def test_max_rows_stops_early(tmp_path):
    """max_rows reads only that many data rows."""
    path = azure_file(tmp_path, *(f"2023-11-16 18:00:0{s}.0000000,{s},1"
                                  for s in range(5)))
    trace = read_trace(path, "azure", max_rows=2)
    assert (trace.num_rows, trace.tokens_in.tolist()) == (2, [0, 1])


def test_arrays_are_read_only(tmp_path):
    """A read trace cannot be changed in place."""
    trace = read_trace(azure_file(tmp_path, "2023-11-16 18:00:00,1,1"), "azure")
    with pytest.raises(ValueError):
        trace.arrived_at[0] = 1.0


# Malformed input


@pytest.mark.parametrize(("row", "problem"), [
    ("2023-11-16 18:00:01,abc,5", f"column ContextTokens: found 'abc'; {WHOLE}"),
    ("2023-11-16 18:00:01,-3,5", f"column ContextTokens: found '-3'; {WHOLE}"),
    ("2023-11-16 18:00:01,1.5,5", f"column ContextTokens: found '1.5'; {WHOLE}"),
    ("2023-11-16 18:00:01,3,nan", f"column GeneratedTokens: found 'nan'; {WHOLE}"),
    ("2023-11-16 18:00:01,3,inf", f"column GeneratedTokens: found 'inf'; {WHOLE}"),
    ("2023-11-16 18:00:01,,5", f"column ContextTokens: found ''; {WHOLE}"),
    ("2023-11-16 18:00:01,3", f"column GeneratedTokens: missing; {WHOLE}"),
    ("2023-11-16 25:00:01,3,5", "column TIMESTAMP: found '2023-11-16 25:00:01'; "
     "must be an ISO 8601 datetime such as 2023-11-16 18:15:46.6805900"),
    ("12.5,3,5", "column TIMESTAMP: found '12.5'; must be an ISO 8601 datetime "
     "such as 2023-11-16 18:15:46.6805900"),
])
def test_malformed_csv_row_names_line_and_column(tmp_path, row, problem):
    """A bad value is reported with file, line (header is line 1) and column."""
    path = azure_file(tmp_path, "2023-11-16 18:00:00,1,1", row)
    with pytest.raises(ScenarioError) as error:
        read_trace(path, "azure")
    assert str(error.value) == f"{path}:3: {problem}"


def test_malformed_first_time_lists_both_allowed_kinds(tmp_path):
    """Before any good time, a bad one is told both numbers and datetimes work."""
    path = write(tmp_path, "calls.csv", "t,i,o\nyesterday,1,1\n")
    columns = {"arrived_at": "t", "tokens_in": "i", "tokens_out": "o"}
    with pytest.raises(ScenarioError) as error:
        read_trace(path, "csv", columns=columns)
    assert str(error.value) == (
        f"{path}:2: column t: found 'yesterday'; must be a finite number or an "
        "ISO 8601 datetime such as 2023-11-16 18:15:46.6805900")


@pytest.mark.parametrize(("line", "problem"), [
    ('{"timestamp": 5, "input_length": 1}',
     f"key output_length: missing; {WHOLE}"),
    ('{"timestamp": 5, "input_length": null, "output_length": 1}',
     f"key input_length: found null; {WHOLE}"),
    ('{"timestamp": 5, "input_length": true, "output_length": 1}',
     f"key input_length: found true; {WHOLE}"),
    ('{"timestamp": 5, "input_length": "abc", "output_length": 1}',
     f"key input_length: found 'abc'; {WHOLE}"),
    ('{"timestamp": 5, "input_length": -1, "output_length": 1}',
     f"key input_length: found -1; {WHOLE}"),
    ('{"timestamp": NaN, "input_length": 1, "output_length": 1}',
     "key timestamp: found NaN; must be a finite number"),
    ('{"timestamp": 5, "input_length": 1, "output_length": Infinity}',
     f"key output_length: found Infinity; {WHOLE}"),
    ('{"timestamp": 5, "input_length": 1, "output_length": 99999999999999999999}',
     "key output_length: found 99999999999999999999; must be at most "
     "9223372036854775807"),
    ('{"timestamp": 5, "input_length": 1,',
     "not valid JSON (Expecting property name enclosed in double quotes at "
     "column 36); must be one JSON object per line"),
    ("[5, 1, 1]", "found a JSON list [5, 1, 1]; must be one JSON object per line"),
])
def test_malformed_jsonl_line_names_line_and_key(tmp_path, line, problem):
    """A bad JSONL line is reported with file, line number and key."""
    good = '{"timestamp": 0, "input_length": 1, "output_length": 1}\n'
    path = write(tmp_path, "trace.jsonl", good + "\n" + line + "\n")
    with pytest.raises(ScenarioError) as error:
        read_trace(path, "mooncake")
    assert str(error.value) == f"{path}:3: {problem}"


def test_skip_bad_rows_counts_them(tmp_path):
    """With skip_bad_rows, malformed rows are left out and counted."""
    path = azure_file(tmp_path, "2023-11-16 18:00:00,1,1", "garbage,2,2",
                      "2023-11-16 18:00:02,-1,3", "2023-11-16 18:00:04,4,4",
                      "2023-11-16 18:00:05,5")
    trace = read_trace(path, "azure", skip_bad_rows=True)
    assert trace.arrived_at.tolist() == [0.0, 4.0]
    assert trace.tokens_in.tolist() == [1, 4]
    assert (trace.num_rows, trace.num_skipped) == (5, 3)


def test_skip_bad_rows_skips_bad_json(tmp_path):
    """Unparsable JSON lines are skipped and counted too."""
    path = write(tmp_path, "trace.jsonl", '{"timestamp": 0, "input_length": 1, '
                 '"output_length": 1}\n{oops\n"text"\n')
    trace = read_trace(path, "mooncake", skip_bad_rows=True)
    assert (len(trace), trace.num_rows, trace.num_skipped) == (1, 3, 2)


@pytest.mark.parametrize(("text", "fmt", "problem"), [
    ("", "azure", "empty file; must start with a header line naming the columns"),
    ("\r\n \n", "azure", "empty file; must start with a header line naming the "
     "columns"),
    (AZURE_HEADER, "azure", "no data rows; a trace needs at least one request"),
    ("\n\n", "mooncake", "no data rows; a trace needs at least one request"),
    (AZURE_HEADER + "x,1,1\ny,2,2\n", "azure-skip",
     "all 2 data rows are malformed; a trace needs at least one request"),
])
def test_trace_without_requests_is_an_error(tmp_path, text, fmt, problem):
    """An empty file, a header alone or only bad rows give a clear error."""
    path = write(tmp_path, "trace.txt", text)
    skip = fmt.endswith("-skip")
    with pytest.raises(ScenarioError) as error:
        read_trace(path, fmt.removesuffix("-skip"), skip_bad_rows=skip)
    assert str(error.value) == f"{path}: {problem}"


def test_time_span_beyond_float_range_is_an_error(tmp_path):
    """Times whose span overflows a float are reported, not returned as inf."""
    path = write(tmp_path, "calls.csv", "t,i,o\n-1e308,1,1\n1e308,1,1\n")
    columns = {"arrived_at": "t", "tokens_in": "i", "tokens_out": "o"}
    with pytest.raises(ScenarioError, match="times span more seconds than a float"):
        read_trace(path, "csv", columns=columns)


def test_missing_header_column_is_an_error(tmp_path):
    """A header without a needed column names it and lists the columns found."""
    path = write(tmp_path, "trace.csv", "TIMESTAMP,ContextTokens\n2023-11-16 18:00,1\n")
    with pytest.raises(ScenarioError) as error:
        read_trace(path, "azure")
    assert str(error.value) == (
        f"{path}:1: header has no column 'GeneratedTokens' (for tokens_out); "
        "columns found: 'TIMESTAMP', 'ContextTokens'")


def test_unreadable_files_are_errors(tmp_path):
    """A missing file, a directory and non-UTF-8 bytes raise ScenarioError."""
    with pytest.raises(ScenarioError, match="cannot read trace file"):
        read_trace(tmp_path / "absent.csv", "azure")
    with pytest.raises(ScenarioError, match="cannot read trace file"):
        read_trace(tmp_path, "azure")
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b'{"timestamp": 0}\n\xff\xfe\x00\n')
    with pytest.raises(ScenarioError, match="not UTF-8 text"):
        read_trace(binary, "mooncake")


def test_bad_read_arguments_name_the_parameter(tmp_path):
    """Bad arguments raise ValueError naming the parameter."""
    path = azure_file(tmp_path, "2023-11-16 18:00:00,1,1")
    with pytest.raises(ValueError, match="^fmt must be one of"):
        read_trace(path, "parquet")
    with pytest.raises(ValueError, match="^columns must name .* missing: tokens_out"):
        read_trace(path, "csv", columns={"arrived_at": "a", "tokens_in": "b"})
    with pytest.raises(ValueError, match="^columns has unknown keys"):
        read_trace(path, "azure", columns={"arrival": "TIMESTAMP"})
    with pytest.raises(ValueError, match="^time_unit_s must be .*; got 0"):
        read_trace(path, "azure", time_unit_s=0)
    with pytest.raises(ValueError, match="^max_rows must be .*; got 0"):
        read_trace(path, "azure", max_rows=0)


# Shipped excerpts


@pytest.mark.parametrize(("name", "rows", "span_s", "mean_in", "mean_out"), [
    ("azure-conv", 2000, 424.259457, 1104.8, 264.9),
    ("azure-code", 1482, 585.903294, 2077.0, 27.4),
    ("mooncake-conversation", 1001, 330.0, 13793.9, 349.7),
])
def test_shipped_excerpts_read(name, rows, span_s, mean_in, mean_out):
    """Each excerpt reads whole, spans what its README says, with plausible tokens."""
    file_name, fmt = EXCERPTS[name]
    path = excerpt_path(name)
    assert path.name == file_name and path.is_file()
    trace = read_trace(path, fmt)
    assert (len(trace), trace.num_rows, trace.num_skipped) == (rows, rows, 0)
    assert trace.arrived_at[0] == 0.0
    assert trace.arrived_at[-1] == pytest.approx(span_s, abs=1e-9)
    assert trace.tokens_in.mean() == pytest.approx(mean_in, abs=0.1)
    assert trace.tokens_out.mean() == pytest.approx(mean_out, abs=0.1)
    assert trace.tokens_in.min() > 0 and trace.tokens_out.min() > 0


def test_excerpts_are_small():
    """The shipped excerpts stay under 300 KB together."""
    folder = excerpt_path("azure-conv").parent
    assert sum(path.stat().st_size for path in folder.iterdir()) < 300_000
    assert (folder / "README.md").is_file()


def test_excerpt_path_rejects_unknown_name():
    """An unknown excerpt name raises ValueError listing the known ones."""
    with pytest.raises(ValueError, match="^name must be one of azure-conv, azure-code"):
        excerpt_path("azure-2024")


# Full shared traces (present in CI next to the repository)


@pytest.mark.skipif(not AZURE_CONV.is_file(), reason="shared data not present")
def test_full_azure_conversation_trace():
    """The full Azure conv trace: 19,366 rows over about one hour, read quickly."""
    started = time.perf_counter()
    trace = read_trace(AZURE_CONV, "azure")
    elapsed_s = time.perf_counter() - started
    assert (len(trace), trace.num_skipped) == (19_366, 0)
    # 18:15:46.6805900 -> 18:15:50.9951690 and -> 19:14:08.4025270
    assert trace.arrived_at[1] == 4.314579
    assert trace.arrived_at[-1] == 3501.721937
    assert np.all(np.diff(trace.arrived_at) > 0)
    assert trace.tokens_in.mean() == pytest.approx(1155, abs=1)
    assert trace.tokens_out.mean() == pytest.approx(211, abs=1)
    assert elapsed_s < 2.0


@pytest.mark.skipif(not MOONCAKE_CONV.is_file(), reason="shared data not present")
def test_full_mooncake_conversation_trace():
    """The full Mooncake trace: 12,031 requests over 3,537 s, averages as published."""
    trace = read_trace(MOONCAKE_CONV, "mooncake")
    assert len(trace) == 12_031
    assert trace.arrived_at[-1] == 3536.999
    assert trace.tokens_in.mean() == pytest.approx(12_035, abs=1)
    assert trace.tokens_out.mean() == pytest.approx(343, abs=1)


# Rescaling


def test_speedup_halves_times_exactly():
    """speedup=2 divides every arrival time by two and keeps the tokens."""
    trace = trace_of([0.0, 0.5, 2.25, 7.0])
    scaled = scale_trace(trace, speedup=2.0)
    assert scaled.arrived_at.tolist() == [0.0, 0.25, 1.125, 3.5]
    assert scaled.tokens_in.tolist() == [0, 1, 2, 3]
    assert (scaled.source, scaled.num_rows) == ("test", 4)


def test_thinning_keeps_about_half_and_is_deterministic():
    """m=0.5 keeps a binomial(10,000, 0.5) share, the same for the same seed."""
    trace = trace_of(list(np.arange(10_000) * 0.1))
    first = scale_trace(trace, rate_multiplier=0.5, generator=np.random.default_rng(7))
    again = scale_trace(trace, rate_multiplier=0.5, generator=np.random.default_rng(7))
    other = scale_trace(trace, rate_multiplier=0.5, generator=np.random.default_rng(8))
    assert abs(len(first) - 5_000) < 4 * 50  # four standard deviations
    assert np.array_equal(first.arrived_at, again.arrived_at)
    assert np.array_equal(first.tokens_in, again.tokens_in)
    assert not np.array_equal(first.tokens_in, other.tokens_in)
    assert first.arrived_at[0] == 0.0
    assert np.all(np.diff(first.tokens_in) > 0)  # kept requests stay in order


def test_doubling_rate_exactly_doubles_count():
    """m=2 keeps every request twice; copies lag by less than the mean gap."""
    trace = trace_of([0.0, 1.0, 2.0, 6.0])  # mean gap 2 s
    scaled = scale_trace(trace, rate_multiplier=2.0, generator=np.random.default_rng(1))
    assert len(scaled) == 8
    assert sorted(scaled.tokens_in.tolist()) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert np.all(np.diff(scaled.arrived_at) >= 0)
    for request in range(4):
        times = scaled.arrived_at[scaled.tokens_in == request]
        original = trace.arrived_at[request]
        assert times.min() == original and original <= times.max() < original + 2.0


def test_fractional_rate_multiplier_adds_binomial_copies():
    """m=1.5 gives n plus a binomial(n, 0.5) number of copies."""
    trace = trace_of(list(np.arange(10_000) * 0.1))
    scaled = scale_trace(trace, rate_multiplier=1.5, generator=np.random.default_rng(3))
    assert abs(len(scaled) - 15_000) < 4 * 50
    assert np.all(np.diff(scaled.arrived_at) >= 0)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"speedup": 0.0}, "^speedup must be a finite number > 0; got 0.0"),
    ({"speedup": -1.0}, "^speedup must be a finite number > 0; got -1.0"),
    ({"speedup": float("inf")}, "^speedup must be a finite number > 0; got inf"),
    ({"rate_multiplier": 0.0}, "^rate_multiplier must be a finite number > 0"),
    ({"rate_multiplier": float("nan")}, "^rate_multiplier must be a finite number"),
    ({"rate_multiplier": 0.5}, "^generator is required when rate_multiplier != 1"),
    ({"rate_multiplier": 1e12}, "^rate_multiplier=1000000000000.0 would give more"),
])
def test_bad_scale_arguments_name_the_parameter(kwargs, message):
    """Bad scale_trace arguments raise ValueError naming the parameter."""
    with pytest.raises(ValueError, match=message):
        scale_trace(trace_of([0.0, 1.0]), **kwargs)
