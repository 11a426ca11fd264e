"""The model gateway through the local API Gateway, against the local Bedrock (deterministic echo replies;
a token is a whitespace-separated word)."""

import pytest
from openai import PermissionDeniedError, RateLimitError

from tests.e2e.conftest import openai_client, signed_up

pytestmark = pytest.mark.e2e

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
LLAMA = "meta.llama3-8b-instruct-v1:0"


@pytest.fixture(scope="module")
def person(stack):
    return signed_up(stack, "e2e-models@example.com")


def day_total(stack, user_id: str) -> dict[str, int]:
    table = stack.outputs["table_names"]["usage"]
    items = stack.aws("dynamodb").query(
        TableName=table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :day)",
        ExpressionAttributeValues={":pk": {"S": f"USER#{user_id}"}, ":day": {"S": "DAY#"}},
        ConsistentRead=True,
    )["Items"]
    totals = [item for item in items if item["sk"]["S"].endswith("#TOTAL")]
    counters = ("requests", "input_tokens", "output_tokens", "cost_micros")
    return {name: sum(int(item.get(name, {"N": "0"})["N"]) for item in totals) for name in counters}


def test_list_models(http, person):
    response = http.get("/bedrock", headers=person.headers)
    assert response.status_code == 200, response.text
    ids = {model["model_id"] for model in response.json()["models"]}
    assert {HAIKU, LLAMA, "amazon.nova-lite-v1:0"} <= ids


def test_invoke_two_providers_and_the_rollup_moves_by_the_reported_tokens(stack, http, person):
    before = day_total(stack, person.registration["user_id"])
    anthropic = http.post(
        "/bedrock",
        headers=person.headers,
        json={
            "modelId": HAIKU,
            "inferenceParameters": {
                "anthropic_version": "bedrock-2023-05-31",
                "max_tokens": 100,
                "messages": [{"role": "user", "content": "Hello from the end to end test"}],
            },
        },
    )
    assert anthropic.status_code == 200, anthropic.text
    assert anthropic.json()["output"] == "Echo: Hello from the end to end test"
    assert anthropic.json()["usage"] == {"input_tokens": 7, "output_tokens": 8}

    llama = http.post(
        "/bedrock",
        headers=person.headers,
        json={
            "modelId": f"us.{LLAMA}",
            "inferenceParameters": {"prompt": "Count these four words", "max_gen_len": 50},
        },
    )
    assert llama.status_code == 200, llama.text
    assert llama.json()["output"] == "Echo: Count these four words"

    after = day_total(stack, person.registration["user_id"])
    reported = [anthropic.json(), llama.json()]
    assert after["requests"] - before["requests"] == 2
    assert after["input_tokens"] - before["input_tokens"] == sum(r["usage"]["input_tokens"] for r in reported)
    assert after["output_tokens"] - before["output_tokens"] == sum(
        r["usage"]["output_tokens"] for r in reported
    )
    assert after["cost_micros"] - before["cost_micros"] == round(
        sum(r["cost_usd"] for r in reported) * 1_000_000
    )


def test_unknown_model_and_bad_body(http, person):
    missing = http.post(
        "/bedrock", headers=person.headers, json={"modelId": "anthropic.nope", "inferenceParameters": {}}
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "model_not_found"
    bad = http.post("/bedrock", headers=person.headers, json={"inferenceParameters": {}})
    assert bad.status_code == 422


def test_a_failing_model_is_502_with_bedrocks_code(http, person):
    response = http.post(
        "/bedrock",
        headers=person.headers,
        json={"modelId": LLAMA, "inferenceParameters": {"prompt": "[[bedrock:error]] please"}},
    )
    assert response.status_code == 502
    assert "ModelErrorException" in response.json()["error"]["message"]


def test_a_model_whose_access_is_not_enabled_is_403_model_access_denied(http, person):
    response = http.post(
        "/bedrock",
        headers=person.headers,
        json={"modelId": LLAMA, "inferenceParameters": {"prompt": "[[bedrock:access-denied]] hi"}},
    )
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["code"] == "model_access_denied"
    assert LLAMA in error["message"]
    assert "Model access" in error["message"]


def test_chat_in_a_conversation(http, person):
    created = http.post("/conversations", headers=person.headers, json={"model_id": HAIKU, "title": "e2e"})
    assert created.status_code == 201, created.text
    cid = created.json()["conversation_id"]
    first = http.post(
        f"/conversations/{cid}/messages", headers=person.headers, json={"content": "first question"}
    )
    assert first.status_code == 200, first.text
    assert first.json()["reply"]["content"] == "Echo: first question"
    second = http.post(
        f"/conversations/{cid}/messages", headers=person.headers, json={"content": "second one"}
    )
    # The whole history went to the model: 2 + 3 + 2 words.
    assert second.json()["usage"]["input_tokens"] == 7
    detail = http.get(f"/conversations/{cid}", headers=person.headers).json()
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant", "user", "assistant"]


def test_the_openai_client_works_with_the_api_key(stack, person):
    client = openai_client(stack, person)
    completion = client.chat.completions.create(
        model="amazon.nova-lite-v1:0",
        messages=[{"role": "system", "content": "Be brief"}, {"role": "user", "content": "Hi from openai"}],
    )
    assert completion.choices[0].message.content == "Echo: Hi from openai"
    assert completion.usage.prompt_tokens == 5
    assert completion.usage.completion_tokens == 4
    assert "amazon.nova-lite-v1:0" in [model.id for model in client.models.list()]
    stream = client.chat.completions.create(
        model="amazon.nova-lite-v1:0", messages=[{"role": "user", "content": "streamed"}], stream=True
    )
    assert (
        "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices) == "Echo: streamed"
    )


def test_the_openai_client_reads_model_access_denied_as_a_permission_error(stack, person):
    client = openai_client(stack, person)
    with pytest.raises(PermissionDeniedError) as refused:
        client.chat.completions.create(
            model="amazon.nova-lite-v1:0", messages=[{"role": "user", "content": "[[bedrock:access-denied]]"}]
        )
    assert refused.value.code == "model_access_denied"
    assert refused.value.type == "permission_error"


def counters(http, person) -> dict[str, float]:
    """The user's limit counters of the day and month (the minute's may roll over during a test)."""
    response = http.get("/me/usage", headers=person.headers)
    assert response.status_code == 200, response.text
    return {w["name"]: w["used"] for w in response.json()["windows"] if w["name"] != "requests_per_minute"}


def test_an_empty_system_message_is_dropped_and_only_the_real_call_is_counted(http, person):
    before = counters(http, person)
    response = http.post(
        "/v1/chat/completions",
        headers={"x-api-key": person.registration["api_key"]},
        json={
            "model": "amazon.nova-lite-v1:0",
            "messages": [
                {"role": "system", "content": ""},
                {"role": "user", "content": "Hi without a system"},
            ],
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["choices"][0]["message"]["content"] == "Echo: Hi without a system"
    after = counters(http, person)
    assert after["requests_per_day"] - before["requests_per_day"] == 1
    # The reservation (thousands of tokens) was settled to what the model reported.
    assert after["tokens_per_day"] - before["tokens_per_day"] == body["usage"]["total_tokens"]


def test_a_throttled_model_is_429_model_throttled_and_charges_nothing(stack, http, person):
    before = counters(http, person)
    response = http.post(
        "/v1/chat/completions",
        headers={"x-api-key": person.registration["api_key"]},
        json={"model": HAIKU, "messages": [{"role": "user", "content": "[[bedrock:throttle]] hi"}]},
    )
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert (error["code"], error["type"]) == ("model_throttled", "rate_limit_error")
    assert int(response.headers["retry-after"]) >= 1
    assert counters(http, person) == before
    # The openai client reads it as a rate limit (and, with retries on, waits what Retry-After says).
    client = openai_client(stack, person, max_retries=0)
    with pytest.raises(RateLimitError) as throttled:
        client.chat.completions.create(
            model=HAIKU, messages=[{"role": "user", "content": "[[bedrock:throttle]] again"}]
        )
    assert throttled.value.code == "model_throttled"
    assert counters(http, person) == before
