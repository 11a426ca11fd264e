#!/usr/bin/env python3
"""`make bench`: every benchmark in turn, each in a fresh interpreter, then one table of what passed.

Says up front about how long the whole takes. A benchmark that misses a target (or fails to run) does not stop
the others; the exit status is 1 when any missed. Each benchmark prints its targets as "target: ... ok" or
"... MISSED"; the summary repeats the missed ones, and says whose speed each benchmark's times are: the app's
(in-process, with an in-memory DynamoDB stand-in where it needs storage), or moto's and the local emulator's.
"""

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Bench:
    script: str
    measures: str
    speed_of: str  # whose speed its times are
    seconds: int  # about how long it takes on a 2-core machine doing little else


BENCHES = (
    Bench("bench_cold_import.py", "zip size; cold import vs a bare app", "the app's", 60),
    Bench(
        "bench_gateway.py",
        "overhead per model call; AWS requests per call",
        "the app's (DynamoDB stand-in); its moto line moto's",
        120,
    ),
    Bench(
        "bench_limits.py",
        "limit check per request; no limit passed under concurrency",
        "the app's (DynamoDB stand-in)",
        20,
    ),
    Bench(
        "bench_admin.py",
        "admin users page: items and profile reads per page",
        "counts as on DynamoDB; page times moto's",
        100,
    ),
    Bench("bench_knowledge.py", "bot knowledge: index build, search", "the app's", 10),
    Bench(
        "bench_local_dynamodb.py",
        "governed call with 100,000 items in the local DynamoDB",
        "the local target's (moto, plugin) with the app's",
        60,
    ),
)


@dataclass(frozen=True)
class Outcome:
    bench: Bench
    status: int
    seconds: float
    targets: list[str]

    @property
    def passed(self) -> bool:
        return self.status == 0

    @property
    def missed(self) -> list[str]:
        return [line for line in self.targets if "MISSED" in line]


def run(bench: Bench, scripts: Path) -> Outcome:
    """Runs one benchmark with its output shown as it comes; keeps its target lines."""
    started = time.monotonic()
    targets = []
    with subprocess.Popen(
        [sys.executable, str(scripts / bench.script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            print(line, end="", flush=True)
            if is_target_line(line):
                targets.append(line.strip())
    return Outcome(bench, process.returncode, time.monotonic() - started, targets)


def is_target_line(line: str) -> bool:
    """A line naming a target and ending with its verdict."""
    return bool(re.search(r"\btarget\b", line) and re.search(r"\b(ok|MISSED)\s*$", line))


def summary(outcomes: list[Outcome]) -> str:
    rows = [("benchmark", "result", "time", "targets", "times are")]
    for outcome in outcomes:
        counted = f"{len(outcome.targets) - len(outcome.missed)} ok, {len(outcome.missed)} missed"
        rows.append(
            (
                outcome.bench.script,
                "pass" if outcome.passed else f"FAIL ({outcome.status})",
                f"{outcome.seconds:.0f} s",
                counted if outcome.targets else "-",
                outcome.bench.speed_of,
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    for outcome in outcomes:
        lines += [f"MISSED in {outcome.bench.script}: {line}" for line in outcome.missed]
    return "\n".join(lines)


def main(benches: tuple[Bench, ...] = BENCHES, scripts: Path = SCRIPTS) -> int:
    total = sum(bench.seconds for bench in benches)
    print(
        f"make bench: {len(benches)} benchmarks, about {round(total / 60)} minutes"
        " (longer while the machine is busy)",
        flush=True,
    )
    outcomes = []
    for number, bench in enumerate(benches, start=1):
        print(
            f"\n== [{number}/{len(benches)}] {bench.script}: {bench.measures} (times: {bench.speed_of})",
            flush=True,
        )
        outcomes.append(run(bench, scripts))
    spent = sum(outcome.seconds for outcome in outcomes)
    print(f"\n== make bench: summary ({spent / 60:.1f} minutes)")
    print(summary(outcomes))
    failed = [outcome.bench.script for outcome in outcomes if not outcome.passed]
    print(f"\nmake bench: {'FAILED: ' + ', '.join(failed) if failed else 'every benchmark passed'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
