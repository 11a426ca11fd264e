import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def make_help() -> str:
    result = subprocess.run(
        ["make", "-s", "--no-print-directory", "help"], cwd=REPO, capture_output=True, text=True, check=True
    )
    return result.stdout


def test_help_piped_is_plain_text_with_every_documented_target():
    text = make_help()
    assert "\033" not in text
    documented = re.findall(r"^([a-zA-Z0-9_-]+):.*## ", (REPO / "Makefile").read_text(), re.MULTILINE)
    listed = re.findall(r"^  ([a-zA-Z0-9_-]+) ", text, re.MULTILINE)
    assert set(documented) <= set(listed)
    assert {"local", "logs", "admin", "test"} <= set(documented)


def test_help_lists_the_variables_that_matter():
    text = make_help().split("Variables", 1)[1]
    for name in ("ENV", "EMAIL", "LOCAL_AWS_PORT", "E2E_LOCAL_AWS_PORT", "AUTO_APPROVE", "RELOAD", "MODULES"):
        assert re.search(rf"^  [^\n]*\b{name}\b", text, re.MULTILINE), name


def test_help_on_a_terminal_colours_the_target_names():
    if shutil.which("script") is None:
        pytest.skip("util-linux's script, which gives make a terminal, is not installed")
    result = subprocess.run(
        ["script", "-qec", "make -s --no-print-directory help", "/dev/null"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "\033[36madmin" in result.stdout


def test_help_cut_short_by_its_reader_is_not_an_error():
    result = subprocess.run(
        ["bash", "-c", "make -s --no-print-directory help | head -n 1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stderr == ""
