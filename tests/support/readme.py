"""README.md's runnable examples: found, and turned into one shell session that runs them in order.

A fenced block is runnable when the line before its fence is `<!-- runnable -->`; one that is not meant to
run says why on that line instead (`<!-- not runnable: needs an AWS account -->`). Shell blocks (`sh`,
`bash`) run as pasted in one bash session, so a variable set in one block is there in the next; a Python
block runs with the virtual environment's interpreter, which has `openai`, and sees the session's exported
variables, as it would if a reader saved it to a file and ran `.venv/bin/python` on it.
"""

import re
from dataclasses import dataclass

RUNNABLE = "<!-- runnable -->"
NOT_RUNNABLE = re.compile(r"<!-- not runnable: .+ -->")
SHELL_LANGUAGES = {"sh", "bash", "shell"}
CODE_LANGUAGES = SHELL_LANGUAGES | {"python"}
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<language>[\w-]*)\s*$")
# What the session prints before each block, so a failure names the block that failed.
BLOCK_BANNER = "::readme-block {number} (README.md line {line})"


@dataclass(frozen=True)
class Block:
    language: str
    text: str
    line: int  # of the opening fence, 1-based
    runnable: bool
    marked: bool  # runnable, or not runnable with a reason

    @property
    def is_code(self) -> bool:
        return self.language in CODE_LANGUAGES


def fenced_blocks(markdown: str) -> list[Block]:
    """Every fenced block, with whether the line before its fence marks it."""
    lines = markdown.splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        indent = len(opening["indent"])
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        if end == len(lines):
            raise ValueError(f"the fence at line {index + 1} is never closed")
        body = "\n".join(line[indent:] for line in lines[index + 1 : end])
        before = lines[index - 1].strip() if index else ""
        blocks.append(
            Block(
                language=opening["language"],
                text=body + "\n",
                line=index + 1,
                runnable=before == RUNNABLE,
                marked=before == RUNNABLE or bool(NOT_RUNNABLE.fullmatch(before)),
            )
        )
        index = end + 1
    return blocks


def runnable_blocks(markdown: str) -> list[Block]:
    blocks = [block for block in fenced_blocks(markdown) if block.runnable]
    for block in blocks:
        if not block.is_code:
            raise ValueError(f"the block at line {block.line} is marked runnable but is `{block.language}`")
    return blocks


def session_script(blocks: list[Block], python: str = ".venv/bin/python") -> str:
    """One bash script that runs the blocks in order and stops at the first failing command."""
    parts = ["set -euo pipefail"]
    for number, block in enumerate(blocks, 1):
        parts.append(f"echo '{BLOCK_BANNER.format(number=number, line=block.line)}'")
        if block.language == "python":
            delimiter = "README_PYTHON_BLOCK"
            if delimiter in block.text:
                raise ValueError(f"the block at line {block.line} contains {delimiter}")
            parts.append(f"{python} - <<'{delimiter}'\n{block.text}{delimiter}")
        else:
            parts.append(block.text)
    parts.append("echo '::readme-end'")
    return "\n".join(parts) + "\n"


def outputs_by_block(output: str) -> dict[int, str]:
    """What each block printed, by block number, from a session's output."""
    printed: dict[int, list[str]] = {}
    current = None
    for line in output.splitlines():
        banner = re.fullmatch(r"::readme-block (\d+) \(README\.md line \d+\)", line)
        if banner:
            current = int(banner[1])
            printed[current] = []
        elif line == "::readme-end":
            current = None
        elif current is not None:
            printed[current].append(line)
    return {number: "\n".join(lines) for number, lines in printed.items()}
