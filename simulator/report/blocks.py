"""The report as data: headings, paragraphs, tables, images and file links.

report.md and report.html render the same list of blocks, so both always say
the same thing. Cells and paragraphs are plain text (no markup); each
renderer escapes them for its format. Also here: how numbers, money and
seconds are shown, so every table formats them one way.
Limitations: paragraphs have no inline emphasis or links.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from simulator.economics.pricing import format_usd

NO_VALUE = "\u2013"  # en dash: no value
SHEET_DIGITS = 6  # significant digits a printed unit price may have
PRICE_DIGITS = 4  # significant digits of a worked-out unit price
PER_UNIT = {"tokens": "1M tokens"}  # token prices are per 1M tokens


@dataclass(frozen=True)
class Heading:
    """A section title; level 1 is the report title."""

    level: int
    text: str


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of plain text."""

    text: str


@dataclass(frozen=True)
class Table:
    """Rows of text cells under a header; `align` has one l or r per column."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    align: str
    total: tuple[str, ...] | None = field(default=None)

    def __post_init__(self) -> None:
        widths = {len(self.header), len(self.align)}
        widths |= {len(row) for row in self.rows}
        if self.total is not None:
            widths.add(len(self.total))
        if len(widths) != 1:
            raise ValueError(f"table columns disagree: widths {sorted(widths)}")


@dataclass(frozen=True)
class Image:
    """A chart file in the report folder and its alt text."""

    file_name: str
    alt: str


@dataclass(frozen=True)
class FileLinks:
    """Links to data files in the report folder: (label, file name) pairs."""

    links: tuple[tuple[str, str], ...]


Block = Heading | Paragraph | Table | Image | FileLinks


def money(amount: float | Decimal | str | None) -> str:
    """USD for people (never a nonzero amount as $0.00); a dash when unknown."""
    if amount is None:
        return NO_VALUE
    return format_usd(Decimal(str(amount)))


def unit_price(amount: float | Decimal | str) -> str:
    """A unit price as the price sheet gives it, at least to the cent.

    A price of more than SHEET_DIGITS significant digits was worked out, not
    printed on a sheet (capex per GPU-month, staff per FTE-month): it is
    rounded to the cent, or to PRICE_DIGITS significant digits below that.
    """
    exact = Decimal(str(amount)).normalize()
    if exact and len(exact.as_tuple().digits) > SHEET_DIGITS:
        places = max(2, PRICE_DIGITS - 1 - math.floor(math.log10(abs(exact))))
        exact = round(exact, places).normalize()
    places = max(2, -exact.as_tuple().exponent)
    return f"${exact:,.{places}f}"


def price_per_unit(amount: float | Decimal | str, unit: str) -> str:
    """A bill line's unit price with its unit: '$4.00 / 1M tokens', '$0.06 / kWh'."""
    return f"{unit_price(amount)} / {_one_of(unit)}"


def quantity_with_unit(quantity: float, unit: str) -> str:
    """A bill line's quantity with its unit: '5,840 GPU-hours', '0.5 FTE-months'.

    Whole numbers show whole; from 10 up one decimal; below 10 three
    significant digits, so a window's 0.0201 GPU-months does not show as 0.
    """
    if float(quantity).is_integer():
        text = f"{quantity:,.0f}"
    elif abs(quantity) >= 10:
        text = f"{quantity:,.1f}"
    else:
        places = max(1, 2 - math.floor(math.log10(abs(quantity))))
        text = f"{quantity:.{places}f}".rstrip("0").rstrip(".")
    return f"{text} {_one_of(unit) if text == '1' else unit}"


def count(value: float | int | None, digits: int = 0) -> str:
    """A number with thousands separators; a dash when unknown."""
    if value is None:
        return NO_VALUE
    return f"{value:,.{digits}f}"


def seconds(value: float | None) -> str:
    """A duration in seconds with three significant digits (whole from 100 s)."""
    if value is None:
        return NO_VALUE
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f} s"
    if size >= 10:
        return f"{value:.1f} s"
    if size >= 1:
        return f"{value:.2f} s"
    if size >= 0.001:
        return f"{value:.3f} s"
    return "0 s" if value == 0 else "< 0.001 s"


def multiplier(value: float | None) -> str:
    """A ratio as x1.00, x29.8 or x2,455; a dash when unknown."""
    if value is None:
        return NO_VALUE
    if value >= 100:
        return f"x{value:,.0f}"
    return f"x{value:.1f}" if value >= 10 else f"x{value:.2f}"


def percentile_cell(entry: dict, show: Callable[[float | None], str] = seconds
                    ) -> str:
    """A percentile's value, marked when too few samples lie above it."""
    text = show(entry["value"])
    if entry["value"] is not None and entry["too_few_samples"]:
        text += " (too few samples)"
    return text


def interval_cell(entry: dict) -> str:
    """A percentile's 95% interval, or a dash when there is none."""
    if entry["ci95_low"] is None or entry["ci95_high"] is None:
        return NO_VALUE
    return f"{seconds(entry['ci95_low'])} to {seconds(entry['ci95_high'])}"


def fraction(value: float | None) -> str:
    """A [0, 1] fraction as a percentage label."""
    return NO_VALUE if value is None else f"{value * 100:.1f}%"


def duration(value: float | None) -> str:
    """A duration with three significant digits, in ms below one second."""
    if value is None:
        return NO_VALUE
    shown = f"{value * 1000:#.3g}".rstrip(".")  # '#': 58.0 stays 58.0
    if abs(value) < 1e-6 or abs(float(shown)) >= 1000:
        return seconds(value)  # zero, a second or more, or below a microsecond
    return f"{shown} ms"


def _one_of(unit: str) -> str:
    """What one unit of a plural unit name is: 'GPU-hours' -> 'GPU-hour'."""
    if unit in PER_UNIT:
        return PER_UNIT[unit]
    return unit[:-1] if unit.endswith("s") else unit
