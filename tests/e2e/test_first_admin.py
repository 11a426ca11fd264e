"""`make admin` against the e2e stack, as an operator runs it: its admin signs in and calls admin routes."""

import json
import socket
import subprocess

import pytest

from tests.e2e.conftest import PASSWORD, REPO, local_env, sign_up

pytestmark = pytest.mark.e2e

PASSWORD_LINE = "admin: password (shown once, never stored): "
API_KEY_LINE = "admin: API key (shown once, never stored): "


def make_admin(email: str, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "-s", "--no-print-directory", "admin", f"EMAIL={email}", "ENV=local", *extra],
        cwd=REPO,
        env=env or local_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def printed(out: str, prefix: str) -> list[str]:
    return [line.removeprefix(prefix) for line in out.splitlines() if line.startswith(prefix)]


def admin_headers(id_token: str, api_key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {id_token}", "x-api-key": api_key}


def test_a_new_admin_signs_in_at_once_and_lists_users(stack, http):
    made = make_admin("first-admin@example.com", "NAME=First Admin")
    assert made.returncode == 0, made.stdout + made.stderr
    [password] = printed(made.stdout, PASSWORD_LINE)
    [api_key] = printed(made.stdout, API_KEY_LINE)
    assert made.stdout.count(password) == 1
    assert made.stdout.count(api_key) == 1
    assert f"curl -s -X POST {stack.api_url}/login" in made.stdout

    login = http.post("/login", json={"email": "first-admin@example.com", "password": password})
    assert login.status_code == 200, login.text
    headers = admin_headers(login.json()["id_token"], api_key)

    users = http.get("/admin/listUsers", headers=headers)
    assert users.status_code == 200, users.text
    emails = {
        attribute["Value"]
        for user in users.json()["Users"]
        for attribute in user["Attributes"]
        if attribute["Name"] == "email"
    }
    assert "first-admin@example.com" in emails
    # Like any user: a profile with their name, Admin and what it implies.
    me = http.get("/me", headers=headers)
    assert me.status_code == 200, me.text
    assert me.json()["fullname"] == "First Admin"
    assert "Admin" in me.json()["groups"]
    assert "admin:write" in me.json()["permissions"]


def test_a_registered_user_is_promoted_and_keeps_their_password_and_key(http):
    person = sign_up(http, "promoted-admin@example.com")
    before = http.get("/admin/listUsers", headers=person.headers)
    assert before.status_code == 403, before.text

    made = make_admin(person.email)
    assert made.returncode == 0, made.stdout + made.stderr
    assert printed(made.stdout, PASSWORD_LINE) == []
    assert printed(made.stdout, API_KEY_LINE) == []
    assert "keeps their password" in made.stdout

    login = http.post("/login", json={"email": person.email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    users = http.get(
        "/admin/listUsers", headers=admin_headers(login.json()["id_token"], person.registration["api_key"])
    )
    assert users.status_code == 200, users.text


def test_nothing_listening_is_a_clear_error_not_a_traceback(stack, tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # A stack `make local` applied to that port, whose emulator has stopped since.
    (tmp_path / "terraform").mkdir()
    outputs = {**stack.outputs, "local_aws_endpoint": f"http://127.0.0.1:{port}"}
    (tmp_path / "terraform" / "outputs.json").write_text(
        json.dumps({name: {"value": value} for name, value in outputs.items()})
    )
    made = make_admin("nobody-admin@example.com", env={**local_env(), "LOCAL_AWS_DIR": str(tmp_path)})
    assert made.returncode != 0
    assert f"admin: nothing answers at http://127.0.0.1:{port}, where `make local` put" in made.stderr
    assert "Traceback" not in made.stderr
