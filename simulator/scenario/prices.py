"""Token prices as vendors publish them, held exactly as Decimal per 1M tokens.

A price may be written per 1M tokens (`input_usd_per_mtok`), per 1K tokens
(`input_usd_per_ktok`) or per token (`input_usd_per_token`); all three are
turned into the per-1M form on load, exactly, so `3.00`, `0.003` and
`0.000003` are the same price. Cached input tokens are a subset of input tokens
and are billed at the cached rate instead of the input rate; reasoning tokens
are output tokens.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, model_validator

from simulator.scenario.base import Count, Money, Real, StrictModel

TOKENS_PER_MTOK = 1_000_000
MAX_USD_PER_MTOK = 10_000
_SCALE = {"_usd_per_mtok": Decimal(1), "_usd_per_ktok": Decimal(1000),
          "_usd_per_token": Decimal(TOKENS_PER_MTOK)}
_CLASSES = ("input", "cached_input", "output")


def _date_text(value: Any) -> Any:
    """Accept a date or YYYY-MM-DD text, not a number of seconds."""
    if value is None or isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"found {value!r}; write the date as YYYY-MM-DD")
    return value


def _schema_spellings(schema: dict) -> None:
    """List the per-1K and per-token spellings in the JSON Schema too."""
    properties = schema["properties"]
    for token_class in _CLASSES:
        for suffix, unit in (("_usd_per_ktok", "1K tokens"),
                             ("_usd_per_token", "token")):
            properties[f"{token_class}{suffix}"] = {
                "type": "number", "minimum": 0,
                "description": f"The {token_class} price in USD per {unit}, instead "
                               f"of {token_class}_usd_per_mtok."}
    schema.pop("required", None)


class LongContextPrices(StrictModel):
    """Prices that apply when a call's whole input (cache reads included)
    exceeds `threshold_tokens`."""

    threshold_tokens: Count = Field(
        ge=1, le=100_000_000, description="Input size above which these apply.")
    input_usd_per_mtok: Money = Field(ge=0, le=MAX_USD_PER_MTOK,
                                      description="Input, USD per 1M tokens.")
    cached_input_usd_per_mtok: Money | None = Field(
        None, ge=0, le=MAX_USD_PER_MTOK,
        description="Cache reads, USD per 1M tokens; omitted: the base cache-read "
        "price scaled as input is.")
    output_usd_per_mtok: Money = Field(ge=0, le=MAX_USD_PER_MTOK,
                                       description="Output, USD per 1M tokens.")
    rule: Literal["whole_request", "excess_only"] = Field(
        "whole_request", description="whole_request: every token of the call at "
        "these prices; excess_only: only input beyond the threshold, output at base.")


class TokenPrices(StrictModel):
    """Prices of one model behind a pay-per-token API, USD per 1M tokens.

    Each price may be written per 1M tokens, per 1K tokens or per token.
    """

    model_config = ConfigDict(json_schema_extra=_schema_spellings)

    input_usd_per_mtok: Money = Field(
        ge=0,
        le=MAX_USD_PER_MTOK,
        description="Fresh input tokens, USD per 1M tokens; [0, 10000].",
    )
    cached_input_usd_per_mtok: Money | None = Field(
        None,
        ge=0,
        le=MAX_USD_PER_MTOK,
        description=(
            "Input tokens read from the prompt cache (a subset of input tokens), "
            "USD per 1M tokens; [0, 10000]. Omitted: same as input (no discount)."
        ),
    )
    output_usd_per_mtok: Money = Field(
        ge=0,
        le=MAX_USD_PER_MTOK,
        description=(
            "Output tokens, visible and reasoning alike, USD per 1M tokens; "
            "[0, 10000]."
        ),
    )
    cache_write_5m_usd_per_mtok: Money | None = Field(
        None, ge=0, le=MAX_USD_PER_MTOK,
        description="Writing input to the prompt cache for 5 minutes; USD per 1M "
        "tokens. Omitted: same as input.")
    cache_write_1h_usd_per_mtok: Money | None = Field(
        None, ge=0, le=MAX_USD_PER_MTOK,
        description="Writing input to the prompt cache for 1 hour; USD per 1M "
        "tokens. Omitted: same as input.")
    long_context: LongContextPrices | None = Field(
        None, description="Dearer prices above an input size.")
    batch_multiplier: Real = Field(
        0.5, gt=0, le=1, description="Price factor of the batch tier; (0, 1].")
    batch_discount_on_cache_reads: bool = Field(
        True, description="Whether the batch factor also applies to cache reads.")
    priority_multiplier: Real = Field(
        2.0, ge=1, le=10, description="Price factor of the priority tier; [1, 10].")
    as_of: Annotated[dt.date | None, BeforeValidator(_date_text)] = Field(
        None, description="Date the prices were read, as YYYY-MM-DD.")
    source: str | None = Field(None, description="Where the prices come from.")

    @model_validator(mode="before")
    @classmethod
    def _to_per_mtok(cls, data: Any) -> Any:
        """Accept per-1K and per-token spellings; keep exactly one per class."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for token_class in _CLASSES:
            given = [s for s in _SCALE if f"{token_class}{s}" in data]
            if len(given) > 1:
                names = ", ".join(f"{token_class}{s}" for s in given)
                raise ValueError(f"{names}: give the {token_class} price once")
            if given and given[0] != "_usd_per_mtok":
                value = data.pop(f"{token_class}{given[0]}")
                data[f"{token_class}_usd_per_mtok"] = _scaled(value, _SCALE[given[0]])
        return data

    @model_validator(mode="after")
    def _whole_picodollars(self) -> TokenPrices:
        for token_class in _CLASSES:
            price = getattr(self, f"{token_class}_usd_per_mtok")
            if price is not None and price * TOKENS_PER_MTOK % 1 != 0:
                raise ValueError(
                    f"{token_class}_usd_per_mtok: {price} has more than 6 decimal "
                    "places (USD per 1M tokens); round it to at most 6"
                )
        return self

    def cached_rate(self) -> Decimal:
        """The cached-input price, defaulting to the input price."""
        if self.cached_input_usd_per_mtok is None:
            return self.input_usd_per_mtok
        return self.cached_input_usd_per_mtok


def _scaled(value: Any, factor: Decimal) -> Any:
    """Scale a number exactly; leave anything else for the field to reject."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        return value
    try:
        return Decimal(str(value)) * factor
    except ArithmeticError:
        return value
