"""Charts of a timeline: price against bill, compute multiplier, the Flip, budgets.

Each chart is drawn from the timeline section of summary.json, so the report
shows exactly what the summary says. Money axes are in USD per month (or per
year); the price axis is USD per 1M tokens on a log scale.
Limitations: months are evenly spaced categories, labelled every January.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

from simulator.report.canvas import Chart, colour, new_figure, save_figure

PRICE_BILL_CHART = Chart("price_vs_bill.png", "Price per 1M tokens (falling) "
                         "against the monthly inference bill (rising)")
MULTIPLIER_TIMELINE_CHART = Chart("compute_multiplier_by_month.png",
                                  "Compute multiplier by task type, month by month")
FLIP_CHART = Chart("inference_vs_training.png", "Inference and training spend per "
                   "month, with the Inference Flip marked")
BUDGET_CHART = Chart("budget_by_year.png", "AI budget per year: inference and "
                     "training")
TIMELINE_CHARTS = (PRICE_BILL_CHART, MULTIPLIER_TIMELINE_CHART, FLIP_CHART,
                   BUDGET_CHART)
TITLE_SIZE = 15
INFERENCE_COLOUR = colour(2)
TRAINING_COLOUR = colour(0)


def write_timeline_charts(timeline: dict, directory: Path) -> list[Chart]:
    """Draw every timeline chart into `directory`; return them in report order."""
    drawers = ((PRICE_BILL_CHART, draw_price_vs_bill),
               (MULTIPLIER_TIMELINE_CHART, draw_multipliers),
               (FLIP_CHART, draw_flip), (BUDGET_CHART, draw_budget))
    for chart, draw in drawers:
        figure, axes = new_figure()
        draw(axes, timeline)
        save_figure(figure, directory / chart.file_name)
    return [chart for chart, _ in drawers]


def draw_price_vs_bill(axes: Axes, timeline: dict) -> None:
    """Price per 1M tokens (log, left) and the monthly bill (right)."""
    periods = timeline["periods"]
    x = np.arange(len(periods))
    basket = [_nan(p["basket_usd_per_mtok"]) for p in periods]
    axes.plot(x, basket, color=colour(0), linewidth=2.4,
              label="price of the same token mix")
    names = sorted({name for p in periods for name in p["output_usd_per_mtok"]})
    for number, name in enumerate(names, start=3):
        axes.plot(x, [p["output_usd_per_mtok"].get(name, np.nan) for p in periods],
                  color=colour(number), linewidth=1.2, linestyle="--",
                  label=f"{name} output list price")
    axes.set_yscale("log")
    axes.set_ylabel("USD per 1M tokens (log scale)")
    bill = axes.twinx()
    bill.plot(x, [p["inference_usd"] for p in periods], color=INFERENCE_COLOUR,
              linewidth=2.8, label="monthly inference bill")
    bill.set_ylabel("inference bill, USD per month")
    bill.yaxis.set_major_formatter(FuncFormatter(_usd_short))
    bill.set_ylim(bottom=0)
    lines = axes.get_legend_handles_labels()
    more = bill.get_legend_handles_labels()
    axes.legend(lines[0] + more[0], lines[1] + more[1], fontsize="small",
                loc="upper left", framealpha=0.9)
    _month_axis(axes, periods)
    axes.set_title("Tokens got cheaper; the bill grew", fontsize=TITLE_SIZE)


def draw_multipliers(axes: Axes, timeline: dict) -> None:
    """Tokens per task over the chat baseline, per task type and month."""
    periods = timeline["periods"]
    x = np.arange(len(periods))
    names = list(periods[0]["compute_multiplier"]) if periods else []
    for number, name in enumerate(names):
        values = [_nan(p["compute_multiplier"].get(name)) for p in periods]
        axes.plot(x, values, color=colour(number), linewidth=2, label=name)
    axes.set_yscale("log")
    axes.set_ylabel("tokens per task / chat's (log scale)")
    axes.legend(fontsize="small", loc="upper left")
    _month_axis(axes, periods)
    axes.set_title("How many times a chat answer's tokens each task uses",
                   fontsize=TITLE_SIZE)


def draw_flip(axes: Axes, timeline: dict) -> None:
    """Inference and training spend per month; a line at the Flip."""
    periods = timeline["periods"]
    x = np.arange(len(periods))
    axes.plot(x, [p["inference_usd"] for p in periods], color=INFERENCE_COLOUR,
              linewidth=2.8, label="inference")
    axes.plot(x, [p["training_usd"] for p in periods], color=TRAINING_COLOUR,
              linewidth=2.8, label="training")
    flip = timeline["flip_index"]
    if flip is not None:
        axes.axvline(flip, color="black", linestyle=":", linewidth=1.6)
        axes.annotate(f"the Flip: {timeline['flip_period']}", (flip, 0.93),
                      xycoords=("data", "axes fraction"), xytext=(6, 0),
                      textcoords="offset points", fontsize="large",
                      fontweight="bold")
    else:
        axes.text(0.02, 0.93, "no Flip in this timeline", transform=axes.transAxes,
                  fontsize="large", fontweight="bold")
    axes.set_ylabel("USD per month")
    axes.yaxis.set_major_formatter(FuncFormatter(_usd_short))
    axes.set_ylim(bottom=0)
    axes.legend(loc="center left")
    _month_axis(axes, periods)
    axes.set_title("Inference spend passes training spend", fontsize=TITLE_SIZE)


def draw_budget(axes: Axes, timeline: dict) -> None:
    """Inference and training per calendar year, side by side."""
    years = timeline["years"]
    x = np.arange(len(years))
    width = 0.38
    axes.bar(x - width / 2, [y["training_usd"] for y in years], width,
             color=TRAINING_COLOUR, label="training")
    axes.bar(x + width / 2, [y["inference_usd"] for y in years], width,
             color=INFERENCE_COLOUR, label="inference")
    for index, year in enumerate(years):
        share = year["inference_share_frac"]
        if share is not None:
            top = max(year["training_usd"], year["inference_usd"])
            axes.annotate(f"{share:.0%} inference", (index, top), ha="center",
                          xytext=(0, 4), textcoords="offset points",
                          fontsize="medium")
    axes.set_xticks(x, [_year_label(y) for y in years])
    axes.set_ylabel("USD per year")
    axes.yaxis.set_major_formatter(FuncFormatter(_usd_short))
    axes.margins(y=0.12)
    axes.legend(loc="upper left")
    axes.set_title("The AI budget, year by year", fontsize=TITLE_SIZE)


def _month_axis(axes: Axes, periods: list[dict]) -> None:
    """Tick every January (or the first month), labelled by year."""
    ticks = [i for i, p in enumerate(periods) if p["month"].endswith("-01") or i == 0]
    axes.set_xticks(ticks, [periods[i]["month"][:4] if periods[i]["month"]
                            .endswith("-01") else periods[i]["month"] for i in ticks])
    axes.grid(axis="y", alpha=0.3)


def _year_label(year: dict) -> str:
    months = year["months"]
    return year["year"] if months == 12 else f"{year['year']} ({months} mo)"


def _usd_short(value: float, _position: object = None) -> str:
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"${value / limit:,.3g}{suffix}"
    return f"${value:,.0f}"


def _nan(value: float | None) -> float:
    return np.nan if value is None else value
