"""DynamoDB transactions retried through conflicts and throttles, within a small time budget.

DynamoDB cancels a transaction that touches an item another transaction is writing (TransactionConflict):
one user's parallel calls share their LIMIT# and USER# items, and every call shares the GLOBAL# shards.
botocore retries throttles and connection errors (standard mode) but never a cancelled transaction. Here a
cancellation is retried when no item failed its condition (a condition that failed stays failed), and so are
throttles and connection errors that outlast botocore's own attempts; each retry waits a random time up to an
exponentially growing cap ("full jitter"), and the whole stays within `budget_seconds`.
"""

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from gateway.aws import client, error_code

log = logging.getLogger(__name__)

# Cancellation reasons that say nothing about the items' values: the same transaction may pass later.
TRANSIENT_REASONS = frozenset({"TransactionConflict", "ProvisionedThroughputExceeded", "ThrottlingError"})
TRANSIENT_ERRORS = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TransactionConflictException",
        "TransactionInProgressException",
        "InternalServerError",
    }
)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base_delay_seconds: float = 0.02
    max_delay_seconds: float = 0.25
    budget_seconds: float = 1.0


DEFAULT_POLICY = RetryPolicy()
# Tests replace these to run many faults fast and reproducibly.
sleep: Callable[[float], None] = time.sleep
# Draws from os.urandom on each call, no seed state: instances restored from one SnapStart snapshot
# (or forked) still spread their retries differently.
jitter = random.SystemRandom()


def cancellation_codes(exc: ClientError) -> list[str]:
    """The per-item codes of a cancelled transaction ("None" for items that were fine)."""
    return [str(reason.get("Code", "None")) for reason in exc.response.get("CancellationReasons", [])]


def is_transient(exc: Exception) -> bool:
    """True when the same request may succeed if sent again: conflicts, throttles, lost connections."""
    if isinstance(exc, ConnectionError | HTTPClientError):
        return True
    if not isinstance(exc, ClientError):
        return False
    code = error_code(exc)
    if code == "TransactionCanceledException":
        codes = [c for c in cancellation_codes(exc) if c != "None"]
        return bool(codes) and all(c in TRANSIENT_REASONS for c in codes)
    return code in TRANSIENT_ERRORS


def transact_write(items: list[dict[str, Any]], policy: RetryPolicy = DEFAULT_POLICY) -> None:
    """TransactWriteItems, retried while the failure is transient and attempts and time remain; the last
    failure is raised as it came (a ClientError or a botocore connection error)."""
    started = time.monotonic()
    for attempt in range(1, policy.attempts + 1):
        try:
            client("dynamodb").transact_write_items(TransactItems=items)
            return
        except (ClientError, ConnectionError, HTTPClientError) as exc:
            delay = jitter.uniform(0, min(policy.max_delay_seconds, policy.base_delay_seconds * 2**attempt))
            spent = time.monotonic() - started
            if not is_transient(exc) or attempt == policy.attempts or spent + delay > policy.budget_seconds:
                raise
            log.info(
                "transaction retried",
                extra={"attempt": attempt, "reason": type(exc).__name__, "code": _code(exc)},
            )
            sleep(delay)


def _code(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        codes = [c for c in cancellation_codes(exc) if c != "None"]
        return ",".join(codes) or error_code(exc)
    return ""
