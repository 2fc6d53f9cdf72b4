"""Charts of experiments: sweep curves, tornado, sizing frontier (Agg, PNG).

Each function draws one figure, saves it and closes it. Means carry their
t-interval as error bars.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from simulator.experiment.headline import HEADLINE_LABELS  # noqa: E402

MAX_SERIES = 6
DPI = 110


def sweep_figure(summary: pd.DataFrame, field: str, others: list[str],
                 metrics: list[str], path: Path) -> None:
    """Each metric's mean against one swept field, a line per other setting."""
    columns = 2 if len(metrics) > 1 else 1
    rows = math.ceil(len(metrics) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(6 * columns, 3.2 * rows),
                                squeeze=False)
    groups = (list(summary.groupby(others, sort=False, dropna=False)) if others
              else [((), summary)])
    pooled = len(groups) > MAX_SERIES
    numeric = pd.api.types.is_numeric_dtype(summary[field])
    for axis, metric in zip(axes.flat, metrics, strict=False):
        for key, group in ([((), summary)] if pooled else groups):
            data = (group.groupby(field, sort=False)[[f"{metric}_mean"]].mean()
                    .reset_index() if pooled else group)
            if numeric:
                data = data.sort_values(field)
            x = data[field].to_numpy() if numeric else data[field].astype(str)
            errors = (None if pooled
                      else np.nan_to_num(data[f"{metric}_half_width"].to_numpy()))
            label = _series_label(others, key) if others and not pooled else None
            axis.errorbar(x, data[f"{metric}_mean"], yerr=errors, marker="o",
                          capsize=3, label=label)
        axis.set_xlabel(field)
        axis.set_ylabel(HEADLINE_LABELS.get(metric, metric))
        axis.grid(alpha=0.3)
        if others and not pooled:
            axis.legend(fontsize=7)
    for axis in list(axes.flat)[len(metrics):]:
        axis.set_visible(False)
    title = f"sweep of {field}" + (" (mean over other fields)" if pooled else "")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    plt.close(figure)


def tornado_figure(swings: pd.DataFrame, metrics: list[str], path: Path) -> None:
    """One tornado panel per metric: low and high bars around the base value."""
    figure, axes = plt.subplots(len(metrics), 1, squeeze=False,
                                figsize=(8, 1.2 + 0.45 * len(swings) / len(metrics)
                                         * len(metrics)))
    for axis, metric in zip(axes.flat, metrics, strict=True):
        rows = swings[swings["metric"] == metric].sort_values("rank",
                                                              ascending=False)
        base = float(rows["base"].iloc[0]) if len(rows) else 0.0
        y = np.arange(len(rows))
        low = rows["at_low"].to_numpy() - base
        high = rows["at_high"].to_numpy() - base
        axis.barh(y - 0.2, np.nan_to_num(low), height=0.4, left=base,
                  color="#4c72b0", label="input at low")
        axis.barh(y + 0.2, np.nan_to_num(high), height=0.4, left=base,
                  color="#dd8452", label="input at high")
        axis.axvline(base, color="black", linewidth=1)
        axis.set_yticks(y, [f"{n} ({lo} / {hi})" for n, lo, hi in zip(
            rows["input"], rows["low_value"], rows["high_value"], strict=True)],
                        fontsize=8)
        axis.set_xlabel(HEADLINE_LABELS.get(metric, metric))
        axis.legend(fontsize=7, loc="lower right")
        shown = f"{base:,.2f}" if abs(base) >= 1 else f"{base:.4g}"
        axis.set_title(f"{HEADLINE_LABELS.get(metric, metric)}: base {shown}",
                       fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    plt.close(figure)


def frontier_figure(evaluated: pd.DataFrame, metric_label: str, cost_label: str,
                    target: float, best_index: int | None, path: Path) -> None:
    """Cost against the metric for every configuration evaluated."""
    figure, axis = plt.subplots(figsize=(7, 4.5))
    meets = evaluated["meets_target"].to_numpy(dtype=bool)
    x = evaluated["metric_mean"].to_numpy(dtype=float)
    y = evaluated["cost_mean"].to_numpy(dtype=float)
    axis.errorbar(x[meets], y[meets], xerr=np.nan_to_num(
        evaluated["metric_half_width"].to_numpy(dtype=float)[meets]),
        fmt="o", color="#55a868", capsize=3, label="meets target")
    axis.errorbar(x[~meets], y[~meets], xerr=np.nan_to_num(
        evaluated["metric_half_width"].to_numpy(dtype=float)[~meets]),
        fmt="x", color="#c44e52", capsize=3, label="misses target")
    order = np.argsort(y, kind="stable")
    front, best_x = [], math.inf
    for index in order:  # cheapest first: keep points that improve the metric
        if np.isfinite(x[index]) and x[index] < best_x:
            front.append(index)
            best_x = x[index]
    if front:
        axis.step(x[front], y[front], where="post", color="grey", alpha=0.6,
                  label="frontier")
    if best_index is not None:
        axis.plot(x[best_index], y[best_index], "*", markersize=16, color="gold",
                  markeredgecolor="black", label="cheapest meeting target")
    axis.axvline(target, color="black", linestyle="--", linewidth=1, label="target")
    for label, px, py in zip(evaluated["label"], x, y, strict=True):
        if np.isfinite(px) and np.isfinite(py):
            axis.annotate(label, (px, py), fontsize=6, xytext=(3, 3),
                          textcoords="offset points")
    axis.set_xlabel(metric_label)
    axis.set_ylabel(cost_label)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    plt.close(figure)


def _series_label(names: list[str], key: object) -> str:
    values = key if isinstance(key, tuple) else (key,)
    return ", ".join(f"{n}={v}" for n, v in zip(names, values, strict=True))


def differences_figure(differences: pd.DataFrame, metrics: list[str],
                       path: Path) -> None:
    """Each scenario minus the baseline, per metric, with its interval."""
    columns = 2 if len(metrics) > 1 else 1
    rows = max(math.ceil(len(metrics) / columns), 1)
    figure, axes = plt.subplots(rows, columns, figsize=(6 * columns, 2.6 * rows),
                                squeeze=False)
    for axis, metric in zip(axes.flat, metrics, strict=False):
        mine = differences[differences["metric"] == metric]
        names = mine["variant"].astype(str).tolist()
        axis.errorbar(mine["difference_mean"], range(len(names)),
                      xerr=np.nan_to_num(mine["half_width"].to_numpy()),
                      fmt="o", capsize=4)
        axis.axvline(0.0, color="0.4", linewidth=0.8)
        axis.set_yticks(range(len(names)), names)
        axis.set_ylim(-0.7, len(names) - 0.3)
        axis.set_xlabel(f"difference in {HEADLINE_LABELS.get(metric, metric)}")
        axis.grid(alpha=0.3, axis="x")
    for axis in list(axes.flat)[len(metrics):]:
        axis.set_visible(False)
    baseline = differences["baseline"].iloc[0] if len(differences) else ""
    figure.suptitle(f"each scenario minus {baseline} (mean, interval)")
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
