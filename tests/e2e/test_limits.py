"""Exact limits through the local API Gateway: concurrent calls, exactly the limit admitted."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.e2e.conftest import sign_up

pytestmark = pytest.mark.e2e

LIMIT = 3
LLAMA = "meta.llama3-8b-instruct-v1:0"


def test_concurrent_calls_admit_exactly_the_limit(stack, http, admin):
    person = sign_up(http, "e2e-limits@example.com")
    user_id = person.registration["user_id"]
    put = http.put(f"/admin/users/{user_id}/limits", headers=admin.headers, json={"requests_per_day": LIMIT})
    assert put.status_code == 200, put.text
    assert put.json()["effective"]["requests_per_day"] == LIMIT

    def one(index: int) -> httpx.Response:
        with httpx.Client(base_url=stack.api_url, timeout=30) as client:
            return client.post(
                "/bedrock",
                headers=person.headers,
                json={
                    "modelId": LLAMA,
                    "inferenceParameters": {"prompt": f"call {index}", "max_gen_len": 10},
                },
            )

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(one, range(8)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * LIMIT + [429] * (8 - LIMIT), [r.text for r in responses]
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.json()["error"]["code"] == "quota_exceeded"
    assert int(refused.headers["retry-after"]) > 0

    windows = {w["name"]: w for w in http.get("/me/usage", headers=person.headers).json()["windows"]}
    assert windows["requests_per_day"]["used"] == LIMIT
    assert windows["requests_per_day"]["remaining"] == 0


def test_non_admins_cannot_read_or_set_limits(http, user):
    response = http.get(f"/admin/users/{user.registration['user_id']}/limits", headers=user.headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
