import json
import time
from datetime import timedelta

import pytest

from gateway import deps
from gateway.services.limits import LIMIT_COUNTERS
from gateway.settings import get_settings
from tests.support.bedrock import SHAPES
from tests.support.clock import BOUNDARIES
from tests.unit.gateway.api.helpers import login, signed_up

HAIKU = SHAPES["anthropic-messages"]  # answers 10 input + 3 output tokens


def use_policy(monkeypatch, **limits):
    policy = {"CreatingBotAllowed": {"precedence": 3, "limits": limits}}
    monkeypatch.setenv("GATEWAY_GROUP_POLICIES", json.dumps(policy))
    get_settings.cache_clear()
    deps.reset()


def call(api, headers, max_tokens=50, **extra_headers):
    body = {"modelId": HAIKU.model_id, "inferenceParameters": {**HAIKU.request, "max_tokens": max_tokens}}
    return api.post("/bedrock", headers={**headers, **extra_headers}, json=body)


def usage(api, headers):
    response = api.get("/me/usage", headers=headers)
    assert response.status_code == 200, response.text
    return {w["name"]: w for w in response.json()["windows"]}, response.json()


def test_requests_per_minute_refuse_with_429_rate_limited(api, bedrock, monkeypatch):
    use_policy(monkeypatch, requests_per_minute=2)
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    for _ in range(2):
        bedrock.invoke(HAIKU)
        assert call(api, headers).status_code == 200
    refused = call(api, headers)
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "rate_limited"
    assert error["details"]["limit_name"] == "requests_per_minute"
    assert (error["details"]["limit"], error["details"]["used"]) == (2, 2)
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    windows, _ = usage(api, headers)
    assert windows["requests_per_minute"]["used"] == 2  # the refused call left no trace


def test_tokens_reserve_the_worst_case_and_settle_to_the_real_figures(api, bedrock, monkeypatch):
    use_policy(monkeypatch, tokens_per_day=400)
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    bedrock.invoke(HAIKU)
    assert call(api, headers, max_tokens=50).status_code == 200
    windows, _ = usage(api, headers)
    assert windows["tokens_per_day"]["used"] == HAIKU.input_tokens + HAIKU.output_tokens
    assert windows["tokens_per_day"]["remaining"] == 400 - 13
    refused = call(api, headers, max_tokens=390)  # could pass the limit: refused before the call
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "quota_exceeded"
    assert refused.json()["error"]["details"]["used"] == 13
    assert len(bedrock.calls) == 1


def test_a_call_larger_than_the_limit_is_refused_outright(api, bedrock, monkeypatch):
    use_policy(monkeypatch, tokens_per_month=100)
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    refused = call(api, headers, max_tokens=5000)
    assert refused.status_code == 429
    assert refused.json()["error"]["details"]["limit_name"] == "tokens_per_month"
    assert "retry-after" in refused.headers


def test_the_budget_refuses_with_budget_exceeded_and_the_soft_threshold_flags(api, bedrock, monkeypatch):
    # haiku: 0.25 / 1.25 USD per million tokens; one call reserves about 50 output tokens, 63 micro-dollars.
    use_policy(monkeypatch, budget_usd_per_month=0.0001, budget_soft_threshold=0.05)
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    bedrock.invoke(HAIKU)
    assert call(api, headers, max_tokens=50).status_code == 200
    windows, report = usage(api, headers)
    assert windows["budget_usd_per_month"]["used"] == pytest.approx(0.000006)  # 10 x 0.25 + 3 x 1.25, rounded
    assert report["budget_flagged"] is True  # 6 of 100 micro-dollars passes 5 %
    refused = call(api, headers, max_tokens=100)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "budget_exceeded"


def test_a_failed_call_releases_its_reservation(api, bedrock, monkeypatch):
    use_policy(monkeypatch, requests_per_minute=1, tokens_per_day=1000)
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    bedrock.runtime.add_client_error(
        "invoke_model", service_error_code="ModelErrorException", http_status_code=424
    )
    assert call(api, headers).status_code == 502
    windows, _ = usage(api, headers)
    assert (windows["requests_per_minute"]["used"], windows["tokens_per_day"]["used"]) == (0, 0)
    bedrock.invoke(HAIKU)
    assert call(api, headers).status_code == 200


def test_a_retried_request_id_is_counted_once(api, bedrock, monkeypatch):
    use_policy(monkeypatch, requests_per_day=5)
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    bedrock.invoke(HAIKU)
    assert call(api, headers, **{"idempotency-key": "same-request-1"}).status_code == 200
    assert call(api, headers, **{"idempotency-key": "same-request-1"}).status_code == 409
    windows, _ = usage(api, headers)
    assert windows["requests_per_day"]["used"] == 1


def test_the_next_window_admits_again(api, bedrock, monkeypatch, gateway_clock):
    use_policy(monkeypatch, requests_per_minute=1)
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    bedrock.invoke(HAIKU)
    assert call(api, headers).status_code == 200
    assert call(api, headers).status_code == 429
    gateway_clock.advance(minutes=1)
    bedrock.invoke(HAIKU)
    assert call(api, headers).status_code == 200


def test_me_usage_shows_limits_use_and_remaining(api, bedrock, monkeypatch):
    use_policy(monkeypatch, requests_per_day=10)
    headers, _, _ = signed_up(api)
    windows, report = usage(api, headers)
    assert report["limits"]["requests_per_day"] == 10
    assert windows["requests_per_day"] | {"resets_in_seconds": 0} == {
        "name": "requests_per_day",
        "window": windows["requests_per_day"]["window"],
        "limit": 10,
        "used": 0,
        "remaining": 10,
        "resets_in_seconds": 0,
    }
    assert windows["requests_per_day"]["window"].startswith("DAY#")
    assert windows["tokens_per_month"]["limit"] is None
    assert windows["tokens_per_month"]["remaining"] is None


def test_admins_override_a_users_limits(api, bedrock, stack, monkeypatch):
    import boto3

    from tests.support.aws import REGION

    use_policy(monkeypatch, requests_per_minute=1)
    admin_headers, admin, _ = signed_up(api, email="root@example.com")
    boto3.client("cognito-idp", region_name=REGION).admin_add_user_to_group(
        UserPoolId=stack.user_pool_id, Username=admin["user_id"], GroupName="Admin"
    )
    admin_headers["authorization"] = f"Bearer {login(api, email='root@example.com')['id_token']}"
    headers, user, _ = signed_up(api)

    assert api.get(f"/admin/users/{user['user_id']}/limits", headers=headers).status_code == 403
    before = api.get(f"/admin/users/{user['user_id']}/limits", headers=admin_headers)
    assert before.status_code == 200
    assert before.json()["effective"]["requests_per_minute"] == 1
    put = api.put(
        f"/admin/users/{user['user_id']}/limits",
        headers=admin_headers,
        json={"requests_per_minute": 3, "budget_usd_per_month": 12.5},
    )
    assert put.status_code == 200, put.text
    assert put.json()["effective"]["requests_per_minute"] == 3
    assert put.json()["effective"]["budget_usd_per_month"] == 12.5
    assert put.json()["group_limits"]["requests_per_minute"] == 1

    bedrock.catalog()
    for _ in range(3):
        bedrock.invoke(HAIKU)
        assert call(api, headers).status_code == 200
    assert call(api, headers).status_code == 429

    bad = api.put(
        f"/admin/users/{user['user_id']}/limits", headers=admin_headers, json={"requests_per_minute": 0}
    )
    assert bad.status_code == 422
    unknown = api.put("/admin/users/nobody/limits", headers=admin_headers, json={})
    assert unknown.status_code == 404


def test_the_usage_record_holds_the_key_status_tokens_latency_and_request_id(api, bedrock, gateway_clock):
    headers, registration, _ = signed_up(api)
    bedrock.catalog()
    bedrock.invoke(HAIKU)
    # The model takes 50 ms: the record's latency is the model call's own.
    runtime_events = bedrock.clients["bedrock-runtime"].meta.events
    runtime_events.register("provide-client-params.bedrock-runtime.InvokeModel", lambda **_: time.sleep(0.05))
    started = gateway_clock.peek()
    response = call(api, headers, **{"idempotency-key": "record-me-1"})
    assert response.status_code == 200, response.text
    assert response.json()["request_id"] == "idem-record-me-1"
    record = deps.usage_repository.get().call(registration["user_id"], "idem-record-me-1")
    assert record["request_id"] == "idem-record-me-1"
    assert record["key_id"] == registration["key_id"]
    assert record["model_id"] == HAIKU.model_id
    assert record["status"] == "ok"
    assert (record["input_tokens"], record["output_tokens"]) == (HAIKU.input_tokens, HAIKU.output_tokens)
    assert 50 <= record["latency_ms"] < 10_000
    assert record["cost_micros"] == 6  # 10 x 0.25 + 3 x 1.25 USD per million tokens, rounded
    assert record["started_at"] >= f"{started:%Y-%m-%dT%H:%M:%S}"


def test_the_monthly_token_count_settles_from_the_reservation_to_the_real_use(api, bedrock, monkeypatch):
    headers, registration, _ = signed_up(api)
    bedrock.catalog()
    bedrock.invoke(HAIKU)
    assert call(api, headers, max_tokens=50, **{"idempotency-key": "first-call-1"}).status_code == 200
    used = HAIKU.input_tokens + HAIKU.output_tokens
    windows, _ = usage(api, headers)
    assert windows["tokens_per_month"]["used"] == used
    reserved = int(
        deps.usage_repository.get().call(registration["user_id"], "idem-first-call-1")["reserved_tokens"]
    )
    assert reserved > used  # the worst case: the prompt's estimate plus max_tokens
    # Room for one more reservation only if the first call's was settled down to its real use.
    use_policy(monkeypatch, tokens_per_month=used + reserved)
    bedrock.catalog()  # the new policy's services read the catalog afresh
    bedrock.invoke(HAIKU)
    assert call(api, headers, max_tokens=50).status_code == 200
    windows, _ = usage(api, headers)
    assert windows["tokens_per_month"]["used"] == 2 * used


def test_without_token_headers_the_counts_come_from_the_body(api, bedrock):
    headers, registration, _ = signed_up(api)
    bedrock.catalog()
    bedrock.invoke(HAIKU, token_headers=False)
    response = call(api, headers, **{"idempotency-key": "body-counts-1"})
    assert response.status_code == 200, response.text
    assert response.json()["usage"] == {"input_tokens": 10, "output_tokens": 3}  # the body's usage
    record = deps.usage_repository.get().call(registration["user_id"], "idem-body-counts-1")
    assert (record["input_tokens"], record["output_tokens"]) == (10, 3)
    windows, _ = usage(api, headers)
    assert windows["tokens_per_month"]["used"] == 13


# The windows each boundary closes (the last second of a minute, of a day, of a month, of a year).
ROLLED = {
    "minute": {"requests_per_minute"},
    "day": {"requests_per_minute", "requests_per_day", "tokens_per_day"},
    "month": set(LIMIT_COUNTERS),
    "year": set(LIMIT_COUNTERS),
}


@pytest.mark.parametrize("boundary", sorted(ROLLED))
def test_a_call_in_the_last_second_of_a_window_counts_in_that_window_only(
    api, bedrock, monkeypatch, gateway_clock, boundary
):
    use_policy(monkeypatch, requests_per_minute=1)
    headers, _, _ = signed_up(api)
    last_second = BOUNDARIES[boundary]
    gateway_clock.set(last_second + timedelta(milliseconds=500))
    bedrock.catalog()
    bedrock.invoke(HAIKU)
    assert call(api, headers).status_code == 200
    refused = call(api, headers)
    assert (refused.status_code, refused.headers["retry-after"]) == (429, "1")  # the minute ends in 1 s
    before, _ = usage(api, headers)
    assert before["requests_per_minute"]["resets_in_seconds"] == 1
    assert before["tokens_per_day"]["used"] == HAIKU.input_tokens + HAIKU.output_tokens

    gateway_clock.set(last_second + timedelta(seconds=1))  # the first instant of the next window
    after, _ = usage(api, headers)
    for name, window in after.items():
        expected = 0 if name in ROLLED[boundary] else before[name]["used"]
        assert window["used"] == expected, name
    bedrock.invoke(HAIKU)
    assert call(api, headers).status_code == 200
