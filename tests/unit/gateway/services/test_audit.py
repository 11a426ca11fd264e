import boto3
from boto3.dynamodb.conditions import Key

from tests.support.aws import REGION
from tests.unit.gateway.api.helpers import PASSWORD, signed_up


def _events(user_id):
    table = boto3.resource("dynamodb", region_name=REGION).Table("gateway-test-audit")
    return table.query(KeyConditionExpression=Key("pk").eq(f"USER#{user_id}"))["Items"]


def test_identity_actions_are_audited_with_who_what_where_and_outcome(api):
    headers, registration, _ = signed_up(api)
    token_only = {"authorization": headers["authorization"], "user-agent": "audit-test/1.0"}
    key = api.post("/me/api-keys", headers=token_only).json()
    api.delete(f"/me/api-keys/{key['key_id']}", headers=token_only)
    api.post("/login", json={"email": "ada@example.com", "password": "Wrong-password-9"})
    api.post("/logout", headers=headers)

    events = _events(registration["user_id"])
    actions = [(e["action"], e["success"]) for e in sorted(events, key=lambda e: e["sk"])]
    assert actions == [
        ("auth.register_confirm", True),
        ("auth.login", True),
        ("me.api_keys.create", True),
        ("me.api_keys.revoke", True),
        ("auth.logout", True),
    ]
    create = next(e for e in events if e["action"] == "me.api_keys.create")
    assert create["resource"] == f"api-key/{key['key_id']}"
    assert create["user_agent"] == "audit-test/1.0"
    assert create["ip_address"]
    assert create["expires_at"] > 0


def test_login_attempts_are_audited_by_subject(api):
    signed_up(api)
    api.post("/login", json={"email": "ada@example.com", "password": "Wrong-password-9"})
    api.post("/login", json={"email": "nobody@example.com", "password": PASSWORD})
    anonymous = _events("anonymous")
    outcomes = sorted(
        (e["subject"], e["success"], e.get("error")) for e in anonymous if e["action"] == "auth.login"
    )
    # Failures have no user to file them under: they are kept by the email that was tried.
    assert outcomes == [
        ("ada@example.com", False, "invalid_credentials"),
        ("nobody@example.com", False, "invalid_credentials"),
    ]


def test_health_is_not_an_audited_action(api):
    api.get("/health")
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName="gateway-test-audit")["Items"]
    assert items == []
