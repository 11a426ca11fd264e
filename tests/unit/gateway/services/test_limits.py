from datetime import UTC, datetime

import pytest

from gateway.repositories.limits import Check, CounterMove, Windows, transact_item
from gateway.services.limits import LIMIT_CODES, LimitExceededError, LimitService, seconds_until_window_ends
from gateway.services.policies import merge_limits
from gateway.settings import GroupPolicy, Limits


@pytest.mark.parametrize(
    ("window", "now", "seconds"),
    [
        ("MINUTE", datetime(2026, 11, 22, 10, 15, 30, tzinfo=UTC), 30),
        ("MINUTE", datetime(2026, 11, 22, 10, 15, 59, 500_000, tzinfo=UTC), 1),
        ("DAY", datetime(2026, 11, 22, 23, 0, 0, tzinfo=UTC), 3600),
        ("DAY", datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC), 1),
        ("MONTH", datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC), 12 * 3600),
        ("MONTH", datetime(2026, 12, 31, 0, 0, 0, tzinfo=UTC), 86400),  # into January of the next year
        ("MONTH", datetime(2028, 2, 28, 0, 0, 0, tzinfo=UTC), 2 * 86400),  # leap year
    ],
)
def test_windows_are_utc_calendar_periods(window, now, seconds):
    assert seconds_until_window_ends(window, now) == seconds


def test_window_keys():
    windows = Windows.at(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert (windows.minute, windows.day, windows.month) == (
        "MINUTE#2026-01-02T03:04",
        "DAY#2026-01-02",
        "MONTH#2026-01",
    )


def test_a_reservation_adds_and_checks_against_limit_minus_amount():
    move = CounterMove(
        "DAY#2026-01-02", {"requests": 1, "tokens": 300}, [Check("tokens_per_day", "tokens", 300, 1000)]
    )
    update = transact_item("usage", "u1", move)["Update"]
    assert update["Key"] == {"pk": {"S": "LIMIT#u1"}, "sk": {"S": "DAY#2026-01-02"}}
    assert update["UpdateExpression"].startswith("ADD ")
    assert update["ConditionExpression"] == "(attribute_not_exists(#c0) OR #c0 <= :c0)"
    assert update["ExpressionAttributeValues"][":c0"] == {"N": "700"}
    assert update["ReturnValuesOnConditionCheckFailure"] == "ALL_OLD"


def test_an_unchecked_move_has_no_condition():
    update = transact_item("usage", "u1", CounterMove("DAY#d", {"tokens": -5}))["Update"]
    assert "ConditionExpression" not in update
    assert update["ExpressionAttributeValues"][":a0"] == {"N": "-5"}


def test_ties_merge_to_the_most_generous_limits():
    merged = merge_limits(
        [
            Limits(requests_per_minute=10, tokens_per_day=100, budget_usd_per_month=5),
            Limits(
                requests_per_minute=20, tokens_per_day=None, budget_usd_per_month=3, budget_soft_threshold=0.9
            ),
        ]
    )
    assert merged.requests_per_minute == 20
    assert merged.tokens_per_day is None
    assert merged.budget_usd_per_month == 5
    assert merged.budget_soft_threshold == 0.9


@pytest.mark.parametrize("name", sorted(LIMIT_CODES))
def test_refusals_name_the_limit_and_when_to_retry(name):
    error = LimitExceededError(name, 10, 10, "DAY#2026-01-02", 42)
    assert error.status_code == 429
    assert error.code == LIMIT_CODES[name]
    assert error.headers == {"Retry-After": "42"}
    assert error.details["limit_name"] == name


class _Counters:
    """A limit repository holding fixed counters, for report() alone."""

    table_name = "limits"

    def __init__(self, cost_micros: int) -> None:
        self.cost_micros = cost_micros

    def counters(self, user_id, windows):
        values = {"requests": 0, "tokens": 0, "cost_micros": self.cost_micros}
        return {key: dict(values) for key in windows.sort_keys()}

    def override(self, user_id):
        return {}


@pytest.mark.parametrize(
    ("spent_micros", "flagged"),
    [(7_999_999, False), (8_000_000, True), (8_000_001, True)],  # 80 % of 10 USD is 8 000 000 micro-dollars
)
def test_the_soft_budget_threshold_flags_from_exactly_its_share(spent_micros, flagged):
    policy = GroupPolicy(limits=Limits(budget_usd_per_month=10, budget_soft_threshold=0.8))
    service = LimitService(_Counters(spent_micros), {}, policy)
    report = service.report("u1", (), datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC))
    assert report["budget_flagged"] is flagged
