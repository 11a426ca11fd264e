"""The unit suite, again and again, with every test's clock at the last second of a minute, day, month or year
(`make boundaries`): a rule that reads the clock must hold wherever in its window a call falls.

Run after run, the clock cycles through the boundaries of tests/support/clock.py (minute, day, month, year,
minute, ...); each run is the whole unit suite with `--clock-at <boundary>` (tests/unit/conftest.py). The runs
stop at the first that fails, whose failures are printed.

  .venv/bin/python scripts/boundaries.py [RUNS]     RUNS full runs (20)
  UNIT_WORKERS=2                                    pytest-xdist processes per run (0: one process)

Prints one line per run (its boundary, what pytest counted, seconds) and a summary of the runs that passed at
each boundary. Exit status: 1 when a run failed, 0 when all passed.
"""

import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lambda_src"))
sys.path.insert(0, str(REPO))

from tests.support.clock import BOUNDARIES  # noqa: E402

DEFAULT_RUNS = 20
# pytest's closing line: "1402 passed, 3 skipped in 95.12s (0:01:35)"
SUMMARY = re.compile(r"^=*\s*(\d+ (passed|failed|error).*) in [\d.]+s")


def unit_command(boundary: str, workers: str) -> list[str]:
    command = [sys.executable, "-m", "pytest", "tests/unit", "-q", "-x", f"--clock-at={boundary}"]
    if workers not in ("", "0"):
        command += ["-n", workers, "--dist", "loadfile"]
    return command


def counts(output: str) -> str:
    """What pytest counted ("1402 passed, 3 skipped"), from its closing line."""
    for line in reversed(output.splitlines()):
        found = SUMMARY.match(line.strip())
        if found:
            return found.group(1)
    return "no summary (pytest stopped early)"


def main(argv: list[str]) -> int:
    runs = int(argv[0]) if argv else DEFAULT_RUNS
    workers = os.environ.get("UNIT_WORKERS", "2")
    boundaries = list(BOUNDARIES)
    passed: Counter[str] = Counter()
    started = time.monotonic()
    for run in range(runs):
        boundary = boundaries[run % len(boundaries)]
        began = time.monotonic()
        result = subprocess.run(unit_command(boundary, workers), cwd=REPO, capture_output=True, text=True)
        seconds = time.monotonic() - began
        verdict = "passed" if result.returncode == 0 else "FAILED"
        print(
            f"run {run + 1:>3}/{runs}  {boundary:<6} ({BOUNDARIES[boundary].isoformat()})  {verdict}  "
            f"{counts(result.stdout)}  {seconds:.0f} s",
            flush=True,
        )
        if result.returncode != 0:
            print(result.stdout[-20000:], result.stderr[-5000:], sep="\n", flush=True)
            break
        passed[boundary] += 1
    total = sum(passed.values())
    by_boundary = ", ".join(f"{name} {passed[name]}" for name in boundaries)
    print(
        f"\n{total} of {runs} runs passed ({by_boundary}) in {(time.monotonic() - started) / 60:.1f} min"
        + ("" if total == runs else f"; stopped at run {total + 1}, which failed"),
        flush=True,
    )
    return 0 if total == runs else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
