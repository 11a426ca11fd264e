"""The API key rules, against a key store, an API Gateway and user standings held in memory."""

import hashlib
import re
from dataclasses import replace
from datetime import timedelta

import pytest

from gateway.auth.standing import Standing
from gateway.auth.tokens import InvalidTokenError
from gateway.clock import iso
from gateway.errors import BadRequestError, NotFoundError
from gateway.providers.cognito import UserDisabledError
from gateway.repositories.access import SessionState
from gateway.repositories.api_keys import ACTIVE, REVOKED, ApiKeyRecord
from gateway.services import api_keys
from gateway.services.api_keys import (
    ApiKeyMissingError,
    ApiKeyNotYoursError,
    ApiKeyRevokedError,
    ApiKeyService,
    ApiKeyUnknownError,
    InvalidApiKeyError,
    hash_key,
    issue_key,
)

KEYS_TABLE = "keys-table"
LIMITS_TABLE = "limits-table"


class _Keys:
    """An API key repository in memory; `items` are the other items a batch read can return."""

    table_name = KEYS_TABLE

    def __init__(self) -> None:
        self.records: dict[str, ApiKeyRecord] = {}
        self.items: dict[tuple[str, str], dict] = {}
        self.hash_reads = 0
        self.batches: list[tuple[str | None, list]] = []
        self.revoked: list[tuple[str, str]] = []
        self.touched: list[tuple[str, str, str]] = []

    def add(self, record):
        self.records[record.key_id] = record

    def get(self, key_id):
        return self.records.get(key_id)

    def list_for_owner(self, owner_id):
        return [r for r in self.records.values() if r.owner_id == owner_id]

    def revoke(self, record, revoked_at):
        self.revoked.append((record.key_id, revoked_at))
        self.records[record.key_id] = replace(record, state=REVOKED, revoked_at=revoked_at)

    def find_by_hash(self, key_hash):
        self.hash_reads += 1
        return next((r for r in self.records.values() if r.key_hash == key_hash), None)

    def find_by_hash_with(self, key_hash, others):
        self.batches.append((key_hash, others))
        items = [self.items.get((name, key["pk"])) for name, key in others]
        if key_hash is None:
            return None, items
        return next((r for r in self.records.values() if r.key_hash == key_hash), None), items

    def touch(self, key_id, used_at, not_since):
        self.touched.append((key_id, used_at, not_since))


class _Gateway:
    def __init__(self) -> None:
        self.created: list[dict] = []
        self.deleted: list[str] = []
        self.disabled: list[str] = []

    def create(self, **key):
        self.created.append(key)
        return f"gw-{len(self.created)}"

    def delete(self, key_id):
        self.deleted.append(key_id)

    def disable(self, key_id):
        self.disabled.append(key_id)


class _Standings:
    """u1's standing as given; every other user enabled and never signed out."""

    def __init__(self, signed_out_at: int = 0, enabled: bool = True) -> None:
        self.signed_out_at = signed_out_at
        self.enabled = enabled

    def session(self, user_id):
        return SessionState(signed_out_at=self.signed_out_at if user_id == "u1" else 0, rights_version=0)

    def fresh(self, user_id):
        return Standing(enabled=self.enabled or user_id != "u1", groups=())


def _service(keys=None, gateway=None, standings=None, max_active=2, limits_table=LIMITS_TABLE):
    return ApiKeyService(
        keys or _Keys(), gateway or _Gateway(), max_active, standings or _Standings(), limits_table
    )


def _record(key_id="k1", owner_id="u1", value="value-1", state=ACTIVE, created_at="2026-03-11T10:20:15.000Z"):
    return ApiKeyRecord(key_id, owner_id, hash_key(value), state, created_at)


def test_a_key_is_known_by_the_sha256_of_its_value():
    assert hash_key("abc") == hashlib.sha256(b"abc").hexdigest()


def test_an_issued_key_has_a_long_random_value_shown_once_and_a_record_of_its_hash(gateway_clock):
    gateway = _Gateway()
    stored = []
    created_at = iso(gateway_clock.peek())

    def store(key_id, key_hash, at):
        stored.append((key_id, key_hash, at))
        return "the record"

    record, value = issue_key(gateway, "bot-b1", "Key of bot b1", store, "plan-1", {"bot": "b1"})
    assert record == "the record"
    assert re.fullmatch(r"[A-Za-z0-9_-]{40}", value)
    assert stored == [("gw-1", hash_key(value), created_at)]
    assert gateway.created == [
        {
            "name": "bot-b1-" + created_at.replace(":", "").replace(".", ""),
            "value": value,
            "description": "Key of bot b1",
            "usage_plan_id": "plan-1",
            "tags": {"bot": "b1"},
        }
    ]
    assert value != issue_key(gateway, "bot-b1", "Key of bot b1", store)[1]
    assert gateway.created[1]["usage_plan_id"] is None
    assert gateway.created[1]["tags"] is None
    assert gateway.deleted == []


def test_an_issued_key_whose_record_cannot_be_stored_is_deleted_from_the_gateway():
    gateway = _Gateway()

    def store(key_id, key_hash, at):
        raise RuntimeError("the table is gone")

    with pytest.raises(RuntimeError, match="the table is gone"):
        issue_key(gateway, "user-u1", "API key of user u1", store)
    assert gateway.deleted == ["gw-1"]


def test_a_user_key_is_created_active_in_the_gateway_and_in_the_store(gateway_clock):
    keys, gateway = _Keys(), _Gateway()
    created_at = iso(gateway_clock.peek())
    record, value = _service(keys, gateway).create("u1")
    assert record == ApiKeyRecord("gw-1", "u1", hash_key(value), ACTIVE, created_at)
    assert keys.records == {"gw-1": record}
    assert gateway.created[0]["name"].startswith("user-u1-")
    assert gateway.created[0]["description"] == "API key of user u1"
    assert gateway.created[0]["usage_plan_id"] is None


def test_a_user_has_at_most_the_active_keys_allowed_and_revoked_ones_do_not_count():
    keys = _Keys()
    keys.add(_record("old", state=REVOKED))
    keys.add(_record("other-users", owner_id="u2"))
    service = _service(keys, max_active=2)
    service.create("u1")
    service.create("u1")  # the second of 2
    with pytest.raises(BadRequestError) as refused:
        service.create("u1")
    assert refused.value.code == "api_key_limit"
    assert refused.value.message == "At most 2 active API keys per user: revoke one first."
    assert len(keys.list_for_owner("u1")) == 3


@pytest.mark.parametrize(
    ("session_started_at", "refused"),
    [(None, False), (999, True), (1000, True), (1001, False)],  # signed out at 1000
)
def test_a_key_made_by_a_signed_out_session_is_revoked_at_once(session_started_at, refused):
    keys, gateway = _Keys(), _Gateway()
    service = _service(keys, gateway, _Standings(signed_out_at=1000))
    if refused:
        with pytest.raises(InvalidTokenError, match=r"^This session has been signed out\.$"):
            service.create("u1", session_started_at)
        assert [r.state for r in keys.records.values()] == [REVOKED]
        assert gateway.disabled == ["gw-1"]
    else:
        record, _ = service.create("u1", session_started_at)
        assert keys.records[record.key_id].active
        assert gateway.disabled == []


def test_a_key_made_while_the_user_is_disabled_is_revoked_at_once():
    keys, gateway = _Keys(), _Gateway()
    with pytest.raises(UserDisabledError):
        _service(keys, gateway, _Standings(enabled=False)).create("u1", 2000)
    assert [r.state for r in keys.records.values()] == [REVOKED]
    assert gateway.disabled == ["gw-1"]


def test_keys_are_listed_newest_first():
    keys = _Keys()
    for key_id, created_at in [("b", "2026-03-02"), ("c", "2026-03-03"), ("a", "2026-03-01")]:
        keys.add(_record(key_id, value=key_id, created_at=created_at))
    assert [r.key_id for r in _service(keys).list_for_owner("u1")] == ["c", "b", "a"]


def test_revoking_marks_the_record_first_then_disables_the_gateway_key(gateway_clock):
    keys, gateway = _Keys(), _Gateway()
    keys.add(_record("k1"))
    revoked_at = iso(gateway_clock.peek())
    record = _service(keys, gateway).revoke("u1", "k1")
    assert (record.state, record.revoked_at) == (REVOKED, revoked_at)  # the record as stored now
    assert keys.revoked == [("k1", revoked_at)]
    assert gateway.disabled == ["k1"]
    again = _service(keys, gateway).revoke("u1", "k1")  # already revoked: nothing more to do
    assert again.revoked_at == revoked_at
    assert (len(keys.revoked), gateway.disabled) == (1, ["k1"])


@pytest.mark.parametrize(("owner_id", "key_id"), [("u2", "k1"), ("u1", "missing")])
def test_only_the_owner_can_revoke_a_key(owner_id, key_id):
    keys, gateway = _Keys(), _Gateway()
    keys.add(_record("k1"))
    with pytest.raises(NotFoundError) as refused:
        _service(keys, gateway).revoke(owner_id, key_id)
    assert (refused.value.code, refused.value.message) == ("api_key_not_found", "No such API key.")
    assert keys.records["k1"].active
    assert gateway.disabled == []


def test_revoking_all_keys_counts_those_that_were_active():
    keys, gateway = _Keys(), _Gateway()
    keys.add(_record("k1", value="1"))
    keys.add(_record("k2", value="2", state=REVOKED))
    keys.add(_record("k3", value="3"))
    keys.add(_record("k4", value="4", owner_id="u2"))
    assert _service(keys, gateway).revoke_all("u1") == 2
    assert sorted(gateway.disabled) == ["k1", "k3"]
    assert keys.records["k4"].active


@pytest.mark.parametrize("value", [None, ""])
def test_no_key_value_is_refused_without_a_read(value):
    keys = _Keys()
    for read in (_service(keys).resolve, _service(keys).check):
        with pytest.raises(ApiKeyMissingError):
            read(value)
    assert (keys.hash_reads, keys.batches) == (0, [])


@pytest.mark.parametrize(
    ("value", "refusal"),
    [("dead", ApiKeyRevokedError), ("unknown", ApiKeyUnknownError), ("", ApiKeyMissingError)],
)
def test_resolving_finds_the_active_key_by_its_value_and_says_why_it_refuses_another(value, refusal):
    keys = _Keys()
    keys.add(_record("k1", value="live"))
    keys.add(_record("k2", value="dead", state=REVOKED))
    assert _service(keys).resolve("live").key_id == "k1"
    with pytest.raises(refusal) as refused:
        _service(keys).resolve(value)
    assert (refused.value.status_code, refused.value.code) == (403, refusal.code)


def test_a_check_for_a_known_owner_reads_the_key_session_override_and_extra_items_in_one_batch():
    keys = _Keys()
    keys.add(_record("k1", value="live"))
    keys.items[(KEYS_TABLE, "USER#u1")] = {"signed_out_at": 5, "rights_version": 3}
    keys.items[(LIMITS_TABLE, "LIMIT#u1")] = {"pk": "LIMIT#u1", "sk": "OVERRIDE", "tokens_per_day": 9}
    keys.items[("bots", "BOT#b1")] = {"name": "b1"}
    check = _service(keys).check(
        "live", "u1", also=[("bots", {"pk": "BOT#b1", "sk": "BOT"}), ("bots", {"pk": "X"})]
    )
    assert keys.hash_reads == 0
    assert keys.batches == [
        (
            hash_key("live"),
            [
                (KEYS_TABLE, {"pk": "USER#u1", "sk": "SESSION"}),
                (LIMITS_TABLE, {"pk": "LIMIT#u1", "sk": "OVERRIDE"}),
                ("bots", {"pk": "BOT#b1", "sk": "BOT"}),
                ("bots", {"pk": "X"}),
            ],
        )
    ]
    assert check.owner_id == "u1"
    assert check.record.key_id == "k1"
    assert check.session == SessionState(signed_out_at=5, rights_version=3)
    assert check.limit_override == {"tokens_per_day": 9}
    assert check.also == ({"name": "b1"}, None)


def test_a_check_without_a_limits_table_reads_no_override():
    keys = _Keys()
    keys.add(_record("k1", value="live"))
    keys.items[("bots", "BOT#b1")] = {"name": "b1"}
    check = _service(keys, limits_table=None).check("live", "u1", also=[("bots", {"pk": "BOT#b1"})])
    assert keys.batches[0][1] == [
        (KEYS_TABLE, {"pk": "USER#u1", "sk": "SESSION"}),
        ("bots", {"pk": "BOT#b1"}),
    ]
    assert check.limit_override is None
    assert check.session == SessionState(0, 0)
    assert check.also == ({"name": "b1"},)
    assert _service(keys, limits_table=None).check("live", "u1").also == ()


def test_a_check_of_another_users_key_has_no_record_and_says_so():
    keys = _Keys()
    keys.add(_record("k1", owner_id="u2", value="theirs"))
    check = _service(keys).check("theirs", "u1")
    assert (check.owner_id, check.record, check.refusal) == ("u1", None, ApiKeyNotYoursError)
    with pytest.raises(ApiKeyNotYoursError):
        _service(keys).accept(check.record, check.refusal)


@pytest.mark.parametrize(("state", "refusal"), [(ACTIVE, None), (REVOKED, ApiKeyRevokedError)])
def test_a_check_for_a_known_owner_says_whether_their_key_may_be_used(state, refusal):
    keys = _Keys()
    keys.add(_record("k1", value="mine", state=state))
    check = _service(keys).check("mine", "u1")
    assert (check.record.key_id, check.refusal) == ("k1", refusal)
    unknown = _service(keys).check("nobody's", "u1")
    assert (unknown.record, unknown.refusal) == (None, ApiKeyUnknownError)


def test_a_key_never_seen_is_found_by_its_hash_then_its_owner_is_remembered():
    keys = _Keys()
    keys.add(_record("k1", owner_id="u7", value="live"))
    service = _service(keys)
    first = service.check("live")
    assert (first.owner_id, first.record.key_id, keys.hash_reads) == ("u7", "k1", 1)
    assert keys.batches[0][0] is None  # the key was read already: the batch reads the owner's items only
    assert keys.batches[0][1][0] == (KEYS_TABLE, {"pk": "USER#u7", "sk": "SESSION"})
    second = service.check("live")
    assert (second.owner_id, second.record.key_id, keys.hash_reads) == ("u7", "k1", 1)
    assert keys.batches[1][0] == hash_key("live")


@pytest.mark.parametrize(("state", "refusal"), [(REVOKED, ApiKeyRevokedError), (None, ApiKeyUnknownError)])
def test_a_key_never_seen_that_is_revoked_or_unknown_is_refused(state, refusal):
    keys = _Keys()
    if state:
        keys.add(_record("k1", value="dead", state=state))
    with pytest.raises(refusal):
        _service(keys).check("dead")
    assert keys.batches == []


def test_the_remembered_owners_are_bounded(monkeypatch):
    monkeypatch.setattr(api_keys, "MAX_KNOWN_OWNERS", 2)
    keys = _Keys()
    for n in range(3):
        keys.add(_record(f"k{n}", owner_id=f"u{n}", value=f"v{n}"))
    service = _service(keys)
    for n in range(3):
        service.check(f"v{n}")  # the third forgets the first two
    assert keys.hash_reads == 3
    service.check("v1")
    assert keys.hash_reads == 4  # forgotten: read again
    service.check("v2")
    assert keys.hash_reads == 4  # remembered


def test_a_key_that_fails_its_check_is_not_remembered():
    keys = _Keys()
    keys.add(_record("k1", owner_id="u2", value="theirs"))
    service = _service(keys)
    service.check("theirs", "u1")  # not u1's
    service.check("theirs")
    assert keys.hash_reads == 1


def test_an_accepted_key_records_its_use_at_most_once_a_minute(gateway_clock):
    keys = _Keys()
    record = _record("k1")
    service = _service(keys)
    start = gateway_clock.peek()
    assert service.accept(record) is record
    assert keys.touched == [("k1", iso(start), iso(start - timedelta(minutes=1)))]
    gateway_clock.set(start + timedelta(seconds=59, milliseconds=999))
    service.accept(record)
    assert len(keys.touched) == 1
    gateway_clock.set(start + timedelta(minutes=1))
    service.accept(record)
    later = start + timedelta(minutes=1)
    assert keys.touched[1] == ("k1", iso(later), iso(later - timedelta(minutes=1)))


@pytest.mark.parametrize(
    ("record", "refusal"), [(None, ApiKeyUnknownError), (_record(state=REVOKED), ApiKeyRevokedError)]
)
def test_a_missing_or_revoked_key_is_not_accepted(record, refusal):
    keys = _Keys()
    with pytest.raises(refusal):
        _service(keys).accept(record)
    with pytest.raises(ApiKeyNotYoursError):
        _service(keys).accept(_record(), ApiKeyNotYoursError)  # the check's refusal wins
    assert keys.touched == []


def test_each_refusal_is_a_403_invalid_key_with_its_own_code():
    codes = {
        e.code for e in (ApiKeyMissingError, ApiKeyUnknownError, ApiKeyRevokedError, ApiKeyNotYoursError)
    }
    assert codes == {"api_key_missing", "api_key_unknown", "api_key_revoked", "api_key_not_yours"}
    assert all(issubclass(e, InvalidApiKeyError) for e in (ApiKeyMissingError, ApiKeyNotYoursError))
    assert ApiKeyMissingError().status_code == 403
