"""The per-process cache of a user's standing in Cognito."""

import boto3

from gateway import deps
from gateway.auth.standing import Standing, UserStandings
from gateway.repositories.access import AccessRepository
from gateway.settings import get_settings
from tests.support.aws import REGION


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def standings(clock, ttl=60.0) -> UserStandings:
    return UserStandings(
        deps.user_pool.get(), AccessRepository(get_settings().table_api_keys), ttl, clock=clock
    )


def new_user(stack, email="ada@example.com") -> str:
    made = boto3.client("cognito-idp", region_name=REGION).admin_create_user(
        UserPoolId=stack.user_pool_id,
        Username=email,
        UserAttributes=[{"Name": "email", "Value": email}],
        MessageAction="SUPPRESS",
    )
    return next(a["Value"] for a in made["User"]["Attributes"] if a["Name"] == "sub")


def idp():
    return boto3.client("cognito-idp", region_name=REGION)


def test_standing_is_read_from_cognito(stack):
    user_id = new_user(stack)
    idp().admin_add_user_to_group(UserPoolId=stack.user_pool_id, Username=user_id, GroupName="Admin")
    assert standings(FakeClock()).current(user_id, 0) == Standing(enabled=True, groups=("Admin",))


def test_a_console_change_shows_once_the_ttl_has_passed(stack):
    clock = FakeClock()
    cache = standings(clock, ttl=60.0)
    user_id = new_user(stack)
    assert cache.current(user_id, 0).enabled
    idp().admin_disable_user(UserPoolId=stack.user_pool_id, Username=user_id)
    clock.now = 59.9
    assert cache.current(user_id, 0).enabled
    clock.now = 60.0
    assert not cache.current(user_id, 0).enabled


def test_a_change_through_the_admin_api_reaches_other_processes_at_their_next_read(stack):
    user_id = new_user(stack)
    here, elsewhere = standings(FakeClock()), standings(FakeClock())
    version = elsewhere.session(user_id).rights_version
    assert elsewhere.current(user_id, version).groups == ()

    idp().admin_add_user_to_group(UserPoolId=stack.user_pool_id, Username=user_id, GroupName="PublishAllowed")
    here.changed(user_id)

    new_version = elsewhere.session(user_id).rights_version
    assert new_version == version + 1
    assert elsewhere.current(user_id, new_version).groups == ("PublishAllowed",)


def test_fresh_always_asks_cognito(stack):
    cache = standings(FakeClock())
    user_id = new_user(stack)
    assert cache.current(user_id, 0).enabled
    idp().admin_disable_user(UserPoolId=stack.user_pool_id, Username=user_id)
    assert not cache.fresh(user_id).enabled


def test_a_deleted_user_stands_as_disabled(stack):
    cache = standings(FakeClock())
    user_id = new_user(stack)
    idp().admin_delete_user(UserPoolId=stack.user_pool_id, Username=user_id)
    assert cache.current(user_id, 0) == Standing(enabled=False, groups=())
