"""scripts/boundaries.py (`make boundaries`): which runs it starts, what it prints, where it stops."""

import subprocess

from scripts import boundaries

PASSED = "1534 passed in 350.12s (0:05:50)\n"
FAILED = (
    "F\nFAILED tests/unit/x.py::test_y[at-month] - assert 1 == 2\n1 failed, 700 passed in 80.00s (0:01:20)\n"
)


def scripted(monkeypatch, outputs: list[tuple[int, str]]) -> list[list[str]]:
    """Each pytest run answers the next of `outputs` (exit status, stdout); the commands run are returned."""
    commands: list[list[str]] = []

    def run(command, **_options):
        commands.append(command)
        status, stdout = outputs[len(commands) - 1]
        return subprocess.CompletedProcess(command, status, stdout=stdout, stderr="")

    monkeypatch.setattr(boundaries.subprocess, "run", run)
    return commands


def test_runs_cycle_through_the_boundaries_and_all_passing_exits_0(monkeypatch, capsys):
    monkeypatch.setenv("UNIT_WORKERS", "2")
    commands = scripted(monkeypatch, [(0, PASSED)] * 6)

    assert boundaries.main(["6"]) == 0

    clocks = [next(arg for arg in command if arg.startswith("--clock-at=")) for command in commands]
    assert clocks == [f"--clock-at={name}" for name in ("minute", "day", "month", "year", "minute", "day")]
    assert all(command[-4:] == ["-n", "2", "--dist", "loadfile"] for command in commands)
    out = capsys.readouterr().out
    assert "run   3/6  month  (2026-02-28T23:59:59+00:00)  passed  1534 passed  " in out
    assert "6 of 6 runs passed (minute 2, day 2, month 1, year 1)" in out


def test_the_first_failing_run_stops_the_runs_prints_its_failures_and_exits_1(monkeypatch, capsys):
    commands = scripted(monkeypatch, [(0, PASSED), (0, PASSED), (1, FAILED), (0, PASSED)])

    assert boundaries.main(["4"]) == 1

    assert len(commands) == 3
    out = capsys.readouterr().out
    assert "run   3/4  month  (2026-02-28T23:59:59+00:00)  FAILED  1 failed, 700 passed  " in out
    assert "FAILED tests/unit/x.py::test_y[at-month] - assert 1 == 2" in out
    assert "2 of 4 runs passed (minute 1, day 1, month 0, year 0)" in out
    assert "stopped at run 3, which failed" in out


def test_no_workers_runs_pytest_in_one_process(monkeypatch):
    monkeypatch.setenv("UNIT_WORKERS", "0")
    commands = scripted(monkeypatch, [(0, PASSED)])

    assert boundaries.main(["1"]) == 0

    assert "-n" not in commands[0]
    assert commands[0][-1] == "--clock-at=minute"


def test_a_run_cut_short_says_so_instead_of_counts():
    cut_short = "Traceback (most recent call last):\n  ...\n"
    assert boundaries.counts(cut_short) == "no summary (pytest stopped early)"
