"""The SimPy model: one process per task, driving its plan through backends.

simulate() draws the arrivals and the plans; when no task can make another
wait it hands the run to the vectorised shortcut (`simulator.vectorised`),
which gives the same records; otherwise it starts a task process at each
arrival instant and runs until the horizon. A task process walks its plan:
each LLM call goes to the backend the route table names; each tool call waits
for a free slot of its tool service (first come, first served), then takes
its drawn latency.
Results are columnar records; the engine knows no prices. A per-task dollar
cap is enforced through a cost function the caller supplies.

Ties: events at the same instant run first-in first-out (SimPy's event
counter); processes start in arrival order, so a seed fixes every result.
Limitations: a task stops at the first failure (context overflow, a call
larger than the tokens-per-minute limit, a tool that keeps failing, a cap);
calls and tool calls still running at the horizon are not recorded.
"""

from __future__ import annotations

import gc
import logging
import math
import time
from collections.abc import Callable

import simpy

from simulator.backends.api import ApiServer
from simulator.backends.gpu import GpuServer
from simulator.backends.monitor import Monitor, PoolUsage, pool_gauges
from simulator.backends.slots import Slots
from simulator.records import (
    CALL_COLUMNS,
    CALL_CONTEXT_OVERFLOW,
    CALL_DTYPES,
    CALL_FAIL_REASON,
    CALL_OK,
    CALL_OVER_TPM,
    COMPLETED,
    FAIL_REASONS,
    FAILED,
    NO_REASON,
    REASON_CAP_TOKENS,
    REASON_CAP_USD,
    REASON_TOOL,
    TASK_STATUSES,
    TOOL_COLUMNS,
    TOOL_DTYPES,
    Records,
    RunResult,
    TaskColumns,
)
from simulator.rng import Streams
from simulator.routing import build_routers
from simulator.run_loop import advance
from simulator.scenario.schema import ApiBackend, Scenario
from simulator.vectorised import try_vectorised
from simulator.workload.arrivals import Arrivals, draw_arrivals, expected_in_window
from simulator.workload.plans import Plan, build_planners

logger = logging.getLogger(__name__)

CallCost = Callable[[int, int, int, int, int], int]
"""(backend index, tokens in, cache reads, cache writes, tokens out) -> pico-USD."""


class _Model:
    """State shared by the task processes of one run."""

    def __init__(self, scenario: Scenario, streams: Streams,
                 call_cost: CallCost | None) -> None:
        self.env = simpy.Environment()
        self.scenario = scenario
        self.call_cost = call_cost
        self.routers: list = []
        self.backends = [
            ApiServer(name, spec, scenario.models[spec.model], streams)
            if isinstance(spec, ApiBackend)
            else GpuServer(self.env, name, spec, scenario.models[spec.model], streams)
            for name, spec in scenario.backends.items()]
        self.tool_slots = [Slots(self.env, tool.concurrency)
                           if tool.concurrency is not None else None
                           for tool in scenario.tools.values()]
        self.caps = [(t.caps.max_tokens or math.inf,
                      int(t.caps.max_usd * 10**12) if t.caps.max_usd else math.inf)
                     for t in scenario.task_types.values()]
        self.calls = Records(CALL_COLUMNS)
        self.tool_calls = Records(TOOL_COLUMNS)
        self.call_rows = self.calls.rows
        self.tool_rows = self.tool_calls.rows
        self.tool_demand_s = [0.0] * len(self.tool_slots)
        self.backend_requests = [0] * len(self.backends)
        self.backend_tokens = [0] * len(self.backends)
        self.routers = build_routers(scenario, self.backends, call_cost)
        self.caching_backends = [b for b in self.backends
                                 if getattr(b, "prompt_caches", None) is not None]
        self.plain = [b.pool is None and b.limits is None and b.prompt_caches is None
                      and b.tokenizer_factor == 1.0 for b in self.backends]
        """Per backend: an API call there is a single delay (the fast path)."""
        self.debug = logger.isEnabledFor(logging.DEBUG)

    def start_tasks(self, arrivals: Arrivals, planners: list) -> None:
        """Allocate task columns and schedule the arrival process."""
        self.tasks = TaskColumns(arrivals.task_type, arrivals.arrived_at)
        (self.finished_at, self.status, self.reason, self.num_calls, self.tokens_in,
         self.tokens_cached, self.tokens_out, self.num_tool_calls,
         self.num_corrections, self.spent_pusd) = self.tasks.lists()  # hot-path handles
        self.started = 0
        self.env.process(self.arrive(arrivals, planners))

    def arrive(self, arrivals: Arrivals, planners: list):
        """Start each task's process at its arrival instant, in order."""
        env = self.env
        types = arrivals.task_type.tolist()
        for task_id, arrived_at in enumerate(arrivals.arrived_at.tolist()):
            if arrived_at > env.now:
                yield env.timeout(arrived_at - env.now)
            plan = planners[types[task_id]].draw()
            self.started = task_id + 1
            env.process(self.run_task(task_id, types[task_id], plan))

    def run_task(self, task_id: int, type_index: int, plan: Plan):
        """Carry out one task's plan; record how it ended.

        A call to an API backend with no limits, cache or tokenizer factor,
        that fits its context window and is not escalated, is served inline:
        the same steps as `serve_call`, without a nested generator.
        """
        env = self.env
        router = self.routers[type_index]
        max_tokens, max_pusd = self.caps[type_index]
        backends, plain, rows = self.backends, self.plain, self.call_rows
        for action in plan.actions:
            if action.llm:
                backend_index = router.pick(action, plan, env.now)
                backend = backends[backend_index]
                if (plain[backend_index] and not action.escalate
                        and action.tokens_in <= backend.context_window_tokens):
                    requested_at = env.now
                    tokens_in, out = action.tokens_in, action.tokens_out
                    self.backend_requests[backend_index] += 1
                    self.backend_tokens[backend_index] += tokens_in + out
                    if action.backend == backend_index:
                        ttft, tpot = action.ttft_s, action.tpot_s
                    else:
                        ttft, tpot = backend.ttft_s(), backend.time_per_output_token_s()
                    yield env.timeout(ttft + out * tpot)
                    rows.append((task_id, type_index, action.step_index, action.kind,
                                 backend_index, requested_at, requested_at,
                                 requested_at + ttft, env.now, tokens_in,
                                 action.tokens_cached, 0, out, action.tokens_reasoning,
                                 CALL_OK, -1, 0, 0))
                    if self.debug:
                        self.log_call(task_id, backend_index, tokens_in, out, CALL_OK)
                    self.count_call(task_id, backend_index, tokens_in,
                                    action.tokens_cached, 0, out)
                    outcome = None
                else:
                    outcome = yield from self.serve_call(task_id, type_index, action,
                                                         backend_index)
                if outcome is None and action.escalate and router.cascades(action):
                    outcome = yield from self.serve_call(
                        task_id, type_index, action, router.default, escalated=1)
                if outcome is not None:
                    return self.finish(task_id, FAILED, CALL_FAIL_REASON[outcome])
                if self.tokens_in[task_id] + self.tokens_out[task_id] > max_tokens:
                    return self.finish(task_id, FAILED, REASON_CAP_TOKENS)
                if self.spent_pusd[task_id] > max_pusd:
                    return self.finish(task_id, FAILED, REASON_CAP_USD)
            if action.tool >= 0:
                yield from self.use_tool(task_id, action)
                if not action.tool_ok:
                    return self.finish(task_id, FAILED, REASON_TOOL)
            if action.corrects:
                self.num_corrections[task_id] += 1
        if plan.stop_reason is not None:
            return self.finish(task_id, FAILED, FAIL_REASONS.index(plan.stop_reason))
        return self.finish(task_id, COMPLETED, NO_REASON)

    def serve_call(self, task_id: int, type_index: int, action, backend_index: int,
                   escalated: int = 0):
        """One LLM call; None when it succeeded, else the task's fail reason."""
        env = self.env
        backend = self.backends[backend_index]
        tokens_in, cached = action.tokens_in, action.tokens_cached
        out, reasoning = action.tokens_out, action.tokens_reasoning
        if backend.tokenizer_factor != 1.0:
            tokens_in, cached, out, reasoning = (
                int(n * backend.tokenizer_factor + 0.5)
                for n in (tokens_in, cached, out, reasoning))
        requested_at = env.now
        self.backend_requests[backend_index] += 1
        self.backend_tokens[backend_index] += tokens_in + out
        status = CALL_OK
        if tokens_in > backend.context_window_tokens:
            status = CALL_CONTEXT_OVERFLOW
        elif backend.limits is not None and backend.retry is None:
            admitted_at = backend.limits.admit_at(requested_at, tokens_in + out)
            if admitted_at is None:
                status = CALL_OVER_TPM
            elif admitted_at > requested_at:
                yield env.timeout(admitted_at - requested_at)
        retries = 0
        if status == CALL_OK and backend.limits is not None and backend.retry:
            status, retries = yield from backend.retry_until_admitted(
                env, tokens_in + out)
        if status != CALL_OK:
            self.record_call(task_id, type_index, action, backend_index, requested_at,
                             env.now, env.now, tokens_in, cached, out,
                             reasoning, status, escalated=escalated, retries=retries)
            return status

        write = 0
        if backend.pool is None:
            started_at = env.now
            if backend.prompt_caches is not None:
                cached, write = backend.prompt_cache(task_id).use(started_at,
                                                                  tokens_in)
            if action.backend == backend_index and not escalated:
                ttft, tpot = action.ttft_s, action.tpot_s
            elif escalated and action.escalation_ttft_s == action.escalation_ttft_s:
                ttft, tpot = action.escalation_ttft_s, action.escalation_tpot_s
            else:
                ttft, tpot = backend.ttft_s(), backend.time_per_output_token_s()
            yield env.timeout(ttft + out * tpot)
            self.record_call(task_id, type_index, action, backend_index, requested_at,
                             started_at, started_at + ttft, tokens_in, cached, out,
                             reasoning, CALL_OK, write=write, escalated=escalated,
                             retries=retries)
        else:
            sequence = backend.pool.request(tokens_in - cached, max(out - 1, 0))
            yield sequence.done
            self.record_call(task_id, type_index, action, backend_index, requested_at,
                             sequence.started_at, sequence.first_token_at, tokens_in,
                             cached, out, reasoning, CALL_OK, sequence.replica,
                             escalated=escalated)
        self.count_call(task_id, backend_index, tokens_in, cached, write, out)
        return None

    def count_call(self, task_id: int, backend_index: int, tokens_in: int,
                   cached: int, write: int, out: int) -> None:
        """Add a served call to its task's totals (and spend, for dollar caps)."""
        self.num_calls[task_id] += 1
        self.tokens_in[task_id] += tokens_in
        self.tokens_cached[task_id] += cached
        self.tokens_out[task_id] += out
        if self.call_cost is not None:
            self.spent_pusd[task_id] += self.call_cost(backend_index, tokens_in, cached,
                                                       write, out)

    def record_call(self, task_id, type_index, action, backend_index, requested_at,
                    started_at, first_token_at, tokens_in, cached, out, reasoning,
                    status, replica=-1, write=0, escalated=0, retries=0) -> None:
        """Append one call to the call records."""
        self.call_rows.append((
            task_id, type_index, action.step_index, action.kind, backend_index,
            requested_at, started_at, first_token_at, self.env.now, tokens_in,
            cached, write, out, reasoning, status, replica, escalated, retries))
        if self.debug:
            self.log_call(task_id, backend_index, tokens_in, out, status)

    def log_call(self, task_id: int, backend_index: int, tokens_in: int, out: int,
                 status: int) -> None:
        """One debug line per call (only when debug logging is on)."""
        logger.debug("t=%.3fs task=%d call backend=%s in=%d out=%d status=%d",
                     self.env.now, task_id, self.backends[backend_index].name,
                     tokens_in, out, status)

    def use_tool(self, task_id: int, action):
        """Every attempt of one tool call, each waiting for a free slot."""
        env = self.env
        tool = action.tool
        slots = self.tool_slots[tool]
        latencies = action.tool_latencies_s
        last = len(latencies) - 1
        rows = self.tool_rows
        for attempt, latency in enumerate(latencies):
            requested_at = env.now
            self.tool_demand_s[tool] += latency
            if slots is None:
                yield env.timeout(latency)
                started_at = requested_at
            else:
                handover = slots.take()
                if handover is not None:
                    yield handover
                started_at = env.now
                yield env.timeout(latency)
                slots.give_back()
            rows.append((task_id, tool, requested_at, started_at, env.now,
                         attempt == last and action.tool_ok))
            self.num_tool_calls[task_id] += 1

    def finish(self, task_id: int, status: int, reason: int) -> None:
        """Record a task's end."""
        self.status[task_id] = status
        self.reason[task_id] = reason
        for backend in self.caching_backends:
            backend.prompt_caches.pop(task_id, None)
        self.finished_at[task_id] = self.env.now
        if self.debug:
            logger.debug("t=%.3fs task=%d %s %s", self.env.now, task_id,
                         TASK_STATUSES[status], FAIL_REASONS[reason])


def simulate(scenario: Scenario, call_cost: CallCost | None = None,
             progress: Callable[[float], None] | None = None,
             arrivals: Arrivals | None = None,
             settle: tuple[int, int] | None = None,
             event_by_event: bool = False) -> RunResult:
    """Run a validated scenario to its horizon and return its records.

    Args:
        scenario: a validated scenario; the engine trusts it.
        call_cost: prices one call in pico-USD; needed only for `max_usd` caps.
        progress: called with the simulated fraction done, up to 100 times.
        arrivals: given arrivals instead of drawing them from the scenario.
        settle: task ids [first, last): stop as soon as every one of them has
            ended (arrivals keep coming until then), or at the horizon. The
            result's `horizon_s` is the time the run stopped.
        event_by_event: never take the contention-free shortcut
            (`simulator.vectorised`); the result is the same either way.
    """
    wall_started = time.perf_counter()
    streams = Streams(scenario.seed)
    model = _Model(scenario, streams, call_cost)
    drawn = arrivals is None
    if arrivals is None:
        arrivals = draw_arrivals(scenario, streams)
    planners = build_planners(scenario, streams, arrivals)
    if not event_by_event:
        priced = model.call_cost is not None
        shortcut = try_vectorised(scenario, arrivals, planners, settle, drawn,
                                  wall_started, model.debug, priced)
        if shortcut is not None:
            if progress is not None:
                progress(1.0)
            return shortcut
    model.start_tasks(arrivals, planners)
    monitor = Monitor(model.env, pool_gauges(model.backends, scenario.tools,
                                             model.tool_slots), scenario.horizon_s)
    usage = PoolUsage(model.env, model.backends, scenario)
    logger.info("start scenario=%s seed=%d horizon=%.0fs tasks=%d", scenario.name,
                scenario.seed, scenario.horizon_s, len(arrivals))

    collecting = gc.isenabled()
    gc.disable()  # the records are millions of acyclic tuples: collector
    try:          # passes over them cost a quarter of a run and free nothing
        horizon = advance(model.env, model.status, arrivals, scenario.horizon_s,
                          progress, settle)
    finally:
        if collecting:
            gc.enable()
    wall_s = time.perf_counter() - wall_started

    result = RunResult(
        scenario=scenario,
        horizon_s=horizon,
        expected_arrivals=expected_in_window(scenario, arrivals, drawn),
        tasks=model.tasks.arrays(model.started),
        calls=model.calls.arrays(CALL_DTYPES),
        tool_calls=model.tool_calls.arrays(TOOL_DTYPES),
        task_type_names=list(scenario.task_types),
        backend_names=list(scenario.backends),
        tool_names=list(scenario.tools),
        tool_demand_s=model.tool_demand_s,
        backend_requests=model.backend_requests,
        backend_tokens=model.backend_tokens,
        gpu_usage=usage.in_window(),
        samples=monitor.arrays(),
        wall_s=wall_s,
        trace=arrivals.trace,
    )
    logger.info("end tasks=%d calls=%d simulated=%.0fs wall=%.2fs",
                len(result.tasks["task_id"]), len(result.calls["task_id"]),
                horizon, wall_s)
    return result
