"""Settles or releases the calls left pending: a settlement that failed after its retries, or an invocation
that ended (timeout, crash) between reserving and settling.

A call still pending after the function's timeout can no longer be settled by the invocation that made it.
When that invocation stored the call's outcome, the reconciler settles the outcome (tokens and cost into the
limit counters and the roll-ups); otherwise it releases the reservation and records the call as an error
("unsettled"), as a failed call is. A call that reserved nothing (`reserved` false: its settlement put it
pending, with its outcome) adds its whole use to the limit counters, or nothing when it failed. Settling is
conditioned on the call still being pending, so a call settled meanwhile, or by two reconcilers at once, is
counted once. Runs on an EventBridge schedule (main.handler).
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gateway.clock import iso, utcnow
from gateway.repositories.limits import Windows, transact_item
from gateway.repositories.usage import (
    FAILED,
    OK,
    CallRecord,
    Settlement,
    UsageRepository,
    call_record_from_item,
)
from gateway.services.limits import LimitService, Reservation

log = logging.getLogger(__name__)

UNSETTLED = "unsettled"  # the error code of a call whose outcome was never known


@dataclass(frozen=True)
class ReconcileReport:
    pending: int
    settled: int
    released: int
    left: int

    def as_dict(self) -> dict[str, int]:
        return {
            "pending": self.pending,
            "settled": self.settled,
            "released": self.released,
            "left": self.left,
        }


class Reconciler:
    def __init__(self, usage: UsageRepository, limits: LimitService) -> None:
        self._usage = usage
        self._limits = limits

    def run(self, older_than: timedelta, now: datetime | None = None) -> ReconcileReport:
        """Settle or release every call pending since before now - older_than."""
        cutoff = iso((now or utcnow()) - older_than)
        pending = self._usage.pending_before(cutoff)
        settled = released = left = 0
        for item in pending:
            call = call_record_from_item(item)
            settlement, moves = self._settlement_of(call, item.get("outcome"))
            if self._usage.settle(call, settlement, moves):
                if settlement.status == OK:
                    settled += 1
                else:
                    released += 1
            else:
                left += 1  # settled meanwhile, or DynamoDB still refuses: the next run looks again
        report = ReconcileReport(len(pending), settled, released, left)
        log.info("pending calls reconciled", extra=report.as_dict())
        return report

    def _settlement_of(
        self, call: CallRecord, outcome: dict[str, Any] | None
    ) -> tuple[Settlement, list[dict[str, Any]]]:
        started = datetime.fromisoformat(call.started_at.replace("Z", "+00:00"))
        windows = (
            Windows.of(call.reserved_windows) if len(call.reserved_windows) == 3 else Windows.at(started)
        )
        reservation = Reservation(call.user_id, windows, call.reserved_tokens, call.reserved_cost_micros)
        if outcome and outcome.get("status") == OK:
            settlement = Settlement(
                status=OK,
                input_tokens=int(outcome["input_tokens"]),
                output_tokens=int(outcome["output_tokens"]),
                cost_micros=int(outcome["cost_micros"]),
                latency_ms=int(outcome.get("latency_ms", 0)),
            )
            tokens = settlement.input_tokens + settlement.output_tokens
            if call.reserved:
                moves = self._limits.settle_moves(reservation, tokens, settlement.cost_micros)
            else:
                moves = self._limits.usage_moves(windows, tokens, settlement.cost_micros, started)
        else:
            error = (outcome or {}).get("error_code") or UNSETTLED
            settlement = Settlement(FAILED, 0, 0, 0, int((outcome or {}).get("latency_ms", 0)), str(error))
            moves = self._limits.release_moves(reservation) if call.reserved else []
        table_name = self._limits.table_name
        return settlement, [transact_item(table_name, call.user_id, move) for move in moves]
