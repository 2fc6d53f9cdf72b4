"""Charts of where GPU work could run: cumulative cost by venue, replicas.

One figure per function, drawn on the Agg canvas and saved without metadata.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.ticker import FuncFormatter

from simulator.records import RunResult
from simulator.report.canvas import Chart, colour, new_figure, no_data, save_figure

LOG_SPREAD = 20  # a log axis when the dearest venue costs 20x the cheapest

VENUE_CHART = Chart("cumulative_cost_by_venue.png",
                    "Cumulative cost of owning the GPUs against each alternative, "
                    "month by month, with break-even points")
REPLICAS_CHART = Chart("replicas_over_time.png",
                       "Replicas of each autoscaled GPU pool over time")


def has_venues(summary: dict) -> bool:
    """True when the scenario owns GPUs (there is something to compare)."""
    return bool(summary.get("venues"))


def replica_series(run: RunResult) -> dict[str, np.ndarray]:
    """Sampled live replica counts of each autoscaled pool."""
    return {key.split(":")[1]: values for key, values in run.samples.items()
            if key.endswith(":replicas")}


def plot_cumulative_cost(run: RunResult, summary: dict, path: Path) -> None:
    """Cumulative USD of owning against each alternative over the life."""
    figure, axes = new_figure()
    venues = summary.get("venues") or {}
    name, venue = next(iter(venues.items()), (None, None))
    if venue is None:
        no_data(axes)
    else:
        alternatives = venue["alternatives"]
        own = [row[1] for row in next(iter(alternatives.values()))["cumulative_usd"]]
        months = list(range(len(own)))
        axes.plot(months, own, color="black", linewidth=2.2, label=f"own ({name})")
        for index, (alt, entry) in enumerate(alternatives.items()):
            cost = [row[2] for row in entry["cumulative_usd"]]
            axes.plot(months, cost, color=colour(index), label=alt)
            point = entry["break_even_months"]
            if point is not None:
                axes.plot([point], [np.interp(point, months, cost)], "o",
                          color=colour(index))
        finals = [own[-1]] + [e["cumulative_usd"][-1][2] for e in alternatives.values()]
        if min(finals) > 0 and max(finals) > LOG_SPREAD * min(finals):
            axes.set_yscale("log")
            axes.set_xlim(left=0.5)
        axes.set_xlabel("months owned")
        axes.set_ylabel("cumulative cost (USD)" + (", log scale" if axes.get_yscale()
                                                   == "log" else ""))
        axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"${v:,.0f}"))
        axes.legend(fontsize="small", frameon=False)
        axes.grid(alpha=0.3)
    axes.set_title("Owning against renting: cumulative cost (dots: break-even)")
    save_figure(figure, path)


def plot_replicas(run: RunResult, summary: dict, path: Path) -> None:
    """Live replicas (serving or provisioning) of each autoscaled pool."""
    figure, axes = new_figure()
    series = replica_series(run)
    if not series:
        no_data(axes)
    else:
        hours = run.samples["time_s"] / 3600
        for index, (name, values) in enumerate(series.items()):
            axes.step(hours, values, where="post", color=colour(index), label=name)
        axes.set_xlabel("time since start (h)")
        axes.set_ylabel("replicas")
        axes.legend(fontsize="small", frameon=False)
        axes.grid(alpha=0.3)
    axes.set_title("Autoscaled replicas over time")
    save_figure(figure, path)
