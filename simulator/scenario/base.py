"""Shared base model and the named distributions used across the schema.

Every distribution draws non-negative values (token counts, seconds), so
bounds are checked here once. A bare number where a distribution is expected
means a constant.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

Z_90 = 1.2815515655446004  # standard normal quantile at 0.90
MAX_VALUE = 1e9  # the largest value a distribution parameter may take
DIST_KINDS = ("constant", "uniform", "exponential", "lognormal", "empirical")


def _number_only(value: object) -> object:
    """Reject text and booleans where a number belongs (no "3600", no true)."""
    if isinstance(value, (str, bool)):
        raise ValueError(f"must be a number, found {type(value).__name__} {value!r}")
    return value


Real = Annotated[float, BeforeValidator(_number_only, json_schema_input_type=float)]
"""A finite number, never text or a boolean."""
Count = Annotated[int, BeforeValidator(_number_only, json_schema_input_type=int)]
"""A whole number (1e9 is accepted as one billion), never text or a boolean."""
Money = Annotated[Decimal, BeforeValidator(_number_only, json_schema_input_type=float)]
"""An exact amount, from a number, never text or a boolean."""


class StrictModel(BaseModel):
    """Base of every scenario model: unknown fields and non-finite numbers are
    errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True,
                              allow_inf_nan=False)


class Constant(StrictModel):
    """Always the same value."""

    dist: Literal["constant"]
    value: Real = Field(ge=0, le=MAX_VALUE,
                        description="The value; [0, 1e9], in the field's unit.")

    def mean(self) -> float:
        """Expected value."""
        return self.value


class Uniform(StrictModel):
    """Uniform between `low` and `high`."""

    dist: Literal["uniform"]
    low: Real = Field(ge=0, le=MAX_VALUE,
                      description="Lower bound; [0, 1e9], in the field's unit.")
    high: Real = Field(ge=0, le=MAX_VALUE,
                       description="Upper bound; >= low, <= 1e9, in the field's unit.")

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be >= low ({self.low})")
        return self

    def mean(self) -> float:
        """Expected value."""
        return (self.low + self.high) / 2


class Exponential(StrictModel):
    """Exponential with the given mean."""

    dist: Literal["exponential"]
    mean_value: Real = Field(
        gt=0, le=MAX_VALUE, alias="mean",
        description="Mean; (0, 1e9], in the field's unit."
    )

    def mean(self) -> float:
        """Expected value."""
        return self.mean_value


class Lognormal(StrictModel):
    """Log-normal, given by `median` and `p90`, or by `mean` and `sigma`."""

    dist: Literal["lognormal"]
    median: Real | None = Field(None, gt=0, le=MAX_VALUE,
                                description="Median; (0, 1e9].")
    p90: Real | None = Field(None, gt=0, le=MAX_VALUE,
                             description="90th percentile; > median, <= 1e9.")
    mean_value: Real | None = Field(
        None, gt=0, le=MAX_VALUE, alias="mean", description="Mean; (0, 1e9]."
    )
    sigma: Real | None = Field(
        None, gt=0, le=10, description="Sigma of the underlying normal; (0, 10]."
    )

    @model_validator(mode="after")
    def _one_form(self) -> Lognormal:
        by_quantiles = self.median is not None and self.p90 is not None
        by_moments = self.mean_value is not None and self.sigma is not None
        mixed = (self.median is not None or self.p90 is not None) and (
            self.mean_value is not None or self.sigma is not None
        )
        if mixed or by_quantiles == by_moments:
            raise ValueError("give either median and p90, or mean and sigma")
        if by_quantiles and self.p90 <= self.median:
            raise ValueError(f"p90 ({self.p90}) must be > median ({self.median})")
        return self

    def mu_sigma(self) -> tuple[float, float]:
        """Parameters (mu, sigma) of the underlying normal."""
        if self.median is not None:
            return math.log(self.median), math.log(self.p90 / self.median) / Z_90
        return math.log(self.mean_value) - self.sigma**2 / 2, self.sigma

    def mean(self) -> float:
        """Expected value."""
        mu, sigma = self.mu_sigma()
        return math.exp(mu + sigma**2 / 2)


class Empirical(StrictModel):
    """One of the listed values, with optional weights."""

    dist: Literal["empirical"]
    values: list[Real] = Field(
        min_length=1, description="Observed values; each >= 0."
    )
    weights: list[Real] | None = Field(
        None, description="Relative weights, one per value; each in [0, 1e9], sum > 0."
    )

    @model_validator(mode="after")
    def _check(self) -> Empirical:
        if any(v < 0 or v > MAX_VALUE for v in self.values):
            raise ValueError(f"values must each be in [0, 1e9], found {self.values}")
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(
                    f"weights has {len(self.weights)} entries, values "
                    f"{len(self.values)}; they must match"
                )
            if any(w < 0 or w > MAX_VALUE for w in self.weights) or sum(
                    self.weights) <= 0:
                raise ValueError(f"weights must be >= 0 with a sum > 0, found "
                                 f"{self.weights}")
        return self

    def mean(self) -> float:
        """Expected value."""
        weights = self.weights or [1.0] * len(self.values)
        total = sum(v * w for v, w in zip(self.values, weights, strict=True))
        return total / sum(weights)


def _number_is_constant(value: object) -> object:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"dist": "constant", "value": value}
    if isinstance(value, (str, bool)) or value is None:
        raise ValueError(f"found {value!r}; give a number or a mapping with dist: "
                         f"one of {', '.join(DIST_KINDS)}")
    if isinstance(value, dict) and "dist" not in value:
        raise ValueError(f"found {value!r} without dist:; name one of "
                         f"{', '.join(DIST_KINDS)}, or give a plain number")
    return value


_Distributions = Constant | Uniform | Exponential | Lognormal | Empirical
Dist = Annotated[
    _Distributions,
    Field(discriminator="dist"),
    BeforeValidator(_number_is_constant,
                    json_schema_input_type=Annotated[float, Field(ge=0)]
                    | Annotated[_Distributions, Field(discriminator="dist")]),
]
"""A distribution: a number (constant) or a mapping with `dist:` naming its kind."""
