"""The local mailbox: codes issued on sign-up, checked on confirmation, kept per recipient (no LocalStack)."""

import pytest
from gateway_localstack.cognito.mailbox import (
    CODE_VALIDITY_SECONDS,
    MAX_FAILED_ATTEMPTS,
    AttemptsExceeded,
    CodeExpired,
    CodeMismatch,
    Mailbox,
)

POOL = "us-east-1_pool"


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def mailbox(clock):
    return Mailbox(clock=clock)


def test_a_code_is_six_digits_and_kept_as_a_message(mailbox):
    code = mailbox.issue_code(POOL, "user-1", "Ada@Example.com")
    assert len(code) == 6
    assert code.isdigit()
    messages = mailbox.messages_for("ada@example.com")
    assert [(m["to"], m["code"]) for m in messages] == [("Ada@Example.com", code)]
    assert messages[0]["subject"]
    assert messages[0]["sent_at"].endswith("Z")


def test_messages_are_oldest_first_and_per_recipient(mailbox, clock):
    first = mailbox.issue_code(POOL, "user-1", "ada@example.com")
    clock.now += 5
    mailbox.issue_code(POOL, "user-2", "bob@example.com")
    second = mailbox.issue_code(POOL, "user-1", "ada@example.com")
    messages = mailbox.messages_for(" ADA@example.com ")
    assert [m["code"] for m in messages] == [first, second]
    assert messages[0]["sent_at"] < messages[1]["sent_at"]
    assert mailbox.messages_for("nobody@example.com") == []


def test_the_right_code_confirms_once(mailbox):
    code = mailbox.issue_code(POOL, "user-1", "ada@example.com")
    mailbox.check_code(POOL, "user-1", code)
    with pytest.raises(CodeMismatch):
        mailbox.check_code(POOL, "user-1", code)


def test_a_wrong_code_is_a_mismatch_and_the_right_one_still_works(mailbox):
    code = mailbox.issue_code(POOL, "user-1", "ada@example.com")
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(CodeMismatch) as refusal:
        mailbox.check_code(POOL, "user-1", wrong)
    assert refusal.value.code == "CodeMismatchException"
    mailbox.check_code(POOL, "user-1", code)


def test_a_code_of_another_user_or_pool_does_not_confirm(mailbox):
    code = mailbox.issue_code(POOL, "user-1", "ada@example.com")
    mailbox.issue_code(POOL, "user-2", "bob@example.com")
    with pytest.raises(CodeMismatch):
        mailbox.check_code(POOL, "user-3", code)
    with pytest.raises(CodeMismatch):
        mailbox.check_code("us-east-1_other", "user-1", code)


def test_a_new_code_replaces_the_older_one(mailbox):
    old = mailbox.issue_code(POOL, "user-1", "ada@example.com")
    new = mailbox.issue_code(POOL, "user-1", "ada@example.com")
    if old != new:
        with pytest.raises(CodeMismatch):
            mailbox.check_code(POOL, "user-1", old)
    mailbox.check_code(POOL, "user-1", new)


def test_a_code_expires_after_24_hours(mailbox, clock):
    code = mailbox.issue_code(POOL, "user-1", "ada@example.com")
    clock.now += CODE_VALIDITY_SECONDS + 1
    with pytest.raises(CodeExpired) as refusal:
        mailbox.check_code(POOL, "user-1", code)
    assert refusal.value.code == "ExpiredCodeException"


def test_too_many_wrong_codes_refuse_even_the_right_one_until_a_new_code(mailbox):
    code = mailbox.issue_code(POOL, "user-1", "ada@example.com")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(MAX_FAILED_ATTEMPTS):
        with pytest.raises(CodeMismatch):
            mailbox.check_code(POOL, "user-1", wrong)
    with pytest.raises(AttemptsExceeded) as refusal:
        mailbox.check_code(POOL, "user-1", code)
    assert refusal.value.code == "LimitExceededException"
    fresh = mailbox.issue_code(POOL, "user-1", "ada@example.com")
    mailbox.check_code(POOL, "user-1", fresh)
