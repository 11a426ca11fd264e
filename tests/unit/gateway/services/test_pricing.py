import json
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.domain import TokenUsage
from gateway.services.pricing import ModelNotPricedError, PriceTable, micros_to_usd, price_table

REPO = Path(__file__).resolve().parents[4]
LOCAL_CATALOG = REPO / "scripts" / "localstack_plugin" / "gateway_localstack" / "bedrock" / "catalog.json"


def test_the_table_is_dated():
    assert price_table().effective_date >= "2026-01-01"


def test_every_model_of_the_local_catalog_has_a_price():
    model_ids = [model["modelId"] for model in json.loads(LOCAL_CATALOG.read_text())["models"]]
    assert model_ids
    missing = [m for m in model_ids if m not in price_table().prices]
    assert missing == []


def test_every_price_is_complete_and_not_negative():
    for model, regions in price_table().prices.items():
        assert "*" in regions, model
        for price in regions.values():
            assert min(price.input, price.output, price.cache_read, price.cache_write) >= 0, model


def test_cost_is_tokens_times_price_in_micro_dollars():
    table = PriceTable.from_document(
        {
            "effective_date": "2026-01-01",
            "models": {"m": {"*": {"input": 3.0, "output": 15.0, "cache_read": 0.3}}},
        }
    )
    usage = TokenUsage(input_tokens=1000, output_tokens=200, cache_read_tokens=500)
    assert table.cost_micros("m", "us-east-1", usage) == 1000 * 3 + 200 * 15 + 150
    assert micros_to_usd(6150) == 0.00615


def test_fractions_round_half_up_once_per_call():
    table = PriceTable.from_document(
        {"effective_date": "d", "models": {"m": {"*": {"input": 0.25, "output": 1.25}}}}
    )
    assert table.cost_micros("m", "x", TokenUsage(input_tokens=2, output_tokens=0)) == 1  # 0.5 -> 1
    assert table.cost_micros("m", "x", TokenUsage(input_tokens=1, output_tokens=0)) == 0  # 0.25 -> 0
    assert table.cost_micros("m", "x", TokenUsage(input_tokens=10, output_tokens=3)) == 6  # 2.5 + 3.75


def test_regional_prices_override_the_default():
    table = price_table()
    assert table.price("amazon.titan-text-express-v1", "eu-central-1").input == Decimal("0.25")
    assert table.price("amazon.titan-text-express-v1", "us-east-1").input == Decimal("0.2")


def test_unpriced_models_are_refused():
    with pytest.raises(ModelNotPricedError):
        price_table().price("acme.unknown-v1", "us-east-1")
