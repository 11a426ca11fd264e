from datetime import UTC, datetime, timedelta, timezone

import pytest
from gateway_localstack.apigw.usage_plans import (
    Decision,
    Quota,
    Throttle,
    TokenBucket,
    UsagePlanLimiter,
    quota_window,
)


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start.timestamp()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def set(self, when: datetime) -> None:
        self.now = when.timestamp()


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- token bucket -----------------------------------------------------------------------------------


def test_bucket_allows_the_burst_then_throttles():
    bucket = TokenBucket(Throttle(rate=1, burst=3), now=0)

    assert [bucket.take(0) for _ in range(4)] == [True, True, True, False]


def test_bucket_refills_at_the_rate_and_never_beyond_the_burst():
    bucket = TokenBucket(Throttle(rate=2, burst=3), now=0)
    for _ in range(3):
        bucket.take(0)

    assert bucket.take(0.5)  # 0.5 s x 2/s = 1 token
    assert not bucket.take(0.5)
    assert [bucket.take(1000) for _ in range(4)] == [True, True, True, False]  # capped at the burst


def test_bucket_with_zero_burst_lets_nothing_through():
    bucket = TokenBucket(Throttle(rate=100, burst=0), now=0)

    assert not bucket.take(0)
    assert not bucket.take(60)


def test_clock_stepping_back_mints_no_tokens():
    bucket = TokenBucket(Throttle(rate=1, burst=1), now=100)
    assert bucket.take(100)

    assert not bucket.take(50)
    assert not bucket.take(100.5)
    assert bucket.take(101)


# --- quota windows ----------------------------------------------------------------------------------


def test_day_window_runs_from_utc_midnight():
    assert quota_window("DAY", at(2026, 3, 5, 23, 59, 59, 999999)) == (at(2026, 3, 5), at(2026, 3, 6))
    assert quota_window("DAY", at(2026, 3, 6, 0, 0)) == (at(2026, 3, 6), at(2026, 3, 7))


def test_windows_are_utc_whatever_the_timezone_of_now():
    late_evening_in_new_york = datetime(2026, 3, 5, 22, 0, tzinfo=timezone(timedelta(hours=-5)))

    assert quota_window("DAY", late_evening_in_new_york) == (at(2026, 3, 6), at(2026, 3, 7))


def test_week_window_starts_on_monday():
    sunday_night = at(2026, 3, 8, 23, 59, 59)  # 2026-03-08 is a Sunday
    monday = at(2026, 3, 9)

    assert quota_window("WEEK", sunday_night) == (at(2026, 3, 2), at(2026, 3, 9))
    assert quota_window("WEEK", monday) == (at(2026, 3, 9), at(2026, 3, 16))


def test_week_window_crosses_a_year_boundary():
    assert quota_window("WEEK", at(2027, 1, 1, 12)) == (at(2026, 12, 28), at(2027, 1, 4))


@pytest.mark.parametrize(
    ("now", "window"),
    [
        (at(2026, 1, 31, 23, 59, 59), (at(2026, 1, 1), at(2026, 2, 1))),
        (at(2026, 2, 1), (at(2026, 2, 1), at(2026, 3, 1))),
        (at(2028, 2, 29, 12), (at(2028, 2, 1), at(2028, 3, 1))),  # leap year
        (at(2026, 12, 31, 23, 59), (at(2026, 12, 1), at(2027, 1, 1))),
    ],
)
def test_month_window_runs_from_the_first(now, window):
    assert quota_window("MONTH", now) == window


def test_unknown_period_and_naive_datetime_are_refused():
    with pytest.raises(ValueError, match="period"):
        quota_window("YEAR", at(2026, 1, 1))
    with pytest.raises(ValueError, match="period"):
        Quota(limit=1, period="HOUR")
    with pytest.raises(ValueError, match="aware"):
        quota_window("DAY", datetime(2026, 1, 1))


# --- settings as the API returns them ----------------------------------------------------------------


def test_settings_from_the_api():
    assert Throttle.from_api({"rateLimit": 10.0, "burstLimit": 20}) == Throttle(rate=10.0, burst=20)
    assert Throttle.from_api({"rateLimit": 5.0}) == Throttle(rate=5.0, burst=0)
    assert Throttle.from_api(None) is None
    assert Throttle.from_api({}) is None
    assert Quota.from_api({"limit": 100, "period": "WEEK", "offset": 3}) == Quota(100, "WEEK", 3)
    assert Quota.from_api({"limit": 100}) == Quota(100, "DAY", 0)
    assert Quota.from_api(None) is None


# --- the limiter ------------------------------------------------------------------------------------


def test_quota_allows_the_limit_per_day_then_resets_at_midnight():
    clock = FakeClock(at(2026, 3, 5, 23, 59))
    limiter = UsagePlanLimiter(clock)
    quota = Quota(limit=2, period="DAY")
    check = lambda: limiter.check("plan", "key", throttle=None, quota=quota)  # noqa: E731

    assert [check(), check(), check()] == [Decision.ALLOW, Decision.ALLOW, Decision.QUOTA_EXCEEDED]
    clock.set(at(2026, 3, 6))
    assert [check(), check(), check()] == [Decision.ALLOW, Decision.ALLOW, Decision.QUOTA_EXCEEDED]


def test_offset_is_taken_from_the_first_window_only():
    clock = FakeClock(at(2026, 3, 4, 10))  # a Wednesday
    limiter = UsagePlanLimiter(clock)
    quota = Quota(limit=3, period="WEEK", offset=2)
    check = lambda: limiter.check("plan", "key", throttle=None, quota=quota)  # noqa: E731

    assert [check(), check()] == [Decision.ALLOW, Decision.QUOTA_EXCEEDED]
    clock.set(at(2026, 3, 9))  # next Monday
    assert [check() for _ in range(4)] == [Decision.ALLOW] * 3 + [Decision.QUOTA_EXCEEDED]


def test_throttled_requests_do_not_use_the_quota():
    clock = FakeClock(at(2026, 3, 5, 12))
    limiter = UsagePlanLimiter(clock)
    throttle, quota = Throttle(rate=1, burst=1), Quota(limit=2, period="DAY")
    check = lambda: limiter.check("plan", "key", throttle=throttle, quota=quota)  # noqa: E731

    assert [check(), check(), check()] == [Decision.ALLOW, Decision.THROTTLED, Decision.THROTTLED]
    clock.advance(1)
    assert check() == Decision.ALLOW  # the second of the quota
    clock.advance(1)
    assert check() == Decision.QUOTA_EXCEEDED


def test_keys_and_plans_are_limited_separately():
    limiter = UsagePlanLimiter(FakeClock(at(2026, 3, 5)))
    throttle = Throttle(rate=0, burst=1)

    assert limiter.check("plan", "key-a", throttle=throttle, quota=None) == Decision.ALLOW
    assert limiter.check("plan", "key-a", throttle=throttle, quota=None) == Decision.THROTTLED
    assert limiter.check("plan", "key-b", throttle=throttle, quota=None) == Decision.ALLOW
    assert limiter.check("other", "key-a", throttle=throttle, quota=None) == Decision.ALLOW


def test_method_throttle_is_a_second_bucket():
    limiter = UsagePlanLimiter(FakeClock(at(2026, 3, 5)))
    plan_throttle, method_throttle = Throttle(rate=0, burst=10), Throttle(rate=0, burst=1)

    def check(method):
        return limiter.check(
            "plan", "key", plan_throttle, None, method_throttle=method_throttle, method=method
        )

    assert check("/chat/POST") == Decision.ALLOW
    assert check("/chat/POST") == Decision.THROTTLED
    assert check("/models/GET") == Decision.ALLOW


def test_a_changed_throttle_starts_a_fresh_bucket():
    limiter = UsagePlanLimiter(FakeClock(at(2026, 3, 5)))

    assert limiter.check("plan", "key", Throttle(rate=0, burst=1), None) == Decision.ALLOW
    assert limiter.check("plan", "key", Throttle(rate=0, burst=1), None) == Decision.THROTTLED
    assert limiter.check("plan", "key", Throttle(rate=0, burst=2), None) == Decision.ALLOW


def test_no_limits_allow_everything():
    limiter = UsagePlanLimiter(FakeClock(at(2026, 3, 5)))

    assert all(limiter.check("plan", "key", None, None) == Decision.ALLOW for _ in range(100))
