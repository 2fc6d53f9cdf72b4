"""Record types of a run: statuses, failure reasons, and the columnar records.

A run's tasks, LLM calls and tool attempts are kept as columns (one numpy
array per field), not one object per record, so a day of traffic stays small.
Codes index the name tuples: a task's `status` indexes TASK_STATUSES, its
`reason` FAIL_REASONS, a call's `status` CALL_STATUSES.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulator.scenario.schema import Scenario

COMPLETED, FAILED, IN_FLIGHT = 0, 1, 2
TASK_STATUSES = ("completed", "failed", "in_flight")
CALL_OK, CALL_CONTEXT_OVERFLOW, CALL_OVER_TPM, CALL_RATE_LIMITED = 0, 1, 2, 3
CALL_STATUSES = ("ok", "context_overflow", "over_tokens_per_min", "rate_limited")
FAIL_REASONS = ("", "context_window", "over_tokens_per_min", "tool_failed",
                "cap_llm_calls", "cap_tokens", "cap_usd", "plan_limit",
                "rate_limited")
(NO_REASON, REASON_CONTEXT, REASON_TPM, REASON_TOOL, REASON_CAP_CALLS,
 REASON_CAP_TOKENS, REASON_CAP_USD, REASON_PLAN_LIMIT,
 REASON_RATE_LIMITED) = range(len(FAIL_REASONS))
CALL_FAIL_REASON = {CALL_CONTEXT_OVERFLOW: REASON_CONTEXT, CALL_OVER_TPM: REASON_TPM,
                    CALL_RATE_LIMITED: REASON_RATE_LIMITED}
@dataclass(frozen=True)
class RunResult:
    """What one run produced: columnar records plus the names they index.

    `tool_demand_s` sums the latency of every tool attempt requested (served
    or still queued); `backend_requests` and `backend_tokens` count every LLM
    call requested and its input + output tokens.
    """

    scenario: Scenario
    horizon_s: float
    expected_arrivals: float
    tasks: dict[str, np.ndarray]
    calls: dict[str, np.ndarray]
    tool_calls: dict[str, np.ndarray]
    task_type_names: list[str]
    backend_names: list[str]
    tool_names: list[str]
    tool_demand_s: list[float]
    backend_requests: list[int]
    backend_tokens: list[int]
    gpu_usage: dict[str, dict[str, float]]
    samples: dict[str, np.ndarray]
    wall_s: float
    trace: dict | None = None
    path: str = "event-by-event"
    """How the run was computed: "event-by-event" (SimPy) or "vectorised"
    (the contention-free shortcut, which gives the same records)."""


class Records:
    """Rows appended as tuples while a run goes; turned into numpy columns once,
    at the end (one tuple per record is cheaper than one append per field)."""

    __slots__ = ("names", "rows")

    def __init__(self, columns: tuple[str, ...]) -> None:
        self.names = columns
        self.rows: list[tuple] = []

    def arrays(self, dtypes: dict[str, str]) -> dict[str, np.ndarray]:
        """The columns as numpy arrays (int64 unless `dtypes` says otherwise)."""
        layout = np.dtype([(name, dtypes.get(name, "int64")) for name in self.names])
        table = np.array(self.rows, dtype=layout)
        return {name: np.ascontiguousarray(table[name]) for name in self.names}


class TaskColumns:
    """Per-task state while a run goes: one Python list per field (cheap to
    update on the hot path), turned into numpy columns once, at the end."""

    FIELDS = ("finished_at", "status", "reason", "num_llm_calls", "tokens_in",
              "tokens_cached", "tokens_out", "num_tool_calls", "num_corrections",
              "spent_pusd")
    DTYPES = {"status": np.int8, "reason": np.int8, "finished_at": np.float64}

    def __init__(self, task_type: np.ndarray, arrived_at: np.ndarray) -> None:
        count = len(task_type)
        self.task_type, self.arrived_at = task_type, arrived_at
        self.columns = {name: [0] * count for name in self.FIELDS}
        self.columns["status"] = [IN_FLIGHT] * count
        self.columns["finished_at"] = [math.nan] * count

    def lists(self) -> tuple[list, ...]:
        """The growing lists, in FIELDS order."""
        return tuple(self.columns[name] for name in self.FIELDS)

    def arrays(self, count: int) -> dict[str, np.ndarray]:
        """Columns of the first `count` tasks (those that arrived)."""
        found = {"task_id": np.arange(count, dtype=np.int64),
                 "task_type": self.task_type[:count].astype(np.int16),
                 "arrived_at": self.arrived_at[:count].astype(np.float64)}
        found.update({name: np.asarray(self.columns[name][:count],
                                       dtype=self.DTYPES.get(name, np.int64))
                      for name in self.FIELDS if name != "spent_pusd"})
        return found


CALL_COLUMNS = ("task_id", "task_type", "step_index", "kind", "backend",
                "requested_at", "started_at", "first_token_at", "finished_at",
                "tokens_in", "tokens_cached", "tokens_cache_write", "tokens_out",
                "tokens_reasoning",
                "status", "replica", "escalated", "retries")
CALL_DTYPES = {"task_type": "int16", "step_index": "int32", "kind": "int8",
               "replica": "int32", "escalated": "int8", "retries": "int16",
               "backend": "int16", "status": "int8", "requested_at": "float64",
               "started_at": "float64", "first_token_at": "float64",
               "finished_at": "float64"}
TOOL_COLUMNS = ("task_id", "tool", "requested_at", "started_at", "finished_at", "ok")
TOOL_DTYPES = {"tool": "int16", "requested_at": "float64", "started_at": "float64",
               "finished_at": "float64", "ok": "bool"}
