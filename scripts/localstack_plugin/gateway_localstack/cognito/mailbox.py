"""Sign-up confirmation codes of the emulated user pools, and the mailbox that keeps what Cognito would email.

moto's Cognito neither sends nor checks confirmation codes, so locally anyone could confirm any sign-up. Here
SignUp and ResendConfirmationCode issue a code (the newest replaces older ones, as in Cognito), the message
that would carry it is kept per recipient (GET /_gateway/mailbox/<email>), and ConfirmSignUp must present it:
a wrong code is CodeMismatchException, one older than Cognito's 24 hours ExpiredCodeException, and after
MAX_FAILED_ATTEMPTS wrong codes LimitExceededException until a new code is requested.

Pure logic (no LocalStack import): cognito/confirmation.py wires it to the service and serves the mailbox.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

CODE_VALIDITY_SECONDS = 24 * 3600
MAX_FAILED_ATTEMPTS = 5
SUBJECT = "Your verification code"


class ConfirmationError(Exception):
    """A refusal of ConfirmSignUp, named as Cognito names it."""

    code = "CodeMismatchException"
    message = "Invalid verification code provided, please try again."

    def __init__(self) -> None:
        super().__init__(self.message)


class CodeMismatch(ConfirmationError):  # noqa: N818 (named as Cognito's error)
    pass


class CodeExpired(ConfirmationError):  # noqa: N818
    code = "ExpiredCodeException"
    message = "Invalid code provided, please request a code again."


class AttemptsExceeded(ConfirmationError):  # noqa: N818
    code = "LimitExceededException"
    message = "Attempt limit exceeded, please try after some time."


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    code: str
    sent_at: str

    def as_json(self) -> dict[str, str]:
        return {"to": self.to, "subject": self.subject, "code": self.code, "sent_at": self.sent_at}


@dataclass
class _PendingCode:
    code: str
    issued_at: float
    failed_attempts: int = 0


@dataclass
class Mailbox:
    clock: Callable[[], float] = time.time
    _codes: dict[tuple[str, str], _PendingCode] = field(default_factory=dict)
    _messages: dict[str, list[Message]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def issue_code(self, pool_id: str, user_key: str, email: str) -> str:
        """A fresh six-digit code for the user (`user_key`: moto's username of the user), "sent" to email."""
        code = f"{secrets.randbelow(1_000_000):06d}"
        now = self.clock()
        sent_at = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        with self._lock:
            self._codes[(pool_id, user_key)] = _PendingCode(code=code, issued_at=now)
            self._messages.setdefault(email.lower(), []).append(
                Message(to=email, subject=SUBJECT, code=code, sent_at=sent_at)
            )
        return code

    def check_code(self, pool_id: str, user_key: str, code: str) -> None:
        """Consumes the code if it is the user's current one; raises a ConfirmationError otherwise."""
        with self._lock:
            pending = self._codes.get((pool_id, user_key))
            if pending is None:
                raise CodeMismatch()
            if pending.failed_attempts >= MAX_FAILED_ATTEMPTS:
                raise AttemptsExceeded()
            if self.clock() - pending.issued_at > CODE_VALIDITY_SECONDS:
                raise CodeExpired()
            if not secrets.compare_digest(pending.code, str(code)):
                pending.failed_attempts += 1
                raise CodeMismatch()
            del self._codes[(pool_id, user_key)]

    def forget(self, pool_id: str, user_key: str) -> None:
        with self._lock:
            self._codes.pop((pool_id, user_key), None)

    def messages_for(self, email: str) -> list[dict[str, str]]:
        """Oldest first, whatever case the address is written in."""
        with self._lock:
            return [message.as_json() for message in self._messages.get(email.strip().lower(), [])]


MAILBOX = Mailbox()
