#!/usr/bin/env python3
"""Benchmark: the Lambda zip's size and the handler's cold import time.

Each sample is a fresh interpreter importing the handler from the unpacked dist/lambda.zip (as the
Lambda runtime does), next to a bare FastAPI + Mangum + boto3 app in the same run; runs alternate so
both see the same machine. Prints medians and the ratio. Targets: zip < 20 MB, ratio <= 1.3.
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
RATIO_TARGET = 1.3

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

    ours_ms, bare_ms = statistics.median(ours) * 1000, statistics.median(bare) * 1000
    ratio = ours_ms / bare_ms
    print(
        f"zip size:              {size_mb:7.2f} MB   (target < {ZIP_TARGET_MB:.0f} MB)"
        f"  {'ok' if size_mb < ZIP_TARGET_MB else 'OVER'}"
    )
    print(f"cold import, handler:  {ours_ms:7.1f} ms  (median of {args.runs}, fresh interpreter)")
    print(f"cold import, bare app: {bare_ms:7.1f} ms  (FastAPI + Mangum + boto3)")
    print(
        f"ratio:                 {ratio:7.2f}      (target <= {RATIO_TARGET})"
        f"  {'ok' if ratio <= RATIO_TARGET else 'OVER'}"
    )


if __name__ == "__main__":
    main()
