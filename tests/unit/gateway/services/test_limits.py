import time
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError

from gateway.repositories.limits import Check, CounterMove, Windows, transact_item
from gateway.services.limits import (
    LIMIT_CODES,
    LimitExceededError,
    LimitService,
    Reservation,
    seconds_until_window_ends,
)
from gateway.services.policies import merge_limits
from gateway.settings import GroupPolicy, Limits


@pytest.mark.parametrize(
    ("window", "now", "seconds"),
    [
        ("MINUTE", datetime(2026, 11, 22, 10, 15, 30, tzinfo=UTC), 30),
        ("MINUTE", datetime(2026, 11, 22, 10, 15, 59, 500_000, tzinfo=UTC), 1),
        ("MINUTE", datetime(2026, 11, 22, 10, 15, 59, 999_999, tzinfo=UTC), 1),
        # a retry after the seconds given is in the next window, even with a fraction of a millisecond left
        ("MINUTE", datetime(2026, 11, 22, 10, 15, 29, 999_500, tzinfo=UTC), 31),
        ("MINUTE", datetime(2026, 11, 22, 10, 15, 29, 999_999, tzinfo=UTC), 31),
        ("MINUTE", datetime(2026, 11, 22, 10, 15, 0, 1, tzinfo=UTC), 60),
        ("MINUTE", datetime(2026, 11, 22, 10, 15, 0, tzinfo=UTC), 60),
        ("DAY", datetime(2026, 11, 22, 0, 0, 0, tzinfo=UTC), 86400),
        ("MONTH", datetime(2026, 11, 1, 0, 0, 0, tzinfo=UTC), 30 * 86400),
        ("DAY", datetime(2026, 11, 22, 23, 0, 0, tzinfo=UTC), 3600),
        ("DAY", datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC), 1),
        ("MONTH", datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC), 12 * 3600),
        ("MONTH", datetime(2026, 12, 31, 0, 0, 0, tzinfo=UTC), 86400),  # into January of the next year
        ("MONTH", datetime(2028, 2, 28, 0, 0, 0, tzinfo=UTC), 2 * 86400),  # leap year
    ],
)
def test_windows_are_utc_calendar_periods(window, now, seconds):
    assert seconds_until_window_ends(window, now) == seconds


def test_windows_are_utc_whatever_the_zone_of_the_instant():
    paris = timezone(timedelta(hours=1))
    assert seconds_until_window_ends("DAY", datetime(2026, 12, 1, 0, 30, tzinfo=paris)) == 30 * 60
    assert seconds_until_window_ends("MONTH", datetime(2026, 12, 1, 0, 30, tzinfo=paris)) == 30 * 60


def test_windows_are_utc_whatever_the_zone_of_the_machine(monkeypatch):
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14: another day than UTC most of the time
    time.tzset()
    try:
        assert seconds_until_window_ends("DAY", datetime(2026, 3, 15, 12, 0, tzinfo=UTC)) == 12 * 3600
    finally:
        monkeypatch.undo()
        time.tzset()


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


# --- The service's rules, one by one, against a repository that holds its values in memory ---

LAST_SECOND_OF_MARCH = datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC)
MARCH = Windows.at(LAST_SECOND_OF_MARCH)


class _Repository:
    """A limit repository in memory: counters by sort key, one stored override, the overrides written."""

    table_name = "usage-table"

    def __init__(self, counters=None, override=None, user_id="u1") -> None:
        self.user_id = user_id  # the user the values are of; others have none
        self.values = counters or {}
        self.stored_override = override or {}
        self.override_reads = 0
        self.written = []

    def counters(self, user_id, windows):
        zeros = {"requests": 0, "tokens": 0, "cost_micros": 0}
        values = self.values if user_id == self.user_id else {}
        return {key: {**zeros, **values.get(key, {})} for key in windows.sort_keys()}

    def override(self, user_id):
        self.override_reads += 1
        return dict(self.stored_override) if user_id == self.user_id else {}

    def set_override(self, user_id, limits, at, by):
        self.written.append((user_id, limits, at, by))


def _service(repository=None, **limits) -> LimitService:
    return LimitService(repository or _Repository(), {}, GroupPolicy(limits=Limits(**limits)))


def test_a_users_limits_are_those_of_the_group_that_wins_by_precedence():
    policies = {
        "Team": GroupPolicy(precedence=2, limits=Limits(tokens_per_day=300)),
        "Lead": GroupPolicy(precedence=1, limits=Limits(tokens_per_day=900)),
    }
    service = LimitService(_Repository(), policies, GroupPolicy(limits=Limits(tokens_per_day=10)))
    assert service.group_limits(("Team",)).tokens_per_day == 300
    assert service.limits_for("u1", ("Team", "Lead")).tokens_per_day == 900
    assert service.limits_for("u1", ()).tokens_per_day == 10
    _, moves = service.plan("u1", ("Team",), 250, 0, LAST_SECOND_OF_MARCH)
    assert moves[1].checks[0].limit == 300
    assert service.report("u1", ("Lead",), LAST_SECOND_OF_MARCH)["windows"][2]["limit"] == 900


def _as_tuples(moves):
    return [(m.sort_key, m.adds, [tuple(vars(c).values()) for c in m.checks], m.expires_at) for m in moves]


def test_the_service_names_its_repository_table():
    assert _service().table_name == "usage-table"


def test_a_plan_reserves_one_request_the_tokens_and_the_cost_in_each_window_with_every_set_limit():
    service = _service(
        requests_per_minute=5,
        requests_per_day=100,
        tokens_per_day=1000,
        tokens_per_month=10_000,
        budget_usd_per_month=2.5,
    )
    reservation, moves = service.plan("u1", (), 300, 1500, LAST_SECOND_OF_MARCH)
    assert reservation == Reservation("u1", MARCH, 300, 1500)
    epoch = int(LAST_SECOND_OF_MARCH.timestamp())
    assert _as_tuples(moves) == [
        (
            "MINUTE#2026-03-31T23:59",
            {"requests": 1},
            [("requests_per_minute", "requests", 1, 5)],
            epoch + 5 * 60,
        ),
        (
            "DAY#2026-03-31",
            {"requests": 1, "tokens": 300},
            [("requests_per_day", "requests", 1, 100), ("tokens_per_day", "tokens", 300, 1000)],
            epoch + 3 * 86400,
        ),
        (
            "MONTH#2026-03",
            {"tokens": 300, "cost_micros": 1500},
            [
                ("tokens_per_month", "tokens", 300, 10_000),
                ("budget_usd_per_month", "cost_micros", 1500, 2_500_000),
            ],
            epoch + 62 * 86400,
        ),
    ]


def test_a_plan_without_limits_checks_nothing_and_reads_no_counter():
    repository = _Repository()
    repository.counters = None  # a read would fail
    reservation, moves = _service(repository).plan("u1", (), 10**9, 10**9, LAST_SECOND_OF_MARCH)
    assert reservation.tokens == 10**9
    assert [m.checks for m in moves] == [[], [], []]
    assert [m.adds for m in moves] == [
        {"requests": 1},
        {"requests": 1, "tokens": 10**9},
        {"tokens": 10**9, "cost_micros": 10**9},
    ]


def test_a_budget_of_zero_is_a_limit_that_refuses_any_cost():
    with pytest.raises(LimitExceededError) as refused:
        _service(budget_usd_per_month=0).plan("u1", (), 1, 1, LAST_SECOND_OF_MARCH)
    assert refused.value.details["limit_name"] == "budget_usd_per_month"
    _, moves = _service(budget_usd_per_month=0).plan(
        "u1", (), 1, 0, LAST_SECOND_OF_MARCH
    )  # a free call passes
    assert moves[2].checks[0].limit == 0


@pytest.mark.parametrize(
    ("limit", "window", "counter"),
    [
        ("tokens_per_day", "DAY#2026-03-31", {"tokens": 40}),
        ("tokens_per_month", "MONTH#2026-03", {"tokens": 70}),
    ],
)
def test_a_call_exactly_at_the_limit_is_planned_and_one_token_more_is_refused_at_once(limit, window, counter):
    repository = _Repository(counters={window: counter})
    _, moves = _service(repository, **{limit: 500}).plan("u1", (), 500, 0, LAST_SECOND_OF_MARCH)
    assert [c.limit for m in moves for c in m.checks] == [500]
    with pytest.raises(LimitExceededError) as refused:
        _service(repository, **{limit: 500}).plan("u1", (), 501, 0, LAST_SECOND_OF_MARCH)
    details = refused.value.details
    assert (details["limit_name"], details["limit"], details["used"]) == (limit, 500, counter["tokens"])
    assert details["window"] == window
    assert details["retry_after_seconds"] == 1  # the last second of the day and of the month


def test_a_budget_is_counted_to_the_exact_micro_dollar():
    # 2.01 * 1e6 is 2009999.9999999998 as a float: the budget must still allow 2 010 000 micro-dollars.
    _, moves = _service(budget_usd_per_month=2.01).plan("u1", (), 10, 2_010_000, LAST_SECOND_OF_MARCH)
    assert moves[2].checks[0].limit == 2_010_000
    with pytest.raises(LimitExceededError):
        _service(budget_usd_per_month=2.01).plan("u1", (), 10, 2_010_001, LAST_SECOND_OF_MARCH)


def test_a_call_refused_at_once_names_the_limit_it_alone_passes_and_the_users_own_use():
    repository = _Repository(counters={"DAY#2026-03-15": {"requests": 5, "tokens": 7}})
    service = _service(repository, requests_per_day=5, tokens_per_day=500)
    now = datetime(2026, 3, 15, 23, 0, tzinfo=UTC)
    with pytest.raises(LimitExceededError) as refused:
        service.plan("u1", (), 600, 0, now)  # the day's requests are used up too, but the tokens refuse alone
    details = refused.value.details
    assert (details["limit_name"], details["used"], details["window"]) == (
        "tokens_per_day",
        7,
        "DAY#2026-03-15",
    )
    assert details["retry_after_seconds"] == 3600
    with pytest.raises(LimitExceededError) as other:
        service.plan("u2", (), 600, 0, now)
    assert other.value.details["used"] == 0  # u1's counters are not u2's


def test_a_call_larger_than_the_monthly_budget_is_refused_in_usd():
    repository = _Repository(counters={"MONTH#2026-03": {"cost_micros": 250_000}})
    with pytest.raises(LimitExceededError) as refused:
        _service(repository, budget_usd_per_month=1).plan("u1", (), 10, 1_000_001, LAST_SECOND_OF_MARCH)
    assert refused.value.code == "budget_exceeded"
    details = refused.value.details
    assert (details["limit"], details["used"], details["window"]) == (1.0, 0.25, "MONTH#2026-03")
    assert refused.value.message == (
        "The limit budget_usd_per_month (1.0 USD) would be passed: 0.25 USD used in MONTH#2026-03."
    )


def test_the_plan_uses_the_override_given_or_reads_it_when_not_given():
    repository = _Repository(override={"tokens_per_day": Decimal(50)})
    service = _service(repository, tokens_per_day=1000)
    with pytest.raises(LimitExceededError):
        service.plan("u1", (), 60, 0, LAST_SECOND_OF_MARCH)  # read: 50 tokens a day
    assert repository.override_reads == 1
    _, moves = service.plan("u1", (), 60, 0, LAST_SECOND_OF_MARCH, stored_override={"tokens_per_day": 70})
    assert moves[1].checks[0].limit == 70
    assert repository.override_reads == 1  # the override given was not read again


def test_an_override_keeps_only_limits_as_plain_numbers():
    stored = {
        "tokens_per_day": Decimal("1200"),
        "budget_usd_per_month": Decimal("2.5"),
        "pk": "LIMIT#u1",
        "updated_by": "admin",
    }
    override = _service().override_of("u1", stored)
    assert override == {"tokens_per_day": 1200, "budget_usd_per_month": 2.5}
    assert type(override["tokens_per_day"]) is int


def test_a_users_limits_are_the_groups_with_the_override_on_top():
    repository = _Repository(override={"requests_per_day": Decimal(7)})
    limits = _service(repository, requests_per_day=100, tokens_per_day=1000).limits_for("u1", ())
    assert (limits.requests_per_day, limits.tokens_per_day) == (7, 1000)


def test_usage_moves_add_a_call_to_every_window_without_any_check():
    moves = _service(requests_per_minute=1, tokens_per_day=1).usage_moves(
        MARCH, 400, 900, LAST_SECOND_OF_MARCH
    )
    epoch = int(LAST_SECOND_OF_MARCH.timestamp())
    assert _as_tuples(moves) == [
        ("MINUTE#2026-03-31T23:59", {"requests": 1}, [], epoch + 300),
        ("DAY#2026-03-31", {"requests": 1, "tokens": 400}, [], epoch + 3 * 86400),
        ("MONTH#2026-03", {"tokens": 400, "cost_micros": 900}, [], epoch + 62 * 86400),
    ]


def test_settling_moves_the_day_and_month_counters_from_the_reservation_to_the_real_use():
    reservation = Reservation("u1", MARCH, tokens=500, cost_micros=2000)
    moves = _service().settle_moves(reservation, tokens=120, cost_micros=700)
    assert _as_tuples(moves) == [
        ("DAY#2026-03-31", {"tokens": -380}, [], None),
        ("MONTH#2026-03", {"tokens": -380, "cost_micros": -1300}, [], None),
    ]
    more = _service().settle_moves(reservation, tokens=501, cost_micros=2001)  # a model may pass its estimate
    assert [m.adds for m in more] == [{"tokens": 1}, {"tokens": 1, "cost_micros": 1}]


def test_releasing_takes_back_exactly_what_was_reserved():
    reservation = Reservation("u1", MARCH, tokens=500, cost_micros=2000)
    assert _as_tuples(_service().release_moves(reservation)) == [
        ("MINUTE#2026-03-31T23:59", {"requests": -1}, [], None),
        ("DAY#2026-03-31", {"requests": -1, "tokens": -500}, [], None),
        ("MONTH#2026-03", {"tokens": -500, "cost_micros": -2000}, [], None),
    ]


def _month_move():
    return CounterMove(
        "MONTH#2026-03",
        {"tokens": 300, "cost_micros": 2000},
        [
            Check("tokens_per_month", "tokens", 300, 1000),
            Check("budget_usd_per_month", "cost_micros", 2000, 3_000_000),
        ],
    )


@pytest.mark.parametrize(
    ("current", "name", "limit", "used"),
    [
        ({"tokens": 800, "cost_micros": 0}, "tokens_per_month", 1000, 800),  # 800 + 300 > 1000
        (
            {"tokens": 700, "cost_micros": 2_999_000},
            "budget_usd_per_month",
            3.0,
            2.999,
        ),  # 700 + 300 is no excess
        ({"cost_micros": 2_998_001}, "budget_usd_per_month", 3.0, 2.998001),  # a missing counter reads as 0
        ({"tokens": 10, "cost_micros": 0}, "tokens_per_month", 1000, 10),  # none fails now: the first check
    ],
)
def test_a_refusal_found_from_the_items_values_names_the_first_check_that_fails(current, name, limit, used):
    error = _service().refused(_month_move(), None, current, datetime(2026, 3, 31, 12, 0, tzinfo=UTC))
    assert isinstance(error, LimitExceededError)
    details = error.details
    assert (details["limit_name"], details["limit"], details["used"]) == (name, limit, used)
    assert details["window"] == "MONTH#2026-03"
    assert details["retry_after_seconds"] == 12 * 3600
    assert error.headers == {"Retry-After": str(12 * 3600)}


def test_a_refusal_passes_over_a_missing_counter_whose_call_fits_exactly():
    move = CounterMove(
        "MONTH#2026-03",
        {"tokens": 1000, "cost_micros": 2000},
        [
            Check("tokens_per_month", "tokens", 1000, 1000),
            Check("budget_usd_per_month", "cost_micros", 2000, 2000),
        ],
    )
    error = _service().refused(move, None, {"cost_micros": 1}, datetime(2026, 3, 31, 12, 0, tzinfo=UTC))
    assert error.details["limit_name"] == "budget_usd_per_month"  # no tokens yet: 0 + 1000 is within 1000


def test_a_refusal_says_when_the_limits_own_window_ends():
    move = CounterMove(
        "MINUTE#2026-03-15T10:20", {"requests": 1}, [Check("requests_per_minute", "requests", 1, 2)]
    )
    error = _service().refused(move, None, {"requests": 2}, datetime(2026, 3, 15, 10, 20, 45, tzinfo=UTC))
    assert (error.code, error.details["retry_after_seconds"], error.details["window"]) == (
        "rate_limited",
        15,
        "MINUTE#2026-03-15T10:20",
    )


def test_a_refusal_reads_a_missing_counter_as_zero():
    move = CounterMove("DAY#2026-03-31", {"requests": 1}, [Check("requests_per_day", "requests", 1, 1)])
    error = _service().refused(move, None, {}, datetime(2026, 3, 15, 23, 0, tzinfo=UTC))
    assert (error.details["used"], error.details["retry_after_seconds"]) == (0, 3600)
    assert error.message == "The limit requests_per_day (1) would be passed: 0 used in DAY#2026-03-31."


def test_the_report_gives_each_limit_its_window_use_remainder_and_reset():
    repository = _Repository(
        counters={
            "MINUTE#2026-03-31T23:59": {"requests": 2},
            "DAY#2026-03-31": {"requests": 9, "tokens": 1200},
            "MONTH#2026-03": {"tokens": 5000, "cost_micros": 1_234_567},
        }
    )
    service = _service(repository, requests_per_minute=5, tokens_per_day=1000, budget_usd_per_month=2)
    report = service.report("u1", (), datetime(2026, 3, 31, 23, 59, 30, tzinfo=UTC))
    assert report["limits"] == Limits(requests_per_minute=5, tokens_per_day=1000, budget_usd_per_month=2)
    assert report["windows"] == [
        {
            "name": "requests_per_minute",
            "window": "MINUTE#2026-03-31T23:59",
            "limit": 5,
            "used": 2,
            "remaining": 3,
            "resets_in_seconds": 30,
        },
        {
            "name": "requests_per_day",
            "window": "DAY#2026-03-31",
            "limit": None,
            "used": 9,
            "remaining": None,
            "resets_in_seconds": 30,
        },
        {
            "name": "tokens_per_day",
            "window": "DAY#2026-03-31",
            "limit": 1000,
            "used": 1200,
            "remaining": 0,  # never negative
            "resets_in_seconds": 30,
        },
        {
            "name": "tokens_per_month",
            "window": "MONTH#2026-03",
            "limit": None,
            "used": 5000,
            "remaining": None,
            "resets_in_seconds": 30,
        },
        {
            "name": "budget_usd_per_month",
            "window": "MONTH#2026-03",
            "limit": 2,
            "used": 1.234567,
            "remaining": 0.765433,  # rounded to the micro-dollar
            "resets_in_seconds": 30,
        },
    ]
    assert report["budget_flagged"] is False


def test_the_reports_remaining_budget_is_what_may_still_be_spent_to_the_micro_dollar():
    repository = _Repository(counters={"MONTH#2026-03": {"cost_micros": 1}})
    report = _service(repository, budget_usd_per_month=1.23456789).report("u1", (), LAST_SECOND_OF_MARCH)
    budget = report["windows"][4]
    assert (budget["used"], budget["remaining"]) == (0.000001, 1.234567)  # 1 234 568 - 1 micro-dollars
    _, moves = _service(budget_usd_per_month=1.23456789).plan("u1", (), 1, 1, LAST_SECOND_OF_MARCH)
    assert moves[2].checks[0].limit == 1_234_568


def test_the_report_says_when_each_window_resets():
    report = _service().report("u1", (), datetime(2026, 3, 15, 10, 20, 45, tzinfo=UTC))
    resets = {w["name"]: w["resets_in_seconds"] for w in report["windows"]}
    day_left = 13 * 3600 + 39 * 60 + 15
    assert resets == {
        "requests_per_minute": 15,
        "requests_per_day": day_left,
        "tokens_per_day": day_left,
        "tokens_per_month": 16 * 86400 + day_left,
        "budget_usd_per_month": 16 * 86400 + day_left,
    }


def test_the_report_is_of_the_user_asked_for():
    repository = _Repository(counters={"DAY#2026-03-31": {"requests": 9}}, override={"requests_per_day": 20})
    report = _service(repository, requests_per_day=100).report("u2", (), LAST_SECOND_OF_MARCH)
    assert (report["windows"][1]["used"], report["windows"][1]["limit"]) == (0, 100)


def test_the_report_reads_the_override_and_flags_nothing_without_a_budget():
    repository = _Repository(
        counters={"MONTH#2026-03": {"cost_micros": 10**12}}, override={"tokens_per_month": Decimal(9)}
    )
    report = _service(repository).report("u1", (), LAST_SECOND_OF_MARCH)
    assert report["limits"].tokens_per_month == 9
    assert report["budget_flagged"] is False
    assert {w["name"]: w["resets_in_seconds"] for w in report["windows"]} == dict.fromkeys(LIMIT_CODES, 1)


def test_an_override_is_stored_with_exact_decimals_and_only_its_limits():
    repository = _Repository()
    values = {"tokens_per_day": 500, "budget_usd_per_month": 0.1, "requests_per_minute": None, "note": "x"}
    _service(repository).set_override("u1", values, "2026-03-31T23:59:59.000Z", "admin-1")
    assert repository.written == [
        (
            "u1",
            {"tokens_per_day": 500, "budget_usd_per_month": Decimal("0.1"), "requests_per_minute": None},
            "2026-03-31T23:59:59.000Z",
            "admin-1",
        )
    ]
    assert type(repository.written[0][1]["tokens_per_day"]) is int


@pytest.mark.parametrize("values", [{"tokens_per_day": 0}, {"budget_soft_threshold": 1.5}])
def test_a_bad_override_is_refused_before_anything_is_stored(values):
    repository = _Repository()
    with pytest.raises(ValidationError):
        _service(repository).set_override("u1", values, "2026-03-31T23:59:59.000Z", "admin-1")
    assert repository.written == []


def test_a_refusal_message_gives_the_limit_its_unit():
    budget = LimitExceededError("budget_usd_per_month", 2.5, 2.4, "MONTH#2026-03", 60)
    assert (
        budget.message
        == "The limit budget_usd_per_month (2.5 USD) would be passed: 2.4 USD used in MONTH#2026-03."
    )
    assert budget.details == {
        "limit_name": "budget_usd_per_month",
        "limit": 2.5,
        "used": 2.4,
        "window": "MONTH#2026-03",
        "retry_after_seconds": 60,
    }
    tokens = LimitExceededError("tokens_per_day", 10, 9, "DAY#2026-03-31", 5)
    assert tokens.message == "The limit tokens_per_day (10) would be passed: 9 used in DAY#2026-03-31."
