"""Tidy tables of experiment results (pandas), and their interval summaries.

The results table has one row per point x replication: the point's label
and parameters in their own columns, the replication index and seed, an
`error` column (empty when the run succeeded), then the headline figures and
the detail figures in a fixed order. Summaries give each figure's mean and
t-interval over replications, per point.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from simulator.experiment.headline import HEADLINE
from simulator.experiment.stats import mean_interval

ID_COLUMNS = ("label", "replication", "seed", "error")


def results_table(records: list[dict], param_names: list[str]) -> pd.DataFrame:
    """One row per record; parameters, ids, then headline and detail figures."""
    details = sorted({name for record in records for name in record["figures"]
                      if name not in HEADLINE})
    rows = []
    for record in records:
        row: dict[str, Any] = {"label": record["label"]}
        row.update({name: record["params"].get(name) for name in param_names})
        row.update({"replication": record["replication"], "seed": record["seed"],
                    "error": record["error"] or ""})
        figures = record["figures"]
        row.update({name: figures.get(name, math.nan) for name in HEADLINE})
        row.update({name: figures.get(name, math.nan) for name in details})
        rows.append(row)
    columns = ["label", *param_names, "replication", "seed", "error", *HEADLINE,
               *details]
    table = pd.DataFrame(rows, columns=columns)
    for name in param_names:
        table[name] = _one_type(table[name])
    table["seed"] = table["seed"].astype("uint64")
    for name in [*HEADLINE, *details]:
        table[name] = table[name].astype(float)
    return table


def interval_table(table: pd.DataFrame, group_by: list[str], metrics: list[str],
                   confidence: float) -> pd.DataFrame:
    """Per group: each metric's mean, half-width, low and high over replications."""
    rows = []
    ok = table[table["error"] == ""]
    for keys, group in table.groupby(group_by, sort=False, dropna=False):
        keys = keys if isinstance(keys, tuple) else (keys,)
        row: dict[str, Any] = dict(zip(group_by, keys, strict=True))
        good = ok.loc[ok.index.intersection(group.index)]
        row["replications"] = len(good)
        row["errors"] = len(group) - len(good)
        for name in metrics:
            interval = mean_interval(good[name].to_numpy(), confidence)
            row[f"{name}_mean"] = interval.mean
            row[f"{name}_half_width"] = interval.half_width
        rows.append(row)
    return pd.DataFrame(rows)


def measured_metrics(table: pd.DataFrame, names: list[str] | tuple[str, ...]
                     ) -> list[str]:
    """The names among `names` with at least one finite value in the table."""
    return [name for name in names if name in table
            and np.isfinite(table[name].to_numpy(dtype=float)).any()]


def _one_type(column: pd.Series) -> pd.Series:
    """Numbers stay numbers; a column mixing kinds becomes text (for Parquet)."""
    values = column.tolist()
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
           for v in values):
        return column.astype("int64")
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return column.astype(float)
    return column.map(lambda v: v if isinstance(v, str) else _text(v))


def _text(value: object) -> str:
    import json

    return json.dumps(value, sort_keys=True, default=str)
