"""ModelService (services/models.py) with a scripted model and the real usage and limit stores in moto: what a
call reserves before the model is called, what it settles to, what it stores, what it answers, and how each
way of ending (a failure, a guardrail, a limit, too little time) is metered. Runs in seconds; the API tests
(api/test_bedrock.py, api/test_limits.py) cover the same through HTTP."""

import json
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from gateway import aws, deadline
from gateway.clock import iso
from gateway.domain import TokenUsage
from gateway.errors import UpstreamError
from gateway.providers.bedrock import (
    Conversation,
    FoundationModel,
    Invocation,
    ModelError,
    ModelNotFoundError,
    ModelTimeoutError,
)
from gateway.repositories import transactions
from gateway.repositories.limits import LimitRepository, Windows
from gateway.repositories.usage import UsageRepository
from gateway.services.limits import LimitExceededError, LimitService, seconds_until_window_ends
from gateway.services.models import (
    Answer,
    Caller,
    ConverseOutcome,
    EmbedOutcome,
    GuardrailIntervenedError,
    InvokeOutcome,
    ModelNotAllowedError,
    ModelService,
)
from gateway.services.pricing import ModelNotPricedError, PriceTable, price_table
from gateway.services.token_estimate import estimate_input_tokens
from gateway.settings import GroupPolicy, Guardrail, Limits
from tests.support.aws import REGION
from tests.support.bedrock import CATALOG, SHAPES
from tests.support.faults import FaultInjector

TABLE = "gateway-test-usage"
HAIKU = SHAPES["anthropic-messages"]
PARAMETERS = {**HAIKU.request, "max_tokens": 50}
NOVA = "us.amazon.nova-lite-v1:0"  # an inference profile: metered as its base model
MYSTERY = "acme.mystery-v1"  # priced here, but of no known response shape
TITAN_EMBED, COHERE_EMBED = "amazon.titan-embed-text-v2:0", "cohere.embed-english-v3"
GUARDRAIL = Guardrail(id="grlimited", version="3")
LIMITED = GroupPolicy(
    precedence=1, limits=Limits(requests_per_minute=2, tokens_per_day=10_000), guardrail=GUARDRAIL
)
OPEN = GroupPolicy(precedence=2, allowed_models=["anthropic.*", "amazon.*"])
POLICIES = {"limited": LIMITED, "open": OPEN}
DEFAULT = GroupPolicy(
    allowed_models=["amazon.titan-text-express-v1"], guardrail=Guardrail(id="grdefault", version="1")
)
ATTEMPTS = transactions.DEFAULT_POLICY.attempts
ELEVEN_IN_SEVEN_OUT = TokenUsage(11, 7)  # what the scripted model reports unless told otherwise
# The service's options in these tests, none of them its default.
OPTIONS = {
    "default_max_output_tokens": 500,
    "chars_per_token": 4,
    "model_timeout_seconds": 20.0,
    "settle_margin_seconds": 2.0,
}


def _prices() -> PriceTable:
    table = price_table()
    return PriceTable(
        table.effective_date,
        # priced in the test region only: elsewhere it cannot be metered
        {**table.prices, MYSTERY: {REGION: table.prices["amazon.titan-text-express-v1"]["*"]}},
    )


PRICES = _prices()


def cost(model_id: str, input_tokens: int, output_tokens: int) -> int:
    return PRICES.cost_micros(model_id, REGION, TokenUsage(input_tokens, output_tokens))


class ScriptedBedrock:
    """BedrockModels with queued answers (an Invocation, a Conversation or an exception to raise); records
    each call's arguments, and runs `during` (if set) while the model is being called."""

    def __init__(self) -> None:
        self.answers: list[Any] = []
        self.calls: list[dict[str, Any]] = []
        self.during: Any = None

    def catalog(self) -> dict[str, FoundationModel]:
        return {
            model_id: FoundationModel(model_id, provider, name, tuple(inputs), tuple(outputs))
            for model_id, provider, name, inputs, outputs in CATALOG
        }

    def _answer(self) -> Any:
        if self.during is not None:
            self.during()
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def invoke(self, model_id, body, timeout_seconds=None, guardrail=None):
        self.calls.append(
            {"model_id": model_id, "body": body, "timeout": timeout_seconds, "guardrail": guardrail}
        )
        return self._answer()

    def converse(
        self,
        model_id,
        messages,
        system=None,
        inference_config=None,
        timeout_seconds=None,
        guardrail=None,
        **kw,
    ):
        self.calls.append(
            {
                "model_id": model_id,
                "messages": messages,
                "system": system,
                "inference_config": inference_config,
                "timeout": timeout_seconds,
                "guardrail": guardrail,
                **kw,
            }
        )
        return self._answer()


@dataclass
class Writes:
    """A service's writes that go with the settlement (SettlementWrites): one item per answer."""

    asked: list[Answer | None] = field(default_factory=list)
    confirmed: int = 0
    broken: bool = False

    def items(self, answer: Answer | None) -> list[dict[str, Any]]:
        self.asked.append(answer)
        if self.broken:
            raise RuntimeError("cannot build the items")
        return [_extra_put(f"writes-{len(self.asked)}")]

    def written(self) -> None:
        self.confirmed += 1


@dataclass
class Audit:
    """The request's audit event (services/audit.py SettlementAudit): `item` None writes nothing."""

    event: dict[str, Any] | None = field(default_factory=lambda: _extra_put("audit"))
    confirmed: int = 0

    def item(self) -> dict[str, Any] | None:
        return self.event

    def written(self) -> None:
        self.confirmed += 1


def _extra_put(name: str) -> dict[str, Any]:
    return {"Put": {"TableName": TABLE, "Item": {"pk": {"S": f"X#{name}"}, "sk": {"S": "X"}}}}


@pytest.fixture
def bedrock(stack, monkeypatch):
    monkeypatch.setattr(transactions, "sleep", lambda _seconds: None)
    monkeypatch.setattr(transactions, "time", SimpleNamespace(monotonic=lambda: 0.0))
    return ScriptedBedrock()


def _service(bedrock: ScriptedBedrock, region: str = REGION, **options: Any) -> ModelService:
    limits = LimitService(LimitRepository(TABLE), POLICIES, DEFAULT)
    return ModelService(
        bedrock, UsageRepository(TABLE, 30), PRICES, region, POLICIES, DEFAULT, limits, **options
    )


@pytest.fixture
def service(bedrock):
    return _service(bedrock, **OPTIONS)


def _caller(group: str = "limited", request_id: str = "r-1", **options: Any) -> Caller:
    return Caller("ada", (group,), "k-1", request_id, **options)


def _call_item(request_id: str = "r-1") -> dict[str, Any] | None:
    table = boto3.resource("dynamodb", region_name=REGION).Table(TABLE)
    return table.get_item(Key={"pk": f"CALL#ada#{request_id}", "sk": "CALL"}).get("Item")


def _stored_keys() -> set[str]:
    items = boto3.resource("dynamodb", region_name=REGION).Table(TABLE).scan()["Items"]
    return {item["pk"] for item in items}


def _counters(at: datetime) -> dict[str, dict[str, int]]:
    windows = Windows.at(at)
    found = LimitRepository(TABLE).counters("ada", windows)
    return {
        name: found[key] for name, key in zip(("minute", "day", "month"), windows.sort_keys(), strict=True)
    }


def _used(at: datetime, requests: int, tokens: int, cost_micros: int) -> dict[str, dict[str, int]]:
    return {
        "minute": {"requests": requests, "tokens": 0, "cost_micros": 0},
        "day": {"requests": requests, "tokens": tokens, "cost_micros": 0},
        "month": {"requests": 0, "tokens": tokens, "cost_micros": cost_micros},
    }


def _invocation(body: Any, usage: TokenUsage | None = ELEVEN_IN_SEVEN_OUT, latency_ms: int = 3) -> Invocation:
    raw = body if isinstance(body, str) else json.dumps(body)
    return Invocation(None if isinstance(body, str) else body, raw, usage, latency_ms)


# Which models, and which of them a caller may use


def test_the_models_a_group_may_use_sorted(service):
    open_ids = [model.model_id for model in service.models_for(("open",))]
    expected = sorted(m[0] for m in CATALOG if m[0].startswith(("anthropic.", "amazon.")))
    assert open_ids == expected
    assert [model.model_id for model in service.models_for(())] == ["amazon.titan-text-express-v1"]


def test_a_model_is_checked_by_its_base_id(service):
    model = service.check(NOVA, ("open",))
    assert (model.model_id, model.provider) == ("amazon.nova-lite-v1:0", "Amazon")
    with pytest.raises(ModelNotAllowedError) as refused:
        service.check("meta.llama3-8b-instruct-v1:0", ("open",))
    assert (refused.value.status_code, refused.value.code) == (403, "model_not_allowed")
    assert refused.value.message == "Your groups may not use this model."
    with pytest.raises(ModelNotPricedError):
        service.check("stability.unpriced-model-v1", ("limited",))


def test_a_caller_of_no_known_group_checks_models_under_the_default_policy(service):
    assert service.check("amazon.titan-text-express-v1", ("no-such-group",)).model_id == (
        "amazon.titan-text-express-v1"
    )
    with pytest.raises(ModelNotAllowedError):
        service.check(HAIKU.model_id, ("no-such-group",))


def test_a_model_missing_from_the_catalog_is_not_found(service):
    with pytest.raises(ModelNotFoundError) as missing:
        service.check("acme.nothing-v9", ("limited",))
    assert (missing.value.status_code, missing.value.code) == (404, "model_not_found")
    assert missing.value.message == "No model 'acme.nothing-v9' in this region's Bedrock catalog."


def test_the_guardrail_is_the_bots_else_the_callers_policys(service):
    bots = Guardrail(id="grbot", version="DRAFT")
    assert service.guardrail_for(_caller(guardrail=bots)) == bots
    assert service.guardrail_for(_caller()) == GUARDRAIL
    assert service.guardrail_for(_caller("open")) is None
    assert service.guardrail_for(_caller("no-such-group")) == DEFAULT.guardrail


# invoke


def test_an_invocation_reserves_the_worst_case_then_settles_to_the_real_use(service, bedrock, gateway_clock):
    started = gateway_clock.peek()
    estimate = estimate_input_tokens([json.dumps(PARAMETERS)], OPTIONS["chars_per_token"])
    worst = cost(HAIKU.model_id, estimate, 50)
    during: list[Any] = []
    bedrock.during = lambda: during.append((_call_item(), _counters(started)))
    bedrock.answers.append(_invocation(HAIKU.response))
    audit = Audit()
    outcome = service.invoke(_caller(audit=audit), HAIKU.model_id, PARAMETERS)
    real = cost(HAIKU.model_id, 11, 7)
    assert outcome == InvokeOutcome(HAIKU.model_id, HAIKU.output, None, True, TokenUsage(11, 7), real, "r-1")
    assert bedrock.calls == [
        {"model_id": HAIKU.model_id, "body": PARAMETERS, "timeout": 20.0, "guardrail": GUARDRAIL}
    ]
    ((pending, reserved),) = during
    assert pending["status"] == "pending"
    assert reserved == _used(started, 1, estimate + 50, worst)
    call = _call_item()
    assert {k: call[k] for k in ("status", "key_id", "model_id", "started_at", "attempt")} == {
        "status": "ok",
        "key_id": "k-1",
        "model_id": HAIKU.model_id,
        "started_at": iso(started),
        "attempt": pending["attempt"],
    }
    assert (call["reserved_tokens"], call["reserved_cost_micros"]) == (estimate + 50, worst)
    assert call["reserved_windows"] == list(Windows.at(started).sort_keys())
    assert (call["input_tokens"], call["output_tokens"], call["cost_micros"], call["latency_ms"]) == (
        11,
        7,
        real,
        3,
    )
    assert "conversation_id" not in call
    assert _counters(started) == _used(started, 1, 18, real)
    assert audit.confirmed == 1
    assert "X#audit" in _stored_keys()


def test_an_inference_profile_is_called_as_asked_and_metered_as_its_base_model(service, bedrock):
    nova = SHAPES["amazon-nova"]
    bedrock.answers.append(_invocation(nova.response, TokenUsage(4, 3)))
    outcome = service.invoke(_caller("open"), NOVA, nova.request)
    assert (outcome.model_id, outcome.output) == (NOVA, nova.output)
    assert outcome.cost_micros == cost("amazon.nova-lite-v1:0", 4, 3)
    assert bedrock.calls[0]["model_id"] == NOVA
    assert _call_item()["model_id"] == "amazon.nova-lite-v1:0"
    assert bedrock.calls[0]["guardrail"] is None
    assert "reserved" not in _call_item()  # a client's request id may come again: recorded first


def test_a_call_is_priced_in_the_services_region(bedrock):
    titan = SHAPES["amazon-titan-text"]
    service = _service(bedrock, region="eu-central-1", **OPTIONS)
    bedrock.answers.append(_invocation(titan.response, TokenUsage(1000, 1000)))
    outcome = service.invoke(_caller(), titan.model_id, titan.request)
    eu = PRICES.cost_micros(titan.model_id, "eu-central-1", TokenUsage(1000, 1000))
    assert eu != cost(titan.model_id, 1000, 1000)  # the region has a price of its own
    assert outcome.cost_micros == eu
    worst = TokenUsage(estimate_input_tokens([json.dumps(titan.request)], 4), 50)
    assert _call_item()["reserved_cost_micros"] == PRICES.cost_micros(titan.model_id, "eu-central-1", worst)
    with pytest.raises(ModelNotPricedError):
        service.check(MYSTERY, ("limited",))


def test_an_answer_without_token_headers_is_counted_from_its_body(service, bedrock):
    bedrock.answers.append(_invocation(HAIKU.response, usage=None))
    outcome = service.invoke(_caller(), HAIKU.model_id, PARAMETERS)
    assert outcome.usage == TokenUsage(HAIKU.input_tokens, HAIKU.output_tokens)
    assert _call_item()["output_tokens"] == HAIKU.output_tokens


@pytest.mark.parametrize(
    ("model_id", "body", "usage", "raw"),
    [
        (HAIKU.model_id, {"unexpected": True}, TokenUsage(0, 0), {"unexpected": True}),
        (HAIKU.model_id, "not json", TokenUsage(0, 0), "not json"),
        (MYSTERY, {"usage": {"input_tokens": 5}}, TokenUsage(0, 0), {"usage": {"input_tokens": 5}}),
        (
            HAIKU.model_id,
            {"content": [{"type": "text", "text": 42}]},
            TokenUsage(0, 0),
            {"content": [{"type": "text", "text": 42}]},
        ),
    ],
    ids=["unknown-body", "not-json", "unknown-model", "not-text"],
)
def test_an_answer_of_unknown_shape_is_passed_on_raw(service, bedrock, model_id, body, usage, raw):
    bedrock.answers.append(_invocation(body, usage=None))
    outcome = service.invoke(_caller(), model_id, {"prompt": "hi"})
    assert (outcome.output, outcome.raw, outcome.known_shape, outcome.usage) == (None, raw, False, usage)
    assert _call_item()["status"] == "ok"


@pytest.mark.parametrize(
    ("max_tokens", "reserved"), [(None, 500), (0, 500), (-5, 500), ("50", 500), (1, 1), (7.9, 7), (64, 64)]
)
def test_the_output_reserved_is_the_requests_maximum_else_the_default(service, bedrock, max_tokens, reserved):
    parameters = {**HAIKU.request}
    parameters.pop("max_tokens")
    if max_tokens is not None:
        parameters["max_tokens"] = max_tokens
    bedrock.answers.append(_invocation(HAIKU.response))
    service.invoke(_caller(), HAIKU.model_id, parameters)
    estimate = estimate_input_tokens([json.dumps(parameters)], OPTIONS["chars_per_token"])
    assert _call_item()["reserved_tokens"] == estimate + reserved


def test_a_model_of_unknown_shape_reserves_the_default_output(service, bedrock):
    bedrock.answers.append(_invocation({"text": "hi"}))
    service.invoke(_caller(), MYSTERY, {"prompt": "hi", "max_tokens": 50})
    estimate = estimate_input_tokens([json.dumps({"prompt": "hi", "max_tokens": 50})], 4)
    assert _call_item()["reserved_tokens"] == estimate + 500


def test_the_service_defaults(bedrock, monkeypatch):
    service = _service(bedrock)
    parameters = {key: value for key, value in HAIKU.request.items() if key != "max_tokens"}
    bedrock.answers += [_invocation(HAIKU.response), _invocation(HAIKU.response)]
    service.invoke(_caller(), HAIKU.model_id, parameters)
    estimate = estimate_input_tokens([json.dumps(parameters)], 3)
    assert _call_item()["reserved_tokens"] == estimate + 4096
    assert bedrock.calls[0]["timeout"] == 25.0
    monkeypatch.setattr(deadline, "seconds_left", lambda: 10.0)
    service.invoke(_caller(request_id="r-2"), HAIKU.model_id, parameters)
    assert bedrock.calls[1]["timeout"] == 7.0  # 3 s kept to settle


@pytest.mark.parametrize(("left", "timeout"), [(60.0, 20.0), (10.0, 8.0), (3.0, 1.0)])
def test_the_model_has_until_the_deadline_less_the_time_to_settle(
    service, bedrock, monkeypatch, left, timeout
):
    monkeypatch.setattr(deadline, "seconds_left", lambda: left)
    bedrock.answers.append(_invocation(HAIKU.response))
    service.invoke(_caller(), HAIKU.model_id, PARAMETERS)
    assert bedrock.calls[0]["timeout"] == timeout


@pytest.mark.parametrize(("left", "reported"), [(2.9994, 2.999), (-2.0, 0.0)])
def test_too_little_time_left_fails_the_call_before_the_model(
    service, bedrock, monkeypatch, gateway_clock, left, reported
):
    started = gateway_clock.peek()
    monkeypatch.setattr(deadline, "seconds_left", lambda: left)
    with pytest.raises(ModelTimeoutError) as late:
        service.invoke(_caller(), HAIKU.model_id, PARAMETERS)
    assert late.value.message == "Too little of this request's time was left to call the model."
    assert late.value.details == {"seconds_left": reported}
    assert bedrock.calls == []
    assert (_call_item()["status"], _call_item()["error_code"]) == ("failed", "model_timeout")
    assert _counters(started) == _used(started, 0, 0, 0)


def test_a_failed_model_call_is_recorded_failed_and_releases_its_reservation(
    service, bedrock, gateway_clock, caplog
):
    started = gateway_clock.peek()
    bedrock.answers.append(UpstreamError("model down"))
    audit = Audit()
    with pytest.raises(UpstreamError):
        service.invoke(_caller(audit=audit), HAIKU.model_id, PARAMETERS)
    call = _call_item()
    assert (call["status"], call["error_code"], call["input_tokens"], call["cost_micros"]) == (
        "failed",
        "upstream_error",
        0,
        0,
    )
    assert (call["output_tokens"], call["latency_ms"]) == (0, 0)
    assert _counters(started) == _used(started, 0, 0, 0)
    assert audit.confirmed == 0  # the middleware audits the error
    assert [r for r in caplog.records if r.name == "gateway.services.models"] == []


def test_an_unexpected_failure_is_logged_and_recorded_as_internal(service, bedrock, caplog):
    bedrock.answers.append(RuntimeError("a bug"))
    with pytest.raises(RuntimeError):
        service.invoke(_caller(), HAIKU.model_id, PARAMETERS)
    assert _call_item()["error_code"] == "internal_error"
    (logged,) = [r for r in caplog.records if r.name == "gateway.services.models"]
    assert (logged.getMessage(), logged.levelname) == ("model call failed unexpectedly", "ERROR")
    assert (logged.error_type, logged.call_request_id) == ("RuntimeError", "r-1")


def test_a_guardrail_that_intervenes_is_metered_as_billed_and_answered_with_its_message(
    service, bedrock, gateway_clock
):
    started = gateway_clock.peek()
    body = {
        **HAIKU.response,
        "content": [{"type": "text", "text": "Blocked by policy"}],
        "amazon-bedrock-guardrailAction": "INTERVENED",
    }
    bedrock.answers.append(_invocation(body))
    audit = Audit()
    with pytest.raises(GuardrailIntervenedError) as blocked:
        service.invoke(_caller(audit=audit), HAIKU.model_id, PARAMETERS)
    assert (blocked.value.status_code, blocked.value.code) == (400, "guardrail_intervened")
    assert blocked.value.message == "Blocked by policy"
    assert blocked.value.details == {
        "input_tokens": 11,
        "output_tokens": 7,
        "guardrail_id": "grlimited",
        "guardrail_version": "3",
    }
    call = _call_item()
    billed = cost(HAIKU.model_id, 11, 7)
    assert (call["status"], call["error_code"], call["cost_micros"]) == (
        "failed",
        "guardrail_intervened",
        billed,
    )
    assert (call["input_tokens"], call["output_tokens"], call["latency_ms"]) == (11, 7, 3)
    assert _counters(started) == _used(started, 1, 18, billed)
    assert audit.confirmed == 0


@pytest.mark.parametrize("content", [None, [{"type": "text", "text": 42}]], ids=["no-content", "not-text"])
def test_a_guardrail_without_a_message_answers_the_default_one(service, bedrock, content):
    body: dict[str, Any] = {"amazon-bedrock-guardrailAction": "INTERVENED"}
    if content is not None:
        body["content"] = content
    bedrock.answers.append(_invocation(body))
    with pytest.raises(GuardrailIntervenedError) as blocked:
        service.invoke(_caller("open"), HAIKU.model_id, PARAMETERS)
    assert blocked.value.message == "A guardrail blocked the request or the answer."
    assert blocked.value.details == {"input_tokens": 11, "output_tokens": 7}


# Limits


def test_a_call_past_a_limit_is_refused_before_the_model_with_the_limit_it_passes(
    service, bedrock, gateway_clock
):
    started = gateway_clock.peek()
    bedrock.answers += [_invocation(HAIKU.response), _invocation(HAIKU.response)]
    service.invoke(_caller(request_id="r-1"), HAIKU.model_id, PARAMETERS)
    service.invoke(_caller(request_id="r-2"), HAIKU.model_id, PARAMETERS)
    with pytest.raises(LimitExceededError) as refused:
        service.invoke(_caller(request_id="r-3"), HAIKU.model_id, PARAMETERS)
    assert refused.value.code == "rate_limited"
    assert refused.value.details == {
        "limit_name": "requests_per_minute",
        "limit": 2,
        "used": 2,
        "window": Windows.at(started).minute,
        "retry_after_seconds": seconds_until_window_ends("MINUTE", started),
    }
    assert len(bedrock.calls) == 2
    assert _call_item("r-3") is None


def test_the_limit_refused_is_the_window_that_refused(service, bedrock, gateway_clock):
    started = gateway_clock.peek()
    bedrock.answers.append(_invocation(HAIKU.response, TokenUsage(9950, 0)))
    service.invoke(_caller(request_id="r-1"), HAIKU.model_id, PARAMETERS)
    with pytest.raises(LimitExceededError) as refused:
        service.invoke(_caller(request_id="r-2"), HAIKU.model_id, PARAMETERS)
    details = refused.value.details
    assert (details["limit_name"], details["used"], details["window"]) == (
        "tokens_per_day",
        9950,
        Windows.at(started).day,
    )


def test_the_override_read_with_the_key_is_the_one_applied(service, bedrock):
    bedrock.answers.append(_invocation(HAIKU.response))
    caller = _caller("open", limit_override={"requests_per_minute": 1})
    service.invoke(caller, HAIKU.model_id, PARAMETERS)
    with pytest.raises(LimitExceededError) as refused:
        service.invoke(
            _caller("open", "r-2", limit_override={"requests_per_minute": 1}), HAIKU.model_id, PARAMETERS
        )
    assert refused.value.details["limit"] == 1


def test_the_override_stored_for_the_caller_is_applied_when_none_comes_with_the_key(service, bedrock):
    limits = LimitService(LimitRepository(TABLE), POLICIES, DEFAULT)
    limits.set_override("ada", {"requests_per_minute": 1}, "2026-03-11T10:00:00.000Z", "admin")
    bedrock.answers.append(_invocation(HAIKU.response))
    service.invoke(_caller("open"), HAIKU.model_id, PARAMETERS)
    with pytest.raises(LimitExceededError) as refused:
        service.invoke(_caller("open", "r-2"), HAIKU.model_id, PARAMETERS)
    assert refused.value.details["limit"] == 1


def test_the_limits_report_is_the_callers(service, bedrock):
    bedrock.answers.append(_invocation(HAIKU.response))
    service.invoke(_caller(), HAIKU.model_id, PARAMETERS)
    report = service.limits_report("ada", ("limited",))
    assert report["limits"] == LIMITED.limits
    used = {window["name"]: window["used"] for window in report["windows"]}
    assert (used["requests_per_minute"], used["tokens_per_day"]) == (1, 18)


# A call that reserves nothing: no limit, and the gateway's own request id


def test_a_call_with_nothing_to_reserve_is_written_once_after_the_model(service, bedrock, gateway_clock):
    started = gateway_clock.peek()
    during: list[Any] = []
    bedrock.during = lambda: during.append(_call_item())
    bedrock.answers.append(_invocation(HAIKU.response))
    audit = Audit()
    outcome = service.invoke(
        _caller("open", reusable_request_id=False, audit=audit), HAIKU.model_id, PARAMETERS
    )
    assert during == [None]
    call = _call_item()
    assert (call["status"], call["reserved"], call["reserved_tokens"], call["reserved_cost_micros"]) == (
        "ok",
        False,
        0,
        0,
    )
    assert call["reserved_windows"] == list(Windows.at(started).sort_keys())
    assert _counters(started) == _used(started, 1, 18, outcome.cost_micros)
    assert audit.confirmed == 1


@pytest.mark.parametrize(
    ("group", "reusable"), [("limited", False), ("open", True)], ids=["limits", "client-request-id"]
)
def test_a_call_with_limits_or_a_reusable_request_id_is_recorded_before_the_model(
    service, bedrock, group, reusable
):
    during: list[Any] = []
    bedrock.during = lambda: during.append(_call_item()["status"])
    bedrock.answers.append(_invocation(HAIKU.response))
    service.invoke(_caller(group, reusable_request_id=reusable), HAIKU.model_id, PARAMETERS)
    assert during == ["pending"]
    assert "reserved" not in _call_item()


def test_a_failed_call_that_reserved_nothing_is_recorded_failed_and_moves_no_counter(
    service, bedrock, gateway_clock
):
    started = gateway_clock.peek()
    bedrock.answers.append(UpstreamError("model down"))
    with pytest.raises(UpstreamError):
        service.invoke(_caller("open", reusable_request_id=False), HAIKU.model_id, PARAMETERS)
    assert (_call_item()["status"], _call_item()["reserved"]) == ("failed", False)
    assert _counters(started) == _used(started, 0, 0, 0)


def test_a_settlement_that_went_through_unanswered_confirms_the_audit_event(service, bedrock):
    # The transaction carrying the audit event applied on its last send, its answer lost: written.
    FaultInjector().attach(aws.client("dynamodb")).script(*["throttling"] * (ATTEMPTS - 1), "answer_lost")
    bedrock.answers.append(_invocation(HAIKU.response))
    audit = Audit()
    service.invoke(_caller("open", reusable_request_id=False, audit=audit), HAIKU.model_id, PARAMETERS)
    assert _call_item()["status"] == "ok"
    assert audit.confirmed == 1
    assert "X#audit" in _stored_keys()


@pytest.mark.parametrize(
    "script",
    [("answer_lost",), (*["throttling"] * (ATTEMPTS - 1), "answer_lost")],
    ids=["resend-refused", "last-send"],
)
def test_a_reserved_call_whose_settlement_went_through_unanswered_confirms_its_writes(
    service, bedrock, script
):
    # The settlement applied but its answer was lost: the resend fails its condition, or there is none.
    # Unconfirmed, the audit middleware would write a second event for the request.
    bedrock.answers.append(_conversation())
    FaultInjector().attach(aws.client("dynamodb")).script(None, *script)
    audit, writes = Audit(), Writes()
    service.converse(_caller(audit=audit), NOVA, MESSAGES[:1], writes=writes)
    assert _call_item()["status"] == "ok"
    assert (audit.confirmed, writes.confirmed) == (1, 1)
    assert {"X#audit", "X#writes-1"} <= _stored_keys()


@pytest.mark.parametrize("reusable", [False, True], ids=["reserved-nothing", "reserved"])
def test_a_settlement_left_to_the_reconciler_confirms_no_write(service, bedrock, reusable):
    bedrock.answers.append(_invocation(HAIKU.response))
    faults = FaultInjector().attach(aws.client("dynamodb"))
    faults.script(*([] if not reusable else [None]), *["throttling"] * ATTEMPTS)
    audit = Audit()
    service.invoke(_caller("open", reusable_request_id=reusable, audit=audit), HAIKU.model_id, PARAMETERS)
    assert _call_item()["status"] == "pending"
    assert audit.confirmed == 0
    assert "X#audit" not in _stored_keys()


def test_an_audit_event_without_an_item_writes_nothing(service, bedrock):
    bedrock.answers.append(_invocation(HAIKU.response))
    audit = Audit(event=None)
    service.invoke(_caller(audit=audit), HAIKU.model_id, PARAMETERS)
    assert audit.confirmed == 0
    assert _call_item()["status"] == "ok"


# converse


MESSAGES = [
    {
        "role": "user",
        "content": [
            {"text": "Describe this picture, please"},
            {"image": {"format": "png", "source": {"bytes": b"\x89PNG"}}},
        ],
    },
    {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t-1", "name": "look", "input": {"q": 1}}}]},
    {"role": "user", "content": [{"toolResult": {"toolUseId": "t-1", "content": [{"text": "a cat"}]}}]},
]
SYSTEM = [{"text": "You are terse."}, {"cachePoint": {"type": "default"}}]  # a block without text
TOOLS = {"tools": [{"toolSpec": {"name": "look", "inputSchema": {"json": {"type": "object"}}}}]}


def _conversation(text: str = "A cat.", stop_reason: str = "end_turn") -> Conversation:
    return Conversation(text, TokenUsage(30, 4), stop_reason, 9, ({"toolUseId": "t-2"},), "thinking")


def test_a_conversation_reserves_every_part_of_its_prompt_and_settles_with_its_writes(
    service, bedrock, gateway_clock
):
    started = gateway_clock.peek()
    bedrock.answers.append(_conversation())
    writes = Writes()
    audit = Audit()
    outcome = service.converse(
        _caller(audit=audit), NOVA, MESSAGES, SYSTEM, {"maxTokens": 64}, "c-1", TOOLS, writes
    )
    real = cost("amazon.nova-lite-v1:0", 30, 4)
    assert outcome == ConverseOutcome(
        NOVA, "A cat.", TokenUsage(30, 4), "end_turn", real, "r-1", ({"toolUseId": "t-2"},), "thinking"
    )
    assert bedrock.calls == [
        {
            "model_id": NOVA,
            "messages": MESSAGES,
            "system": SYSTEM,
            "inference_config": {"maxTokens": 64},
            "timeout": 20.0,
            "guardrail": GUARDRAIL,
            "tool_config": TOOLS,
        }
    ]
    prompt = [
        "Describe this picture, please",
        "",
        "",
        "",
        "You are terse.",
        "",
        json.dumps(MESSAGES[1]["content"][0]["toolUse"]),
        json.dumps(MESSAGES[2]["content"][0]["toolResult"]),
        json.dumps(TOOLS),
    ]
    reserved = estimate_input_tokens(prompt, 4) + 1600 + 64
    call = _call_item()
    assert (call["reserved_tokens"], call["conversation_id"], call["status"]) == (reserved, "c-1", "ok")
    assert (call["input_tokens"], call["output_tokens"], call["latency_ms"]) == (30, 4, 9)
    assert _counters(started) == _used(started, 1, 34, real)
    assert (writes.asked, writes.confirmed, audit.confirmed) == ([Answer("A cat.", TokenUsage(30, 4))], 1, 1)
    assert {"X#writes-1", "X#audit"} <= _stored_keys()


def test_a_conversation_without_options_reserves_its_text_and_the_default_output(service, bedrock):
    messages = [{"role": "user", "content": [{"text": "Hello there"}]}]
    bedrock.answers.append(_conversation())
    service.converse(_caller(), NOVA, messages)
    assert _call_item()["reserved_tokens"] == estimate_input_tokens(["Hello there"], 4) + 500
    assert bedrock.calls[0]["system"] is None
    assert bedrock.calls[0]["tool_config"] is None
    assert "conversation_id" not in _call_item()


def test_a_message_without_content_reserves_nothing_for_itself(service, bedrock):
    messages = [{"role": "user", "content": [{"text": "Hello there"}]}, {"role": "assistant"}]
    bedrock.answers.append(_conversation())
    service.converse(_caller(), NOVA, messages)
    assert _call_item()["reserved_tokens"] == estimate_input_tokens(["Hello there"], 4) + 500


def test_a_failed_conversation_settles_its_writes_without_an_answer(service, bedrock):
    bedrock.answers.append(UpstreamError("model down"))
    writes = Writes()
    with pytest.raises(UpstreamError):
        service.converse(_caller(), NOVA, MESSAGES[:1], writes=writes)
    assert (writes.asked, writes.confirmed) == ([None], 1)
    assert (_call_item()["status"], _call_item()["error_code"]) == ("failed", "upstream_error")
    assert "X#writes-1" in _stored_keys()


def test_a_failure_whose_settlement_fails_too_still_raises_the_models_error(service, bedrock, caplog):
    bedrock.answers.append(UpstreamError("model down"))
    writes = Writes(broken=True)
    with pytest.raises(UpstreamError):
        service.converse(_caller(), NOVA, MESSAGES[:1], writes=writes)
    assert _call_item()["status"] == "pending"  # the reconciler releases it
    (logged,) = [
        r for r in caplog.records if r.getMessage() == "releasing a failed call's reservation failed"
    ]
    assert (logged.call_request_id, logged.exc_info is not None) == ("r-1", True)
    assert writes.confirmed == 0


def test_a_conversation_a_guardrail_stopped_settles_its_writes_and_answers_the_guardrails_text(
    service, bedrock
):
    bedrock.answers.append(_conversation("Not allowed.", stop_reason="guardrail_intervened"))
    writes = Writes()
    with pytest.raises(GuardrailIntervenedError) as blocked:
        service.converse(_caller(), NOVA, MESSAGES[:1], writes=writes)
    assert blocked.value.message == "Not allowed."
    assert blocked.value.details == {
        "input_tokens": 30,
        "output_tokens": 4,
        "guardrail_id": "grlimited",
        "guardrail_version": "3",
    }
    assert _call_item()["latency_ms"] == 9
    assert (writes.asked, writes.confirmed) == ([None], 1)
    assert (_call_item()["status"], _call_item()["error_code"]) == ("failed", "guardrail_intervened")
    assert "X#writes-1" in _stored_keys()  # written with the settlement


def test_writes_of_a_settlement_left_to_the_reconciler_are_not_confirmed(service, bedrock):
    bedrock.answers.append(_conversation())
    FaultInjector().attach(aws.client("dynamodb")).script(None, *["throttling"] * ATTEMPTS)
    writes = Writes()
    service.converse(_caller(), NOVA, MESSAGES[:1], writes=writes)
    assert writes.confirmed == 0


# embed


def test_embeddings_are_one_reservation_of_input_only_and_one_settlement(service, bedrock, gateway_clock):
    started = gateway_clock.peek()
    bedrock.answers += [
        _invocation({"embedding": [0.1, 0.2], "inputTextTokenCount": 4}, usage=None, latency_ms=5),
        _invocation({"embedding": [0.3, 0.4]}, usage=TokenUsage(6, 0), latency_ms=7),
    ]
    audit = Audit()
    outcome = service.embed(_caller(audit=audit), TITAN_EMBED, ["first text", "second"], dimensions=256)
    real = cost(TITAN_EMBED, 10, 0)
    assert outcome == EmbedOutcome(TITAN_EMBED, [[0.1, 0.2], [0.3, 0.4]], TokenUsage(10, 0), real, "r-1")
    assert [call["body"] for call in bedrock.calls] == [
        {"inputText": "first text", "dimensions": 256, "normalize": True},
        {"inputText": "second", "dimensions": 256, "normalize": True},
    ]
    assert [(call["model_id"], call["timeout"]) for call in bedrock.calls] == [(TITAN_EMBED, 20.0)] * 2
    call = _call_item()
    assert call["reserved_tokens"] == estimate_input_tokens(["first text", "second"], 4)
    assert (call["input_tokens"], call["output_tokens"], call["latency_ms"], call["status"]) == (
        10,
        0,
        12,
        "ok",
    )
    assert _counters(started) == _used(started, 1, 10, real)
    assert audit.confirmed == 1


@pytest.mark.parametrize(
    ("model_id", "body"),
    [(COHERE_EMBED, {"embeddings": {"float": [[0.1]]}}), (TITAN_EMBED, {"vector": [0.1]})],
    ids=["one-of-two", "none"],
)
def test_an_answer_without_every_embedding_fails_the_call(service, bedrock, model_id, body):
    bedrock.answers.append(_invocation(body))
    texts = ["a", "b"] if model_id == COHERE_EMBED else ["a"]
    with pytest.raises(ModelError) as failed:
        service.embed(_caller(), model_id, texts)
    assert (failed.value.code, failed.value.message) == (
        "model_bad_response",
        "Bedrock answered without the embeddings.",
    )
    assert (_call_item()["status"], _call_item()["error_code"]) == ("failed", "model_bad_response")
