#!/usr/bin/env python3
"""Follow the local function's log: the lines it wrote in the last minutes, then each new one as it comes.

    make logs [SINCE=10] [FOLLOW=0]

The Lambda runs on the local AWS target, which ships what it prints to CloudWatch Logs (the log group is the
`log_group_name` Terraform output, e.g. /aws/lambda/bedrock-gw-local-gateway); this polls that group every
second, as `aws logs tail --follow` does. The stack is found as `make admin` finds it (LOCAL_AWS_DIR).
FOLLOW=0 prints what is there and exits. Ctrl-C ends it.
"""

import argparse
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from scripts.make_admin import AdminError, aws_session, terraform_outputs

POLL_SECONDS = 1.0
# The emulator ships a line a moment after the function printed it, stamped with the time it was printed:
# each poll looks this far back again and skips the events it has shown.
LATE_SHIPPING_MS = 30_000


def log_events(logs: Any, log_group: str, start_ms: int) -> Iterator[dict[str, Any]]:
    """Events of the group from start_ms on, oldest first (every stream: one per function instance)."""
    events: list[dict[str, Any]] = []
    try:
        pages = logs.get_paginator("filter_log_events").paginate(logGroupName=log_group, startTime=start_ms)
        for page in pages:
            events.extend(page["events"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return  # the function has not run yet: its group appears with its first line
        raise
    yield from sorted(events, key=lambda event: (event["timestamp"], event.get("ingestionTime", 0)))


def format_event(event: dict[str, Any]) -> str:
    stamp = datetime.fromtimestamp(event["timestamp"] / 1000, UTC).strftime("%H:%M:%S")
    return f"{stamp} {event['message'].rstrip()}"


def follow(
    logs: Any, log_group: str, since_ms: int, keep_following: bool, now=time.time, sleep=time.sleep
) -> None:
    shown: set[object] = set()
    start_ms = since_ms
    while True:
        newest_ms = start_ms
        for event in log_events(logs, log_group, start_ms):
            newest_ms = max(newest_ms, event["timestamp"])
            event_id = event.get("eventId") or (event["logStreamName"], event["timestamp"], event["message"])
            if event_id in shown:
                continue
            shown.add(event_id)
            print(format_event(event), flush=True)
        if not keep_following:
            return
        # Look back far enough for lines shipped late; forget what is older than that.
        start_ms = max(since_ms, min(newest_ms, int(now() * 1000)) - LATE_SHIPPING_MS)
        sleep(POLL_SECONDS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--since", type=float, default=10.0, help="minutes of past lines to show first (10)")
    parser.add_argument("--no-follow", action="store_true", help="print what is there and exit")
    args = parser.parse_args(argv)
    try:
        outputs = terraform_outputs("local")
    except AdminError as exc:
        raise SystemExit(str(exc.code).replace("admin:", "logs:", 1)) from None
    log_group = outputs["log_group_name"]
    logs = aws_session("local", outputs["region"]).client("logs")
    since_ms = int((time.time() - args.since * 60) * 1000)
    if not args.no_follow:
        print(f"logs: {log_group}, from {args.since:g} minutes ago; Ctrl-C ends", file=sys.stderr, flush=True)
    try:
        follow(logs, log_group, since_ms, keep_following=not args.no_follow)
    except KeyboardInterrupt:
        return 0
    except (BotoCoreError, ClientError) as exc:
        raise SystemExit(f"logs: reading {log_group} from the local target failed: {exc}") from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
