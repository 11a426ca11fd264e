"""DynamoDB faults injected at botocore's level, which moto never produces on its own.

FaultInjector hooks a botocore client's events: `before-call.dynamodb.<Operation>` fails a call before it is
sent (nothing applied: a cancelled transaction, a throttle, a connection that could not be made), and
`after-call.dynamodb.<Operation>` fails it after DynamoDB applied it (the answer lost on the way back). Faults
come from a script (`script`, consumed in order) or at random (`randomly`, with a seeded random.Random).
Faults raised from these hooks skip botocore's own retries, so the app's retries alone must cope.
"""

import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

BEFORE, AFTER = "before", "after"


def transaction_conflict(items: int) -> ClientError:
    reasons = [{"Code": "None"}] * items
    reasons[random.Random(items).randrange(items)] = {
        "Code": "TransactionConflict",
        "Message": "Transaction is ongoing for the item",
    }
    return _client_error(
        "TransactionCanceledException",
        "Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]",
        "TransactWriteItems",
        CancellationReasons=reasons,
    )


def throughput_exceeded(operation: str) -> ClientError:
    return _client_error(
        "ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded.",
        operation,
    )


def throttled(operation: str) -> ClientError:
    return _client_error("ThrottlingException", "Rate of requests exceeds the allowed throughput.", operation)


def _client_error(code: str, message: str, operation: str, **extra: Any) -> ClientError:
    response: dict[str, Any] = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": 400},
        **extra,
    }
    return ClientError(response, operation)  # type: ignore[arg-type]


def connection_refused(_operation: str) -> Exception:
    return EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")


def answer_lost(_operation: str) -> Exception:
    return ConnectionClosedError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")


# name -> (point, the exception for an operation and its number of transaction items)
FAULTS: dict[str, tuple[str, Callable[[str, int], Exception]]] = {
    "conflict": (BEFORE, lambda operation, items: transaction_conflict(max(items, 1))),
    "throughput": (BEFORE, lambda operation, items: throughput_exceeded(operation)),
    "throttling": (BEFORE, lambda operation, items: throttled(operation)),
    "connection": (BEFORE, lambda operation, items: connection_refused(operation)),
    "answer_lost": (AFTER, lambda operation, items: answer_lost(operation)),
}


@dataclass
class FaultInjector:
    """Faults for chosen operations of the clients it is attached to."""

    operations: tuple[str, ...] = ("TransactWriteItems",)
    scripted: list[str | None] = field(default_factory=list)
    rate: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    kinds: tuple[str, ...] = tuple(FAULTS)
    injected: Counter = field(default_factory=Counter)
    calls: Counter = field(default_factory=Counter)

    def attach(self, botocore_client: Any) -> "FaultInjector":
        events = botocore_client.meta.events
        for operation in self.operations:
            events.register(f"before-call.dynamodb.{operation}", self._before)
            events.register(f"after-call.dynamodb.{operation}", self._after)
        return self

    def script(self, *faults: str | None) -> "FaultInjector":
        """The next calls' faults, in order (None: that call goes through)."""
        self.scripted.extend(faults)
        return self

    def randomly(self, rate: float, seed: int, kinds: tuple[str, ...] | None = None) -> "FaultInjector":
        self.rate, self.rng = rate, random.Random(seed)
        if kinds:
            self.kinds = kinds
        return self

    def _choose(self) -> str | None:
        if self.scripted:
            return self.scripted.pop(0)
        if self.rate and self.rng.random() < self.rate:
            return self.rng.choice(self.kinds)
        return None

    def _before(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        operation = model.name
        self.calls[operation] += 1
        name = self._choose()
        if name is None:
            return
        point, make = FAULTS[name]
        items = json.loads(params.get("body") or b"{}").get("TransactItems", [])  # the serialised request
        fault = make(operation, len(items))
        self.injected[name] += 1
        if point == BEFORE:
            raise fault
        context["injected_fault"] = fault  # raised once DynamoDB has applied the call

    def _after(self, context: dict[str, Any], **_: Any) -> None:
        fault = context.pop("injected_fault", None)
        if fault is not None:
            raise fault
