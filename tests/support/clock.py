"""The clock the unit tests control: gateway.clock reads it instead of the system clock.

It stands still at the instant a test chose, but each read moves it on by one millisecond, so that ids and
timestamps made one after the other still sort in the order they were made (as they do in production, where
they are made milliseconds apart). A test moves it with advance() or set(). `--clock-at`
(tests/unit/conftest.py) pins the start instant: the suite can run at the last second of a minute, day or
month.
"""

from datetime import UTC, datetime, timedelta

from gateway import clock as gateway_clock

TICK = timedelta(milliseconds=1)
# Where a test starts unless told otherwise: well inside its minute, day and month.
DEFAULT_START = datetime(2026, 3, 11, 10, 20, 15, tzinfo=UTC)
# The last second of a minute, of a day, and of a month and year (UTC), for the boundary runs.
BOUNDARIES = {
    "minute": datetime(2026, 3, 11, 10, 20, 59, tzinfo=UTC),
    "day": datetime(2026, 3, 11, 23, 59, 59, tzinfo=UTC),
    "month": datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC),
    "year": datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC),
}


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant, or the name of one of BOUNDARIES."""
    if text in BOUNDARIES:
        return BOUNDARIES[text]
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class TestClock:
    __test__ = False  # not a test class, for pytest

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        self.start = start.astimezone(UTC)
        self.now = self.start
        self.reads = 0

    def __call__(self) -> datetime:
        moment = self.now
        self.now += TICK
        self.reads += 1
        return moment

    def peek(self) -> datetime:
        """The instant the next read returns, without moving the clock."""
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment.astimezone(UTC)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def install(self) -> None:
        gateway_clock.set_source(self)

    @staticmethod
    def uninstall() -> None:
        gateway_clock.set_source(None)
