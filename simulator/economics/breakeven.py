"""When owning GPUs pays off: cumulative cost of owning against renting.

Owning costs capex up front plus a running cost for every hour owned; the
alternative costs its hourly price for the hours it is needed (and billed).
Break-even is the hour at which the cumulative costs meet:
capex / (alternative per owned hour - running cost per hour). There is none
when the alternative is no dearer per hour than running what you own, or when
the break-even hour falls beyond the depreciation life; the result then says
so instead of giving a negative or meaningless number.
Limitations: prices are flat over the life; no financing cost, residual value
or hardware refresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

HOURS_PER_MONTH = Decimal(730)


@dataclass(frozen=True)
class BreakEven:
    """The result of one owning-against-alternative comparison."""

    hours: Decimal | None
    life_hours: Decimal
    reason: str
    uncapped_hours: Decimal | None = None
    """The crossing even when it lies beyond the life; None if never."""

    @property
    def months(self) -> Decimal | None:
        """Break-even in average months (730 h), or None."""
        return None if self.hours is None else self.hours / HOURS_PER_MONTH


def break_even(*, capex_usd: Decimal, own_usd_per_hour: Decimal,
               alternative_usd_per_hour: Decimal, needed_frac: Decimal = Decimal(1),
               life_months: int = 60) -> BreakEven:
    """Hours of ownership after which owning is cheaper than the alternative.

    Args:
        capex_usd: purchase price.
        own_usd_per_hour: running cost of owning, per hour owned.
        alternative_usd_per_hour: the alternative's price per hour it is billed.
        needed_frac: share of hours the alternative is needed (and billed).
        life_months: depreciation life; a later break-even does not count.
    """
    if not Decimal(0) <= needed_frac <= Decimal(1):
        raise ValueError(f"needed_frac must be in [0, 1], got {needed_frac}")
    life_hours = HOURS_PER_MONTH * life_months
    saving = alternative_usd_per_hour * needed_frac - own_usd_per_hour
    if saving <= 0:
        return BreakEven(None, life_hours, "the alternative costs no more per hour "
                         "than running owned GPUs, so owning never pays off")
    hours = capex_usd / saving
    if hours > life_hours:
        return BreakEven(None, life_hours,
                         f"owning would pay off only after {hours:,.0f} hours "
                         f"({hours / HOURS_PER_MONTH:,.1f} months), beyond the "
                         f"{life_months}-month life", hours)
    return BreakEven(hours, life_hours,
                     f"owning pays off after {hours:,.0f} hours "
                     f"({hours / HOURS_PER_MONTH:,.1f} months)", hours)


def cumulative_costs(*, capex_usd: Decimal, own_usd_per_month: Decimal,
                     alternative_usd_per_month: Decimal, months: int
                     ) -> list[tuple[int, Decimal, Decimal]]:
    """(month, owning so far, alternative so far) for months 0..months."""
    return [(month, capex_usd + own_usd_per_month * month,
             alternative_usd_per_month * month) for month in range(months + 1)]
