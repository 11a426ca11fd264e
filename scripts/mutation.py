"""Mutation testing of the modules that hold the rules (`make mutation`), with mutmut.

Each module is mutated in a copy of the repository of its own (.local/mutation/<module>/), against the test
files that cover it (MODULES below): mutmut then runs, for each mutant, only those of these tests that reach
the mutated function, fastest first. Every mutant meets the module's fast tests; only those they leave alive
meet its slow API tests, in a second copy (.local/mutation/<module>-api/). A module's run stops at its time
bound; the survivors are printed, and those listed in
tests/mutation/equivalent.md (mutants that change no behaviour, each with its reason) are counted apart.

  .venv/bin/python scripts/mutation.py                     every module, in order
  .venv/bin/python scripts/mutation.py limits pricing      some modules
  MUTATION_MINUTES=30 MUTATION_CHILDREN=2 ...               the overall time bound, parallel mutants

Exit status: 1 when an unlisted mutant survived, 0 otherwise. Scores go to .local/mutation/scores.txt.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / ".local" / "mutation"
EQUIVALENT = REPO / "tests" / "mutation" / "equivalent.md"
UNIT = "tests/unit/gateway"
SECONDS_KEPT_FOR_EACH_LATER_MODULE = 60


@dataclass(frozen=True)
class Module:
    source: str
    # Fast tests (services, in memory): every mutant runs against those that reach it.
    tests: tuple[str, ...]
    # Slow tests (the API through moto): only the mutants the fast tests left alive run against them.
    api_tests: tuple[str, ...] = ()


MODULES: dict[str, Module] = {
    "limits": Module(
        "lambda_src/gateway/services/limits.py",
        (f"{UNIT}/services/test_limits.py",),
        (f"{UNIT}/api/test_limits.py",),
    ),
    "pricing": Module("lambda_src/gateway/services/pricing.py", (f"{UNIT}/services/test_pricing.py",)),
    "policies": Module(
        "lambda_src/gateway/services/policies.py",
        (f"{UNIT}/services/test_policies.py", f"{UNIT}/auth/test_groups.py"),
    ),
    "groups": Module(
        "lambda_src/gateway/auth/groups.py",
        (f"{UNIT}/auth/test_groups.py",),
        (f"{UNIT}/api/test_me.py",),
    ),
    "model_formats": Module(
        "lambda_src/gateway/providers/model_formats.py",
        (f"{UNIT}/providers/test_model_formats.py",),
    ),
    "tokens": Module("lambda_src/gateway/auth/tokens.py", (f"{UNIT}/auth/test_tokens.py",)),
    "usage": Module(
        "lambda_src/gateway/repositories/usage.py",
        (f"{UNIT}/repositories/test_usage.py",),
        (f"{UNIT}/services/test_metering_faults.py", f"{UNIT}/api/test_limits.py"),
    ),
    "metering": Module(
        "lambda_src/gateway/services/models.py",
        (f"{UNIT}/services/test_models.py",),
        (
            f"{UNIT}/services/test_models_failures.py",
            f"{UNIT}/services/test_metering_faults.py",
            f"{UNIT}/api/test_limits.py",
            f"{UNIT}/api/test_bedrock.py",
        ),
    ),
    "api_keys": Module(
        "lambda_src/gateway/services/api_keys.py",
        (f"{UNIT}/services/test_api_keys.py",),
        (f"{UNIT}/api/test_me.py", f"{UNIT}/api/test_auth.py"),
    ),
    "publications": Module(
        "lambda_src/gateway/services/publications.py",
        (f"{UNIT}/services/test_publications.py",),
        (f"{UNIT}/api/test_publications.py",),
    ),
    "bots": Module(
        "lambda_src/gateway/services/bots.py",
        (f"{UNIT}/services/test_bots.py",),
        (f"{UNIT}/api/test_bots.py",),
    ),
}

# What a module's copy needs besides the source and the tests.
COPIED = ("tests", "pyproject.toml", "scripts", "terraform")


def equivalent_mutants() -> set[str]:
    """Mutant names listed in the equivalent-mutants file (first backticked name of each list item)."""
    if not EQUIVALENT.exists():
        return set()
    return set(re.findall(r"^- `([^`]+)`", EQUIVALENT.read_text(), re.M))


def prepare(name: str, source: str, tests: tuple[str, ...]) -> Path:
    work = WORK / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    # mutmut imports mutated code from mutants/src: the copy holds the app there (modules stay gateway.*).
    shutil.copytree(REPO / "lambda_src", work / "src", ignore=shutil.ignore_patterns("__pycache__"))
    for entry in COPIED:
        path = REPO / entry
        if path.is_dir():
            shutil.copytree(path, work / entry, ignore=shutil.ignore_patterns("__pycache__", ".terraform*"))
        else:
            shutil.copy2(path, work / entry)
    pyproject = (work / "pyproject.toml").read_text()
    pyproject = pyproject.replace('pythonpath = ["lambda_src", "."]', 'pythonpath = ["src", "."]')
    config = (
        "\n[tool.mutmut]\n"
        'source_paths = ["src"]\n'
        f'only_mutate = ["{source.replace("lambda_src/", "src/", 1)}"]\n'
        f"pytest_add_cli_args_test_selection = {list(tests)!r}\n"
        # a mutant's tests fastest first (-x stops at the first that fails): see tests/mutation/fast_first.py
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-p", "tests.mutation.fast_first", "-q"]\n'
        'also_copy = ["scripts", "terraform"]\n'
    ).replace("'", '"')
    (work / "pyproject.toml").write_text(pyproject + config)
    return work


def results(work: Path) -> dict[str, str]:
    listing = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        cwd=work,
        capture_output=True,
        text=True,
    ).stdout
    found = {}
    for line in listing.splitlines():
        mutant, _, status = line.strip().partition(": ")
        if status:
            found[mutant] = status.strip()
    return found


def mutmut_run(work: Path, seconds: float, children: int, mutants: list[str] | None = None) -> bool:
    """Run mutmut in `work` (only `mutants` when given); False when it was stopped at its time bound."""
    if seconds <= 0:
        return False
    # A session of its own: at the bound, mutmut and the workers it forked stop together.
    process = subprocess.Popen(
        [sys.executable, "-m", "mutmut", "run", "--max-children", str(children), *(mutants or [])],
        cwd=work,
        env={**os.environ, "PYTHONPATH": str(work)},
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return False
    except BaseException:  # interrupted (Ctrl-C, or SIGTERM: see main): the session goes with us
        os.killpg(process.pid, signal.SIGKILL)
        raise
    return True


def run(name: str, seconds: float, children: int) -> tuple[int, int, list[str]]:
    """Killed, total and surviving mutants of one module: every mutant against the fast tests, then those
    they left alive (survived, or reached by none) against the API tests, in a second copy."""
    module = MODULES[name]
    deadline = time.monotonic() + seconds
    work = prepare(name, module.source, module.tests)
    finished = mutmut_run(work, seconds, children)
    found = results(work)
    # Listed equivalent mutants survive any test: not worth the slow tests' time.
    known = equivalent_mutants()
    alive = sorted(m for m, status in found.items() if status in ("survived", "no tests") and m not in known)
    if finished and alive and module.api_tests:
        api_work = prepare(f"{name}-api", module.source, module.api_tests)
        finished = mutmut_run(api_work, deadline - time.monotonic(), children, alive)
        for mutant, status in results(api_work).items():
            if mutant in alive and status != "not checked":
                found[mutant] = status
    if not finished:
        print(f"{name}: stopped at its time bound ({seconds:.0f} s): {len(found)} mutants seen")
    killed = sum(1 for status in found.values() if status in ("killed", "timeout", "segfault"))
    survivors = sorted(m for m, status in found.items() if status == "survived")
    return killed, len(found), survivors


def module_seconds(left: float, modules_after: int) -> float:
    """A module's share of the time left: all of it but a minute for each module still to come, and never less
    than an equal share. Modules differ a hundredfold in cost (metering's mutants take about 8 minutes here,
    pricing's seconds): equal shares cut the costly ones in a run that fits its bound as a whole."""
    return max(left / (modules_after + 1), left - SECONDS_KEPT_FOR_EACH_LATER_MODULE * modules_after)


def main(argv: list[str]) -> int:
    names = argv or list(MODULES)
    unknown = [n for n in names if n not in MODULES]
    if unknown:
        print(f"unknown modules: {unknown}; known: {list(MODULES)}")
        return 2
    # Terminated like interrupted, so that mutmut's session (not in our process group) is stopped too.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    budget = float(os.environ.get("MUTATION_MINUTES", "30")) * 60
    children = int(os.environ.get("MUTATION_CHILDREN", "2"))
    started = time.monotonic()
    equivalent = equivalent_mutants()
    unexplained: list[str] = []
    lines = []
    for index, name in enumerate(names):
        left = budget - (time.monotonic() - started)
        if left <= 30:
            lines.append(f"{name}: not run (time bound reached)")
            continue
        killed, total, survivors = run(name, module_seconds(left, len(names) - index - 1), children)
        score = f"{100 * killed / total:.1f} %" if total else "n/a"
        explained = [m for m in survivors if m in equivalent]
        lines.append(
            f"{name}: {killed}/{total} killed ({score}); "
            f"{len(survivors)} survived, {len(explained)} equivalent"
        )
        for mutant in survivors:
            if mutant not in equivalent:
                unexplained.append(mutant)
                print(f"SURVIVED {mutant}   (see: cd {WORK / name} && mutmut show '{mutant}')")
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "scores.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
