"""Passwords, tokens and key values never appear in any log line, over a full identity cycle."""

import logging

from tests.unit.gateway.api.helpers import PASSWORD


def test_a_full_register_login_key_cycle_logs_no_secret(api, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    registration = api.post(
        "/register", json={"email": "ada@example.com", "password": PASSWORD, "fullname": "Ada"}
    ).json()
    api.post("/login", json={"email": "ada@example.com", "password": "Wrong-password-9"})
    tokens = api.post("/login", json={"email": "ada@example.com", "password": PASSWORD}).json()
    headers = {"authorization": f"Bearer {tokens['id_token']}", "x-api-key": registration["api_key"]}
    api.get("/me", headers=headers)
    new_key = api.post("/me/api-keys", headers={"authorization": headers["authorization"]}).json()
    api.delete(
        f"/me/api-keys/{registration['api_key_id']}", headers={"authorization": headers["authorization"]}
    )
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
