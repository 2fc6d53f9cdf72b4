"""The headline figures of one run, as plain data with stable keys.

summary.json is this dictionary; its keys are documented in the README and
only ever added to. Money appears twice where it matters: `*_usd` numbers
rounded to the cent (bill lines add up to the total) and `exact_*_usd`
strings. Per-task figures are means over tasks that ended (completed or
failed); cost per completed task is the spend of ended tasks (failures are
waste a success pays for) over completed tasks; latency percentiles cover
completed tasks only. `warnings` says in words where figures mislead.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from simulator.catalogue import PRESETS
from simulator.economics.bill import (
    Bill,
    allocate_cents,
    month_factor,
    monthly_bill,
    monthly_capacity_by_task_type,
    run_bill,
    task_costs_pusd,
)
from simulator.economics.cautions import warnings_for
from simulator.economics.pricing import PICO_PER_USD
from simulator.economics.venues import venues
from simulator.metrics import percentiles, time_average_in_system, window_view
from simulator.records import (
    CALL_CONTEXT_OVERFLOW,
    CALL_OVER_TPM,
    CALL_RATE_LIMITED,
    COMPLETED,
    FAIL_REASONS,
    FAILED,
    IN_FLIGHT,
    RunResult,
)

SCHEMA_VERSION = 1


def summarize(run: RunResult, version: str) -> dict:
    """Every headline figure of a run, JSON-ready."""
    full, run = run, window_view(run)
    scenario = run.scenario
    costs = task_costs_pusd(run)
    factor = month_factor(run)
    window_bill, month_bill = run_bill(run), monthly_bill(run)
    tasks = run.tasks
    idle = [0.0]
    tokens = int(run.calls["tokens_in"][run.calls["status"] == 0].sum()
                 + run.calls["tokens_out"][run.calls["status"] == 0].sum())
    ended = int(np.count_nonzero(tasks["status"] != IN_FLIGHT))
    summary = {
        "schema_version": SCHEMA_VERSION,
        "flipsim_version": version,
        "scenario": {
            "name": scenario.name, "seed": scenario.seed,
            "horizon_s": scenario.horizon_s, "warmup_s": scenario.warmup_s,
            "start_weekday": scenario.start_weekday,
            "percentile_method": scenario.percentile_method,
            "baseline_task_type": scenario.baseline_task_type,
        },
        "billing_month": {"label": scenario.billing.label(),
                          "hours": scenario.billing.hours(),
                          "month_factor": float(factor)},
        "tasks": _outcomes(tasks, np.ones(len(tasks["status"]), dtype=bool)),
        "task_types": _task_types(run, costs, factor, month_bill, idle),
        "calls": _calls(run),
        "tools": _tools(run),
        "bill": bill_dict(window_bill),
        "monthly_bill": bill_dict(month_bill),
        "usd_per_task": _round(window_bill.total_usd / ended) if ended else None,
        "usd_per_mtok": (_round(window_bill.total_usd * 10**6 / tokens)
                         if tokens else None),
        "gpu_backends": _gpu_backends(run, month_bill),
        "monthly_idle_capacity_usd": idle[0],
        "venues": venues(run, factor),
        "trace": full.trace,
        "littles_law": _little(full),
    }
    summary["warnings"] = warnings_for(summary)
    return summary


def bill_dict(bill: Bill) -> dict:
    """A bill as plain data; `amount_usd` values add up to `total_usd`."""
    shown = bill.shown_amounts_usd()
    return {
        "period": bill.period,
        "lines": [{"backend": line.backend, "model": line.model, "item": line.item,
                   "quantity": float(line.quantity), "unit": line.unit,
                   "unit_price_usd": float(line.unit_price_usd),
                   "amount_usd": float(cents),
                   "exact_amount_usd": _exact(line.amount_usd)}
                  for line, cents in zip(bill.lines, shown, strict=True)],
        "total_usd": float(bill.shown_total_usd()),
        "exact_total_usd": _exact(bill.total_usd),
    }


def _outcomes(tasks: dict, mask: np.ndarray) -> dict:
    status = tasks["status"][mask]
    reasons = tasks["reason"][mask][status == FAILED]
    by_reason = {FAIL_REASONS[code]: int(np.count_nonzero(reasons == code))
                 for code in sorted(set(reasons.tolist()))}
    arrived = int(mask.sum())
    completed = int(np.count_nonzero(status == COMPLETED))
    failed = int(np.count_nonzero(status == FAILED))
    in_flight = int(np.count_nonzero(status == IN_FLIGHT))
    return {"arrived": arrived, "completed": completed, "failed": failed,
            "in_flight": in_flight, "failed_by_reason": by_reason,
            "conserved": arrived == completed + failed + in_flight}


def _task_types(run: RunResult, costs: np.ndarray, factor: Decimal,
                month_bill: Bill, idle_capacity: list[float]) -> dict:
    scenario, tasks = run.scenario, run.tasks
    per_type: dict[str, dict] = {}
    monthly: list[Decimal] = []
    usage_costs = task_costs_pusd(run, capacity=False)
    capacity = monthly_capacity_by_task_type(run)
    for index, (name, spec) in enumerate(scenario.task_types.items()):
        mask = tasks["task_type"] == index
        ended = mask & (tasks["status"] != IN_FLIGHT)
        done = mask & (tasks["status"] == COMPLETED)
        mine_calls = (run.calls["task_type"] == index) & (run.calls["status"] == 0)
        spend = Decimal(int(costs[mask].sum())) / PICO_PER_USD
        ended_spend = Decimal(int(costs[ended].sum())) / PICO_PER_USD
        latency = tasks["finished_at"][done] - tasks["arrived_at"][done]
        pct = percentiles(latency, scenario.percentile_method)
        target = spec.latency_target_p95_s
        met = None
        if target is not None and pct["p95"].value is not None:
            met = bool(pct["p95"].value <= target)
        entry = _outcomes(tasks, mask)
        entry.update({
            "share": spec.share,
            "llm_calls_per_task": _mean(tasks["num_llm_calls"][ended]),
            "tool_calls_per_task": _mean(tasks["num_tool_calls"][ended]),
            "corrections_per_task": _mean(tasks["num_corrections"][ended]),
            "escalations_per_task": (round(float(np.count_nonzero(
                mine_calls & (run.calls["escalated"] == 1))) / int(ended.sum()), 6)
                if ended.any() else None),
            "calls_by_backend": {name: int(np.count_nonzero(
                mine_calls & (run.calls["backend"] == b))) for b, name in
                enumerate(run.backend_names) if np.any(
                    mine_calls & (run.calls["backend"] == b))},
            "tokens_in_per_task": _mean(tasks["tokens_in"][ended]),
            "tokens_cached_per_task": _mean(tasks["tokens_cached"][ended]),
            "tokens_out_per_task": _mean(tasks["tokens_out"][ended]),
            "tokens_per_completed_task": _mean(tasks["tokens_in"][done]
                                               + tasks["tokens_out"][done]),
            "cost_per_task_usd": _mean(costs[ended] / PICO_PER_USD, 9),
            "cost_per_completed_task_usd": (_round(ended_spend / int(done.sum()))
                                            if done.any() else None),
            "spend_usd": _round(spend),
            "monthly_spend_usd": None,  # filled below, in cents that add up
            "latency_s": {key: p.as_dict() for key, p in pct.items()},
            "mean_latency_s": _mean(latency),
            "latency_target_p95_s": target,
            "latency_target_met": met,
        })
        per_type[name] = entry
        usage = Decimal(int(usage_costs[mask].sum())) / PICO_PER_USD
        monthly.append(usage * factor + capacity[index])
    idle = month_bill.total_usd - sum(monthly, Decimal(0))
    shown = allocate_cents([*monthly, max(idle, Decimal(0))],
                           month_bill.shown_total_usd())
    for entry, cents in zip(per_type.values(), shown, strict=False):
        entry["monthly_spend_usd"] = float(cents)
    idle_capacity[0] = float(shown[-1])
    _add_multipliers(per_type, scenario.baseline_task_type)
    return per_type


def _add_multipliers(per_type: dict, baseline: str | None) -> None:
    base = per_type.get(baseline) if baseline else None
    for entry in per_type.values():
        entry["compute_multiplier"] = _ratio(entry, base, "tokens_per_completed_task")
        entry["cost_multiplier"] = _ratio(entry, base, "cost_per_completed_task_usd")


def _ratio(entry: dict, base: dict | None, key: str) -> float | None:
    if base is None or not base.get(key) or entry.get(key) is None:
        return None
    return round(entry[key] / base[key], 6)


def _calls(run: RunResult) -> dict:
    calls, method = run.calls, run.scenario.percentile_method
    ok = calls["status"] == 0
    limited = [index for index, spec in enumerate(run.scenario.backends.values())
               if getattr(spec, "requests_per_min", None)
               or getattr(spec, "tokens_per_min", None)]
    waited = (calls["started_at"] > calls["requested_at"]) & np.isin(
        calls["backend"], limited)
    per_backend = {}
    for index, name in enumerate(run.backend_names):
        mine = ok & (calls["backend"] == index)
        ttft = calls["first_token_at"][mine] - calls["requested_at"][mine]
        spec = run.scenario.backends[name]
        limit = getattr(spec, "requests_per_min", None)
        offered = (run.backend_requests[index] * 60 / (run.horizon_s * limit)
                   if limit else None)
        tokens_limit = getattr(spec, "tokens_per_min", None)
        offered_tokens = (run.backend_tokens[index] * 60
                          / (run.horizon_s * tokens_limit) if tokens_limit else None)
        per_backend[name] = {
            "calls": int(mine.sum()),
            "requested": run.backend_requests[index],
            "offered_requests_per_min_frac": (None if offered is None
                                              else round(offered, 6)),
            "offered_tokens_per_min_frac": (None if offered_tokens is None
                                            else round(offered_tokens, 6)),
            "unstable": max(offered or 0, offered_tokens or 0) >= 1,
            "tokens_in": int(calls["tokens_in"][mine].sum()),
            "tokens_cached": int(calls["tokens_cached"][mine].sum()),
            "tokens_out": int(calls["tokens_out"][mine].sum()),
            "rate_limited": int(np.count_nonzero(mine & waited)),
            "ttft_s": {k: p.as_dict() for k, p in percentiles(ttft, method).items()},
        }
    latency = calls["finished_at"][ok] - calls["requested_at"][ok]
    ttft = calls["first_token_at"][ok] - calls["requested_at"][ok]
    return {
        "count": len(calls["status"]), "ok": int(ok.sum()),
        "context_overflows": int(np.count_nonzero(
            calls["status"] == CALL_CONTEXT_OVERFLOW)),
        "over_tokens_per_min": int(np.count_nonzero(calls["status"] == CALL_OVER_TPM)),
        "refused_after_retries": int(np.count_nonzero(
            calls["status"] == CALL_RATE_LIMITED)),
        "rate_limited": int(np.count_nonzero(ok & waited)),
        "rate_limit_wait_s": _round(float(np.sum(
            (calls["started_at"] - calls["requested_at"])[ok & waited])), 3),
        "ttft_s": {k: p.as_dict() for k, p in percentiles(ttft, method).items()},
        "latency_s": {k: p.as_dict() for k, p in percentiles(latency, method).items()},
        "backends": per_backend,
    }


def _gpu_backends(run: RunResult, month_bill: Bill) -> dict:
    """Per GPU backend: utilisation, latency, throughput and cost per token."""
    calls, method = run.calls, run.scenario.percentile_method
    window_s = run.horizon_s - run.scenario.warmup_s
    found = {}
    for name, usage in run.gpu_usage.items():
        mine = (calls["status"] == 0) & (calls["backend"] == run.backend_names.index(
            name))
        out = calls["tokens_out"][mine]
        decode_s = calls["finished_at"][mine] - calls["first_token_at"][mine]
        tpot = decode_s[out > 1] / (out[out > 1] - 1)
        tokens_per_s = float(out.sum()) / window_s
        month_usd = sum((shown for line, shown in zip(
            month_bill.lines, month_bill.shown_amounts_usd(), strict=True)
            if line.backend == name), Decimal(0))  # as the bill shows it
        month_tokens = tokens_per_s * run.scenario.billing.hours() * 3600
        found[name] = {
            "kind": run.scenario.backends[name].kind,
            "replicas": usage["replicas"], "slots": usage["slots"],
            "utilisation_frac": round(usage["slot_s"] / (
                usage["slots_per_replica"] * usage["live_s"]), 6)
            if usage["live_s"] else 0.0,
            "busy_frac": round(usage["busy_s"] / usage["live_s"], 6)
            if usage["live_s"] else 0.0,
            "replica_hours": round(usage["live_s"] / 3600, 6),
            "calls": int(mine.sum()),
            "mean_wait_s": _mean(calls["started_at"][mine]
                                 - calls["requested_at"][mine]),
            "ttft_s": _pct(calls["first_token_at"][mine] - calls["requested_at"][mine],
                           method),
            "tpot_s": _pct(tpot, method),
            "output_tokens_per_s": round(tokens_per_s, 3),
            "queue_growing": _queue_growing(run, name),
            "peak_output_tokens_per_s": _peak(run.scenario.backends[name]),
            "monthly_usd": _round(month_usd, 2),
            "usd_per_mtok_output": (_round(month_usd * 10**6 / Decimal(
                repr(month_tokens)), 6) if month_tokens else None),
            "output_tokens_per_s_per_usd_per_hour": (
                round(tokens_per_s / float(month_usd / Decimal(
                    repr(run.scenario.billing.hours()))), 6) if month_usd else None),
        }
    return found


def _queue_growing(run: RunResult, name: str) -> bool:
    """True when the sampled queue ends long and longer than it was mid-run."""
    waiting = run.samples.get(f"backend:{name}:waiting")
    if waiting is None or len(waiting) < 8:
        return False
    quarter = len(waiting) // 4
    late, middle = waiting[-quarter:].mean(), waiting[quarter:2 * quarter].mean()
    slots = run.gpu_usage[name]["slots"]
    return bool(waiting[-1] > slots and late > 1.5 * middle)


def _peak(backend: object) -> float | None:
    """Calibrated saturated throughput of a preset deployment, all replicas."""
    performance = backend.performance
    if performance.kind != "preset":
        return None
    return PRESETS[performance.name].calibrated_tokens_per_s * backend.replicas


def _pct(values: np.ndarray, method: str) -> dict:
    return {key: p.as_dict() for key, p in percentiles(values, method).items()}


def _tools(run: RunResult) -> dict:
    tool_calls = run.tool_calls
    horizon = run.horizon_s - run.scenario.warmup_s  # the measured window
    found = {}
    for index, (name, spec) in enumerate(run.scenario.tools.items()):
        mine = tool_calls["tool"] == index
        wait = tool_calls["started_at"][mine] - tool_calls["requested_at"][mine]
        busy = float(np.sum(tool_calls["finished_at"][mine]
                            - tool_calls["started_at"][mine]))
        offered = (run.tool_demand_s[index] / (run.horizon_s * spec.concurrency)
                   if spec.concurrency else None)
        found[name] = {
            "calls": int(mine.sum()),
            "offered_load_frac": None if offered is None else round(offered, 6),
            "unstable": offered is not None and offered >= 1,
            "failures": int(np.count_nonzero(mine & ~tool_calls["ok"])),
            "mean_wait_s": None if offered is not None and offered >= 1
            else _mean(wait),
            "mean_busy_slots": round(busy / horizon, 6),
            "utilisation_frac": (round(busy / (horizon * spec.concurrency), 6)
                                 if spec.concurrency else None),
        }
    return found


def _little(run: RunResult) -> dict:
    tasks, horizon = run.tasks, run.horizon_s
    left = tasks["finished_at"]
    in_system = time_average_in_system(tasks["arrived_at"], left, horizon)
    stay = np.where(np.isnan(left), horizon, left) - tasks["arrived_at"]
    rate = len(stay) / horizon
    return {"arrival_rate_per_s": round(rate, 9),
            "mean_time_in_system_s": _mean(stay),
            "mean_in_system": round(in_system, 9),
            "arrival_rate_times_mean_time": round(rate * float(np.mean(stay)), 9)
            if len(stay) else 0.0}


def _exact(amount: Decimal) -> str:
    """An exact amount as plain digits, at least to the cent: '12.50', '0.000105'."""
    text = format(amount.normalize(), "f")
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


def _mean(values: np.ndarray, digits: int = 6) -> float | None:
    return round(float(np.mean(values)), digits) if len(values) else None


def _round(value: Decimal | float, digits: int = 9) -> float:
    return round(float(value), digits)
