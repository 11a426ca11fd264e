#!/usr/bin/env python3
"""Build dist/lambda.zip reproducibly: the same inputs give the same bytes.

The zip holds the `gateway` package and its pinned dependencies (lambda_src/requirements.txt) as
manylinux wheels for the Lambda runtime (CPython 3.12, x86_64), unpacked. boto3 is not bundled: the
function uses the runtime's copy. Entries are sorted, timestamps and permissions fixed, and no
caches or tests are included.

Every module ships with its bytecode (`__pycache__/*.cpython-312.pyc`): the function's code directory is
read-only, so without it each cold start compiles every module it imports, about half of the import time.
The bytecode is hash-checked (PEP 552): valid for exactly the source next to it, whatever the file times,
and ignored (the source compiled as before) should that source ever change.
"""

import argparse
import hashlib
import importlib.util
import marshal
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCE_DIR = REPO / "lambda_src"
PACKAGE = "gateway"
REQUIREMENTS = SOURCE_DIR / "requirements.txt"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
LAMBDA_PYTHON = "3.12"
LAMBDA_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")
EXCLUDED_DIRS = {"__pycache__", "tests", "test"}
EXCLUDED_SUFFIXES = {".pyc", ".pyo"}
# Left to the Lambda runtime's copy; refused here so a transitive pin cannot sneak them in.
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath"}


def download_wheels(requirements: Path, wheel_dir: Path) -> list[Path]:
    wheel_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        LAMBDA_PYTHON,
        "--dest",
        str(wheel_dir),
        "-r",
        str(requirements),
    ]
    for platform in LAMBDA_PLATFORMS:
        command += ["--platform", platform]
    # pip's chatter goes to the terminal only when it fails.
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"package: pip download failed (exit {result.returncode})")
    # The cache may hold other versions of a package: take exactly the pinned one.
    wanted = set(pinned_versions(requirements).items())
    wheels = sorted(p for p in wheel_dir.glob("*.whl") if _wheel_identity(p) in wanted)
    if missing := wanted - {_wheel_identity(p) for p in wheels}:
        raise SystemExit(f"package: no wheel downloaded for {sorted(missing)}")
    return wheels


def pinned_versions(requirements: Path) -> dict[str, str]:
    pins = {}
    for line in _requirement_lines(requirements):
        name, separator, version = line.partition("==")
        if not separator:
            raise SystemExit(f"package: {requirements.name} must pin exact versions, got {line!r}")
        pins[_normalise(name.split("[")[0])] = version.strip()
    return pins


def _wheel_identity(wheel: Path) -> tuple[str, str]:
    name, version = wheel.name.split("-")[:2]
    return _normalise(name), version


def _requirement_lines(requirements: Path) -> list[str]:
    lines = []
    for raw in requirements.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def _normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _included(relative: Path) -> bool:
    return not (set(relative.parts) & EXCLUDED_DIRS) and relative.suffix not in EXCLUDED_SUFFIXES


def collect_entries(wheels: list[Path], source_dir: Path) -> dict[str, bytes]:
    """Archive path -> content, from the wheels and the app package; later sources never overwrite."""
    entries: dict[str, bytes] = {}
    for wheel in wheels:
        if _normalise(wheel.name.split("-")[0]) in RUNTIME_PROVIDED:
            raise SystemExit(f"package: {wheel.name} is provided by the Lambda runtime; remove its pin")
        with zipfile.ZipFile(wheel) as archive:
            for info in archive.infolist():
                if info.is_dir() or not _included(Path(info.filename)):
                    continue
                entries.setdefault(info.filename, archive.read(info))
    for path in sorted((source_dir / PACKAGE).rglob("*")):
        relative = path.relative_to(source_dir)
        if path.is_file() and _included(relative):
            entries[relative.as_posix()] = path.read_bytes()
    return entries


def with_bytecode(entries: dict[str, bytes]) -> dict[str, bytes]:
    """The entries plus, for each module, the bytecode the Lambda runtime (CPython 3.12) loads instead of
    compiling it: magic number, flags (hash-based, checked), the source's hash, the marshalled code."""
    if sys.version_info[:2] != tuple(int(part) for part in LAMBDA_PYTHON.split(".")):
        raise SystemExit(f"package: bytecode for python{LAMBDA_PYTHON} needs that interpreter to build it")
    checked_hash = (0b11).to_bytes(4, "little")
    with_pyc = dict(entries)
    for name, source in entries.items():
        if not name.endswith(".py"):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # dependencies' own SyntaxWarnings: not ours to fix
                code = compile(source, name, "exec", dont_inherit=True)
        except SyntaxError:
            continue  # e.g. a template shipped as .py: the runtime would refuse it too, if ever imported
        folder, _, filename = name.rpartition("/")
        cached = f"__pycache__/{filename[:-3]}.{sys.implementation.cache_tag}.pyc"
        header = importlib.util.MAGIC_NUMBER + checked_hash + importlib.util.source_hash(source)
        with_pyc[f"{folder}/{cached}" if folder else cached] = header + marshal.dumps(code)
    return with_pyc


def write_zip(entries: dict[str, bytes], output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # unix, whatever the build host
            archive.writestr(info, entries[name])
    partial.replace(output)


def build(output: Path, wheel_cache: Path) -> Path:
    wheels = download_wheels(REQUIREMENTS, wheel_cache)
    write_zip(with_bytecode(collect_entries(wheels, SOURCE_DIR)), output)
    return output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=REPO / "dist" / "lambda.zip")
    parser.add_argument("--wheel-cache", type=Path, default=REPO / ".local" / "wheels")
    args = parser.parse_args()
    output = build(args.output, args.wheel_cache)
    size = output.stat().st_size
    digest = hashlib.sha256(output.read_bytes()).hexdigest()
    print(
        f"{output.relative_to(REPO) if output.is_relative_to(REPO) else output}: "
        f"{size / 1_000_000:.2f} MB ({size} bytes), sha256 {digest}"
    )


if __name__ == "__main__":
    main()
