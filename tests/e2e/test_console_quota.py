"""The gateway's quota does not starve the console: with dev's usage plan (terraform/envs/dev's example: 1
request/s, burst 2, 25 a day per API key) a person reads and manages all day with the token alone, while model
calls (token + key) are throttled and counted, and refused past the quota.

The local root's plan is roomier so that the other tests can work: this test sets dev's values on it (the
emulator's usage-plan limiter, scripts/localstack_plugin, reads the plan on each request) and puts the local
values back. What the emulator does not enforce: the stage's method throttles (stage_throttle and the
token-only methods' token_only_throttle); they are only checked to be in the deployed stage."""

import re
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.e2e.conftest import REPO, User, sign_up

pytestmark = pytest.mark.e2e

LLAMA = "meta.llama3-8b-instruct-v1:0"
MODEL_CALL = {"modelId": LLAMA, "inferenceParameters": {"prompt": "One two three", "max_gen_len": 5}}
READS = ["/me", "/me/usage", "/me/api-keys", "/bedrock", "/conversations", "/bots", "/bots/store"]
THROTTLED = {"message": "Too Many Requests"}
OVER_QUOTA = {"message": "Limit Exceeded"}


def dev_usage_plan() -> dict[str, str]:
    """rate_limit, burst_limit, quota_limit and quota_period of dev's example tfvars."""
    example = (REPO / "terraform" / "envs" / "dev" / "terraform.tfvars.example").read_text()
    block = re.search(r"\nusage_plan = \{(.*?)\n\}", example, re.S)
    assert block, "terraform/envs/dev/terraform.tfvars.example sets no usage_plan"
    return dict(re.findall(r'(\w+)\s*=\s*"?(\w+)"?', block.group(1)))


def plan_patch(rate: object, burst: object, limit: object, period: object) -> list[dict[str, str]]:
    def number(
        value: object,
    ) -> str:  # 20.0 as the API reads it back is "20" (the emulator wants a whole number)
        return str(int(float(str(value)))) if float(str(value)).is_integer() else str(value)

    return [
        {"op": "replace", "path": "/throttle/rateLimit", "value": number(rate)},
        {"op": "replace", "path": "/throttle/burstLimit", "value": number(burst)},
        {"op": "replace", "path": "/quota/limit", "value": number(limit)},
        {"op": "replace", "path": "/quota/period", "value": str(period)},
    ]


@pytest.fixture
def dev_plan(stack) -> dict[str, str]:
    apigateway = stack.aws("apigateway")
    plan_id = stack.outputs["usage_plan_id"]
    local = apigateway.get_usage_plan(usagePlanId=plan_id)
    dev = dev_usage_plan()
    apigateway.update_usage_plan(
        usagePlanId=plan_id,
        patchOperations=plan_patch(
            dev["rate_limit"], dev["burst_limit"], dev["quota_limit"], dev["quota_period"]
        ),
    )
    try:
        yield dev
    finally:
        apigateway.update_usage_plan(
            usagePlanId=plan_id,
            patchOperations=plan_patch(
                local["throttle"]["rateLimit"],
                local["throttle"]["burstLimit"],
                local["quota"]["limit"],
                local["quota"]["period"],
            ),
        )


def token_only(person: User) -> dict[str, str]:
    return {"authorization": person.headers["authorization"]}


def read_everything(http: httpx.Client, person: User, times: int) -> list[int]:
    """`times` console reads, half of them with the key sent along (a client that always sends it)."""
    statuses = []
    for i in range(times):
        headers = person.headers if i % 2 else token_only(person)
        statuses.append(http.get(READS[i % len(READS)], headers=headers).status_code)
    return statuses


def model_calls_at_once(stack, person: User, count: int) -> list[httpx.Response]:
    def call(_: int) -> httpx.Response:
        with httpx.Client(base_url=stack.api_url, timeout=30) as client:
            return client.post("/bedrock", headers=person.headers, json=MODEL_CALL)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(call, range(count)))


def test_the_console_is_not_starved_while_model_calls_spend_the_quota(stack, http, dev_plan):
    person = sign_up(http, "e2e-console@example.com")
    quota = int(dev_plan["quota_limit"])

    # More console reads than the whole day's quota, far faster than the plan's rate: none is refused.
    assert read_everything(http, person, quota + 10) == [200] * (quota + 10)

    # A model call without the key never reaches the function.
    no_key = http.post("/bedrock", headers=token_only(person), json=MODEL_CALL)
    assert (no_key.status_code, no_key.json()) == (403, {"message": "Forbidden"})

    # With it, the plan's burst lets two through at once and throttles the rest.
    burst = model_calls_at_once(stack, person, int(dev_plan["burst_limit"]) + 2)
    passed = sum(response.status_code == 200 for response in burst)
    throttled = [response for response in burst if response.status_code == 429]
    assert passed <= int(dev_plan["burst_limit"]) + 1, [r.text for r in burst]
    assert throttled
    assert all(response.json() == THROTTLED for response in throttled)

    # At the plan's rate, model calls pass until the day's quota is spent, then 429 "Limit Exceeded".
    refused = None
    deadline = time.monotonic() + 3 * quota
    while refused is None and time.monotonic() < deadline:
        time.sleep(1.05 / float(dev_plan["rate_limit"]))
        response = http.post("/bedrock", headers=person.headers, json=MODEL_CALL)
        if response.status_code == 200:
            passed += 1
        elif response.json() == OVER_QUOTA:
            refused = response
        else:
            assert response.json() == THROTTLED, response.text
    assert refused is not None
    assert refused.status_code == 429
    assert passed == quota

    # The quota holds for every model call of the key; the console keeps working, key management too.
    conversation = http.post("/conversations", headers=token_only(person), json={"model_id": LLAMA})
    assert conversation.status_code == 201, conversation.text
    message = http.post(
        f"/conversations/{conversation.json()['conversation_id']}/messages",
        headers=person.headers,
        json={"content": "Hello?"},
    )
    assert (message.status_code, message.json()) == (429, OVER_QUOTA)
    assert read_everything(http, person, len(READS)) == [200] * len(READS)
    assert http.post("/me/api-keys", headers=token_only(person)).status_code == 201


def test_token_only_methods_carry_their_own_throttle_in_the_stage(stack):
    stage = stack.aws("apigateway").get_stage(
        restApiId=stack.outputs["rest_api_id"], stageName=stack.outputs["stage_name"]
    )
    settings = stage["methodSettings"]

    assert settings["~1{proxy+}/GET"]["throttlingRateLimit"] == 10
    assert settings["~1{proxy+}/GET"]["throttlingBurstLimit"] == 20
    assert "~1conversations~1{conversation_id}~1messages/GET" in settings
    assert "~1bedrock/POST" not in settings  # a model call: the stage's throttle and its key's usage plan
    assert "~1conversations~1{conversation_id}~1messages/POST" not in settings
