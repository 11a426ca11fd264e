"""README.md's examples, run as pasted: its runnable blocks in order, in one bash session in the repository,
against this session's local stack (the one `make local` would have started), and the lines `make local`
ends with. Any failing command fails the test, naming the block and what it printed."""

import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import REPO, local_env
from tests.support.readme import outputs_by_block, runnable_blocks, session_script

pytestmark = pytest.mark.e2e

README = REPO / "README.md"
SESSION_TIMEOUT_SECONDS = 900


def run_session(script: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", script],
        cwd=REPO,
        env=local_env(),
        capture_output=True,
        text=True,
        timeout=SESSION_TIMEOUT_SECONDS,
        check=False,
    )


def test_every_runnable_block_of_the_readme_runs_as_pasted(stack):
    blocks = runnable_blocks(README.read_text())
    result = run_session(session_script(blocks))
    printed = outputs_by_block(result.stdout)
    if result.returncode != 0 or "::readme-end" not in result.stdout:
        failed = max(printed, default=1)
        block = blocks[failed - 1]
        pytest.fail(
            f"README.md's block {failed} (line {block.line}) failed (exit {result.returncode}).\n"
            f"--- the block:\n{block.text}--- what it printed:\n{printed.get(failed, '')[-3000:]}\n"
            f"--- stderr:\n{result.stderr[-3000:]}"
        )
    silent = [blocks[number - 1].line for number in range(1, len(blocks) + 1) if not printed[number].strip()]
    assert not silent, f"README.md's blocks at these lines print nothing: {silent}"


def pasted_lines(up_log: str) -> str:
    """The commands `make local` prints for a shell, as a reader would select and paste them."""
    lines = up_log.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Call the API from a shell"))
    end = next(i for i, line in enumerate(lines) if i > start and not line.startswith("  "))
    return "\n".join(line[2:] for line in lines[start + 1 : end]) + "\n"


def test_make_local_is_short_and_its_closing_lines_sign_up_and_call_as_pasted(stack):
    assert len(stack.up_log.splitlines()) < 60, stack.up_log
    apply_log = Path(stack.up_log.split("full output: ", 1)[1].split(")", 1)[0])
    assert "Apply complete!" in apply_log.read_text()
    assert f"export API={stack.api_url}" in stack.up_log
    assert "make logs" in stack.up_log

    result = run_session("set -euo pipefail\n" + pasted_lines(stack.up_log))

    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert '"email":"you@example.com"' in result.stdout.splitlines()[-1]
