"""`make mutation`'s runner: its modules and tests exist, its equivalent mutants parse, its bound holds."""

import stat
import time
from pathlib import Path

import pytest

from scripts import mutation

REPO = Path(__file__).resolve().parents[3]


def test_every_module_names_a_source_and_tests_that_exist():
    for name, module in mutation.MODULES.items():
        assert (REPO / module.source).is_file(), name
        assert module.tests, name
        for test_file in (*module.tests, *module.api_tests):
            assert (REPO / test_file).is_file(), (name, test_file)


def test_each_equivalent_mutant_is_of_a_module_that_is_run():
    listed = mutation.equivalent_mutants()
    assert "gateway.services.pricing.x_micros_to_usd__mutmut_6" in listed
    sources = {
        module.source.removeprefix("lambda_src/").removesuffix(".py").replace("/", ".")
        for module in mutation.MODULES.values()
    }
    for mutant in listed:
        assert any(mutant.startswith(f"{source}.x") for source in sources), mutant


def _fake_mutmut(directory: Path, script: str) -> str:
    """An executable standing in for the Python that runs mutmut (it ignores its arguments)."""
    path = directory / "fake-python"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def _gone(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    return not status.exists() or "\nState:\tZ" in status.read_text()


def test_at_its_time_bound_mutmut_stops_with_every_worker_it_forked(tmp_path, monkeypatch):
    fake = _fake_mutmut(tmp_path, "sleep 60 &\necho $! > worker.pid\nsleep 60\n")
    monkeypatch.setattr(mutation.sys, "executable", fake)
    assert mutation.mutmut_run(tmp_path, 1, children=1) is False
    worker = int((tmp_path / "worker.pid").read_text())
    waited_until = time.monotonic() + 5  # a killed orphan is reaped by init, soon but not at once
    while not _gone(worker) and time.monotonic() < waited_until:
        time.sleep(0.05)
    assert _gone(worker)


def test_a_run_that_ends_within_its_bound_is_finished(tmp_path, monkeypatch):
    monkeypatch.setattr(mutation.sys, "executable", _fake_mutmut(tmp_path, "exit 0\n"))
    assert mutation.mutmut_run(tmp_path, 30, children=1) is True
    assert mutation.mutmut_run(tmp_path, 0, children=1) is False  # no time left: not started


def test_an_interrupted_run_stops_mutmut_with_every_worker_it_forked(tmp_path, monkeypatch):
    fake = _fake_mutmut(tmp_path, "sleep 60 &\necho $! > worker.pid\nsleep 60\n")
    monkeypatch.setattr(mutation.sys, "executable", fake)

    def interrupt(*args, **kwargs):
        while not (tmp_path / "worker.pid").exists():
            time.sleep(0.05)
        raise KeyboardInterrupt

    monkeypatch.setattr(mutation.subprocess.Popen, "wait", interrupt)
    with pytest.raises(KeyboardInterrupt):
        mutation.mutmut_run(tmp_path, 60, children=1)
    worker = int((tmp_path / "worker.pid").read_text())
    waited_until = time.monotonic() + 5
    while not _gone(worker) and time.monotonic() < waited_until:
        time.sleep(0.05)
    assert _gone(worker)


def test_a_module_may_use_the_time_left_but_a_minute_for_each_module_after_it():
    assert mutation.module_seconds(1800, modules_after=10) == 1800 - 10 * 60
    assert mutation.module_seconds(1800, modules_after=0) == 1800


def test_a_module_gets_at_least_an_equal_share_when_little_time_is_left():
    assert mutation.module_seconds(300, modules_after=9) == 30
    assert mutation.module_seconds(660, modules_after=10) == 60  # where both rules agree
