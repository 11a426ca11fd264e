"""UsageRepository against moto: what each write stores (the call, its roll-ups, the items it carries), how
each DynamoDB failure is answered, and what each read returns. The service-level fault runs are in
services/test_metering_faults.py; these tests call the repository directly and run in seconds."""

import re
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from gateway import aws
from gateway.repositories import transactions
from gateway.repositories.usage import (
    FAILED,
    OK,
    CallRecord,
    CounterRefused,
    DuplicateRequestError,
    MeteringBusyError,
    Rollup,
    Settlement,
    UsageRepository,
    call_record_from_item,
    global_shard,
    pending_partition,
    ranking_key,
    rollup_sort_keys,
)
from tests.support.aws import REGION
from tests.support.faults import FaultInjector, transaction_conflict

TABLE = "gateway-test-usage"
RETENTION_DAYS = 30
NOW_EPOCH = 1_773_224_415  # 2026-03-11T10:20:15Z
MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
STARTED = "2026-03-11T10:20:15.000Z"
ATTEMPTS = transactions.DEFAULT_POLICY.attempts
WINDOWS = ("MINUTE#2026-03-11T10:20", "DAY#2026-03-11", "MONTH#2026-03")

CALL = CallRecord(
    user_id="ada",
    request_id="r-1",
    key_id="k-1",
    model_id=MODEL,
    started_at=STARTED,
    conversation_id="c-1",
    reserved_windows=WINDOWS,
    reserved_tokens=120,
    reserved_cost_micros=3400,
    attempt="a-1",
)
# A call that reserved nothing: no key, no conversation, no windows.
UNRESERVED = CallRecord("ada", "r-2", None, MODEL, STARTED, reserved=False, attempt="a-2")
DONE = Settlement(status=OK, input_tokens=11, output_tokens=7, cost_micros=250, latency_ms=42)
BROKEN = Settlement(FAILED, 0, 0, 0, 5, error_code="model_error")


@pytest.fixture
def usage(stack, monkeypatch):
    # Retries without waiting, bounded by attempts alone (a slow machine must not spend the time budget).
    monkeypatch.setattr(transactions, "sleep", lambda _seconds: None)
    monkeypatch.setattr(transactions, "time", SimpleNamespace(monotonic=lambda: 0.0))
    return UsageRepository(TABLE, RETENTION_DAYS)


def _faults(*operations: str) -> FaultInjector:
    return FaultInjector(operations=operations or ("TransactWriteItems",)).attach(aws.client("dynamodb"))


def _fail_once(operation: str, error: Exception) -> None:
    """The next `operation` of the app's client fails with `error`, before it is sent."""
    pending = [error]

    def fail(**_: Any) -> None:
        if pending:
            raise pending.pop()

    aws.client("dynamodb").meta.events.register(f"before-call.dynamodb.{operation}", fail)


def _stored() -> dict[tuple[str, str], dict]:
    """Every item of the table (the test's own client: the app's refuses Scan)."""
    items = boto3.resource("dynamodb", region_name=REGION).Table(TABLE).scan(ConsistentRead=True)["Items"]
    return {(item["pk"], item["sk"]): item for item in items}


def _call_item(call: CallRecord = CALL) -> dict:
    return _stored()[(f"CALL#{call.user_id}#{call.request_id}", "CALL")]


def _rollups() -> dict[tuple[str, str], dict]:
    return {key: item for key, item in _stored().items() if key[1] != "CALL" and not key[0].startswith("X#")}


def _extra_put(name: str) -> dict:
    """An item that rides along in a transaction (as a limit move or an audit event does)."""
    return {"Put": {"TableName": TABLE, "Item": {"pk": {"S": f"X#{name}"}, "sk": {"S": "X"}}}}


def _pending_item(call: CallRecord) -> dict:
    """What begin stores for `call`, every attribute."""
    item = {
        "pk": f"CALL#{call.user_id}#{call.request_id}",
        "sk": "CALL",
        "gsi1pk": pending_partition(call.request_id),
        "gsi1sk": f"CALL#{call.started_at}#{call.request_id}",
        "user_id": call.user_id,
        "request_id": call.request_id,
        "model_id": call.model_id,
        "started_at": call.started_at,
        "status": "pending",
        "attempt": call.attempt,
        "reserved_tokens": call.reserved_tokens,
        "reserved_cost_micros": call.reserved_cost_micros,
        "expires_at": NOW_EPOCH + RETENTION_DAYS * 86400,
    }
    optional = {
        "reserved_windows": list(call.reserved_windows),
        "key_id": call.key_id,
        "conversation_id": call.conversation_id,
    }
    item.update({name: value for name, value in optional.items() if value})
    if not call.reserved:
        item["reserved"] = False
    return item


def _outcome(settlement: Settlement) -> dict:
    outcome = {
        "status": settlement.status,
        "input_tokens": settlement.input_tokens,
        "output_tokens": settlement.output_tokens,
        "cost_micros": settlement.cost_micros,
        "latency_ms": settlement.latency_ms,
    }
    if settlement.error_code:
        outcome["error_code"] = settlement.error_code
    return outcome


def _expected_rollups(call: CallRecord, settlement: Settlement, times: int = 1) -> dict:
    """Every roll-up one settled call adds to: the user's day, month (total and model) and hour, the
    organisation's day and month (total and model) in the call's shard."""
    counters = {
        "requests": times,
        "errors": 0 if settlement.status == OK else times,
        "input_tokens": times * settlement.input_tokens,
        "output_tokens": times * settlement.output_tokens,
        "cost_micros": times * settlement.cost_micros,
    }
    day, month, hour = call.started_at[:10], call.started_at[:7], call.started_at[:13]
    user, shard = f"USER#{call.user_id}", global_shard(call.request_id)
    expected = {}
    for period in (f"DAY#{day}", f"MONTH#{month}"):
        expected[(user, f"{period}#TOTAL")] = {
            **counters,
            "model_id": "*",
            "user_id": call.user_id,
            "gsi2pk": f"COST#{period}",
        }
        expected[(user, f"{period}#MODEL#{call.model_id}")] = {
            **counters,
            "model_id": call.model_id,
            "user_id": call.user_id,
        }
        expected[(shard, f"{period}#TOTAL")] = dict(counters)
        expected[(shard, f"{period}#MODEL#{call.model_id}")] = dict(counters)
    expected[(user, f"HOUR#{hour}#TOTAL")] = {
        **counters,
        "model_id": "*",
        "user_id": call.user_id,
        "gsi2pk": f"COST#HOUR#{hour}",
    }
    return {key: {"pk": key[0], "sk": key[1], **values} for key, values in expected.items()}


# The records


def test_a_call_record_defaults_to_reserved_nothing_yet_and_a_fresh_attempt():
    call = CallRecord("ada", "r-1", None, MODEL, STARTED)
    assert (call.conversation_id, call.reserved_windows, call.reserved_tokens) == (None, (), 0)
    assert (call.reserved_cost_micros, call.reserved) == (0, True)
    other = CallRecord("ada", "r-1", None, MODEL, STARTED)
    assert len(call.attempt) == 32
    assert int(call.attempt, 16) >= 0
    assert call.attempt != other.attempt  # each request's write is told apart
    assert Settlement(OK, 1, 2, 3, 4).error_code is None


def test_shards_of_a_request_id_never_change_between_releases():
    # Pending calls and the organisation's roll-ups already stored stay where the reads look for them.
    assert [pending_partition(f"r-{n}") for n in range(1, 6)] == [
        "PENDING#7",
        "PENDING#3",
        "PENDING#0",
        "PENDING#6",
        "PENDING#2",
    ]
    assert [global_shard(f"r-{n}") for n in range(1, 6)] == [
        "GLOBAL#7",
        "GLOBAL#3",
        "GLOBAL#0",
        "GLOBAL#6",
        "GLOBAL#2",
    ]
    assert {pending_partition(f"r-{n}") for n in range(20)} == {f"PENDING#{n}" for n in range(8)}
    assert {global_shard(f"r-{n}") for n in range(20)} == {f"GLOBAL#{n}" for n in range(8)}


def test_the_rollups_of_a_call_and_their_ranking():
    assert rollup_sort_keys(MODEL, "2026-03-11") == [
        "DAY#2026-03-11#TOTAL",
        f"DAY#2026-03-11#MODEL#{MODEL}",
        "MONTH#2026-03#TOTAL",
        f"MONTH#2026-03#MODEL#{MODEL}",
    ]
    assert ranking_key("DAY#2026-03-11#TOTAL") == "COST#DAY#2026-03-11"
    assert ranking_key("HOUR#2026-03-11T10#TOTAL") == "COST#HOUR#2026-03-11T10"


# begin


def test_a_begun_call_is_stored_pending_with_all_it_reserved(usage):
    usage.begin(CALL, NOW_EPOCH)
    assert _call_item() == _pending_item(CALL)
    assert usage.call("ada", "r-1") == _pending_item(CALL)
    assert usage.call("ada", "r-9") is None


def test_a_call_without_key_conversation_or_windows_stores_none_of_them(usage):
    usage.begin(UNRESERVED, NOW_EPOCH)
    stored = _call_item(UNRESERVED)
    assert stored == _pending_item(UNRESERVED)
    assert {"key_id", "conversation_id", "reserved_windows"}.isdisjoint(stored)
    assert stored["reserved"] is False


def test_a_stored_call_reads_back_as_the_call_that_was_begun(usage):
    usage.begin(CALL, NOW_EPOCH)
    usage.begin(UNRESERVED, NOW_EPOCH)
    assert call_record_from_item(usage.call("ada", "r-1")) == CALL
    assert call_record_from_item(usage.call("ada", "r-2")) == UNRESERVED


def test_an_item_with_only_the_call_reads_as_a_reserved_call_of_nothing():
    # An item holding only what every release stored: no key, conversation, windows, amounts nor attempt.
    bare = {"user_id": "ada", "request_id": "r-1", "model_id": MODEL, "started_at": STARTED}
    assert call_record_from_item(bare) == CallRecord(
        "ada", "r-1", None, MODEL, STARTED, None, (), 0, 0, True, attempt=""
    )


def test_the_items_given_with_a_call_are_written_in_its_transaction(usage):
    usage.begin(CALL, NOW_EPOCH, [_extra_put("limit")])
    assert ("X#limit", "X") in _stored()
    assert _call_item()["status"] == "pending"


def test_a_request_id_begun_twice_is_a_duplicate(usage):
    usage.begin(CALL, NOW_EPOCH)
    with pytest.raises(DuplicateRequestError) as duplicate:
        usage.begin(replace(CALL, attempt="a-other"), NOW_EPOCH, [_extra_put("limit")])
    assert (duplicate.value.status_code, duplicate.value.code) == (409, "duplicate_request")
    assert duplicate.value.message == "This request id has been used already."
    assert _call_item()["attempt"] == "a-1"
    assert ("X#limit", "X") not in _stored()


@pytest.mark.parametrize(
    "script",
    [
        ("answer_lost",),  # the resend fails its condition on the item the first send wrote
        ("answer_lost", *["throttling"] * (ATTEMPTS - 1)),  # the resends are throttled to the last
        (*["throttling"] * (ATTEMPTS - 1), "answer_lost"),  # the last send went through unanswered
    ],
    ids=["condition", "throttled", "connection"],
)
def test_a_begin_whose_answer_was_lost_is_its_own_write_not_a_duplicate(usage, script):
    _faults().script(*script)
    usage.begin(CALL, NOW_EPOCH)
    assert _call_item() == _pending_item(CALL)


@pytest.mark.parametrize("fault", ["throttling", "conflict", "connection"])
def test_a_begin_that_outlasts_its_retries_is_busy_and_stores_nothing(usage, fault):
    _faults().script(*[fault] * ATTEMPTS)
    with pytest.raises(MeteringBusyError) as busy:
        usage.begin(CALL, NOW_EPOCH)
    assert (busy.value.status_code, busy.value.code) == (503, "metering_busy")
    assert busy.value.message == "Usage metering is busy: retry in a moment."
    assert busy.value.headers == {"Retry-After": "1"}
    assert _stored() == {}


def test_a_begin_whose_own_write_cannot_be_read_is_busy(usage):
    _faults().script(*["throttling"] * ATTEMPTS)
    _faults("GetItem").script("connection")
    with pytest.raises(MeteringBusyError):
        usage.begin(CALL, NOW_EPOCH)


def test_a_begin_whose_own_write_cannot_be_read_after_a_lost_connection_is_busy(usage):
    _faults().script(*["connection"] * ATTEMPTS)
    _faults("GetItem").script("throttling")
    with pytest.raises(MeteringBusyError):
        usage.begin(CALL, NOW_EPOCH)


def test_a_begin_refused_for_another_reason_raises_it(usage):
    invalid = ClientError({"Error": {"Code": "ValidationException", "Message": "bad"}}, "TransactWriteItems")
    _fail_once("TransactWriteItems", invalid)
    with pytest.raises(ClientError) as raised:
        usage.begin(CALL, NOW_EPOCH)
    assert raised.value is invalid


def test_a_begin_cancelled_without_a_failed_condition_is_busy(usage):
    cancelled = transaction_conflict(2)
    cancelled.response["CancellationReasons"] = [{"Code": "None"}, {"Code": "ValidationError"}]
    _fail_once("TransactWriteItems", cancelled)
    with pytest.raises(MeteringBusyError):
        usage.begin(CALL, NOW_EPOCH, [_extra_put("limit")])


def _counter(name: str, tokens: int | None) -> dict:
    """A limit counter's update, refused when it would pass 100 tokens (its old values returned)."""
    update = {
        "TableName": TABLE,
        "Key": {"pk": {"S": "LIMIT#ada"}, "sk": {"S": name}},
        "UpdateExpression": "ADD tokens :amount",
        "ConditionExpression": "attribute_exists(tokens) AND tokens <= :most",
        "ExpressionAttributeValues": {":amount": {"N": "10"}, ":most": {"N": "90"}},
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    if tokens is not None:
        boto3.client("dynamodb", region_name=REGION).put_item(
            TableName=TABLE,
            Item={"pk": {"S": "LIMIT#ada"}, "sk": {"S": name}, "tokens": {"N": str(tokens)}},
        )
    return {"Update": update}


def test_a_refused_counter_is_named_by_its_place_among_the_items_with_its_values(usage):
    items = [_counter("MINUTE#m", 5), _counter("DAY#d", 95), _counter("MONTH#m", 5)]
    with pytest.raises(CounterRefused) as refused:
        usage.begin(CALL, NOW_EPOCH, items)
    assert refused.value.index == 1
    assert refused.value.item == {"pk": "LIMIT#ada", "sk": "DAY#d", "tokens": 95}
    assert str(refused.value) == "counter 1 refused"
    assert ("CALL#ada#r-1", "CALL") not in _stored()


def test_a_refused_counter_that_was_never_written_has_no_values(usage):
    with pytest.raises(CounterRefused) as refused:
        usage.begin(CALL, NOW_EPOCH, [_counter("DAY#d", None)])
    assert (refused.value.index, refused.value.item) == (0, {})


def test_a_call_is_read_back_strongly_consistent(usage):
    asked: list[dict] = []
    aws.client("dynamodb").meta.events.register(
        "provide-client-params.dynamodb.GetItem", lambda params, **_: asked.append(params)
    )
    usage.begin(CALL, NOW_EPOCH)
    usage.call("ada", "r-1")
    assert [params["ConsistentRead"] for params in asked] == [True]


# settle


def test_a_settlement_stores_the_outcome_and_adds_it_to_every_rollup(usage, caplog):
    usage.begin(CALL, NOW_EPOCH)
    assert usage.settle(CALL, DONE, [_extra_put("audit")]) is True
    assert _unmarked(_call_item()) == {**_pending_item(CALL), **_outcome(DONE), "gsi1pk": "USER#ada"}
    assert _rollups() == _expected_rollups(CALL, DONE)
    assert ("X#audit", "X") in _stored()
    assert _usage_logs(caplog) == []


def test_a_failed_settlement_keeps_its_error_code_and_counts_an_error(usage):
    usage.begin(CALL, NOW_EPOCH)
    assert usage.settle(CALL, BROKEN) is True
    assert _unmarked(_call_item()) == {**_pending_item(CALL), **_outcome(BROKEN), "gsi1pk": "USER#ada"}
    assert _rollups() == _expected_rollups(CALL, BROKEN)


def test_a_call_is_settled_once(usage, caplog):
    usage.begin(CALL, NOW_EPOCH)
    usage.settle(CALL, DONE)
    assert usage.settle(CALL, DONE, [_extra_put("audit")]) is False
    assert _rollups() == _expected_rollups(CALL, DONE)
    assert ("X#audit", "X") not in _stored()
    assert _usage_logs(caplog) == []  # not a deferral: nothing is left to do


def _unmarked(settled: dict) -> dict:
    """A call settled by `settle`, without the mark of the settlement that did it (a fresh id each)."""
    assert re.fullmatch(r"[0-9a-f]{32}", settled.pop("settled_by"))
    return settled


def _usage_logs(caplog) -> list:
    """The repository's own log lines (the retries log theirs)."""
    return [record for record in caplog.records if record.name == "gateway.repositories.usage"]


@pytest.mark.parametrize(
    "script",
    [("answer_lost",), (*["throttling"] * (ATTEMPTS - 1), "answer_lost")],
    ids=["resend-refused", "last-send"],
)
def test_a_settlement_that_went_through_unanswered_is_its_own(usage, caplog, script):
    usage.begin(CALL, NOW_EPOCH)
    _faults().script(*script)
    assert usage.settle(CALL, DONE, [_extra_put("audit")]) is True
    assert _rollups() == _expected_rollups(CALL, DONE)
    assert "outcome" not in _call_item()
    assert _usage_logs(caplog) == []


def test_a_settlement_that_cannot_tell_its_own_write_counts_it_as_another(usage):
    usage.begin(CALL, NOW_EPOCH)
    _faults().script("answer_lost")
    _faults("GetItem").script("connection")
    assert usage.settle(CALL, DONE) is False
    assert _rollups() == _expected_rollups(CALL, DONE)  # settled once all the same


def test_another_settlement_is_not_taken_for_this_one(usage):
    usage.begin(CALL, NOW_EPOCH)
    usage.settle(CALL, DONE)
    first = _call_item()["settled_by"]
    assert usage.settle(CALL, DONE) is False
    assert _call_item()["settled_by"] == first


def _deferred(caplog) -> list[tuple[str, str, str]]:
    return [
        (record.call_request_id, record.reason, record.code)
        for record in caplog.records
        if record.getMessage() == "settlement deferred to the reconciler"
    ]


def test_a_settlement_that_still_fails_leaves_its_outcome_on_the_pending_call(usage, caplog):
    usage.begin(CALL, NOW_EPOCH)
    _faults().script(*["conflict"] * ATTEMPTS)
    assert usage.settle(CALL, DONE) is False
    assert _call_item() == {**_pending_item(CALL), "outcome": _outcome(DONE)}
    assert _rollups() == {}
    # One code per item of the transaction (the call and its 9 roll-ups), in their order.
    codes = [reason["Code"] for reason in transaction_conflict(10).response["CancellationReasons"]]
    assert _deferred(caplog) == [("r-1", "ClientError", ",".join(codes))]


def test_a_settlement_that_cannot_reach_dynamodb_leaves_its_outcome_too(usage, caplog):
    usage.begin(CALL, NOW_EPOCH)
    _faults().script(*["connection"] * ATTEMPTS)
    assert usage.settle(CALL, BROKEN) is False
    assert _call_item()["outcome"] == _outcome(BROKEN)
    assert _deferred(caplog) == [("r-1", "EndpointConnectionError", "")]


def test_an_outcome_that_cannot_be_stored_leaves_the_call_pending_as_it_was(usage, caplog):
    usage.begin(CALL, NOW_EPOCH)
    _faults().script(*["throttling"] * ATTEMPTS)
    _faults("UpdateItem").script("connection")
    assert usage.settle(CALL, DONE) is False
    assert _call_item() == _pending_item(CALL)
    (lost,) = [r for r in caplog.records if r.getMessage() == "outcome of an unsettled call not stored"]
    assert lost.call_request_id == "r-1"


def test_an_outcome_is_never_stored_on_a_settled_call(usage, caplog):
    usage.begin(CALL, NOW_EPOCH)
    usage.settle(CALL, DONE)
    _faults().script(*["throttling"] * ATTEMPTS)
    assert usage.settle(CALL, BROKEN) is False
    assert _unmarked(_call_item()) == {**_pending_item(CALL), **_outcome(DONE), "gsi1pk": "USER#ada"}
    assert [r.getMessage() for r in _usage_logs(caplog)][-1] == "outcome of an unsettled call not stored"


# record: a call that reserved nothing, put whole


def test_a_recorded_call_is_put_settled_with_its_rollups(usage, caplog):
    assert usage.record(UNRESERVED, DONE, NOW_EPOCH, [_extra_put("audit")]) is True
    expected = {**_pending_item(UNRESERVED), **_outcome(DONE), "gsi1pk": "USER#ada"}
    assert _call_item(UNRESERVED) == expected
    assert _rollups() == _expected_rollups(UNRESERVED, DONE)
    assert ("X#audit", "X") in _stored()
    assert _usage_logs(caplog) == []


def test_a_recorded_failure_keeps_its_error_code(usage):
    assert usage.record(UNRESERVED, BROKEN, NOW_EPOCH) is True
    expected = {**_pending_item(UNRESERVED), **_outcome(BROKEN), "gsi1pk": "USER#ada"}
    assert _call_item(UNRESERVED) == expected
    assert _rollups() == _expected_rollups(UNRESERVED, BROKEN)


def test_a_request_id_recorded_by_another_request_is_not_recorded_again(usage, caplog):
    usage.record(UNRESERVED, DONE, NOW_EPOCH)
    again = replace(UNRESERVED, attempt="a-other")
    assert usage.record(again, BROKEN, NOW_EPOCH, [_extra_put("audit")]) is False
    assert _call_item(UNRESERVED)["attempt"] == "a-2"
    assert _rollups() == _expected_rollups(UNRESERVED, DONE)
    assert ("X#audit", "X") not in _stored()
    (error,) = _usage_logs(caplog)
    assert (error.getMessage(), error.levelname, error.call_request_id) == (
        "request id recorded before",
        "ERROR",
        "r-2",
    )


def test_a_record_whose_first_send_went_through_unanswered_is_recorded_once(usage, caplog):
    _faults().script("answer_lost")
    assert usage.record(UNRESERVED, DONE, NOW_EPOCH) is True
    assert _call_item(UNRESERVED)["status"] == "ok"
    assert _rollups() == _expected_rollups(UNRESERVED, DONE)
    assert _usage_logs(caplog) == []


# The put, its 9 roll-ups and the one item it carries: one cancellation code each, in their order.
RECORD_CONFLICT_CODES = ",".join(r["Code"] for r in transaction_conflict(11).response["CancellationReasons"])


@pytest.mark.parametrize(
    ("fault", "reason", "codes"),
    [("conflict", "ClientError", RECORD_CONFLICT_CODES), ("connection", "EndpointConnectionError", "")],
)
def test_a_record_that_still_fails_is_put_pending_with_its_outcome(usage, caplog, fault, reason, codes):
    _faults().script(*[fault] * ATTEMPTS)
    assert usage.record(UNRESERVED, DONE, NOW_EPOCH, [_extra_put("audit")]) is False
    assert _call_item(UNRESERVED) == {**_pending_item(UNRESERVED), "outcome": _outcome(DONE)}
    assert _rollups() == {}
    assert ("X#audit", "X") not in _stored()
    assert _deferred(caplog) == [("r-2", reason, codes)]


def test_a_record_that_went_through_on_its_last_send_unanswered_counts_as_recorded(usage, caplog):
    # The caller's audit event and conversation, carried by the transaction, were written with it.
    _faults().script(*["throttling"] * (ATTEMPTS - 1), "answer_lost")
    assert usage.record(UNRESERVED, DONE, NOW_EPOCH, [_extra_put("audit")]) is True
    assert _call_item(UNRESERVED)["status"] == "ok"
    assert _rollups() == _expected_rollups(UNRESERVED, DONE)
    assert ("X#audit", "X") in _stored()


def test_a_pending_put_that_went_through_unanswered_is_kept_not_lost(usage, caplog):
    _faults().script(*["throttling"] * ATTEMPTS)
    _faults("PutItem").script("answer_lost")
    assert usage.record(UNRESERVED, DONE, NOW_EPOCH) is False
    assert _call_item(UNRESERVED)["outcome"] == _outcome(DONE)
    assert "unsettled call lost" not in [r.getMessage() for r in caplog.records]


def test_a_call_that_cannot_be_stored_at_all_is_logged_with_every_figure(usage, caplog):
    _faults().script(*["throttling"] * ATTEMPTS)
    _faults("PutItem").script("connection")
    assert usage.record(UNRESERVED, DONE, NOW_EPOCH) is False
    assert _stored() == {}
    (lost,) = [r for r in caplog.records if r.getMessage() == "unsettled call lost"]
    figures = ("call_request_id", "user_id", "model_id", "status", "input_tokens", "output_tokens")
    assert tuple(getattr(lost, name) for name in figures) == ("r-2", "ada", MODEL, OK, 11, 7)
    assert (lost.cost_micros, lost.levelname, lost.exc_info is not None) == (250, "ERROR", True)


def test_a_pending_put_refused_by_another_requests_call_is_logged_lost(usage, caplog):
    usage.begin(replace(UNRESERVED, attempt="a-other"), NOW_EPOCH)
    _faults().script(*["throttling"] * ATTEMPTS)
    assert usage.record(UNRESERVED, DONE, NOW_EPOCH) is False
    assert _call_item(UNRESERVED)["attempt"] == "a-other"
    assert [r.getMessage() for r in _usage_logs(caplog)][-1] == "unsettled call lost"


# reads


def test_pending_calls_started_before_an_instant_are_found_in_every_shard(usage):
    calls = [
        replace(CALL, request_id=f"r-{n}", started_at=f"2026-03-11T10:{n:02d}:00.000Z") for n in range(20)
    ]
    for call in calls:
        usage.begin(call, NOW_EPOCH)
    usage.settle(calls[3], DONE)
    found = usage.pending_before("2026-03-11T10:15:00.000Z")  # r-15 started then: not before
    assert sorted(item["request_id"] for item in found) == sorted(f"r-{n}" for n in range(15) if n != 3)
    assert all(item["status"] == "pending" for item in found)


def test_conversations_are_counted_in_the_users_and_the_organisations_rollups(usage):
    usage.count_conversation("ada", "2026-03-11T10", "c-1")
    usage.count_conversation("ada", "2026-03-11T10", "c-1")
    shard = global_shard("c-1")
    keys = [
        ("USER#ada", "DAY#2026-03-11#TOTAL"),
        ("USER#ada", "MONTH#2026-03#TOTAL"),
        (shard, "DAY#2026-03-11#TOTAL"),
        (shard, "MONTH#2026-03#TOTAL"),
        ("USER#ada", "HOUR#2026-03-11T10#TOTAL"),
    ]
    assert _stored() == {(pk, sk): {"pk": pk, "sk": sk, "conversations": 2} for pk, sk in keys}


def _settled(usage, user: str, request_id: str, day: str, cost: int) -> CallRecord:
    call = replace(CALL, user_id=user, request_id=request_id, started_at=f"{day}T10:20:15.000Z")
    usage.begin(call, NOW_EPOCH)
    usage.settle(call, replace(DONE, cost_micros=cost))
    return call


def test_the_organisations_rollups_of_a_period_come_from_every_shard(usage):
    for n in range(12):
        _settled(usage, "ada", f"r-{n}", "2026-03-11", 10)
    _settled(usage, "ada", "r-before", "2026-03-10", 10)
    _settled(usage, "ada", "r-after", "2026-03-12", 10)
    items = usage.global_rollups("DAY#2026-03-11", "DAY#2026-03-11")
    assert {item["pk"] for item in items} == {global_shard(f"r-{n}") for n in range(12)}
    assert {item["sk"] for item in items} == {"DAY#2026-03-11#TOTAL", f"DAY#2026-03-11#MODEL#{MODEL}"}
    assert sum(item["requests"] for item in items if item["sk"].endswith("#TOTAL")) == 12
    months = usage.global_rollups("MONTH#2026-03", "MONTH#2026-03")
    assert sum(item["requests"] for item in months if item["sk"].endswith("#TOTAL")) == 14


def test_a_users_rollups_between_two_periods(usage):
    _settled(usage, "ada", "r-1", "2026-02-27", 100)
    _settled(usage, "ada", "r-2", "2026-03-11", 200)
    _settled(usage, "ada", "r-3", "2026-04-01", 400)
    _settled(usage, "grace", "r-4", "2026-03-11", 800)
    usage.count_conversation("ada", "2026-03-12T08", "c-1")
    one = {"requests": 1, "errors": 0, "input_tokens": 11, "output_tokens": 7}
    assert usage.rollups_between("ada", "MONTH#2026-02", "MONTH#2026-03") == [
        Rollup("MONTH#2026-02", MODEL, **one, cost_micros=100),
        Rollup("MONTH#2026-02", None, **one, cost_micros=100),
        Rollup("MONTH#2026-03", MODEL, **one, cost_micros=200),
        Rollup("MONTH#2026-03", None, **one, cost_micros=200),  # the conversation counts no call
    ]
    assert usage.rollups_between("ada", "DAY#2026-03-12", "DAY#2026-03-12") == [
        Rollup("DAY#2026-03-12", None, 0, 0, 0, 0, 0)
    ]


def test_users_are_ranked_by_cost_a_page_at_a_time(usage):
    for user, cost in (("ada", 300), ("grace", 500), ("edsger", 100)):
        _settled(usage, user, f"r-{user}", "2026-03-11", cost)
    first, start = usage.ranked_totals("DAY#2026-03-11", 2, None)
    assert [(item["user_id"], item["cost_micros"]) for item in first] == [("grace", 500), ("ada", 300)]
    assert start is not None
    second, end = usage.ranked_totals("DAY#2026-03-11", 2, start)
    assert [item["user_id"] for item in second] == ["edsger"]
    assert end is None
    hour = usage.ranked_all("HOUR#2026-03-11T10")
    assert [item["user_id"] for item in hour] == ["edsger", "ada", "grace"]
    assert usage.ranked_all("HOUR#2026-03-11T11") == []


def test_a_users_total_of_a_period(usage):
    _settled(usage, "ada", "r-1", "2026-03-11", 300)
    assert usage.total("ada", "DAY#2026-03-11")["cost_micros"] == 300
    assert usage.total("ada", "MONTH#2026-03")["requests"] == 1
    assert usage.total("ada", "DAY#2026-03-12") is None


def _unused_values(request: dict) -> list[str]:
    """Placeholders a request's items send but their expressions never use: DynamoDB refuses such a request
    (ValidationException, "unused in expressions"); moto does not."""
    unused = []
    for entry in request["TransactItems"]:
        (action,) = entry.values()
        expressions = " ".join(action.get(k, "") for k in ("UpdateExpression", "ConditionExpression"))
        placeholders = re.findall(r":\w+", expressions)
        unused += [name for name in action.get("ExpressionAttributeValues", {}) if name not in placeholders]
    return unused


def test_every_value_a_transaction_sends_is_used_by_its_expressions(usage):
    sent: list[dict] = []
    aws.client("dynamodb").meta.events.register(
        "provide-client-params.dynamodb.TransactWriteItems", lambda params, **_: sent.append(params)
    )
    usage.begin(CALL, NOW_EPOCH)
    usage.settle(CALL, DONE)
    usage.settle(replace(CALL, request_id="r-3"), BROKEN)  # refused on its condition: no pending call
    usage.record(UNRESERVED, BROKEN, NOW_EPOCH)
    usage.count_conversation("ada", "2026-03-11T10", "c-1")
    assert len(sent) == 5
    assert [_unused_values(request) for request in sent] == [[]] * 5
