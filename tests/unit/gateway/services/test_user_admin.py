"""User management rules: the order of a disable, key creation after it, the atomic last-admin guard."""

import threading
import time

import boto3
import pytest

from gateway import deps
from gateway.auth.tokens import InvalidTokenError
from gateway.providers.cognito import UserDisabledError
from gateway.repositories.access import AccessRepository
from gateway.services import user_admin
from gateway.services.user_admin import AdminChangeBusyError, LastAdminError
from gateway.settings import get_settings
from tests.support.aws import REGION


def idp():
    return boto3.client("cognito-idp", region_name=REGION)


def new_user(stack, email: str, *groups: str) -> str:
    made = idp().admin_create_user(
        UserPoolId=stack.user_pool_id,
        Username=email,
        UserAttributes=[{"Name": "email", "Value": email}],
        MessageAction="SUPPRESS",
    )
    user_id = next(a["Value"] for a in made["User"]["Attributes"] if a["Name"] == "sub")
    for group in groups:
        idp().admin_add_user_to_group(UserPoolId=stack.user_pool_id, Username=user_id, GroupName=group)
    return user_id


def enabled(stack, user_id: str) -> bool:
    return idp().admin_get_user(UserPoolId=stack.user_pool_id, Username=user_id)["Enabled"]


def slowed(monkeypatch, pool, operation: str, seconds: float = 0.3) -> None:
    """Make a Cognito change slow, so that two requests overlap inside the guard."""
    original = getattr(pool, operation)

    def slow(*args, **kwargs):
        time.sleep(seconds)
        return original(*args, **kwargs)

    monkeypatch.setattr(pool, operation, slow)


def run_together(*calls):
    barrier = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            outcomes[index] = call()
        except Exception as exc:  # the outcome under test
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_two_admins_disabling_each_other_at_once_leave_one(stack, monkeypatch):
    first, second = new_user(stack, "a@example.com", "Admin"), new_user(stack, "b@example.com", "Admin")
    service = deps.user_admin_service.get()
    slowed(monkeypatch, deps.user_pool.get(), "disable")

    outcomes = run_together(lambda: service.disable(second), lambda: service.disable(first))

    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(refused) == 1, outcomes
    assert isinstance(refused[0], LastAdminError)
    assert sorted([enabled(stack, first), enabled(stack, second)]) == [False, True]


def test_two_concurrent_removals_from_admin_leave_one(stack, monkeypatch):
    first, second = new_user(stack, "a@example.com", "Admin"), new_user(stack, "b@example.com", "Admin")
    service = deps.user_admin_service.get()
    slowed(monkeypatch, deps.user_pool.get(), "remove_from_group")

    outcomes = run_together(
        lambda: service.remove_from_group(first, "Admin"), lambda: service.remove_from_group(second, "Admin")
    )

    assert sum(isinstance(o, LastAdminError) for o in outcomes) == 1, outcomes
    members = idp().list_users_in_group(UserPoolId=stack.user_pool_id, GroupName="Admin")["Users"]
    assert len(members) == 1


def test_the_guard_is_released_after_a_refusal(stack, monkeypatch):
    only = new_user(stack, "a@example.com", "Admin")
    service = deps.user_admin_service.get()
    access = AccessRepository(get_settings().table_api_keys)
    pool = deps.user_pool.get()
    held_during_check: list[bool] = []
    members_of = pool.members_of

    def checking_the_lock(group):
        held_during_check.append(not access.acquire_admin_lock("probe", time.time(), 30.0))
        return members_of(group)

    monkeypatch.setattr(pool, "members_of", checking_the_lock)
    with pytest.raises(LastAdminError):
        service.disable(only)
    assert held_during_check == [True]  # the check ran under the lock...
    assert access.acquire_admin_lock("probe", time.time(), 30.0)  # ...which the refusal released
    access.release_admin_lock("probe")
    monkeypatch.setattr(pool, "members_of", members_of)
    new_user(stack, "b@example.com", "Admin")
    service.disable(only)  # the lock of the refused attempt is gone
    assert not enabled(stack, only)


def test_a_held_guard_makes_others_wait_then_gives_up(stack, monkeypatch):
    first = new_user(stack, "a@example.com", "Admin")
    new_user(stack, "b@example.com", "Admin")
    access = AccessRepository(get_settings().table_api_keys)
    assert access.acquire_admin_lock("someone-else", time.time(), 30.0)
    monkeypatch.setattr(user_admin, "ADMIN_LOCK_WAIT_SECONDS", 0.3)

    with pytest.raises(AdminChangeBusyError):
        deps.user_admin_service.get().disable(first)
    assert enabled(stack, first)


def test_an_expired_lease_is_taken_over(stack):
    access = AccessRepository(get_settings().table_api_keys)
    assert access.acquire_admin_lock("crashed", 1000.0, 30.0)
    assert not access.acquire_admin_lock("next", 1029.0, 30.0)
    assert access.acquire_admin_lock("next", 1031.0, 30.0)
    access.release_admin_lock("crashed")  # not its lease any more: nothing happens
    assert not access.acquire_admin_lock("third", 1032.0, 30.0)


def test_disable_signs_out_before_revoking_keys(stack, monkeypatch):
    new_user(stack, "root@example.com", "Admin")
    victim = new_user(stack, "ada@example.com")
    service = deps.user_admin_service.get()
    steps: list[str] = []
    for owner, name, label in (
        (deps.user_pool.get(), "disable", "disable"),
        (deps.user_pool.get(), "sign_out_everywhere", "sign_out"),
        (deps.api_key_repository.get(), "mark_signed_out", "session_mark"),
        (deps.api_key_service.get(), "revoke_all", "revoke_keys"),
    ):
        original = getattr(owner, name)
        monkeypatch.setattr(
            owner, name, lambda *a, _o=original, _l=label, **k: (steps.append(_l), _o(*a, **k))[1]
        )
    service.disable(victim)
    assert steps == ["disable", "sign_out", "session_mark", "revoke_keys"]


def test_key_creation_refuses_a_disabled_user_and_keeps_no_key(stack):
    user_id = new_user(stack, "ada@example.com")
    idp().admin_disable_user(UserPoolId=stack.user_pool_id, Username=user_id)
    keys = deps.api_key_service.get()
    with pytest.raises(UserDisabledError):
        keys.create(user_id)
    assert [record.active for record in keys.list_for_owner(user_id)] == [False]


def test_key_creation_refuses_a_signed_out_session(stack):
    user_id = new_user(stack, "ada@example.com")
    deps.api_key_repository.get().mark_signed_out(user_id, 2000)
    keys = deps.api_key_service.get()
    with pytest.raises(InvalidTokenError):
        keys.create(user_id, session_started_at=1999)
    assert [record.active for record in keys.list_for_owner(user_id)] == [False]
    record, _ = keys.create(user_id, session_started_at=2001)
    assert record.active
