"""GPU types: memory, power and reference prices, each with its source.

Prices are USD per GPU-hour from the GPU rental price index of 2026-10-05
(../shared/data/gpu-price-index): `on_demand` is the neocloud series,
`hyperscaler` the AWS/Azure/GCP/OCI on-demand average, `spot` the spot series.
`reserved` is a one-year commitment: the H100 figure is SemiAnalysis's
March-2026 index (domain-facts 2.3); for the others it is 40% below the
neocloud on-demand price, the middle of the 30-50% rule of thumb (domain-facts
2.3). Memory and TDP come from Epoch AI's ML hardware data
(../shared/data/epoch-ml-hardware) and vendor specs quoted in domain-facts 2.4.
Capex per GPU is the server price per GPU slot: Lenovo's 8xH100 server at
$250,141.80 (domain-facts 3.1) gives $31,268 for H100; other types scale by
the list prices noted beside them and are assumptions to replace with quotes.
Limitations: busy draw defaults to 70% of TDP (H100s draw 400-550 W of 700 W
in sustained inference, domain-facts 2.4) and idle draw to 15% of TDP (an
assumption); one price per series, no regions.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

BUSY_DRAW_OF_TDP_FRAC = 0.7
IDLE_DRAW_OF_TDP_FRAC = 0.15


@dataclass(frozen=True)
class GpuType:
    """One GPU type as a capacity planner compares them."""

    name: str
    memory_gb: float
    tdp_w: float
    on_demand_usd_per_gpu_hour: Decimal
    hyperscaler_usd_per_gpu_hour: Decimal
    reserved_usd_per_gpu_hour: Decimal
    spot_usd_per_gpu_hour: Decimal
    capex_usd_per_gpu: Decimal

    @property
    def busy_w(self) -> float:
        """Default draw of a busy GPU."""
        return round(self.tdp_w * BUSY_DRAW_OF_TDP_FRAC, 6)

    @property
    def idle_w(self) -> float:
        """Default draw of an idle GPU."""
        return round(self.tdp_w * IDLE_DRAW_OF_TDP_FRAC, 6)

    def price(self, pricing: str) -> Decimal:
        """USD per GPU-hour for `on_demand`, `hyperscaler`, `reserved` or `spot`."""
        return getattr(self, f"{pricing}_usd_per_gpu_hour")


def _gpu(name: str, memory_gb: float, tdp_w: float, on_demand: str,
         hyperscaler: str, spot: str, capex: str, reserved: str | None = None
         ) -> GpuType:
    on_demand_usd = Decimal(on_demand)
    reserved_usd = (Decimal(reserved) if reserved is not None
                    else (on_demand_usd * Decimal("0.6")).quantize(Decimal("0.01")))
    return GpuType(name, memory_gb, tdp_w, on_demand_usd, Decimal(hyperscaler),
                   reserved_usd, Decimal(spot), Decimal(capex))


GPU_TYPES: dict[str, GpuType] = {
    gpu.name: gpu
    for gpu in (
        # H100 SXM 80 GB, 700 W; capex: Lenovo 8xH100 server / 8.
        _gpu("H100", 80, 700, "4.02", "10.68", "2.95", "31268", reserved="2.35"),
        # H200 141 GB, 700 W; capex: H100 slot + $7k (H200 ~$32k vs H100 ~$25k MSRP).
        _gpu("H200", 141, 700, "4.59", "10.30", "4.49", "38268"),
        # B200 180 GB, 1,000 W; capex: assumption, 1.6x the H100 slot.
        _gpu("B200", 180, 1000, "6.84", "14.12", "4.61", "50029"),
        # L40S 48 GB, 350 W; capex: assumption, a quarter of the H100 slot.
        _gpu("L40S", 48, 350, "1.50", "3.10", "0.99", "7817", reserved="0.89"),
        # A100 SXM4 80 GB, 400 W; capex: assumption, half of the H100 slot.
        _gpu("A100", 80, 400, "2.30", "4.53", "1.51", "15634"),
        # MI300X 192 GB, 750 W; capex: $15,000 release price + H100 slot overhead.
        _gpu("MI300X", 192, 750, "2.92", "6.75", "1.39", "21268"),
    )
}


@dataclass(frozen=True)
class PerformancePreset:
    """A measured or published serving performance, as batched-model parameters.

    `calibrated_tokens_per_s` is the output-token throughput of one saturated
    replica on the calibration workload (`calibration_tokens_in` in,
    `calibration_tokens_out` out per request) that the parameters reproduce.
    """

    name: str
    model: str
    gpu: str
    gpus_per_replica: int
    prefill_tokens_per_s: float
    iteration_base_s: float
    iteration_per_sequence_s: float
    max_concurrency: int
    calibrated_tokens_per_s: float
    calibration_tokens_in: int
    calibration_tokens_out: int
    source: str


PRESETS: dict[str, PerformancePreset] = {
    preset.name: preset
    for preset in (
        # MLPerf Inference v4.1, closed, NVIDIA DGX-H100 (8x H100-SXM-80GB),
        # TensorRT-LLM, Llama-2-70B Offline: 24,525 output tokens/s
        # (domain-facts 2.5). Iteration base 9 ms gives ~110 tokens/s for a lone
        # sequence (domain-facts 1.3); prefill 60,000 tokens/s and the batch cap
        # of 1,024 are assumptions; the per-sequence term is fitted so a
        # saturated replica on 300-in / 300-out requests (assumed, close to the
        # benchmark's short prompts) delivers the published throughput.
        PerformancePreset("llama2-70b-8xh100-mlperf", "Llama-2-70B", "H100", 8,
                          60_000.0, 0.009, 1.65e-5, 1024, 24_525.0, 300, 300,
                          "MLPerf Inference v4.1 DGX-H100 Llama-2-70B Offline"),
        # SplitwiseSim's measured model (../shared/data/splitwise-perf-model),
        # Llama-2-70B on 8x H100 (TP 8): decode iteration 29.8 ms at batch 1 and
        # 50.2 ms at batch 64 (a straight line through both), prefill of a
        # 512-8,192-token prompt at about 9,700 tokens/s, batches up to 64. Its
        # throughput figure: a batch of 64 requests of 512 in / 128 out takes
        # 2,936 ms of prefill + 127 x 50.2 ms of decode, so 880 tokens/s.
        PerformancePreset("llama2-70b-8xh100-splitwise", "Llama-2-70B", "H100", 8,
                          9_700.0, 0.0295, 0.000324, 64, 880.0, 512, 128,
                          "SplitwiseSim perf_model.csv, llama2-70b h100-80gb TP8"),
    )
}
