"""Every unit run records the AWS calls the app's code makes (tests/support/aws_calls.py) into
aws_calls.unit_recording() (.local/aws-calls/unit.jsonl); the end-to-end IAM test
(tests/e2e/test_iam_by_use.py) evaluates them too."""

import functools
from pathlib import Path

from moto.core import DEFAULT_ACCOUNT_ID

from tests.support import aws_calls

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
