"""GPU backends: a model on rented (`cloud_gpu`) or owned (`on_prem`) GPUs.

A deployment is `replicas` x `gpus_per_replica` GPUs of one catalogue type.
Its performance is `batched` (prefill rate and a decode iteration time that
grows with the batch), a named `preset` calibrated to published figures, or
`service_time` (a drawn time per call, for queueing checks). Each replica
serves up to `max_concurrency` sequences; omitted, the cap follows from GPU
memory, the model's weights and its KV-cache bytes per token.
Rented pools may autoscale (launch on a queue, stop when idle).
Limitations: owned replicas are always on; the memory-derived cap
assumes every sequence holds `context_tokens_per_sequence` tokens of KV cache.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator

from simulator.catalogue import GPU_TYPES, PRESETS
from simulator.scenario.base import Count, Dist, Money, Real, StrictModel

MEMORY_FOR_KV_FRAC = 0.9  # share of GPU memory an engine may fill (weights + KV)
DEFAULT_KWH_USD = Decimal("0.10")  # US commercial 9.7-24 c/kWh (domain-facts 2.4)


class BatchedPerformance(StrictModel):
    """Continuous batching: prefill rate and decode iteration time."""

    kind: Literal["batched"] = Field(description="Performance model kind.")
    prefill_tokens_per_s: Real = Field(
        gt=0, le=1e9, description="Uncached input tokens prefilled per second.")
    iteration_base_s: Real = Field(
        gt=0, le=10, description="Decode iteration time of a lone sequence; s.")
    iteration_per_sequence_s: Real = Field(
        ge=0, le=10, description="Extra iteration time per decoding sequence; s.")


class ServiceTimePerformance(StrictModel):
    """Each call holds its slot for a drawn time, whatever else runs."""

    kind: Literal["service_time"] = Field(description="Performance model kind.")
    service_time_s: Dist = Field(description="Time one call holds a slot; s.")


class PresetPerformance(StrictModel):
    """A calibrated preset from the catalogue."""

    kind: Literal["preset"] = Field(description="Performance model kind.")
    name: Literal[tuple(PRESETS)] = Field(description="Preset name.")


Performance = Annotated[
    BatchedPerformance | ServiceTimePerformance | PresetPerformance,
    Field(discriminator="kind"),
]


class CloudPricing(StrictModel):
    """How a rented GPU is priced and billed."""

    pricing: Literal["on_demand", "hyperscaler", "reserved", "spot"] = Field(
        "on_demand", description="Catalogue price series used when no price given.")
    usd_per_gpu_hour: Money | None = Field(
        None, ge=0, le=1000, description="USD per GPU-hour; omitted: the catalogue's.")
    billing_granularity: Literal["per_second", "per_minute", "per_hour"] = Field(
        "per_second", description="Unit a replica's lifetime is rounded up to.")
    minimum_billed_s: Real = Field(
        60, ge=0, le=86_400, description="Least billed per replica lifetime; s.")


class OnPremCosts(StrictModel):
    """What owned GPUs cost to buy and run (defaults: domain-facts 2.4)."""

    capex_usd_per_gpu: Money | None = Field(
        None, ge=0, le=10_000_000,
        description="Server price per GPU; USD, omitted: the catalogue's.")
    depreciation_months: Count = Field(
        60, ge=1, le=240, description="Straight-line depreciation life; months.")
    busy_w_per_gpu: Real | None = Field(
        None, ge=0, le=10_000, description="Draw of a busy GPU; W, omitted: 70% TDP.")
    idle_w_per_gpu: Real | None = Field(
        None, ge=0, le=10_000, description="Draw of an idle GPU; W, omitted: 15% TDP.")
    pue: Real = Field(1.5, ge=1, le=3, description="Power usage effectiveness; [1, 3].")
    usd_per_kwh: Money | None = Field(
        None, ge=0, le=10, description="Electricity price; USD per kWh.")
    site_country: str | None = Field(
        None, description="Country code looked up in electricity_usd_per_kwh.")
    electricity_usd_per_kwh: dict[str, Annotated[Money, Field(ge=0, le=10)]] = Field(
        default_factory=dict,
        description="Electricity price by country code; USD per kWh, [0, 10].")
    support_frac_per_year: Real = Field(
        0.15, ge=0, le=1, description="Support per year as a share of capex.")
    staff_fte: Real = Field(0.5, ge=0, le=1000, description="Staff; full-time people.")
    usd_per_fte_year: Money = Field(
        160_000, ge=0, le=10_000_000, description="Cost of one FTE; USD per year.")
    space_usd_per_month: Money = Field(
        0, ge=0, le=10_000_000, description="Rack space and facilities; USD/month.")

    @model_validator(mode="after")
    def _one_price(self) -> OnPremCosts:
        if (self.busy_w_per_gpu is not None and self.idle_w_per_gpu is not None
                and self.idle_w_per_gpu > self.busy_w_per_gpu):
            raise ValueError(f"idle_w_per_gpu ({self.idle_w_per_gpu:g}) must be <= "
                             f"busy_w_per_gpu ({self.busy_w_per_gpu:g})")
        if self.site_country is not None:
            if self.site_country not in self.electricity_usd_per_kwh:
                known = ", ".join(self.electricity_usd_per_kwh) or "none given"
                raise ValueError(f"site_country: found {self.site_country!r}, which "
                                 f"has no electricity_usd_per_kwh entry; known: "
                                 f"{known}")
            if self.usd_per_kwh is not None:
                raise ValueError("give usd_per_kwh or site_country, not both")
        return self

    def kwh_price(self) -> Decimal:
        """The electricity price that applies (default $0.10 per kWh)."""
        if self.site_country is not None:
            return self.electricity_usd_per_kwh[self.site_country]
        return self.usd_per_kwh if self.usd_per_kwh is not None else DEFAULT_KWH_USD


class _GpuDeployment(StrictModel):
    model: str = Field(description="Name of an entry in `models`.")
    gpu: Literal[tuple(GPU_TYPES)] = Field(description="GPU type from the catalogue.")
    gpus_per_replica: Count = Field(ge=1, le=64, description="GPUs per replica.")
    replicas: Count = Field(
        ge=0, le=10_000,
        description="Replicas, always on; with autoscale, those at time 0.")
    max_concurrency: Count | None = Field(
        None, ge=1, le=100_000,
        description="Sequences a replica serves at once; omitted: from memory.")
    context_tokens_per_sequence: Count = Field(
        4096, ge=1, le=10_000_000,
        description="KV-cache tokens assumed per sequence when deriving the cap.")
    performance: Performance = Field(description="How fast a replica serves.")

    @model_validator(mode="after")
    def _preset_hardware(self) -> _GpuDeployment:
        if isinstance(self.performance, PresetPerformance):
            preset = PRESETS[self.performance.name]
            if (self.gpu, self.gpus_per_replica) != (preset.gpu,
                                                     preset.gpus_per_replica):
                raise ValueError(
                    f"performance.name: preset {preset.name} was measured on "
                    f"{preset.gpus_per_replica} x {preset.gpu}; found "
                    f"{self.gpus_per_replica} x {self.gpu} (use batched "
                    "parameters for other hardware)")
        return self

    def slot_cap(self, weights_gb: float | None, kv_bytes_per_token: float | None
                 ) -> int | None:
        """Sequences per replica: given, from the preset, or from memory."""
        if self.max_concurrency is not None:
            return self.max_concurrency
        if isinstance(self.performance, PresetPerformance):
            return PRESETS[self.performance.name].max_concurrency
        if weights_gb is None or kv_bytes_per_token is None:
            return None
        memory_gb = GPU_TYPES[self.gpu].memory_gb * self.gpus_per_replica
        free_bytes = (memory_gb * MEMORY_FOR_KV_FRAC - weights_gb) * 1e9
        per_sequence = kv_bytes_per_token * self.context_tokens_per_sequence
        return int(free_bytes // per_sequence)


class Autoscale(StrictModel):
    """Launch rented replicas when calls queue; stop them when idle."""

    min_replicas: Count = Field(0, ge=0, le=10_000, description="Fewest replicas.")
    max_replicas: Count = Field(ge=1, le=10_000, description="Most replicas.")
    provisioning_s: Real = Field(
        120, ge=0, le=86_400,
        description="From launch (billed) to serving; seconds.")
    scale_up_queue: Count = Field(
        1, ge=1, le=1_000_000, description="Waiting calls that trigger a launch.")
    scale_down_idle_s: Real = Field(
        300, ge=0, le=86_400, description="Idle time before a replica stops; s.")
    check_interval_s: Real = Field(
        30, gt=0, le=86_400, description="Period of the scaling check; seconds.")

    @model_validator(mode="after")
    def _ordered(self) -> Autoscale:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas ({self.min_replicas}) must be <= "
                             f"max_replicas ({self.max_replicas})")
        return self


class CloudGpuBackend(_GpuDeployment):
    """Rented GPU replicas."""

    kind: Literal["cloud_gpu"] = Field(description="Backend kind.")
    cloud: CloudPricing = Field(default_factory=CloudPricing,
                                description="Price and billing granularity.")
    autoscale: Autoscale | None = Field(
        None, description="Scale replicas with the queue; omitted: fixed.")

    @model_validator(mode="after")
    def _replica_count(self) -> CloudGpuBackend:
        if self.autoscale is None:
            if self.replicas < 1:
                raise ValueError("replicas: found 0; a pool without autoscale "
                                 "needs >= 1")
        elif not (self.autoscale.min_replicas <= self.replicas
                  <= self.autoscale.max_replicas):
            raise ValueError(f"replicas: found {self.replicas}; with autoscale it "
                             "must lie in [min_replicas, max_replicas]")
        return self


class OnPremBackend(_GpuDeployment):
    """Owned GPU replicas."""

    kind: Literal["on_prem"] = Field(description="Backend kind.")
    costs: OnPremCosts = Field(default_factory=OnPremCosts,
                               description="Capex, power and fixed opex.")

    @model_validator(mode="after")
    def _replica_count(self) -> OnPremBackend:
        if self.replicas < 1:
            raise ValueError("replicas: found 0; an owned pool needs >= 1")
        return self
