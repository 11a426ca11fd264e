"""Numbers and dates out of range are refused with 4xx and the one error shape, never 500."""

import boto3
import pytest

from tests.support.aws import REGION
from tests.support.bedrock import SHAPES
from tests.unit.gateway.api.helpers import login, signed_up

HAIKU = SHAPES["anthropic-messages"]
JSON = {"content-type": "application/json"}


@pytest.fixture
def member(api):
    headers, registration, _ = signed_up(api)
    return headers, registration


@pytest.fixture
def admin_headers(api, stack):
    headers, registration, _ = signed_up(api, email="root@example.com")
    boto3.client("cognito-idp", region_name=REGION).admin_add_user_to_group(
        UserPoolId=stack.user_pool_id, Username=registration["user_id"], GroupName="Admin"
    )
    return {**headers, "authorization": f"Bearer {login(api, email='root@example.com')['id_token']}"}


def _error(response, status, code):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    return error


# Raw bodies: Python's json would not write these literals, but Starlette's parser reads them.
@pytest.mark.parametrize(
    "max_tokens", ["Infinity", "-Infinity", "NaN", "1" + "0" * 40, "1e400", "200001", "1e300"]
)
def test_native_max_tokens_out_of_range_is_422(api, bedrock, member, max_tokens):
    headers, _ = member
    body = (
        f'{{"modelId": "{HAIKU.model_id}", "inferenceParameters": '
        f'{{"messages": [{{"role": "user", "content": "hi"}}], "anthropic_version": "bedrock-2023-05-31", '
        f'"max_tokens": {max_tokens}}}}}'
    )
    response = api.post("/bedrock", headers={**headers, **JSON}, content=body)
    error = _error(response, 422, "validation_error")
    assert "inferenceParameters" in error["message"]


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-" + "9" * 39])
def test_any_number_in_a_native_body_must_be_finite_and_fit_64_bits(api, bedrock, member, value):
    headers, _ = member
    body = (
        f'{{"modelId": "{HAIKU.model_id}", "inferenceParameters": '
        f'{{"max_tokens": 10, "nested": [{{"temperature": {value}}}]}}}}'
    )
    error = _error(api.post("/bedrock", headers={**headers, **JSON}, content=body), 422, "validation_error")
    assert "inferenceParameters.nested[0].temperature" in error["message"]


@pytest.mark.parametrize(
    "fragment",
    [
        '"max_tokens": 10000000000000000000000000000000000000000',
        '"max_tokens": Infinity',
        '"max_completion_tokens": 200001',
        '"temperature": NaN',
        '"temperature": Infinity',
        '"top_p": -Infinity',
    ],
)
def test_openai_numbers_out_of_range_are_422(api, bedrock, member, fragment):
    headers, _ = member
    body = f'{{"model": "{HAIKU.model_id}", "messages": [{{"role": "user", "content": "hi"}}], {fragment}}}'
    error = _error(
        api.post("/v1/chat/completions", headers={**headers, **JSON}, content=body), 422, "validation_error"
    )
    assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    "fragment",
    [
        '"tokens_per_day": 10000000000000000000000000000000000000000',
        '"requests_per_minute": 1e300',
        '"budget_usd_per_month": Infinity',
        '"budget_usd_per_month": NaN',
        '"budget_usd_per_month": 1e300',
    ],
)
def test_limit_overrides_out_of_range_are_422(api, member, admin_headers, fragment):
    _, registration = member
    response = api.put(
        f"/admin/users/{registration['user_id']}/limits",
        headers={**admin_headers, **JSON},
        content=f"{{{fragment}}}",
    )
    _error(response, 422, "validation_error")


@pytest.mark.parametrize(
    "query",
    [
        "start_time=0001-01-01T00:00:00",
        "end_time=0001-01-01",
        "end_time=9999-12-31T23:59:59",
        "start_time=999999999999",
        "start_time=2024-13-01",
        "limit=%C2%B2",  # a superscript two: a digit to str.isdigit, not to int
        "limit=" + "9" * 40,
    ],
)
def test_audit_log_dates_and_numbers_out_of_range_are_400(api, member, admin_headers, query):
    _, registration = member
    response = api.get(f"/admin/audit-logs/user/{registration['user_id']}?{query}", headers=admin_headers)
    _error(response, 400, "invalid_parameter")


@pytest.mark.parametrize(
    "query",
    [
        "start=0001010100",
        "end=9999123123",
        "start=2024023000",
        "start=2024010199",
        "end=%D9%A2%D9%A0%D9%A2%D9%A4%D9%A0%D9%A1%D9%A0%D9%A1%D9%A0%D9%A0",  # Arabic-Indic digits
        "start=2024010100%0A",
    ],
)
def test_analytics_hours_out_of_range_are_400(api, admin_headers, query):
    _error(api.get(f"/admin/analytics?{query}", headers=admin_headers), 400, "invalid_parameter")
    _error(api.get(f"/admin/users?{query}", headers=admin_headers), 400, "invalid_parameter")


@pytest.mark.parametrize(
    "query", ["start_period=0000-01", "start_period=9999-12", "end_period=2024-01%0A", "start_period=2024-13"]
)
def test_cost_periods_out_of_range_are_400(api, member, admin_headers, query):
    _, registration = member
    response = api.get(f"/admin/costs/users/{registration['user_id']}?{query}", headers=admin_headers)
    _error(response, 400, "invalid_parameter")


def test_usage_counters_are_whole_numbers(api, bedrock, member):
    headers, _ = member
    bedrock.catalog()
    bedrock.invoke(HAIKU)
    body = {"modelId": HAIKU.model_id, "inferenceParameters": {**HAIKU.request, "max_tokens": 50}}
    assert api.post("/bedrock", headers=headers, json=body).status_code == 200
    response = api.get("/me/usage", headers=headers)
    assert response.status_code == 200, response.text
    windows = {w["name"]: w for w in response.json()["windows"]}
    assert '"used":1,' in response.text.replace(" ", "")  # requests, written as 1 and not 1.0
    for name in ("requests_per_minute", "requests_per_day", "tokens_per_day", "tokens_per_month"):
        assert type(windows[name]["used"]) is int, name
    assert windows["requests_per_day"]["used"] == 1
    assert windows["tokens_per_day"]["used"] == HAIKU.input_tokens + HAIKU.output_tokens
