"""What every chart shares: the Chart record, figure making, saving and colours.

Figures live on their own Agg canvas (no pyplot, no global state) and are
saved without software or time metadata, so the same data gives
byte-identical PNGs with the same matplotlib. Empty axes say "no data".
Limitations: one fixed palette of 20 colours, reused past 20 series.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 110
FIGURE_SIZE_IN = (8.0, 4.6)
BAR_HEIGHT_IN = 0.55  # horizontal bar charts grow with their number of bars
LOG_SPREAD = 100  # log axis once the largest value exceeds 100x the smallest
CDF_POINTS = 2000
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
           "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
           "#1f3b5c", "#8c4a0c", "#7a1f24", "#2f6b66", "#2b5a24",
           "#8a7316", "#5e3a57", "#b8535e", "#4d372b", "#6b6660")


@dataclass(frozen=True)
class Chart:
    """One chart file and the text that stands in for it."""

    file_name: str
    alt: str


def new_figure(bars: int | None = None) -> tuple[Figure, Axes]:
    """A fresh figure on an Agg canvas, with one axes; sized for `bars` if given."""
    width, height = FIGURE_SIZE_IN
    if bars is not None:
        height = min(max(2.2 + BAR_HEIGHT_IN * bars, 3.2), 12.0)
    figure = blank_figure(width, height)
    return figure, figure.add_subplot()


def blank_figure(width_in: float, height_in: float) -> Figure:
    """A fresh figure on an Agg canvas with no axes yet."""
    figure = Figure(figsize=(width_in, height_in), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure: Figure, path: Path) -> None:
    """Lay out, write a metadata-free PNG, and drop the figure."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # crowded axes: bbox copes
        figure.tight_layout()
    figure.savefig(path, format="png", dpi=DPI, bbox_inches="tight",
                   pad_inches=0.15, metadata={"Software": None})
    figure.clear()


def no_data(axes: Axes, note: str = "no data") -> None:
    """An empty axes that says why it is empty."""
    axes.text(0.5, 0.5, note, ha="center", va="center", fontsize="x-large",
              color="grey", transform=axes.transAxes)
    axes.set_xticks([])
    axes.set_yticks([])


def colour(index: int) -> str:
    """The palette colour of the series at `index`."""
    return PALETTE[index % len(PALETTE)]


def cdf_line(axes: Axes, ordered: np.ndarray, colour_code: str, label: str,
             start_share: float = 0.0) -> None:
    """Step line of an empirical CDF of sorted values, thinned evenly by rank.

    `start_share` is the share of the sample left of `ordered` (values a log
    axis cannot show); the line starts at that height.
    """
    count = len(ordered)
    ranks = np.arange(1, count + 1)
    if count > CDF_POINTS:
        ranks = np.unique(np.linspace(1, count, CDF_POINTS).round().astype(int))
    times = np.concatenate([ordered[:1], ordered[ranks - 1]])
    rest = 1.0 - start_share
    shares = np.concatenate([[start_share], start_share + rest * ranks / count])
    axes.step(times, shares, where="post", color=colour_code, linewidth=1.6,
              label=label)
