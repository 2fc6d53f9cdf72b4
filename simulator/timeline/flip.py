"""The Inference Flip and the figures of the story; pure functions of spends.

The Flip is the first period whose inference spend exceeds its training
spend (strictly). The inference share of AI spend is inference / (inference
+ training). The price-and-bill pair compares the first and last periods:
how far the average price per 1M tokens fell and how far the bill rose.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal


def find_flip(inference_usd: Sequence[Decimal | float],
              training_usd: Sequence[Decimal | float]) -> int | None:
    """Index of the first period where inference spend passes training, or None."""
    if len(inference_usd) != len(training_usd):
        raise ValueError(f"inference_usd has {len(inference_usd)} periods, "
                         f"training_usd {len(training_usd)}; they must match")
    for index, (inference, training) in enumerate(
            zip(inference_usd, training_usd, strict=True)):
        if inference > training:
            return index
    return None


def inference_share(inference_usd: Decimal | float, training_usd: Decimal | float
                    ) -> float | None:
    """Inference / (inference + training); None when both are zero."""
    total = inference_usd + training_usd
    if total <= 0:
        return None
    return float(inference_usd) / float(total)


def change_frac(first: float, last: float) -> float | None:
    """Relative change from `first` to `last` (-0.8: fell 80%); None from zero."""
    if first == 0:
        return None
    return last / first - 1.0


def basket_prices(token_lines: Sequence[dict[str, tuple[float, float]]]
                  ) -> list[float | None]:
    """Price per 1M tokens of the first period's token mix at each period's
    prices: lines map a name to (tokens, USD per 1M tokens)."""
    basket = {key: quantity for key, (quantity, _) in token_lines[0].items()}
    tokens = sum(basket.values())
    found: list[float | None] = []
    for lines in token_lines:
        if tokens <= 0 or any(key not in lines for key in basket):
            found.append(None)
            continue
        found.append(sum(quantity * lines[key][1] for key, quantity in basket.items())
                     / tokens)
    return found


def price_and_bill(usd_per_mtok: Sequence[float | None],
                   inference_usd: Sequence[Decimal | float]) -> dict:
    """How the average price per 1M tokens and the bill changed, first to last
    period with a price."""
    priced = [index for index, price in enumerate(usd_per_mtok) if price]
    if not priced:
        return {"first_period": None, "last_period": None, "price_change_frac": None,
                "bill_change_frac": None}
    first, last = priced[0], priced[-1]
    return {"first_period": first, "last_period": last,
            "price_change_frac": change_frac(usd_per_mtok[first], usd_per_mtok[last]),
            "bill_change_frac": change_frac(float(inference_usd[first]),
                                            float(inference_usd[last]))}
