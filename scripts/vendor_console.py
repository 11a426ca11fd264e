#!/usr/bin/env python3
"""Refresh the console's vendored JavaScript libraries from npm: `python scripts/vendor_console.py`.

The console needs no build step: its pages are plain ES modules, and the few libraries it uses are copied
here, pinned, each with its licence. This script is the only place that knows their versions; it fetches each
package with `npm pack` (the registry's own client; node is needed only to refresh, never to package or run
the console), checks the tarball against the registry's integrity hash, copies the browser files, rewrites
bare imports ("preact") to the vendored file (browsers resolve only relative URLs without an import map, and
an import map is an inline script the console's Content-Security-Policy forbids), and records what it copied
in VENDOR.json.
"""

import argparse
import base64
import hashlib
import json
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENDOR_DIR = REPO / "lambda_src" / "gateway" / "console" / "vendor"


@dataclass(frozen=True)
class Vendored:
    package: str
    version: str
    licence: str
    files: dict[str, str]  # path in the package -> file name under vendor/
    imports: dict[str, str]  # bare specifier -> vendored file it stands for


LIBRARIES = (
    Vendored(
        "preact",
        "10.29.8",
        "MIT",
        {"dist/preact.module.js": "preact.js", "hooks/dist/hooks.module.js": "preact-hooks.js"},
        {"preact": "./preact.js"},
    ),
    Vendored("htm", "3.1.1", "Apache-2.0", {"dist/htm.module.js": "htm.js"}, {}),
    Vendored(
        "uplot", "1.6.32", "MIT", {"dist/uPlot.esm.js": "uplot.js", "dist/uPlot.min.css": "uplot.css"}, {}
    ),
)
LICENCE_NAMES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "license")


def npm_pack(library: Vendored, workdir: Path) -> Path:
    spec = f"{library.package}@{library.version}"
    result = subprocess.run(
        ["npm", "pack", spec, "--json", "--pack-destination", str(workdir)],
        capture_output=True,
        text=True,
        check=False,
        cwd=workdir,
    )
    if result.returncode != 0:
        raise SystemExit(f"vendor: npm pack {spec} failed:\n{result.stderr[-2000:]}")
    packed = json.loads(result.stdout)[0]
    tarball = workdir / packed["filename"]
    algorithm, _, expected = packed["integrity"].partition("-")
    digest = base64.b64encode(hashlib.new(algorithm, tarball.read_bytes()).digest()).decode()
    if digest != expected:
        raise SystemExit(f"vendor: {spec} does not match its integrity hash")
    return tarball


def rewrite_imports(source: str, imports: dict[str, str]) -> str:
    for bare, relative in imports.items():
        for quote in ('"', "'"):
            source = source.replace(f"from{quote}{bare}{quote}", f"from{quote}{relative}{quote}")
            source = source.replace(f"from {quote}{bare}{quote}", f"from {quote}{relative}{quote}")
    return source


def vendor(library: Vendored, tarball: Path, target: Path) -> dict:
    with tarfile.open(tarball) as archive:
        members = {member.name.removeprefix("package/"): member for member in archive.getmembers()}

        def read(name: str) -> bytes:
            extracted = archive.extractfile(members[name])
            assert extracted is not None, name
            return extracted.read()

        copied = {}
        for source, name in library.files.items():
            content = read(source)
            if name.endswith(".js"):
                content = rewrite_imports(content.decode(), library.imports).encode()
            (target / name).write_bytes(content)
            copied[name] = hashlib.sha256(content).hexdigest()
        licence = next((n for n in LICENCE_NAMES if n in members), None)
        if licence is None:
            raise SystemExit(f"vendor: {library.package} ships no licence file")
        (target / f"{library.package}.LICENSE.txt").write_bytes(read(licence))
    return {"version": library.version, "licence": library.licence, "files": copied}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=Path, default=VENDOR_DIR)
    args = parser.parse_args()
    args.target.mkdir(parents=True, exist_ok=True)
    record = {}
    with tempfile.TemporaryDirectory() as workdir:
        for library in LIBRARIES:
            record[library.package] = vendor(library, npm_pack(library, Path(workdir)), args.target)
            print(f"vendor: {library.package}@{library.version} ({library.licence})")
    (args.target / "VENDOR.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
