"""README.md's examples are runnable (tests/e2e/test_readme.py runs them against a local stack): here, that
the blocks are found and that the session running them carries variables and stops at a failure."""

import re
import subprocess
from pathlib import Path

import pytest

from tests.support.readme import fenced_blocks, outputs_by_block, runnable_blocks, session_script

README = Path(__file__).resolve().parents[2] / "README.md"
# A block that stops being marked would silently stop being tested: the count changes only on purpose.
RUNNABLE_BLOCKS_IN_README = 13


def test_the_readme_has_its_runnable_blocks():
    blocks = runnable_blocks(README.read_text())
    assert len(blocks) == RUNNABLE_BLOCKS_IN_README
    assert {block.language for block in blocks} == {"bash", "python"}


def test_every_shell_or_python_block_of_the_readme_is_runnable_or_says_why_not():
    unmarked = [
        block.line for block in fenced_blocks(README.read_text()) if block.is_code and not block.marked
    ]
    assert not unmarked, f"README.md lines {unmarked}: mark the block <!-- runnable --> or say why not"


SAMPLE = """# Sample

<!-- runnable -->
```bash
GREETING=hello
export GREETING
echo "$GREETING from bash"
```

```bash
echo never runs: not marked
```

- a list item:
  <!-- runnable -->
  ```python
  import os

  print(os.environ["GREETING"], "from python")
  ```

<!-- not runnable: needs an AWS account -->
```sh
make deploy
```
"""


def run(script: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, check=False)


def test_marked_blocks_are_found_in_order_with_their_lines_and_indentation_removed():
    blocks = fenced_blocks(SAMPLE)
    assert [(block.language, block.line, block.runnable, block.marked) for block in blocks] == [
        ("bash", 4, True, True),
        ("bash", 10, False, False),
        ("python", 16, True, True),
        ("sh", 23, False, True),
    ]
    assert blocks[2].text.startswith("import os\n\nprint(")


def test_the_session_carries_variables_from_block_to_block_and_into_python():
    result = run(session_script(runnable_blocks(SAMPLE), python="python3"))
    assert result.returncode == 0, result.stderr
    assert outputs_by_block(result.stdout) == {1: "hello from bash", 2: "hello from python"}


def test_the_session_stops_at_the_first_failing_command_and_names_its_block():
    failing = SAMPLE.replace('echo "$GREETING from bash"', "false\necho after the failure")
    result = run(session_script(runnable_blocks(failing), python="python3"))
    assert result.returncode == 1
    assert "::readme-block 1 (README.md line 4)" in result.stdout
    assert "after the failure" not in result.stdout
    assert 2 not in outputs_by_block(result.stdout)


def test_a_failing_pipeline_or_python_block_fails_the_session():
    piped = SAMPLE.replace('echo "$GREETING from bash"', "false | cat")
    assert run(session_script(runnable_blocks(piped), python="python3")).returncode == 1
    raising = SAMPLE.replace(
        'print(os.environ["GREETING"], "from python")', 'raise SystemExit("error answer")'
    )
    result = run(session_script(runnable_blocks(raising), python="python3"))
    assert result.returncode == 1
    assert "error answer" in result.stderr


def test_a_fence_left_open_or_a_runnable_block_of_another_language_is_an_error():
    with pytest.raises(ValueError, match="line 4 is never closed"):
        fenced_blocks(SAMPLE.split("GREETING=hello")[0])
    with pytest.raises(ValueError, match="line 2 is marked runnable but is `json`"):
        runnable_blocks("<!-- runnable -->\n```json\n{}\n```\n")


def test_every_curl_of_a_runnable_block_fails_on_an_error_answer():
    # Without --fail-with-body a 4xx/5xx answer exits 0 and the e2e run would pass over it.
    lax = [
        f"line {block.line}: {line.strip()}"
        for block in runnable_blocks(README.read_text())
        for line in block.text.splitlines()
        if re.search(r"(^|[\s$(])curl\s", line.split("#", 1)[0]) and "--fail-with-body" not in line
    ]
    assert not lax, "curl without --fail-with-body in README.md's runnable blocks:\n" + "\n".join(lax)
