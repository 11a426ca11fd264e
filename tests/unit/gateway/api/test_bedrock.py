import json

import boto3
import pytest
from boto3.dynamodb.conditions import Key
from botocore.exceptions import ReadTimeoutError

from gateway import deps
from gateway.settings import get_settings
from tests.support.aws import REGION
from tests.support.bedrock import SHAPES, invoke_response
from tests.unit.gateway.api.helpers import signed_up


def _rollups(user_id):
    table = boto3.resource("dynamodb", region_name=REGION).Table("gateway-test-usage")
    items = table.query(KeyConditionExpression=Key("pk").eq(f"USER#{user_id}"))["Items"]
    return {item["sk"]: item for item in items}


def _total(rollups, period="DAY"):
    return next(item for sk, item in rollups.items() if sk.startswith(period) and sk.endswith("#TOTAL"))


def test_list_models_returns_the_catalog(api, bedrock):
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    response = api.get("/bedrock", headers=headers)
    assert response.status_code == 200
    models = {m["model_id"]: m for m in response.json()["models"]}
    assert models["anthropic.claude-3-haiku-20240307-v1:0"] == {
        "model_id": "anthropic.claude-3-haiku-20240307-v1:0",
        "provider": "Anthropic",
        "name": "Claude 3 Haiku",
        "input_modalities": ["TEXT", "IMAGE"],
        "output_modalities": ["TEXT"],
    }


def test_list_models_is_filtered_by_the_group_policy(api, bedrock, monkeypatch):
    monkeypatch.setenv(
        "GATEWAY_GROUP_POLICIES",
        '{"CreatingBotAllowed": {"precedence": 3, "allowed_models": ["anthropic.*", "amazon.nova-*"]}}',
    )
    from gateway import deps
    from gateway.settings import get_settings

    get_settings.cache_clear()
    deps.reset()
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    ids = [m["model_id"] for m in api.get("/bedrock", headers=headers).json()["models"]]
    assert ids == ["amazon.nova-lite-v1:0", "anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-v2:1"]
    denied = api.post(
        "/bedrock",
        headers=headers,
        json={"modelId": "meta.llama3-8b-instruct-v1:0", "inferenceParameters": {}},
    )
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "model_not_allowed"


@pytest.mark.parametrize("family", sorted(SHAPES))
def test_invoke_reads_every_provider_shape_and_meters_it(api, bedrock, family):
    shape = SHAPES[family]
    headers, registration, _ = signed_up(api)
    bedrock.catalog()
    bedrock.invoke(shape)
    response = api.post(
        "/bedrock", headers=headers, json={"modelId": shape.model_id, "inferenceParameters": shape.request}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["output"] == shape.output
    assert body["usage"] == {"input_tokens": shape.input_tokens, "output_tokens": shape.output_tokens}
    assert body["cost_usd"] > 0
    assert body["raw"] is None
    # The native body went to Bedrock as sent.
    operation, params = bedrock.calls[-1]
    assert operation == "InvokeModel"
    assert params["modelId"] == shape.model_id
    day = _total(_rollups(registration["user_id"]))
    assert (int(day["input_tokens"]), int(day["output_tokens"]), int(day["requests"])) == (
        shape.input_tokens,
        shape.output_tokens,
        1,
    )
    assert round(int(day["cost_micros"]) / 1_000_000, 6) == body["cost_usd"]


def test_rollups_add_up_per_model_and_in_total(api, bedrock):
    headers, registration, _ = signed_up(api)
    bedrock.catalog()
    haiku, llama = SHAPES["anthropic-messages"], SHAPES["meta-llama"]
    for shape in (haiku, haiku, llama):
        bedrock.invoke(shape)
        assert (
            api.post(
                "/bedrock",
                headers=headers,
                json={"modelId": shape.model_id, "inferenceParameters": shape.request},
            ).status_code
            == 200
        )
    rollups = _rollups(registration["user_id"])
    per_model = {
        sk.split("#MODEL#")[1]: item
        for sk, item in rollups.items()
        if sk.startswith("MONTH") and "#MODEL#" in sk
    }
    assert int(per_model[haiku.model_id]["input_tokens"]) == 2 * haiku.input_tokens
    assert int(per_model[llama.model_id]["requests"]) == 1
    month = _total(rollups, "MONTH")
    assert int(month["requests"]) == 3
    assert int(month["output_tokens"]) == 2 * haiku.output_tokens + llama.output_tokens
    # Prices: haiku 0.25 / 1.25, llama3-8b 0.30 / 0.60 USD per million tokens = micro-dollars per token.
    assert int(month["cost_micros"]) == round(2 * (10 * 0.25 + 3 * 1.25)) + round(5 * 0.30 + 4 * 0.60)


def test_an_unknown_shape_comes_back_raw(api, bedrock):
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    monkey_body = {"answer": {"words": ["a", "b"]}}
    bedrock.runtime.add_response("invoke_model", invoke_response(monkey_body, 2, 2))
    from gateway.services.pricing import PriceTable

    # acme.mystery-v1 has no row in the shape table; give it a price so the call is allowed.
    original = PriceTable.price
    PriceTable.price = lambda self, model_id, region: original(self, "amazon.nova-lite-v1:0", region)
    try:
        response = api.post(
            "/bedrock", headers=headers, json={"modelId": "acme.mystery-v1", "inferenceParameters": {}}
        )
    finally:
        PriceTable.price = original
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["output"] is None
    assert body["raw"] == monkey_body
    assert "raw" in body["note"]


@pytest.mark.parametrize(
    "spelling",
    [
        ("model_id", "inference_parameters"),
        ("modelId", "inference_parameters"),
        ("model_id", "inferenceParameters"),
    ],
)
def test_invoke_takes_snake_case_as_well(api, bedrock, spelling):
    shape = SHAPES["anthropic-messages"]
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    bedrock.invoke(shape)
    model, parameters = spelling
    response = api.post("/bedrock", headers=headers, json={model: shape.model_id, parameters: shape.request})
    assert response.status_code == 200, response.text
    assert response.json()["output"] == shape.output
    assert bedrock.calls[-1][1]["modelId"] == shape.model_id


def test_both_spellings_must_agree(api, bedrock):
    shape = SHAPES["anthropic-messages"]
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    bedrock.invoke(shape)
    agreeing = {"modelId": shape.model_id, "model_id": shape.model_id, "inferenceParameters": shape.request}
    assert api.post("/bedrock", headers=headers, json=agreeing).status_code == 200
    calls = len(bedrock.calls)

    differing = {**agreeing, "model_id": "meta.llama3-8b-instruct-v1:0"}
    response = api.post("/bedrock", headers=headers, json=differing)

    assert (response.status_code, response.json()["error"]["code"]) == (422, "conflicting_fields")
    assert "modelId and model_id" in response.json()["error"]["message"]
    assert len(bedrock.calls) == calls


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"inferenceParameters": {}}, 422, "validation_error"),
        ({"modelId": "anthropic.claude-3-haiku-20240307-v1:0"}, 422, "validation_error"),
        (
            {"modelId": "anthropic.claude-3-haiku-20240307-v1:0", "inferenceParameters": "text"},
            422,
            "validation_error",
        ),
        ({"modelId": "anthropic.no-such-model", "inferenceParameters": {}}, 404, "model_not_found"),
        ({"modelId": "stability.unpriced-model-v1", "inferenceParameters": {}}, 403, "model_not_priced"),
    ],
)
def test_bad_requests_are_refused_before_any_model_call(api, bedrock, payload, status, code):
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    response = api.post("/bedrock", headers=headers, json=payload)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert bedrock.calls == []


def test_bedrock_errors_are_502_with_bedrocks_code_and_counted_as_errors(api, bedrock):
    headers, registration, _ = signed_up(api)
    bedrock.catalog()
    bedrock.runtime.add_client_error(
        "invoke_model",
        service_error_code="ModelErrorException",
        service_message="The model crashed",
        http_status_code=424,
    )
    shape = SHAPES["anthropic-messages"]
    response = api.post(
        "/bedrock", headers=headers, json={"modelId": shape.model_id, "inferenceParameters": shape.request}
    )
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "model_error"
    assert "ModelErrorException" in error["message"]
    assert "Traceback" not in response.text
    day = _total(_rollups(registration["user_id"]))
    assert (int(day["requests"]), int(day["errors"]), int(day["input_tokens"])) == (1, 1, 0)


def test_a_throttled_model_is_429_with_retry_after_and_charges_no_limit(api, bedrock, monkeypatch):
    policy = {"precedence": 3, "limits": {"requests_per_minute": 5, "tokens_per_day": 9000}}
    monkeypatch.setenv("GATEWAY_GROUP_POLICIES", json.dumps({"CreatingBotAllowed": policy}))
    get_settings.cache_clear()
    deps.reset()
    headers, registration, _ = signed_up(api)
    bedrock.catalog()
    bedrock.runtime.add_client_error(
        "invoke_model",
        service_error_code="ThrottlingException",
        service_message="Slow down",
        http_status_code=429,
    )
    shape = SHAPES["anthropic-messages"]
    response = api.post(
        "/bedrock", headers=headers, json={"modelId": shape.model_id, "inferenceParameters": shape.request}
    )
    assert (response.status_code, response.json()["error"]["code"]) == (429, "model_throttled")
    assert int(response.headers["retry-after"]) >= 1
    windows = {w["name"]: w for w in api.get("/me/usage", headers=headers).json()["windows"]}
    assert (windows["requests_per_minute"]["used"], windows["tokens_per_day"]["used"]) == (0, 0)
    day = _total(_rollups(registration["user_id"]))
    assert (int(day["requests"]), int(day["errors"]), int(day["input_tokens"])) == (1, 1, 0)


def test_a_model_not_enabled_is_403_model_access_denied_and_counted_as_an_error(api, bedrock):
    headers, registration, _ = signed_up(api)
    bedrock.catalog()
    bedrock.runtime.add_client_error(
        "invoke_model",
        service_error_code="AccessDeniedException",
        service_message="You don't have access to the model with the specified model ID.",
        http_status_code=403,
    )
    shape = SHAPES["anthropic-messages"]
    response = api.post(
        "/bedrock", headers=headers, json={"modelId": shape.model_id, "inferenceParameters": shape.request}
    )
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "model_access_denied"
    assert shape.model_id in error["message"]
    assert "Model access" in error["message"]
    day = _total(_rollups(registration["user_id"]))
    assert (int(day["requests"]), int(day["errors"])) == (1, 1)


def test_a_slow_model_is_504(api, bedrock, monkeypatch):
    headers, _, _ = signed_up(api)
    bedrock.catalog()

    def too_slow(**_):
        raise ReadTimeoutError(endpoint_url="https://bedrock-runtime")

    monkeypatch.setattr(bedrock.clients["bedrock-runtime"], "invoke_model", too_slow)
    shape = SHAPES["anthropic-messages"]
    response = api.post(
        "/bedrock", headers=headers, json={"modelId": shape.model_id, "inferenceParameters": shape.request}
    )
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "model_timeout"


def test_a_repeated_idempotency_key_is_refused_and_counted_once(api, bedrock):
    headers, registration, _ = signed_up(api)
    bedrock.catalog()
    shape = SHAPES["anthropic-messages"]
    bedrock.invoke(shape)
    request = {"modelId": shape.model_id, "inferenceParameters": shape.request}
    keyed = {**headers, "idempotency-key": "retry-0001"}
    first = api.post("/bedrock", headers=keyed, json=request)
    assert first.status_code == 200
    assert first.json()["request_id"] == "idem-retry-0001"
    again = api.post("/bedrock", headers=keyed, json=request)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "duplicate_request"
    assert int(_total(_rollups(registration["user_id"]))["requests"]) == 1
    bad = api.post("/bedrock", headers={**headers, "idempotency-key": "x"}, json=request)
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_idempotency_key"


def test_listing_models_needs_the_token_and_calling_one_the_key_as_well(api, bedrock):
    headers, _, _ = signed_up(api)
    token_only = {"authorization": headers["authorization"]}
    payload = {"modelId": "anthropic.claude-3-haiku-20240307-v1:0", "prompt": "Hi"}
    assert api.get("/bedrock", headers={"x-api-key": headers["x-api-key"]}).status_code == 401
    assert api.post("/bedrock", headers={"x-api-key": headers["x-api-key"]}, json=payload).status_code == 401
    assert api.post("/bedrock", headers=token_only, json=payload).status_code == 403
    bedrock.catalog()
    assert api.get("/bedrock", headers=token_only).status_code == 200
