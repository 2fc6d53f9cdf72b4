"""The scenario: one YAML file that holds everything a run needs.

Units are in the field names: seconds (`_s`), USD (`_usd`), USD per 1M tokens
(`_usd_per_mtok`), fractions in [0, 1] (`_frac`). Cross-references (a route
naming a backend, a step naming a tool) are checked here, so the engine can
trust what it is given.
Limitations: arrival profiles are piecewise constant per hour of day and day
of week.
"""

from __future__ import annotations

import calendar
import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from simulator.catalogue import GPU_TYPES
from simulator.scenario.base import MAX_VALUE, Count, Dist, Money, Real, StrictModel
from simulator.scenario.gpu import CloudGpuBackend, OnPremBackend
from simulator.scenario.prices import TokenPrices
from simulator.scenario.references import reference_problems
from simulator.scenario.timeline import Timeline, timeline_problems
from simulator.scenario.workflow import TaskType

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
NAME_RULE = ("must start with an ASCII letter or digit, use only ASCII letters, "
             "digits, '_' and '-', and have at most 64 characters")
MAX_EXPECTED_TASKS = 50_000_000
HOURS_PER_AVERAGE_MONTH = 730.0  # 8,760 h / 12, as cloud price sheets use
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
            "sunday")


class Model(StrictModel):
    """A named model."""

    tier: Literal["frontier", "mid", "small"] = Field(
        description="Quality tier: frontier, mid or small."
    )
    context_window_tokens: Count = Field(
        gt=0, le=100_000_000,
        description="Most input tokens one call may send; tokens, (0, 1e8]."
    )
    weights_gb: Real | None = Field(
        None, gt=0, le=100_000,
        description="Weights in GPU memory; GB (sizes a GPU replica's batch cap).")
    kv_bytes_per_token: Real | None = Field(
        None, gt=0, le=1e9,
        description="KV-cache bytes per token (sizes a GPU replica's batch cap).")
    tokenizer_factor: Real = Field(
        1.0,
        gt=0,
        le=10,
        description=(
            "Tokens this model counts per reference token (workflow token counts "
            "are reference tokens); (0, 10]."
        ),
    )


class RetryPolicy(StrictModel):
    """How a client retries a call the API refused (HTTP 429)."""

    max_retries: Count = Field(6, ge=0, le=100, description="Retries, then fail.")
    base_backoff_s: Real = Field(
        1.0, gt=0, le=3600, description="Back-off before the first retry; s.")
    max_backoff_s: Real = Field(
        60.0, gt=0, le=86_400, description="Longest back-off; seconds.")
    jitter_frac: Real = Field(
        0.5, ge=0, le=1,
        description="Share of each back-off drawn at random (0: none, 1: full).")


def _retry_order(policy: RetryPolicy) -> RetryPolicy:
    if policy.base_backoff_s > policy.max_backoff_s:
        raise ValueError(f"base_backoff_s ({policy.base_backoff_s:g}) must be <= "
                         f"max_backoff_s ({policy.max_backoff_s:g})")
    return policy


RetryPolicy.model_rebuild()


class ApiBackend(StrictModel):
    """A model behind a pay-per-token API.

    A call takes time to first token plus output tokens times time per output
    token; both are drawn per call. Requests and tokens per minute are counted
    in fixed one-minute windows; a call that does not fit waits for the next
    window with room.
    """

    kind: Literal["api"] = Field(description="Backend kind; only `api` for now.")
    model: str = Field(description="Name of an entry in `models`.")
    prices: TokenPrices = Field(description="Token prices.")
    ttft_s: Dist = Field(description="Time to first token; seconds, >= 0.")
    time_per_output_token_s: Dist = Field(
        description=("Time per output token; a call takes ttft_s + output tokens "
                     "(visible and reasoning) x this; seconds, >= 0.")
    )
    service_tier: Literal["standard", "batch", "priority"] = Field(
        "standard", description="Price tier: batch and priority multiply prices.")
    prompt_cache_ttl: Literal["5m", "1h"] | None = Field(
        None, description=("Provider prompt cache: a call whose cached prefix has "
                           "expired writes its whole input (at the write price for "
                           "this lifetime); one within the lifetime reads what was "
                           "written and refreshes it. Omitted: cache_read_frac of "
                           "each task type decides reads, with no writes."))
    on_rate_limit: Literal["wait", "retry"] = Field(
        "wait", description=("wait: a limited call is admitted at the next window "
                             "with room; retry: it is refused (429) and retried "
                             "after back-off, failing the task when out of retries."))
    retry: Annotated[RetryPolicy, AfterValidator(_retry_order)] = Field(
        default_factory=RetryPolicy, description="Back-off for on_rate_limit: retry.")
    requests_per_min: Count | None = Field(
        None, ge=1, description="Requests per minute allowed; >= 1, omitted: none."
    )
    tokens_per_min: Count | None = Field(
        None,
        ge=1,
        description="Input + output tokens per minute allowed; >= 1, omitted: none.",
    )


class ToolService(StrictModel):
    """A retriever, search API, sandbox or database the agents call."""

    latency_s: Dist = Field(description="Time one call takes; seconds, >= 0.")
    concurrency: Count | None = Field(
        None, ge=1, description="Calls served at once; >= 1, omitted: unlimited."
    )
    failure_prob: Real = Field(
        0.0, ge=0, lt=1, description="Chance one call fails; [0, 1)."
    )
    max_retries: Count = Field(
        2, ge=0, le=100,
        description="Retries after a failed call before the task fails; [0, 100]."
    )
    usd_per_call: Money = Field(
        Decimal(0), ge=0, le=1000,
        description="Price of one call; USD, [0, 1000], at most 12 decimals."
    )

    @field_validator("usd_per_call")
    @classmethod
    def _whole_picodollars(cls, value: Decimal) -> Decimal:
        if value * 10**12 % 1 != 0:
            raise ValueError(f"found {value}; give at most 12 decimals (pico-USD)")
        return value


class _Profiles(StrictModel):
    daily_profile: list[Real] | None = Field(
        None,
        description=(
            "24 relative weights, hour 0 to 23 (normalised to mean 1); each >= 0."
        ),
    )
    weekly_profile: list[Real] | None = Field(
        None,
        description="7 relative weights, Monday to Sunday (mean 1); each >= 0.",
    )

    @field_validator("daily_profile", "weekly_profile")
    @classmethod
    def _weights(cls, value: list[float] | None, info) -> list[float] | None:
        if value is None:
            return value
        size = 24 if info.field_name == "daily_profile" else 7
        if len(value) != size:
            raise ValueError(f"needs {size} weights, found {len(value)}")
        if any(w < 0 or w > MAX_VALUE for w in value) or sum(value) <= 0:
            raise ValueError("weights must be finite, >= 0, with a sum > 0")
        return value


class PoissonArrivals(_Profiles):
    """Tasks arrive as a Poisson process shaped by daily and weekly profiles."""

    kind: Literal["poisson"] = Field(description="Arrival process kind.")
    rate_per_s: Real | None = Field(
        None, ge=0, le=1e6,
        description="Average arrival rate; tasks per second, [0, 1e6]."
    )
    tasks_per_day: Real | None = Field(
        None, ge=0, le=1e11,
        description="Average tasks per day (instead of rate_per_s); [0, 1e11]."
    )

    @model_validator(mode="after")
    def _one_rate(self) -> PoissonArrivals:
        if (self.rate_per_s is None) == (self.tasks_per_day is None):
            raise ValueError("give exactly one of rate_per_s and tasks_per_day")
        return self

    def mean_rate_per_s(self) -> float:
        """Average arrival rate over a week."""
        if self.rate_per_s is not None:
            return self.rate_per_s
        return self.tasks_per_day / 86_400


class PopulationArrivals(_Profiles):
    """A population of users, each starting tasks at a daily rate."""

    kind: Literal["population"] = Field(description="Arrival process kind.")
    num_users: Count = Field(ge=0, le=10**10, description="Users; [0, 1e10].")
    tasks_per_user_per_day: Real = Field(
        ge=0, le=1e6,
        description="Tasks each user starts per day on average; [0, 1e6]."
    )

    def mean_rate_per_s(self) -> float:
        """Average arrival rate over a week."""
        return self.num_users * self.tasks_per_user_per_day / 86_400


class TraceArrivals(StrictModel):
    """Tasks arrive as the requests of a recorded trace, replayed."""

    kind: Literal["trace"] = Field(description="Arrival process kind.")
    path: str = Field(
        description=("Trace file: `excerpt:NAME` for a shipped excerpt "
                     "(azure-conv, azure-code, mooncake-conversation), else a path "
                     "relative to the scenario file (or absolute)."))
    format: Literal["azure", "mooncake", "csv", "jsonl"] = Field(
        description="azure (2023 CSV), mooncake (JSONL), or generic csv / jsonl.")
    columns: dict[Literal["arrived_at", "tokens_in", "tokens_out"], str] | None = (
        Field(None, description="Column (or key) names; required for csv / jsonl."))
    time_unit_s: Real | None = Field(
        None, ge=1e-9, le=1e9,
        description="Seconds per unit of a numeric time column; [1e-9, 1e9].")
    speedup: Real = Field(1.0, ge=1e-6, le=1e6,
                          description="Replay k times faster; [1e-6, 1e6].")
    rate_multiplier: Real = Field(
        1.0, gt=0, le=100, description="Load multiplier: thin (< 1) or copy (> 1).")
    skip_bad_rows: bool = Field(
        False, description="Skip and count malformed rows instead of failing.")
    max_rows: Count | None = Field(
        None, ge=1, le=50_000_000, description="Read at most this many rows.")
    task_type: str | None = Field(
        None, description="Every request becomes this task type; omitted: shares.")
    each_task_type: bool = Field(
        False, description=("Every request becomes one task of each task type, so "
                            "designs are compared on identical traffic."))
    base_dir: str | None = Field(
        None, description="Folder a relative path is read from (set by the loader).")

    def mean_rate_per_s(self) -> float:
        """Unknown before the file is read; bounded by max_rows instead."""
        return 0.0


class Billing(StrictModel):
    """The month a bill is projected to."""

    month: str = Field(
        "average",
        description=(
            "`average` (730 h, 8,760 h / 12 as cloud price sheets use) or a "
            "calendar month `YYYY-MM`."
        ),
        pattern=r"^(average|\d{4}-(0[1-9]|1[0-2]))$",
    )

    def hours(self) -> float:
        """Hours in the billing month."""
        if self.month == "average":
            return HOURS_PER_AVERAGE_MONTH
        year, month = (int(part) for part in self.month.split("-"))
        return calendar.monthrange(year, month)[1] * 24.0

    def label(self) -> str:
        """How the report names the month."""
        if self.month == "average":
            return "average month (730 h = 8,760 h / 12)"
        return f"calendar month {self.month} ({self.hours():.0f} h)"


class Scenario(StrictModel):
    """Everything one run needs."""

    name: str = Field(description="Names the report folder; ASCII letters, digits, "
                      "'_' and '-', at most 64 characters.")
    description: str = Field("", description="What the scenario shows.")
    seed: Count = Field(0, ge=0, le=2**63 - 1,
                        description="Seed of every random stream; [0, 2^63 - 1].")
    horizon_s: Real = Field(
        ge=1, le=400 * 86_400, description="Simulated time; seconds, [1, 400 days]."
    )
    warmup_s: Real = Field(
        0, ge=0, description="Start of the measured window: tasks arriving earlier "
        "run but are left out of every statistic and bill; seconds, < horizon_s.")
    start_weekday: Literal[WEEKDAYS] = Field(
        "monday", description="Weekday at time 0 (midnight)."
    )
    percentile_method: Literal["nearest_rank", "linear"] = Field(
        "nearest_rank", description="How percentiles are computed."
    )
    baseline_task_type: str | None = Field(
        None,
        description="Task type the compute multiplier divides by (the chat baseline).",
    )
    billing: Billing = Field(default_factory=Billing, description="Billing month.")
    arrivals: PoissonArrivals | PopulationArrivals | TraceArrivals = Field(
        discriminator="kind", description="How tasks arrive."
    )
    models: dict[str, Model] = Field(min_length=1, description="Models by name.")
    backends: dict[str, Annotated[ApiBackend | CloudGpuBackend | OnPremBackend,
                                  Field(discriminator="kind")]] = Field(
        min_length=1, description="Backends by name: api, cloud_gpu or on_prem."
    )
    tools: dict[str, ToolService] = Field(
        default_factory=dict, description="Tool services by name."
    )
    task_types: dict[str, TaskType] = Field(
        min_length=1, description="Task types by name."
    )
    timeline: Timeline | None = Field(
        None, description="Monthly periods whose inputs change by rule (prices, "
        "users, task mix, owned capacity, training spend); omitted: one run.")

    @field_validator("name")
    @classmethod
    def _scenario_name(cls, value: str) -> str:
        if not re.match(NAME_PATTERN, value):
            raise ValueError(f"found {value!r}; a name {NAME_RULE}")
        return value

    @field_validator("models", "backends", "tools", "task_types")
    @classmethod
    def _names(cls, value: dict) -> dict:
        for name in value:
            if not isinstance(name, str) or not re.match(NAME_PATTERN, name):
                raise ValueError(f"found the name {name!r}; a name {NAME_RULE}")
        return value

    @model_validator(mode="after")
    def _trace_choice(self) -> Scenario:
        arrivals = self.arrivals
        if arrivals.kind == "trace" and arrivals.each_task_type and arrivals.task_type:
            raise ValueError("arrivals: give task_type or each_task_type, not both")
        return self

    @model_validator(mode="after")
    def _gpu_caps(self) -> Scenario:
        if self.warmup_s >= self.horizon_s:
            raise ValueError(f"warmup_s: found {self.warmup_s:g}; must be less than "
                             f"horizon_s ({self.horizon_s:g})")
        for name, backend in self.backends.items():
            model = self.models.get(backend.model)
            if isinstance(backend, ApiBackend) or model is None:
                continue
            memory_gb = GPU_TYPES[backend.gpu].memory_gb * backend.gpus_per_replica
            if model.weights_gb is not None and model.weights_gb > memory_gb:
                raise ValueError(
                    f"models.{backend.model}.weights_gb: found {model.weights_gb:g}; "
                    f"backends.{name} has {memory_gb:g} GB per replica")
            cap = backend.slot_cap(model.weights_gb, model.kv_bytes_per_token)
            if cap is None:
                raise ValueError(
                    f"backends.{name}.max_concurrency: missing; give it, or give "
                    f"models.{backend.model}.weights_gb and kv_bytes_per_token")
            if cap < 1:
                raise ValueError(
                    f"backends.{name}: the model's weights leave no GPU memory for "
                    f"a sequence of {backend.context_tokens_per_sequence} tokens; "
                    "add GPUs per replica or set max_concurrency")
        return self

    @model_validator(mode="after")
    def _bounded_run(self) -> Scenario:
        expected = self.arrivals.mean_rate_per_s() * self.horizon_s
        if expected > MAX_EXPECTED_TASKS:
            raise ValueError(
                f"arrivals and horizon_s: {expected:,.0f} tasks expected; at most "
                f"{MAX_EXPECTED_TASKS:,} per run (shorten horizon_s or lower the rate)")
        return self

    @model_validator(mode="after")
    def _timeline_references(self) -> Scenario:
        if self.timeline is not None:
            problems = timeline_problems(self.timeline, self.backends,
                                         self.task_types,
                                         self.arrivals.kind)
            if problems:
                raise ValueError("\n".join(problems))
        return self

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        problems = reference_problems(self.model_dump(mode="json", by_alias=True))
        if problems:
            raise ValueError("\n".join(problems))
        return self
