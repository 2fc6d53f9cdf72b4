"""Bills: USD line items per backend, model and token class, and per tool.

Line amounts are exact (Decimal, from integer pico-dollar sums). A bill is
shown in cents: each line is rounded by the largest-remainder rule, so the
shown lines always add up to the shown total, which is the exact total
rounded to the cent. The monthly bill scales the simulated window by expected
task volume: the tasks an average (or named calendar) month expects, divided
by the tasks the simulated window expected, so a window that covers a busy
weekday is not mistaken for an average day.
Limitations: the projection assumes the window's mix of tasks and outcomes is
the month's; fixed and capacity costs do not exist yet (API backends only).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

import numpy as np

from simulator.economics.pricing import (
    PICO_PER_USD,
    TOKEN_CLASSES,
    TokenRates,
    backend_rates,
    call_costs_pusd,
)
from simulator.engine import RunResult
from simulator.scenario.prices import TOKENS_PER_MTOK
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
        """The exact total rounded half up to the cent."""
        return self.total_usd.quantize(CENT, rounding=ROUND_HALF_UP)

    def shown_amounts_usd(self) -> list[Decimal]:
        """Each line in cents, adding up exactly to shown_total_usd()."""
        return allocate_cents([line.amount_usd for line in self.lines],
                              self.shown_total_usd())

    def scaled(self, factor: Decimal, period: str) -> Bill:
        """The same lines times `factor`, for another period, to the nano-dollar."""
        return Bill(period, tuple(
            replace(line, quantity=(line.quantity * factor).quantize(NANO),
                    amount_usd=(line.amount_usd * factor).quantize(NANO))
            for line in self.lines))


def allocate_cents(amounts: list[Decimal], total: Decimal) -> list[Decimal]:
    """Round amounts to cents so they sum to `total` (largest remainder)."""
    floors = [a.quantize(CENT, rounding=ROUND_FLOOR) for a in amounts]
    left = int((total - sum(floors, Decimal(0))) / CENT)
    by_remainder = sorted(range(len(amounts)),
                          key=lambda i: (amounts[i] - floors[i], -i), reverse=True)
    step = CENT if left >= 0 else -CENT
    order = by_remainder if left >= 0 else by_remainder[::-1]
    for position in range(abs(left) if order else 0):
        floors[order[position % len(order)]] += step
    return floors


def run_bill(run: RunResult) -> Bill:
    """Bill of the simulated window: successful calls and tool attempts."""
    scenario = run.scenario
    rates = backend_rates(scenario)
    calls = run.calls
    ok = calls["status"] == 0
    lines: list[BillLine] = []
    for index, (name, backend) in enumerate(scenario.backends.items()):
        mine = ok & (calls["backend"] == index)
        cached = int(calls["tokens_cached"][mine].sum())
        quantities = {"input": int(calls["tokens_in"][mine].sum()) - cached,
                      "cached_input": cached,
                      "output": int(calls["tokens_out"][mine].sum())}
        for token_class in TOKEN_CLASSES:
            lines.append(_token_line(name, backend.model, token_class,
                                     quantities[token_class], rates[index]))
    tool_ids = run.tool_calls["tool"]
    for index, (name, tool) in enumerate(scenario.tools.items()):
        count = int(np.count_nonzero(tool_ids == index))
        if tool.usd_per_call > 0:
            lines.append(BillLine(name, "tool", "calls", Decimal(count), "calls",
                                  tool.usd_per_call, tool.usd_per_call * count))
    return Bill(f"simulated {run.horizon_s / 3600:g} h", tuple(lines))


def month_factor(run: RunResult) -> Decimal:
    """Expected tasks in the billing month over expected tasks in the window."""
    scenario = run.scenario
    month_tasks = expected_arrivals_in_month(scenario)
    if run.expected_arrivals > 0:
        return Decimal(repr(month_tasks)) / Decimal(repr(run.expected_arrivals))
    hours = Decimal(repr(scenario.billing.hours()))
    return hours * 3600 / Decimal(repr(run.horizon_s))


def monthly_bill(run: RunResult) -> Bill:
    """The window's bill projected to the scenario's billing month."""
    return run_bill(run).scaled(month_factor(run), run.scenario.billing.label())


def task_costs_pusd(run: RunResult) -> np.ndarray:
    """Cost of each task (LLM calls and tool calls) in pico-USD."""
    rates = backend_rates(run.scenario)
    call_costs = call_costs_pusd(run.calls, rates)
    costs = np.zeros(len(run.tasks["task_id"]), dtype=call_costs.dtype)
    if costs.dtype == object:
        costs[:] = 0
    np.add.at(costs, run.calls["task_id"], call_costs)
    tool_prices = np.array([int(t.usd_per_call * PICO_PER_USD)
                            for t in run.scenario.tools.values()] or [0],
                           dtype=costs.dtype)
    if len(run.tool_calls["tool"]):
        np.add.at(costs, run.tool_calls["task_id"],
                  tool_prices[run.tool_calls["tool"].astype(np.intp)])
    return costs


def _token_line(backend: str, model: str, token_class: str, tokens: int,
                rates: TokenRates) -> BillLine:
    pusd_per_token = getattr(rates, token_class)
    usd_per_mtok = Decimal(pusd_per_token * TOKENS_PER_MTOK) / PICO_PER_USD
    item = f"{token_class.replace('_', ' ')} tokens"
    return BillLine(backend, model, item, Decimal(tokens),
                    "tokens", usd_per_mtok,
                    Decimal(tokens * pusd_per_token) / PICO_PER_USD)
