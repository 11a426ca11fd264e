"""Sign-up proves the mailbox, through the local API Gateway: the code comes from the emulator's mailbox."""

import pytest

from tests.e2e.conftest import PASSWORD, latest_code, mailbox, sign_up

pytestmark = pytest.mark.e2e


def _register(http, email, password=PASSWORD):
    return http.post("/register", json={"email": email, "password": password, "fullname": "Signup Test"})


def test_sign_up_confirms_by_the_emailed_code(http):
    email = "signup-flow@example.com"
    registered = _register(http, email)
    assert registered.status_code == 202, registered.text
    assert registered.json() == {"status": "confirmation_required"}
    messages = mailbox(email)
    assert len(messages) == 1
    assert messages[0]["to"] == email
    assert {"subject", "code", "sent_at"} <= set(messages[0])

    not_yet = http.post("/login", json={"email": email, "password": PASSWORD})
    assert not_yet.status_code == 403
    assert not_yet.json()["error"]["code"] == "user_not_confirmed"
    wrong_password = http.post("/login", json={"email": email, "password": "Wrong-horse-99"})
    assert wrong_password.status_code == 401

    code = messages[0]["code"]
    wrong = "000000" if code != "000000" else "111111"
    refused = http.post("/register/confirm", json={"email": email, "code": wrong})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid_code"

    confirmed = http.post("/register/confirm", json={"email": email, "code": code})
    assert confirmed.status_code == 201, confirmed.text
    body = confirmed.json()
    assert body["email"] == email
    assert body["api_key"]
    tokens = http.post("/login", json={"email": email, "password": PASSWORD}).json()
    me = http.get(
        "/me", headers={"authorization": f"Bearer {tokens['id_token']}", "x-api-key": body["api_key"]}
    )
    assert me.status_code == 200, me.text
    assert me.json()["email"] == email

    # The code is spent: confirming again gives no second key.
    again = http.post("/register/confirm", json={"email": email, "code": code})
    assert again.status_code == 400


def test_an_existing_address_gets_the_same_answer_and_nothing_changes(http):
    owner = sign_up(http, "signup-owner@example.com")
    sent_before = len(mailbox(owner.email))
    again = _register(http, owner.email, password="Squatter-horse-1")
    assert again.status_code == 202
    assert again.json() == {"status": "confirmation_required"}
    assert len(mailbox(owner.email)) == sent_before
    assert http.post("/login", json={"email": owner.email, "password": PASSWORD}).status_code == 200
    assert http.post("/login", json={"email": owner.email, "password": "Squatter-horse-1"}).status_code == 401


def test_resend_sends_a_new_code_that_replaces_the_old_one(http):
    email = "signup-resend@example.com"
    assert _register(http, email).status_code == 202
    first = latest_code(email)
    resent = http.post("/register/resend", json={"email": email})
    assert resent.status_code == 202
    assert len(mailbox(email)) == 2
    second = latest_code(email)
    if first != second:
        stale = http.post("/register/confirm", json={"email": email, "code": first})
        assert stale.json()["error"]["code"] == "invalid_code"
    assert http.post("/register/confirm", json={"email": email, "code": second}).status_code == 201


def test_too_many_wrong_codes_are_429(http):
    email = "signup-guesser@example.com"
    assert _register(http, email).status_code == 202
    code = latest_code(email)
    wrong = "000000" if code != "000000" else "111111"
    statuses = [
        http.post("/register/confirm", json={"email": email, "code": wrong}).status_code for _ in range(6)
    ]
    assert statuses[:5] == [400] * 5
    assert statuses[5] == 429
    assert http.post("/register/confirm", json={"email": email, "code": code}).status_code == 429


def test_another_domain_may_not_sign_up(http):
    response = _register(http, "outsider@elsewhere.org")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "domain_not_allowed"
    assert mailbox("outsider@elsewhere.org") == []
