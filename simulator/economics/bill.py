"""Bills: USD line items per backend, model and token class, per tool, per GPU.

Line amounts are exact (Decimal, from integer pico-dollar sums). A bill is
shown in cents as an invoice is: each line rounded half up, and the shown
total the sum of the shown lines (it may differ from the exact total by up to
half a cent a line; the exact total is kept beside it). The monthly bill
scales usage (tokens, tool calls) by expected task volume: the tasks the
billing month expects over the tasks the measured window expected, so a
window that covers a busy weekday is not mistaken for an average day. GPU
capacity is billed for the month itself.
Limitations: the projection assumes the window's mix of tasks and outcomes is
the month's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from simulator.economics.capacity import capacity_items
from simulator.economics.pricing import (
    INT64_SAFE,
    PICO_PER_USD,
    backend_rates,
    bill_items,
    call_costs_pusd,
)
from simulator.records import RunResult
from simulator.scenario.prices import TOKENS_PER_MTOK
from simulator.scenario.schema import ApiBackend
from simulator.workload.arrivals import expected_arrivals_in_month

CENT = Decimal("0.01")
NANO = Decimal("1e-9")


@dataclass(frozen=True)
class BillLine:
    """One line: a quantity of something at a unit price."""

    backend: str
    model: str
    item: str
    quantity: Decimal
    unit: str
    unit_price_usd: Decimal
    amount_usd: Decimal
    basis: str = "usage"


@dataclass(frozen=True)
class Bill:
    """Line items for a period, with exact and shown totals."""

    period: str
    lines: tuple[BillLine, ...]

    @property
    def total_usd(self) -> Decimal:
        """Exact sum of the lines."""
        return sum((line.amount_usd for line in self.lines), Decimal(0))

    def shown_total_usd(self) -> Decimal:
        """The sum of the shown lines, as an invoice adds them up."""
        return sum(self.shown_amounts_usd(), Decimal(0))

    def shown_amounts_usd(self) -> list[Decimal]:
        """Each line rounded half up to the cent."""
        return [line.amount_usd.quantize(CENT, rounding=ROUND_HALF_UP)
                for line in self.lines]

    def scaled(self, factor: Decimal, period: str) -> Bill:
        """The usage lines times `factor`, for another period, to the nano-dollar."""
        return Bill(period, tuple(
            replace(line, quantity=(line.quantity * factor).quantize(NANO),
                    amount_usd=(line.amount_usd * factor).quantize(NANO))
            for line in self.lines if line.basis == "usage"))


def allocate_cents(amounts: list[Decimal], total: Decimal) -> list[Decimal]:
    """Round amounts to cents so they sum to `total`.

    Each amount is rounded half up; if the rounded amounts miss the total, the
    cents that differ go to the amounts whose rounding moved them furthest the
    other way, so as few lines as possible differ from their own rounding.
    """
    shown = [a.quantize(CENT, rounding=ROUND_HALF_UP) for a in amounts]
    left = int((total - sum(shown, Decimal(0))) / CENT)
    if not amounts or left == 0:
        return shown
    step = CENT if left > 0 else -CENT
    order = sorted(range(len(amounts)), key=lambda i: (
        (amounts[i] - shown[i]) * (1 if left > 0 else -1), -i), reverse=True)
    rounds, extra = divmod(abs(left), len(order))
    for position, index in enumerate(order):
        shown[index] += step * (rounds + (1 if position < extra else 0))
    return shown


def run_bill(run: RunResult) -> Bill:
    """Bill of the measured window: calls, tool attempts and GPU capacity."""
    lines = _usage_lines(run) + _capacity_lines(run, whole_month=False)
    window_h = (run.horizon_s - run.scenario.warmup_s) / 3600
    return Bill(f"simulated {window_h:g} h", tuple(lines))


def _usage_lines(run: RunResult) -> list[BillLine]:
    """Token lines of API backends and call lines of priced tools."""
    scenario = run.scenario
    rates = backend_rates(scenario)
    lines: list[BillLine] = []
    for index, (name, backend) in enumerate(scenario.backends.items()):
        if not isinstance(backend, ApiBackend):
            continue
        for item, tokens, rate in bill_items(run.calls, index, rates[index]):
            if tokens == 0 and _optional(item, backend):
                continue
            lines.append(_token_line(name, backend.model, item, tokens, rate))
    tool_ids = run.tool_calls["tool"]
    for index, (name, tool) in enumerate(scenario.tools.items()):
        count = int(np.count_nonzero(tool_ids == index))
        if tool.usd_per_call > 0:
            lines.append(BillLine(name, "tool", "calls", Decimal(count), "calls",
                                  tool.usd_per_call, tool.usd_per_call * count))
    return lines


def _capacity_lines(run: RunResult, whole_month: bool) -> list[BillLine]:
    """Lines of every GPU backend for the window or for the billing month."""
    scenario = run.scenario
    window_s = run.horizon_s - scenario.warmup_s
    lines = []
    for name, backend in scenario.backends.items():
        if isinstance(backend, ApiBackend):
            continue
        usage = run.gpu_usage[name]
        busy_frac = usage["busy_s"] / usage["live_s"] if usage["live_s"] else 0.0
        lifetimes = _clipped(usage["lifetimes"], scenario.warmup_s, run.horizon_s)
        for item in capacity_items(backend, busy_frac=busy_frac, period_s=window_s,
                                   month_hours=scenario.billing.hours(),
                                   whole_month=whole_month, lifetimes_s=lifetimes):
            lines.append(BillLine(name, backend.model, *item, basis="capacity"))
    return lines


def month_factor(run: RunResult) -> Decimal:
    """Expected tasks in the billing month over expected tasks in the window."""
    scenario = run.scenario
    if scenario.arrivals.kind == "trace":  # no rate model: scale by time
        window_s = run.horizon_s - scenario.warmup_s
        return Decimal(repr(scenario.billing.hours())) * 3600 / Decimal(repr(window_s))
    month_tasks = expected_arrivals_in_month(scenario)
    if run.expected_arrivals > 0:
        return Decimal(repr(month_tasks)) / Decimal(repr(run.expected_arrivals))
    hours = Decimal(repr(scenario.billing.hours()))
    return hours * 3600 / Decimal(repr(run.horizon_s))


def monthly_bill(run: RunResult) -> Bill:
    """The billing month: usage scaled by task volume, capacity for the month."""
    usage = Bill("", tuple(_usage_lines(run))).scaled(month_factor(run), "")
    capacity = _capacity_lines(run, whole_month=True)
    return Bill(run.scenario.billing.label(), usage.lines + tuple(capacity))


def task_costs_pusd(run: RunResult, capacity: bool = True) -> np.ndarray:
    """Cost of each task in pico-USD: LLM calls, tool calls and, unless
    `capacity` is False, its share of GPU capacity.

    A GPU backend's window cost is shared among its calls by the tokens each
    one processed (uncached input plus output), rounded down to the pico-dollar.
    """
    call_costs = call_costs_pusd(run.calls, backend_rates(run.scenario))
    tool_pusd = [int(t.usd_per_call * PICO_PER_USD)
                 for t in run.scenario.tools.values()]
    tool_total = sum(price * int(np.count_nonzero(run.tool_calls["tool"] == index))
                     for index, price in enumerate(tool_pusd))
    capacity_total = int(sum((line.amount_usd for line in _capacity_lines(
        run, whole_month=False)), Decimal(0)) * PICO_PER_USD) if capacity else 0
    exact = call_costs.dtype == object or tool_total + capacity_total >= INT64_SAFE
    dtype = object if exact else np.int64
    call_costs = call_costs.astype(dtype)
    if capacity:
        call_costs = call_costs + _capacity_shares(run).astype(dtype)
    costs = np.zeros(len(run.tasks["task_id"]), dtype=dtype)
    if exact:
        costs[:] = 0
    rows = np.searchsorted(run.tasks["task_id"], run.calls["task_id"])
    np.add.at(costs, rows, call_costs)
    tool_prices = np.array(tool_pusd or [0], dtype=dtype)
    if len(run.tool_calls["tool"]):
        np.add.at(costs, np.searchsorted(run.tasks["task_id"],
                                         run.tool_calls["task_id"]),
                  tool_prices[run.tool_calls["tool"].astype(np.intp)])
    return costs


def _clipped(lifetimes: list | None, start: float, end: float) -> list[float] | None:
    """Each replica's seconds alive inside [start, end]; None for fixed pools."""
    if lifetimes is None:
        return None
    return [max(0.0, min(stop, end) - max(launch, start))
            for launch, stop in lifetimes if min(stop, end) > max(launch, start)]


def monthly_capacity_by_task_type(run: RunResult) -> list[Decimal]:
    """Each task type's share of the month's GPU capacity cost, by tokens."""
    shares = [Decimal(0)] * len(run.task_type_names)
    calls = run.calls
    work = _work_tokens(calls)
    for line in _capacity_lines(run, whole_month=True):
        mine = calls["backend"] == run.backend_names.index(line.backend)
        total = int(work[mine].sum())
        for type_index in range(len(shares)):
            part = int(work[mine & (calls["task_type"] == type_index)].sum())
            if total:
                shares[type_index] += line.amount_usd * part / total
    return shares


def _work_tokens(calls: dict[str, np.ndarray]) -> np.ndarray:
    """Tokens a GPU processes for each call: uncached input plus output."""
    return (calls["tokens_in"] - calls["tokens_cached"] + calls["tokens_out"]) * (
        calls["status"] == 0)


def _capacity_shares(run: RunResult) -> np.ndarray:
    """Each call's share of its GPU backend's window cost, in pico-USD."""
    lines = _capacity_lines(run, whole_month=False)
    if not lines:
        return np.zeros(len(run.calls["task_id"]), dtype=np.int64)
    shares = np.zeros(len(run.calls["task_id"]), dtype=object)
    shares[:] = 0
    window = {line.backend: Decimal(0) for line in lines}
    for line in lines:
        window[line.backend] += line.amount_usd
    calls = run.calls
    work = _work_tokens(calls)
    for index, name in enumerate(run.backend_names):
        if name not in window:
            continue
        mine = calls["backend"] == index
        total = int(work[mine].sum())
        if total:
            cost = int(window[name] * PICO_PER_USD)
            shares[mine] = [cost * int(w) // total for w in work[mine]]
    return shares


def _optional(item: str, backend: ApiBackend) -> bool:
    """Lines shown only when used: cache writes without a cache, long context."""
    return "long context" in item or (item.startswith("cache write")
                                      and backend.prompt_cache_ttl is None)


def _token_line(backend: str, model: str, item: str, tokens: int,
                pusd_per_token: int) -> BillLine:
    usd_per_mtok = Decimal(pusd_per_token * TOKENS_PER_MTOK) / PICO_PER_USD
    return BillLine(backend, model, item, Decimal(tokens), "tokens", usd_per_mtok,
                    Decimal(tokens * pusd_per_token) / PICO_PER_USD)
