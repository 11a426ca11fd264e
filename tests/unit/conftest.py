"""Every unit test starts from a clean `GATEWAY_*` environment and on a clock it controls (gateway_clock).

Every unit run records the AWS calls the app's code makes (tests/support/aws_calls.py) into
aws_calls.unit_recording() (.local/aws-calls/unit.jsonl); the end-to-end IAM test
(tests/e2e/test_iam_by_use.py) evaluates them too."""

import functools
import os
from pathlib import Path

import pytest
from moto.core import DEFAULT_ACCOUNT_ID

from tests.support import aws_calls
from tests.support.clock import BOUNDARIES, DEFAULT_START, TestClock, parse_instant

REPO = Path(__file__).resolve().parents[2]
UNIT_RECORDING = Path(aws_calls.unit_recording())


def pytest_configure(config):
    UNIT_RECORDING.parent.mkdir(parents=True, exist_ok=True)
    UNIT_RECORDING.write_text("")  # this run's calls only
    package = str(REPO / "lambda_src" / "gateway") + "/"
    aws_calls.install(
        str(UNIT_RECORDING), DEFAULT_ACCOUNT_ID, functools.partial(aws_calls.function_calling, package)
    )


def pytest_unconfigure(config):
    aws_calls.uninstall()


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
