"""Passwords, tokens and key values never appear in any log line, over a full identity cycle."""

import logging

from tests.unit.gateway.api.helpers import PASSWORD


def test_a_full_register_login_key_cycle_logs_no_secret(api, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    api.post("/register", json={"email": "ada@example.com", "password": PASSWORD, "fullname": "Ada"})
    registration = api.post("/register/confirm", json={"email": "ada@example.com", "code": "123456"}).json()
    api.post("/login", json={"email": "ada@example.com", "password": "Wrong-password-9"})
    tokens = api.post("/login", json={"email": "ada@example.com", "password": PASSWORD}).json()
    headers = {"authorization": f"Bearer {tokens['id_token']}", "x-api-key": registration["api_key"]}
    api.get("/me", headers=headers)
    new_key = api.post("/me/api-keys", headers={"authorization": headers["authorization"]}).json()
    api.delete(f"/me/api-keys/{registration['key_id']}", headers={"authorization": headers["authorization"]})
    api.post("/refresh", json={"refresh_token": tokens["refresh_token"]})
    api.get("/me", headers={"authorization": "Bearer " + tokens["access_token"] + "x", "x-api-key": "wrong"})
    api.post("/logout", headers={**headers, "x-api-key": new_key["api_key"]})

    logged = capsys.readouterr().out + capsys.readouterr().err + caplog.text
    assert "gateway.access" in logged  # the capture did see the app's logs
    secrets = [
        PASSWORD,
        "Wrong-password-9",
        registration["api_key"],
        new_key["api_key"],
        tokens["id_token"],
        tokens["access_token"],
        tokens["refresh_token"],
    ]
    for secret in secrets:
        assert secret not in logged


def test_publishing_a_bot_and_calling_it_logs_no_key(api, bedrock, stack, capsys, caplog):
    from tests.unit.gateway.api.helpers import member_of

    caplog.set_level(logging.DEBUG)
    headers, _ = member_of(api, stack, "pat@example.com", "PublishAllowed")
    bedrock.catalog()
    bot = api.post(
        "/bots", headers=headers, json={"title": "t", "model_id": "anthropic.claude-3-haiku-20240307-v1:0"}
    ).json()
    bedrock.catalog()
    published = api.post(
        f"/bots/{bot['bot_id']}/publication",
        headers=headers,
        json={"throttle": {"rate_limit": 1, "burst_limit": 1}, "quota": {"limit": 5, "period": "DAY"}},
    ).json()
    second = api.post(f"/bots/{bot['bot_id']}/publication/api-keys", headers=headers).json()
    bedrock.catalog()
    bedrock.converse("ok", 1, 1)
    answered = api.post(
        f"/published/bots/{bot['bot_id']}/messages",
        headers={"x-api-key": published["key"]["api_key"]},
        json={"content": "hi"},
    )
    assert answered.status_code == 200, answered.text
    api.post(
        f"/published/bots/{bot['bot_id']}/messages", headers={"x-api-key": "wrong"}, json={"content": "x"}
    )

    logged = capsys.readouterr().out + capsys.readouterr().err + caplog.text
    assert "published.bots.messages.send" in logged or "/published/bots/" in logged
    for secret in (published["key"]["api_key"], second["api_key"]):
        assert secret not in logged
