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


def regional() -> PriceTable:
    """Built inside each test: mutmut gives a mutant only the tests that call the mutated function."""
    return PriceTable.from_document(
        {
            "effective_date": "2026-02-01",
            "models": {
                "b": {"*": {"input": 1.0, "output": 2.0}},
                "a": {
                    "*": {"input": 3.0, "output": 15.0, "cache_read": 0.3, "cache_write": 3.75},
                    "eu-central-1": {"input": 4.0, "output": 20.0},
                },
                "us-only": {"us-east-1": {"input": 1.0, "output": 1.0}},
            },
        }
    )


def test_a_documents_date_and_models_are_kept():
    assert regional().effective_date == "2026-02-01"
    assert regional().models() == ["a", "b", "us-only"]


def test_the_cost_uses_the_calls_region_and_every_kind_of_token():
    usage = TokenUsage(input_tokens=1000, output_tokens=100, cache_read_tokens=1000, cache_write_tokens=1000)
    assert regional().cost_micros("a", "us-east-1", usage) == 3000 + 1500 + 300 + 3750
    assert regional().cost_micros("a", "eu-central-1", usage) == 4000 + 2000


def test_a_model_without_a_price_for_the_region_says_which_region():
    with pytest.raises(ModelNotPricedError) as refused:
        regional().price("us-only", "eu-west-1")
    assert "eu-west-1" in refused.value.message
