import boto3
import pytest
from moto import mock_aws

from scripts import make_admin


@pytest.fixture
def pool(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        idp = boto3.client("cognito-idp", region_name="us-east-1")
        pool_id = idp.create_user_pool(PoolName="p", UsernameAttributes=["email"])["UserPool"]["Id"]
        idp.create_group(UserPoolId=pool_id, GroupName="Admin", Precedence=1)
        yield idp, pool_id


def _groups(idp, pool_id, username):
    return [
        g["GroupName"]
        for g in idp.admin_list_groups_for_user(UserPoolId=pool_id, Username=username)["Groups"]
    ]


def test_an_existing_user_is_promoted_without_a_password(pool, capsys):
    idp, pool_id = pool
    idp.admin_create_user(UserPoolId=pool_id, Username="ada@example.com", MessageAction="SUPPRESS")
    username = make_admin.promote(idp, pool_id, "Ada@Example.com")
    assert _groups(idp, pool_id, username) == ["Admin"]
    assert "password" not in capsys.readouterr().out


def test_a_new_user_is_created_with_a_temporary_password_shown_once(pool, capsys):
    idp, pool_id = pool
    username = make_admin.promote(idp, pool_id, "grace@example.com")
    out = capsys.readouterr().out
    assert out.count("temporary password (shown once)") == 1
    assert _groups(idp, pool_id, username) == ["Admin"]
    assert idp.admin_get_user(UserPoolId=pool_id, Username=username)["UserStatus"] == "FORCE_CHANGE_PASSWORD"


def test_temporary_passwords_meet_a_strict_policy():
    password = make_admin.temporary_password()
    assert len(password) >= 12
    assert any(c.isupper() for c in password)
    assert any(c.islower() for c in password)
    assert any(c.isdigit() for c in password)
    assert any(not c.isalnum() for c in password)
    assert make_admin.temporary_password() != password
