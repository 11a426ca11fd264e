"""One name per thing in every answer, read from the app's own OpenAPI schema so that a new answer cannot
escape: a key's id is `key_id`, its value `api_key`, a cost a person reads `cost_usd`. The old names stay one
release, marked deprecated (gateway/api/names.py)."""

import pytest

from gateway.main import create_app

# AWS's own name for the temporary credentials' key id (/me/credentials), not an API key's.
AWS_NAMES = {"access_key_id", "secret_access_key"}


@pytest.fixture(scope="module")
def properties() -> list[tuple[str, str, dict]]:
    spec = create_app().openapi()
    return [
        (schema_name, name, definition)
        for schema_name, schema in spec["components"]["schemas"].items()
        for name, definition in (schema.get("properties") or {}).items()
    ]


def _current(properties, wanted) -> list[str]:
    return [
        f"{schema}.{name}"
        for schema, name, definition in properties
        if wanted(name) and not definition.get("deprecated") and name not in AWS_NAMES
    ]


def test_costs_are_cost_usd(properties):
    assert _current(properties, lambda name: "cost" in name and name != "cost_usd") == []
    assert _current(properties, lambda name: "micro" in name) == []


def test_a_keys_id_is_key_id_and_its_value_api_key(properties):
    assert _current(properties, lambda name: name.endswith("key_id") and name != "key_id") == []
    assert _current(properties, lambda name: name == "value") == []


def test_the_old_names_are_still_answered_and_marked(properties):
    deprecated = {(schema, name) for schema, name, definition in properties if definition.get("deprecated")}
    assert {
        ("RegisterResponse", "api_key_id"),
        ("NewKeyResponse", "value"),
        ("PublishResponse", "api_key"),
        ("UserCostRow", "total_cost_usd"),
        ("UserCostResponse", "total_cost_usd"),
        ("MeteredWindow", "cost_micros"),
    } <= deprecated
