"""Metering under DynamoDB faults: conflicts, throttles and lost connections on the reservation and the
settlement are retried, never taken for a duplicate request, and what still fails the reconciler settles.

The faults come from tests/support/faults.py (moto never raises them); every test ends by checking that the
counters equal the sum of the settled call records.
"""

import contextlib
import random
from collections import defaultdict
from datetime import timedelta
from types import SimpleNamespace

import boto3
import pytest

from gateway import aws, deps
from gateway.clock import utcnow
from gateway.domain import TokenUsage
from gateway.errors import UpstreamError
from gateway.main import handler
from gateway.providers.bedrock import BedrockModels, Invocation
from gateway.repositories import transactions
from gateway.repositories.usage import DuplicateRequestError, MeteringBusyError
from gateway.services.models import Caller
from gateway.services.pricing import price_table
from gateway.services.reconciler import Reconciler
from gateway.settings import get_settings
from tests.support.aws import REGION
from tests.support.bedrock import SHAPES
from tests.support.events import LambdaContext
from tests.support.faults import FaultInjector, transaction_conflict

HAIKU = SHAPES["anthropic-messages"]
PARAMETERS = {**HAIKU.request, "max_tokens": 50}
USAGE_TABLE = "gateway-test-usage"
LATER = timedelta(hours=1)


@pytest.fixture
def metering(bedrock, monkeypatch):
    """The model service with a scripted model, no waiting between retries, and injectors on the app's
    DynamoDB clients: `faults` on transactions, `item_faults` on single-item updates."""
    bedrock.catalog()
    deps.bedrock_models.get().catalog()
    monkeypatch.setattr(transactions, "sleep", lambda _seconds: None)
    monkeypatch.setattr(transactions, "jitter", random.Random(7))
    # Retries bounded by attempts alone: a slow machine must not spend the time budget and defer settlements.
    monkeypatch.setattr(transactions, "time", SimpleNamespace(monotonic=lambda: 0.0))
    answers: list = []

    def invoke(self, model_id, body, *args, **kwargs):
        answer = answers.pop(0) if answers else TokenUsage(11, 7)
        if isinstance(answer, Exception):
            raise answer
        return Invocation(body=HAIKU.response, raw="", header_usage=answer, latency_ms=3)

    monkeypatch.setattr(BedrockModels, "invoke", invoke)
    faults = FaultInjector().attach(aws.client("dynamodb"))
    item_faults = FaultInjector(operations=("UpdateItem",)).attach(aws.client("dynamodb"))
    return deps.model_service.get(), faults, item_faults, answers


def _call(service, user: str, request_id: str):
    return service.invoke(Caller(user, ("CreatingBotAllowed",), None, request_id), HAIKU.model_id, PARAMETERS)


def _reconcile(later=LATER, older_than=timedelta(seconds=90)):
    reconciler = Reconciler(deps.usage_repository.get(), deps.limit_service.get())
    return reconciler.run(older_than, utcnow() + later)


def _items() -> list[dict]:
    # The test's own client: the app's refuses Scan.
    return (
        boto3.resource("dynamodb", region_name=REGION).Table(USAGE_TABLE).scan(ConsistentRead=True)["Items"]
    )


def _calls(items) -> list[dict]:
    return [item for item in items if item["sk"] == "CALL"]


def assert_counters_match_settled_calls() -> None:
    """Limit counters = the ok calls; user and organisation roll-ups = every settled call; nothing pending."""
    items = _items()
    calls = _calls(items)
    assert [c["request_id"] for c in calls if c["status"] == "pending"] == []
    expected_limits: dict = defaultdict(lambda: defaultdict(int))
    expected_rollups: dict = defaultdict(lambda: defaultdict(int))
    for call in calls:
        ok = call["status"] == "ok"
        tokens = int(call["input_tokens"]) + int(call["output_tokens"])
        limits = expected_limits[call["user_id"]]
        limits["requests"] += ok
        limits["tokens"] += tokens if ok else 0
        limits["cost_micros"] += int(call["cost_micros"]) if ok else 0
        for owner in (call["user_id"], "*"):
            rollup = expected_rollups[owner]
            rollup["requests"] += 1
            rollup["errors"] += not ok
            rollup["input_tokens"] += int(call["input_tokens"])
            rollup["output_tokens"] += int(call["output_tokens"])
            rollup["cost_micros"] += int(call["cost_micros"])
    actual_limits: dict = defaultdict(lambda: defaultdict(int))
    actual_rollups: dict = defaultdict(lambda: defaultdict(int))
    for item in items:
        pk, sk = item["pk"], item["sk"]
        if pk.startswith("LIMIT#"):
            limits = actual_limits[pk.removeprefix("LIMIT#")]
            if sk.startswith("MINUTE#"):
                limits["requests"] += int(item.get("requests", 0))
            elif sk.startswith("DAY#"):
                limits["tokens"] += int(item.get("tokens", 0))
            elif sk.startswith("MONTH#"):
                limits["cost_micros"] += int(item.get("cost_micros", 0))
        elif (pk.startswith(("USER#", "GLOBAL#"))) and sk.startswith("MONTH#") and sk.endswith("#TOTAL"):
            owner = pk.removeprefix("USER#") if pk.startswith("USER#") else "*"
            for counter in ("requests", "errors", "input_tokens", "output_tokens", "cost_micros"):
                actual_rollups[owner][counter] += int(item.get(counter, 0))
    # A user whose counters are all zero may have no counter items (nothing reserved) or zeroed ones.
    assert _nonzero(actual_limits) == _nonzero(expected_limits)
    assert {u: dict(c) for u, c in actual_rollups.items()} == {
        u: dict(c) for u, c in expected_rollups.items()
    }


def _nonzero(counters: dict) -> dict:
    return {owner: dict(values) for owner, values in counters.items() if any(values.values())}


@pytest.mark.parametrize("fault", ["conflict", "throughput", "throttling", "connection", "answer_lost"])
def test_a_fault_on_the_reservation_is_retried_and_never_a_duplicate(metering, fault):
    service, faults, _, _ = metering
    faults.script(fault, fault)  # the reservation's first two sends fail
    outcome = _call(service, "ada", "r-1")
    assert outcome.usage == TokenUsage(11, 7)
    assert faults.injected[fault] == 2
    assert_counters_match_settled_calls()


@pytest.mark.parametrize("fault", ["conflict", "throughput", "throttling", "connection", "answer_lost"])
def test_a_fault_on_the_settlement_is_retried(metering, fault):
    service, faults, _, _ = metering
    faults.script(None, fault, fault)  # the reservation goes through, the settlement's first two sends fail
    _call(service, "ada", "r-1")
    assert_counters_match_settled_calls()  # settled at once: nothing left for the reconciler


def test_conflicts_outlasting_the_retries_are_503_not_409_and_reserve_nothing(metering):
    service, faults, _, _ = metering
    faults.script(*["conflict"] * transactions.DEFAULT_POLICY.attempts)
    with pytest.raises(MeteringBusyError) as refused:
        _call(service, "ada", "r-1")
    assert refused.value.status_code == 503
    assert refused.value.headers == {"Retry-After": "1"}
    assert _calls(_items()) == []
    _call(service, "ada", "r-1")  # the same request id is still free
    assert_counters_match_settled_calls()


def test_a_request_id_used_before_is_still_a_duplicate(metering):
    service, _, _, _ = metering
    _call(service, "ada", "r-1")
    with pytest.raises(DuplicateRequestError):
        _call(service, "ada", "r-1")
    assert_counters_match_settled_calls()


def test_a_condition_that_failed_is_not_retried():
    cancelled = transaction_conflict(3)
    cancelled.response["CancellationReasons"][0] = {"Code": "ConditionalCheckFailed"}
    assert not transactions.is_transient(cancelled)
    assert transactions.is_transient(transaction_conflict(3))


def test_a_settlement_that_still_fails_keeps_its_outcome_and_the_reconciler_settles_it(metering, caplog):
    service, faults, _, _ = metering
    faults.script(None, *["conflict"] * transactions.DEFAULT_POLICY.attempts)
    outcome = _call(service, "ada", "r-1")  # the caller still gets its answer
    (deferred,) = [r for r in caplog.records if r.getMessage() == "settlement deferred to the reconciler"]
    assert (deferred.call_request_id, deferred.reason) == ("r-1", "ClientError")
    assert "TransactionConflict" in deferred.code.split(",")  # one code per item of the transaction
    (call,) = _calls(_items())
    assert call["status"] == "pending"
    assert int(call["outcome"]["output_tokens"]) == 7
    assert _reconcile(later=timedelta(0)).pending == 0  # not older than the function's timeout yet
    report = _reconcile()
    assert (report.settled, report.left) == (1, 0)
    (call,) = _calls(_items())
    assert call["status"] == "ok"
    assert int(call["cost_micros"]) == outcome.cost_micros
    assert_counters_match_settled_calls()


def test_a_reconciled_call_is_counted_under_its_own_user_and_model(metering):
    service, faults, _, _ = metering
    faults.script(None, *["conflict"] * transactions.DEFAULT_POLICY.attempts)
    _call(service, "ada", "r-1")
    assert _reconcile().settled == 1
    per_model = [i for i in _items() if i["pk"] == "USER#ada" and f"#MODEL#{HAIKU.model_id}" in i["sk"]]
    assert per_model  # the day's and the month's
    assert all(
        (i["model_id"], int(i["requests"]), int(i["output_tokens"])) == (HAIKU.model_id, 1, 7)
        for i in per_model
    )


def test_a_call_left_pending_without_an_outcome_is_released(metering, caplog):
    service, faults, item_faults, _ = metering
    faults.script(None, *["throttling"] * transactions.DEFAULT_POLICY.attempts)
    item_faults.script("connection")  # the outcome cannot be stored either
    _call(service, "ada", "r-1")
    assert "outcome" not in _calls(_items())[0]
    (lost,) = [r for r in caplog.records if r.getMessage() == "outcome of an unsettled call not stored"]
    assert lost.call_request_id == "r-1"
    assert _reconcile().released == 1
    (call,) = _calls(_items())
    assert call["status"] not in ("pending", "ok")  # a failed call
    assert call["error_code"] == "unsettled"
    assert_counters_match_settled_calls()
    assert _reconcile().pending == 0  # settled once, not twice


def test_the_scheduled_event_runs_the_reconciler(metering, monkeypatch):
    service, faults, _, _ = metering
    faults.script(None, *["conflict"] * transactions.DEFAULT_POLICY.attempts)
    _call(service, "ada", "r-1")
    monkeypatch.setattr("gateway.main.utcnow", lambda: utcnow() + LATER, raising=False)
    monkeypatch.setattr("gateway.services.reconciler.utcnow", lambda: utcnow() + LATER)
    event = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
    assert handler(event, LambdaContext()) == {"pending": 1, "settled": 1, "released": 0, "left": 0}
    assert_counters_match_settled_calls()


def test_a_random_run_of_faults_ends_with_every_counter_equal_to_its_settled_calls(metering):
    service, faults, item_faults, answers = metering
    rng = random.Random(13)
    faults.randomly(0.3, seed=13)
    item_faults.randomly(0.3, seed=14)
    users = ["ada", "grace", "edsger", "barbara"]
    answers.extend(
        UpstreamError("model down")
        if rng.random() < 0.1
        else TokenUsage(rng.randint(1, 40), rng.randint(0, 50))
        for _ in range(60)
    )
    busy = 0
    for index in range(60):
        try:
            _call(service, rng.choice(users), f"r-{index}")
        except MeteringBusyError:
            busy += 1  # refused before anything was reserved: the client retries
        except UpstreamError:
            pass
    assert sum(faults.injected.values()) > 20  # the run did meet faults
    for _ in range(10):  # reconciliation meets faults too; each run settles what it can
        if _reconcile().left == 0:
            break
    assert_counters_match_settled_calls()
    assert len(_calls(_items())) == 60 - busy


# A caller without limits, under the gateway's own request id, reserves nothing: the settlement puts the call.


def _unreserved_call(service, user: str, request_id: str):
    caller = Caller(user, ("CreatingBotAllowed",), None, request_id, reusable_request_id=False)
    return service.invoke(caller, HAIKU.model_id, PARAMETERS)


def test_a_call_that_reserves_nothing_is_one_transaction_and_stored_as_a_reserved_one(metering):
    service, faults, _, _ = metering
    _call(service, "ada", "r-reserved")
    assert faults.calls["TransactWriteItems"] == 2
    _unreserved_call(service, "ada", "r-unreserved")
    assert faults.calls["TransactWriteItems"] == 3  # no write before the model: the settlement alone
    reserved, unreserved = sorted(_calls(_items()), key=lambda call: call["request_id"])
    assert unreserved["reserved"] is False
    # `settled_by` marks a settlement of a recorded call (UsageRepository.settle); a put call has none.
    assert set(unreserved) - {"reserved"} == set(reserved) - {"settled_by"}
    for field in ("status", "input_tokens", "output_tokens", "cost_micros", "model_id", "gsi1pk"):
        assert unreserved[field] == reserved[field]
    assert unreserved["gsi1sk"] == f"CALL#{unreserved['started_at']}#r-unreserved"
    assert_counters_match_settled_calls()


@pytest.mark.parametrize("fault", ["conflict", "throughput", "throttling", "connection", "answer_lost"])
def test_a_fault_on_the_settlement_of_a_call_that_reserved_nothing_is_retried(metering, fault):
    service, faults, _, _ = metering
    faults.script(fault, fault)
    outcome = _unreserved_call(service, "ada", "r-1")
    assert faults.injected[fault] == 2
    (call,) = _calls(_items())
    assert (call["status"], int(call["cost_micros"])) == ("ok", outcome.cost_micros)
    assert_counters_match_settled_calls()


def test_a_settlement_of_a_call_that_reserved_nothing_that_still_fails_loses_nothing(metering):
    service, faults, _, _ = metering
    faults.script(*["throttling"] * transactions.DEFAULT_POLICY.attempts)
    outcome = _unreserved_call(service, "ada", "r-1")  # the caller still gets its answer
    (call,) = _calls(_items())
    assert (call["status"], call["reserved"]) == ("pending", False)
    assert int(call["outcome"]["output_tokens"]) == 7
    assert_counters_match_settled_calls_once_reconciled(outcome.cost_micros)


def assert_counters_match_settled_calls_once_reconciled(cost_micros: int) -> None:
    report = _reconcile()
    assert (report.settled, report.left) == (1, 0)
    (call,) = _calls(_items())
    assert (call["status"], int(call["cost_micros"])) == ("ok", cost_micros)
    assert_counters_match_settled_calls()
    assert _reconcile().pending == 0


def test_a_settlement_that_reserved_nothing_whose_answer_was_lost_each_time_is_settled_once(metering):
    service, faults, _, _ = metering
    faults.script("answer_lost", *["conflict"] * (transactions.DEFAULT_POLICY.attempts - 1))
    _unreserved_call(service, "ada", "r-1")  # applied the first time; the retries fail on its condition
    (call,) = _calls(_items())
    assert call["status"] == "ok"
    assert_counters_match_settled_calls()


def test_a_call_that_reserved_nothing_and_cannot_be_stored_at_all_is_logged(metering, caplog):
    service, faults, _, _ = metering
    faults.script(*["throttling"] * transactions.DEFAULT_POLICY.attempts)
    puts = FaultInjector(operations=("PutItem",)).attach(aws.client("dynamodb"))
    puts.script("connection")
    _unreserved_call(service, "ada", "r-1")
    assert _calls(_items()) == []
    (lost,) = [record for record in caplog.records if record.getMessage() == "unsettled call lost"]
    assert (lost.call_request_id, lost.user_id, lost.model_id, lost.status) == (
        "r-1",
        "ada",
        HAIKU.model_id,
        "ok",
    )
    assert (lost.input_tokens, lost.output_tokens, lost.cost_micros) == (11, 7, outcome_cost(11, 7))
    assert_counters_match_settled_calls()


def outcome_cost(input_tokens: int, output_tokens: int) -> int:
    """What the gateway's price table charges for a call of the test model."""
    return price_table().cost_micros(
        HAIKU.model_id, get_settings().region, TokenUsage(input_tokens, output_tokens)
    )


def test_a_call_whose_pending_put_went_through_unanswered_is_kept_for_the_reconciler(metering, caplog):
    service, faults, _, _ = metering
    faults.script(*["throttling"] * transactions.DEFAULT_POLICY.attempts)
    puts = FaultInjector(operations=("PutItem",)).attach(aws.client("dynamodb"))
    puts.script("answer_lost")  # the pending item is stored, its answer lost
    _unreserved_call(service, "ada", "r-1")
    (call,) = _calls(_items())
    assert (call["status"], int(call["outcome"]["output_tokens"])) == ("pending", 7)
    assert [r for r in caplog.records if r.getMessage() == "unsettled call lost"] == []
    assert_counters_match_settled_calls_once_reconciled(outcome_cost(11, 7))


def test_a_failed_model_call_that_reserved_nothing_is_recorded_failed(metering):
    service, faults, _, answers = metering
    answers.append(UpstreamError("model down"))
    with pytest.raises(UpstreamError):
        _unreserved_call(service, "ada", "r-1")
    assert faults.calls["TransactWriteItems"] == 1
    (call,) = _calls(_items())
    assert (call["status"], call["error_code"]) == ("failed", UpstreamError.code)
    assert_counters_match_settled_calls()


def test_a_random_run_of_faults_without_reservations_ends_with_every_call_settled_once(metering):
    service, faults, _, answers = metering
    rng = random.Random(21)
    faults.randomly(0.4, seed=21)
    answers.extend(
        UpstreamError("model down")
        if rng.random() < 0.1
        else TokenUsage(rng.randint(1, 40), rng.randint(0, 50))
        for _ in range(60)
    )
    for index in range(60):
        with contextlib.suppress(UpstreamError):
            _unreserved_call(service, rng.choice(["ada", "grace", "edsger"]), f"r-{index}")
    assert sum(faults.injected.values()) > 20
    for _ in range(10):
        if _reconcile().left == 0:
            break
    assert_counters_match_settled_calls()
    assert len(_calls(_items())) == 60  # every call stored: none refused, none lost
