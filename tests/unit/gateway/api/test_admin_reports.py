import boto3
import pytest

from tests.support.aws import REGION
from tests.support.bedrock import SHAPES
from tests.unit.gateway.api.helpers import login, signed_up

HAIKU, LLAMA = SHAPES["anthropic-messages"], SHAPES["meta-llama"]


@pytest.fixture
def admin_headers(api, stack):
    headers, registration, _ = signed_up(api, email="root@example.com")
    boto3.client("cognito-idp", region_name=REGION).admin_add_user_to_group(
        UserPoolId=stack.user_pool_id, Username=registration["user_id"], GroupName="Admin"
    )
    return {**headers, "authorization": f"Bearer {login(api, email='root@example.com')['id_token']}"}


def test_conversations_and_prompts_of_a_user(api, bedrock, admin_headers):
    headers, user, _ = signed_up(api)
    bedrock.catalog()
    cid = api.post("/conversations", headers=headers, json={"model_id": HAIKU.model_id, "title": "t"}).json()[
        "conversation_id"
    ]
    bedrock.converse("reply", 2, 1)
    api.post(
        f"/conversations/{cid}/messages", headers=headers, json={"content": "What is our refund policy?"}
    )
    api.delete(f"/conversations/{cid}", headers=headers)  # deleted for the user, visible to admins

    listed = api.get(f"/admin/users/{user['user_id']}/conversations", headers=admin_headers)
    assert listed.status_code == 200, listed.text
    assert [(c["conversation_id"], c["deleted"]) for c in listed.json()["conversations"]] == [(cid, True)]
    prompts = api.get(
        f"/admin/users/{user['user_id']}/conversations/{cid}/prompts", headers=admin_headers
    ).json()
    assert [p["content"] for p in prompts["prompts"]] == ["What is our refund policy?"]
    missing = api.get(f"/admin/users/{user['user_id']}/conversations/nope/prompts", headers=admin_headers)
    assert missing.status_code == 404


def test_costs_by_model_over_months(api, bedrock, admin_headers, gateway_clock):
    headers, user, _ = signed_up(api)
    bedrock.catalog()
    for shape in (HAIKU, HAIKU, LLAMA):
        bedrock.invoke(shape)
        assert (
            api.post(
                "/bedrock",
                headers=headers,
                json={"modelId": shape.model_id, "inferenceParameters": shape.request},
            ).status_code
            == 200
        )
    api.post("/conversations", headers=headers, json={"model_id": HAIKU.model_id})
    month = f"{gateway_clock.peek():%Y-%m}"
    response = api.get(
        f"/admin/costs/users/{user['user_id']}?start_period={month}&end_period={month}", headers=admin_headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["input_tokens"] == 2 * HAIKU.input_tokens + LLAMA.input_tokens
    assert body["conversation_count"] == 1
    by_model = {m["model_id"]: m for m in body["by_model"]}
    assert by_model[HAIKU.model_id]["requests"] == 2
    assert by_model[LLAMA.model_id]["output_tokens"] == LLAMA.output_tokens
    assert body["cost_usd"] == pytest.approx(sum(m["cost_usd"] for m in body["by_model"]))
    earlier = api.get(
        f"/admin/costs/users/{user['user_id']}?start_period=2020-01&end_period=2020-02", headers=admin_headers
    ).json()
    assert (earlier["cost_usd"], earlier["by_model"], earlier["conversation_count"]) == (0, [], 0)


def test_audit_trail_newest_first_with_paging(api, admin_headers):
    headers, user, _ = signed_up(api)
    api.post("/me/api-keys", headers={"authorization": headers["authorization"]})
    api.get("/me/api-keys", headers={"authorization": headers["authorization"]})
    first = api.get(f"/admin/audit-logs/user/{user['user_id']}?limit=2", headers=admin_headers)
    assert first.status_code == 200, first.text
    events = first.json()["events"]
    assert [e["action"] for e in events] == ["me.api_keys.list", "me.api_keys.create"]
    assert events[0]["timestamp"] >= events[1]["timestamp"]
    assert first.json()["next_token"]
    rest = api.get(
        f"/admin/audit-logs/user/{user['user_id']}?limit=2&next_token={first.json()['next_token']}",
        headers=admin_headers,
    )
    assert [e["action"] for e in rest.json()["events"]] == ["auth.login", "auth.register_confirm"]
    epoch = api.get(
        f"/admin/audit-logs/user/{user['user_id']}?start_time=0&end_time=1", headers=admin_headers
    )
    assert epoch.json()["events"] == []


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("start_time=yesterday", "start_time"),
        ("start_time=2026-11-02T00:00:00Z&end_time=2026-11-01T00:00:00Z", "before"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("next_token=forged.token", "paging token"),
    ],
)
def test_bad_report_parameters_are_400(api, admin_headers, query, fragment):
    response = api.get(f"/admin/audit-logs/user/someone?{query}", headers=admin_headers)
    assert response.status_code == 400
    assert fragment in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "query", ["start_period=2026-13", "start_period=2026-1", "start_period=2026-05&end_period=2026-04"]
)
def test_bad_periods_are_400(api, admin_headers, query):
    response = api.get(f"/admin/costs/users/someone?{query}", headers=admin_headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_parameter"


def _spend(api, bedrock, headers, times):
    for _ in range(times):
        bedrock.invoke(HAIKU)
        response = api.post(
            "/bedrock",
            headers=headers,
            json={"modelId": HAIKU.model_id, "inferenceParameters": HAIKU.request},
        )
        assert response.status_code == 200, response.text


def test_users_sorted_by_cost_a_page_at_a_time(api, bedrock, admin_headers):
    bedrock.catalog()
    spenders = {}
    for email, calls in (("low@example.com", 1), ("high@example.com", 3), ("mid@example.com", 2)):
        headers, user, _ = signed_up(api, email=email)
        _spend(api, bedrock, headers, calls)
        spenders[email] = user["user_id"]
    signed_up(api, email="idle@example.com")

    first = api.get("/admin/users?limit=2", headers=admin_headers)
    assert first.status_code == 200, first.text
    page = first.json()
    assert [u["email"] for u in page["users"]] == ["high@example.com", "mid@example.com"]
    assert page["users"][0]["input_tokens"] == 3 * HAIKU.input_tokens
    assert page["users"][0]["first_name"] == "Ada"
    assert page["users"][0]["last_sign_in"]
    rest = api.get(f"/admin/users?limit=2&next_token={page['next_token']}", headers=admin_headers).json()
    assert [u["email"] for u in rest["users"]] == ["low@example.com"]
    assert rest["next_token"] is None

    everyone = []
    token = None
    while True:
        query = "/admin/users?limit=2&include_all=true" + (f"&next_token={token}" if token else "")
        body = api.get(query, headers=admin_headers).json()
        everyone += [u["email"] for u in body["users"]]
        token = body["next_token"]
        if not token:
            break
    assert everyone[:3] == ["high@example.com", "mid@example.com", "low@example.com"]
    assert {"idle@example.com", "root@example.com"} <= set(everyone[3:])
    assert len(everyone) == len(set(everyone)) == 5


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("start=2026010100&end=2026030100", "at most 31 days"),
        ("start=20261122&end=2026112223", "YYYYMMDDHH"),
        ("start=2026112223&end=2026112200", "before"),
        ("start=2026113200&end=2026113223", "not a valid hour"),
        ("include_all=yes", "include_all"),
        ("limit=5000", "limit"),
    ],
)
def test_bad_user_listing_parameters_are_400(api, admin_headers, query, fragment):
    response = api.get(f"/admin/users?{query}", headers=admin_headers)
    assert response.status_code == 400
    assert fragment in response.json()["error"]["message"]


def test_a_month_window_and_a_past_day(api, admin_headers):
    assert api.get("/admin/users?start=2026110100&end=2026113023", headers=admin_headers).status_code == 200
    past = api.get("/admin/users?start=2020010100&end=2020010123", headers=admin_headers).json()
    assert past == {"users": [], "next_token": None}


def test_analytics_series_shares_conversations_and_top_users(api, bedrock, admin_headers, gateway_clock):
    bedrock.catalog()
    headers, _, _ = signed_up(api, email="busy@example.com")
    _spend(api, bedrock, headers, 2)
    bedrock.invoke(LLAMA)
    api.post(
        "/bedrock", headers=headers, json={"modelId": LLAMA.model_id, "inferenceParameters": LLAMA.request}
    )
    api.post("/conversations", headers=headers, json={"model_id": HAIKU.model_id})

    response = api.get("/admin/analytics", headers=admin_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["totals"]["requests"] == 3
    assert body["totals"]["input_tokens"] == 2 * HAIKU.input_tokens + LLAMA.input_tokens
    assert body["totals"]["conversations"] == 1
    today = gateway_clock.peek().strftime("%Y-%m-%d")
    assert [point["period"] for point in body["series"]] == [today]
    shares = {m["model_id"]: m for m in body["models"]}
    assert shares[HAIKU.model_id]["requests"] == 2
    assert sum(m["share"] for m in body["models"]) == pytest.approx(1.0, abs=0.001)
    assert body["top_users"] is None  # a 30-day window is not one ranking period

    day = gateway_clock.peek().strftime("%Y%m%d")
    one_day = api.get(f"/admin/analytics?start={day}00&end={day}23", headers=admin_headers).json()
    assert [u["email"] for u in one_day["top_users"]] == ["busy@example.com"]
    monthly = api.get("/admin/analytics?granularity=month", headers=admin_headers).json()
    assert monthly["series"][-1]["period"] == gateway_clock.peek().strftime("%Y-%m")
    assert api.get("/admin/analytics?granularity=week", headers=admin_headers).status_code == 400


def test_any_hour_window_ranks_from_the_hourly_totals(api, bedrock, admin_headers, gateway_clock):
    bedrock.catalog()
    for email, calls in (("one@example.com", 1), ("two@example.com", 2)):
        headers, _, _ = signed_up(api, email=email)
        _spend(api, bedrock, headers, calls)
        api.post("/conversations", headers=headers, json={"model_id": HAIKU.model_id})
    hour = gateway_clock.peek().strftime("%Y%m%d%H")
    first = api.get(f"/admin/users?start={hour}&end={hour}&limit=1", headers=admin_headers)
    assert first.status_code == 200, first.text
    assert [u["email"] for u in first.json()["users"]] == ["two@example.com"]
    assert first.json()["users"][0]["conversation_count"] == 1
    assert first.json()["users"][0]["input_tokens"] == 2 * HAIKU.input_tokens
    rest = api.get(
        f"/admin/users?start={hour}&end={hour}&limit=1&next_token={first.json()['next_token']}",
        headers=admin_headers,
    ).json()
    assert [u["email"] for u in rest["users"]] == ["one@example.com"]
    assert rest["next_token"] is None

    everyone = api.get(
        f"/admin/users?start={hour}&end={hour}&limit=50&include_all=true", headers=admin_headers
    )
    emails = [u["email"] for u in everyone.json()["users"]]
    assert emails[:2] == ["two@example.com", "one@example.com"]
    assert "root@example.com" in emails[2:]
