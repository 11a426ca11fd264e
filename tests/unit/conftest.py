"""Every unit test starts from a clean `GATEWAY_*` environment and on a clock it controls (gateway_clock).

Every unit run records the AWS calls the app's code makes (tests/support/aws_calls.py) into
aws_calls.unit_recording() (.local/aws-calls/unit.jsonl); the end-to-end IAM test
(tests/e2e/test_iam_by_use.py) evaluates them too. Run on several processes (pytest-xdist, `make unit`), each
worker records into a file of its own (a test counting its calls reads only its own process's), and the
controller gathers them into unit.jsonl when the run ends.

Every botocore session of the run shares one data loader (tests/support/botocore_models.py): the service
models are read from disk once per process, not once per test."""

import functools
import os
from pathlib import Path

import pytest
from moto.core import DEFAULT_ACCOUNT_ID

from tests.support import aws_calls, botocore_models
from tests.support.clock import BOUNDARIES, DEFAULT_START, TestClock, parse_instant

REPO = Path(__file__).resolve().parents[2]


def _is_worker(config) -> bool:
    return hasattr(config, "workerinput")  # a pytest-xdist worker; the controller has no workerinput


def pytest_configure(config):
    recording = Path(aws_calls.unit_recording())  # the worker's own file on a pytest-xdist worker
    recording.parent.mkdir(parents=True, exist_ok=True)
    if not _is_worker(config):
        for stale in aws_calls.worker_recordings():  # an interrupted run's
            stale.unlink()
    recording.write_text("")  # this run's calls only
    package = str(REPO / "lambda_src" / "gateway") + "/"
    aws_calls.install(
        str(recording), DEFAULT_ACCOUNT_ID, functools.partial(aws_calls.function_calling, package)
    )
    botocore_models.share()


def pytest_unconfigure(config):
    botocore_models.unshare()
    aws_calls.uninstall()
    if not _is_worker(config):
        aws_calls.gather_worker_recordings()


def pytest_addoption(parser):
    parser.addoption(
        "--clock-at",
        default=None,
        help="start every test's clock here: ISO instants or names of tests/support/clock.py BOUNDARIES "
        f"({', '.join(BOUNDARIES)}), comma-separated (each test runs once per instant); 'boundaries': all",
    )


def pytest_generate_tests(metafunc):
    option = metafunc.config.getoption("clock_at")
    if option and "gateway_clock" in metafunc.fixturenames:
        instants = list(BOUNDARIES) if option == "boundaries" else option.split(",")
        metafunc.parametrize("gateway_clock", instants, indirect=True, ids=[f"at-{i}" for i in instants])


# Variables of the test harness itself (where the AWS calls are recorded), not settings of the app.
HARNESS_VARIABLES = ("GATEWAY_TEST_",)


@pytest.fixture(autouse=True)
def clean_gateway_environment(monkeypatch):
    """The developer's exported GATEWAY_* settings never reach a test: each sets what it needs."""
    for variable in list(os.environ):
        if variable.startswith("GATEWAY_") and not variable.startswith(HARNESS_VARIABLES):
            monkeypatch.delenv(variable)


@pytest.fixture(autouse=True)
def gateway_clock(request):
    """The app's clock (gateway.clock) for this test: at DEFAULT_START or where --clock-at pins it."""
    start = parse_instant(request.param) if hasattr(request, "param") else DEFAULT_START
    test_clock = TestClock(start)
    test_clock.install()
    yield test_clock
    test_clock.uninstall()
