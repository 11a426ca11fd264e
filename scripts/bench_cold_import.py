#!/usr/bin/env python3
"""Benchmark: the Lambda zip's size and the handler's cold import time.

Each sample is a fresh interpreter importing the handler from the unpacked dist/lambda.zip (as the
Lambda runtime does), next to a bare FastAPI + Mangum + boto3 app in the same run; runs alternate so
both see the same machine. Prints medians, the ratio, the ten slowest imports (self time, from
`python -X importtime`) and what the modules loaded on first use cost the first request that needs them.
The routers are included on the first request that may reach them (gateway/lazy_routers.py): for each, the
routing of a first request in a fresh process (its imports and route building) next to what including every
router at start would cost the import; none may cost more than that saving.
Targets: zip < 20 MB, ratio <= 1.0, no first request dearer than the saving; exits 1 when one is missed.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ZIP_TARGET_MB = 20.0
RATIO_TARGET = 1.0

# The child measures only the import, not interpreter start-up, and prints seconds.
_MEASURE = textwrap.dedent(
    """
    import importlib, sys, time
    sys.path.insert(0, {code_dir!r})
    start = time.perf_counter()
    module = importlib.import_module({module!r})
    getattr(module, "handler")
    print(time.perf_counter() - start)
    """
)

# Loaded on first use, not at cold start: (what, the statement the first such request runs).
_DEFERRED = (
    ("PyJWT + cryptography (first bearer token, sign-in)", "import jwt.algorithms"),
    (
        "jsonpath-ng (first InvokeModel response)",
        "from gateway.providers.model_formats import extract; extract('$.a', {'a': 1})",
    ),
    ("sqlite3 (first bot with documents)", "import sqlite3"),
)

# The child imports the handler, then times each deferred statement in turn; prints one line each.
_MEASURE_DEFERRED = textwrap.dedent(
    """
    import importlib, sys, time
    sys.path.insert(0, {code_dir!r})
    importlib.import_module("gateway.main")
    for statement in {statements!r}:
        start = time.perf_counter()
        exec(statement)
        print(time.perf_counter() - start)
    """
)

# A first request to each router: (method, path). Routing it includes the routers its path may reach.
_FIRST_REQUESTS = (
    ("GET", "/health"),
    ("POST", "/login"),
    ("GET", "/me"),
    ("POST", "/bedrock"),
    ("POST", "/conversations"),
    ("POST", "/v1/chat/completions"),
    ("POST", "/v1/embeddings"),
    ("GET", "/bots/store"),
    ("POST", "/published/bots/b0/messages"),
    ("GET", "/admin/listUsers"),
    ("GET", "/admin/analytics"),
    ("PATCH", "/admin/bots/b0"),
)

# The child imports the handler, then routes one request as Starlette does (first full match wins); prints
# the seconds the routing took.
_MEASURE_FIRST_REQUEST = textwrap.dedent(
    """
    import importlib, sys, time
    sys.path.insert(0, {code_dir!r})
    app = importlib.import_module("gateway.main").app
    scope = {{"type": "http", "method": {method!r}, "path": {path!r}, "root_path": "", "headers": []}}
    start = time.perf_counter()
    for route in list(app.router.routes):
        match, _ = route.matches(dict(scope))
        if match.name == "FULL":
            break
    else:
        raise SystemExit("no route for " + {path!r})
    print(time.perf_counter() - start)
    """
)

# The child imports the handler, then includes every router, as an app built at import would have.
_MEASURE_ALL_ROUTERS = textwrap.dedent(
    """
    import importlib, sys, time
    sys.path.insert(0, {code_dir!r})
    main = importlib.import_module("gateway.main")
    start = time.perf_counter()
    main.include_lazy_routers(main.app)
    print(time.perf_counter() - start)
    """
)

_BARE_APP = textwrap.dedent(
    """
    import boto3
    from fastapi import FastAPI
    from mangum import Mangum

    app = FastAPI()

    @app.get("/health")
    def health():
        return {"status": "ok"}

    handler = Mangum(app, lifespan="off")
    """
)


def sample(python: str, code_dir: Path, module: str, env: dict[str, str]) -> float:
    script = _MEASURE.format(code_dir=str(code_dir), module=module)
    result = subprocess.run(
        [python, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=code_dir,
    )
    return float(result.stdout.strip().splitlines()[-1])


def slowest_imports(python: str, code_dir: Path, module: str, env: dict[str, str], count: int) -> list[str]:
    """The `count` imports with the largest self time, one `python -X importtime` run."""
    result = subprocess.run(
        [python, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=code_dir,
    )
    rows = []
    for line in result.stderr.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if len(fields) != 3 or not fields[0].strip().isdigit():
            continue  # the header line
        rows.append((int(fields[0]), int(fields[1]), fields[2].strip()))
    rows.sort(reverse=True)
    return [
        f"{own / 1000:7.1f} ms self {total / 1000:8.1f} ms cumulative  {name}"
        for own, total, name in rows[:count]
    ]


def deferred_costs(python: str, code_dir: Path, env: dict[str, str], runs: int) -> list[float]:
    """Median seconds each deferred module costs the first request needing it, after the import."""
    script = _MEASURE_DEFERRED.format(code_dir=str(code_dir), statements=[s for _, s in _DEFERRED])
    samples = []
    for _ in range(runs):
        result = subprocess.run(
            [python, "-c", script], capture_output=True, text=True, check=True, env=env, cwd=code_dir
        )
        samples.append([float(value) for value in result.stdout.split()])
    return [statistics.median(column) for column in zip(*samples, strict=True)]


def router_costs(python: str, code_dir: Path, env: dict[str, str], rounds: int) -> tuple[float, list[float]]:
    """Median seconds, each sample in a fresh process after the import: including every router, and routing
    each first request. Sampled in rounds, one of each per round, so that all see the same machine."""
    scripts = [_MEASURE_ALL_ROUTERS.format(code_dir=str(code_dir))] + [
        _MEASURE_FIRST_REQUEST.format(code_dir=str(code_dir), method=method, path=path)
        for method, path in _FIRST_REQUESTS
    ]
    samples: list[list[float]] = [[] for _ in scripts]
    for _ in range(rounds):
        for script, column in zip(scripts, samples, strict=True):
            result = subprocess.run(
                [python, "-c", script], capture_output=True, text=True, check=True, env=env, cwd=code_dir
            )
            column.append(float(result.stdout.strip().splitlines()[-1]))
    all_routers, *first_requests = [statistics.median(column) for column in samples]
    return all_routers, first_requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zip", type=Path, default=REPO / "dist" / "lambda.zip")
    parser.add_argument("--runs", type=int, default=9, help="samples per app (median reported, >= 7)")
    args = parser.parse_args()
    if args.runs < 7:
        parser.error("--runs must be at least 7")

    size_mb = args.zip.stat().st_size / 1_000_000
    with tempfile.TemporaryDirectory() as scratch:
        app_dir = Path(scratch) / "app"
        with zipfile.ZipFile(args.zip) as archive:
            archive.extractall(app_dir)
        # The bare app sees the same dependency versions: it runs from the same unpacked zip.
        (app_dir / "bare_app.py").write_text(_BARE_APP)
        env = {"PYTHONDONTWRITEBYTECODE": "1", "GATEWAY_ENVIRONMENT": "test", "PATH": "/usr/bin:/bin"}
        ours, bare = [], []
        for _ in range(args.runs):
            ours.append(sample(sys.executable, app_dir, "gateway.main", env))
            bare.append(sample(sys.executable, app_dir, "bare_app", env))
        slowest = slowest_imports(sys.executable, app_dir, "gateway.main", env, 10)
        deferred = deferred_costs(sys.executable, app_dir, env, args.runs)
        # Fewer rounds than import samples: each is thirteen processes.
        rounds = max(5, args.runs // 2)
        all_routers, first_requests = router_costs(sys.executable, app_dir, env, rounds)

    ours_ms, bare_ms = statistics.median(ours) * 1000, statistics.median(bare) * 1000
    ratio = ours_ms / bare_ms
    print(
        f"zip size:              {size_mb:7.2f} MB   target: < {ZIP_TARGET_MB:.0f} MB"
        f"  {'ok' if size_mb < ZIP_TARGET_MB else 'MISSED'}"
    )
    print(f"cold import, handler:  {ours_ms:7.1f} ms  (median of {args.runs}, fresh interpreter)")
    print(f"cold import, bare app: {bare_ms:7.1f} ms  (FastAPI + Mangum + boto3)")
    print(
        f"ratio:                 {ratio:7.2f}      target: <= {RATIO_TARGET}"
        f"  {'ok' if ratio <= RATIO_TARGET else 'MISSED'}"
    )
    print("ten slowest imports of the handler (python -X importtime, one run):")
    for line in slowest:
        print(f"  {line}")
    print("loaded on first use (once per process, by the first request that needs it; median):")
    for (what, _), seconds in zip(_DEFERRED, deferred, strict=True):
        print(f"  {seconds * 1000:7.1f} ms  {what}")
    print(
        f"routers on first request: all of them at start would add {all_routers * 1000:.1f} ms to the import;"
        f" a first request's routing costs (median of {rounds}, fresh process each):"
    )
    for (method, path), seconds in zip(_FIRST_REQUESTS, first_requests, strict=True):
        print(f"  {seconds * 1000:7.1f} ms  {method} {path}")
    dearest = max(first_requests)
    print(
        f"dearest first request: {dearest * 1000:7.1f} ms  target: <= the {all_routers * 1000:.1f} ms saved"
        f"  {'ok' if dearest <= all_routers else 'MISSED'}"
    )
    if size_mb >= ZIP_TARGET_MB or ratio > RATIO_TARGET or dearest > all_routers:
        sys.exit(1)


if __name__ == "__main__":
    main()
