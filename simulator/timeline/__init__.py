"""Timelines: monthly periods whose inputs change by rule, and the Inference Flip.

`run_timeline(scenario)` simulates each period of `scenario.timeline` as a
representative day scaled to its month; `timeline_summary(result)` gives the
`timeline` section of summary.json (the Flip, inference share of AI spend,
and how the price per token and the bill moved).
Limitations: see `simulator.timeline.runner` (a representative day per
period, sampled populations, queues empty at each period's start).
"""

from simulator.timeline.flip import find_flip, inference_share, price_and_bill
from simulator.timeline.runner import (
    PeriodResult,
    TimelineResult,
    period_scenario,
    run_period,
    run_timeline,
    timeline_inputs,
)
from simulator.timeline.summary import timeline_summary

__all__ = ["PeriodResult", "TimelineResult", "find_flip", "inference_share",
           "period_scenario", "price_and_bill", "run_period", "run_timeline",
           "timeline_inputs", "timeline_summary"]
