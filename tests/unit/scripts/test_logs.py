import time
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from scripts import logs

GROUP = "/aws/lambda/gw"


@pytest.fixture
def cloudwatch(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("logs", region_name="us-east-1")
        client.create_log_group(logGroupName=GROUP)
        for stream in ("instance-a", "instance-b"):
            client.create_log_stream(logGroupName=GROUP, logStreamName=stream)
        yield client


def put(client, stream, timestamp_ms, message):
    client.put_log_events(
        logGroupName=GROUP, logStreamName=stream, logEvents=[{"timestamp": timestamp_ms, "message": message}]
    )


# CloudWatch Logs takes events from the last 14 days up to 2 hours ahead only.
NOW_MS = int(time.time()) * 1000


def clock(timestamp_ms):
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC).strftime("%H:%M:%S")


def test_past_lines_of_every_instance_print_oldest_first_with_their_time(cloudwatch, capsys):
    put(cloudwatch, "instance-b", NOW_MS - 1_000, '{"message": "second"}\n')
    put(cloudwatch, "instance-a", NOW_MS - 2_000, "START RequestId: 1")
    put(cloudwatch, "instance-a", NOW_MS - 900_000, "too old")

    logs.follow(cloudwatch, GROUP, since_ms=NOW_MS - 600_000, keep_following=False)

    assert capsys.readouterr().out.splitlines() == [
        f"{clock(NOW_MS - 2_000)} START RequestId: 1",
        f'{clock(NOW_MS - 1_000)} {{"message": "second"}}',
    ]


def test_following_prints_each_new_line_once_also_when_it_is_shipped_late(cloudwatch, capsys):
    put(cloudwatch, "instance-a", NOW_MS - 5_000, "first")
    polls = iter(range(3))

    def sleep(_seconds):
        poll = next(polls)
        if poll == 0:  # printed before the last line shown, shipped after it
            put(cloudwatch, "instance-b", NOW_MS - 6_000, "late")
        elif poll == 1:
            put(cloudwatch, "instance-a", NOW_MS + 1_000, "new")
        else:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        logs.follow(
            cloudwatch, GROUP, NOW_MS - 60_000, keep_following=True, now=lambda: NOW_MS / 1000, sleep=sleep
        )

    lines = [line.split(" ", 1)[1] for line in capsys.readouterr().out.splitlines()]
    assert lines == ["first", "late", "new"]


def test_a_function_that_never_ran_has_no_group_yet_and_prints_nothing(cloudwatch, capsys):
    logs.follow(cloudwatch, "/aws/lambda/never-ran", since_ms=0, keep_following=False)
    assert capsys.readouterr().out == ""
