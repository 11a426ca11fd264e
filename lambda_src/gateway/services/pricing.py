"""Cost of a call: tokens x the dated price table (gateway/data/prices.json), in integer micro-dollars.

Prices are USD per million tokens, which is micro-dollars per token; fractions round half up once per call.
"""

import json
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from importlib import resources
from typing import Any

from gateway.domain import TokenUsage
from gateway.errors import ForbiddenError

MICROS_PER_USD = 1_000_000


class ModelNotPricedError(ForbiddenError):
    code = "model_not_priced"
    message = "This model has no price in the gateway's price table, so it cannot be metered."


@dataclass(frozen=True)
class Price:
    input: Decimal
    output: Decimal
    cache_read: Decimal = Decimal(0)
    cache_write: Decimal = Decimal(0)


@dataclass(frozen=True)
class PriceTable:
    effective_date: str
    prices: dict[str, dict[str, Price]]

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> "PriceTable":
        prices = {
            model: {
                region: Price(**{k: Decimal(str(v)) for k, v in figures.items()})
                for region, figures in regions.items()
            }
            for model, regions in document["models"].items()
        }
        return cls(effective_date=document["effective_date"], prices=prices)

    def models(self) -> list[str]:
        return sorted(self.prices)

    def price(self, model_id: str, region: str) -> Price:
        regions = self.prices.get(model_id)
        if not regions:
            raise ModelNotPricedError()
        price = regions.get(region) or regions.get("*")
        if price is None:
            raise ModelNotPricedError(f"This model has no price for region {region}.")
        return price

    def cost_micros(self, model_id: str, region: str, usage: TokenUsage) -> int:
        price = self.price(model_id, region)
        total = (
            usage.input_tokens * price.input
            + usage.output_tokens * price.output
            + usage.cache_read_tokens * price.cache_read
            + usage.cache_write_tokens * price.cache_write
        )
        return int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def micros_to_usd(micros: int) -> float:
    return round(micros / MICROS_PER_USD, 6)


@cache
def price_table() -> PriceTable:
    document = json.loads(resources.files("gateway.data").joinpath("prices.json").read_text())
    return PriceTable.from_document(document)
