import hashlib
import subprocess
import sys
import zipfile

import pytest

from scripts import package_lambda


def _make_wheel(path, files):
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return path


@pytest.fixture
def source(tmp_path):
    package = tmp_path / "src" / "gateway"
    (package / "api").mkdir(parents=True)
    (package / "__init__.py").write_text("__version__ = '1'\n")
    (package / "api" / "routes.py").write_text("ROUTES = []\n")
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "x.cpython-312.pyc").write_bytes(b"cache")
    (package / "tests").mkdir()
    (package / "tests" / "test_x.py").write_text("def test(): pass\n")
    return tmp_path / "src"


def test_entries_hold_package_and_wheels_but_no_caches_or_tests(tmp_path, source):
    wheel = _make_wheel(
        tmp_path / "dep-1.0-py3-none-any.whl",
        {
            "dep/__init__.py": "X = 1\n",
            "dep/tests/test_dep.py": "",
            "dep-1.0.dist-info/METADATA": "Name: dep\n",
        },
    )
    entries = package_lambda.collect_entries([wheel], source)
    assert set(entries) == {
        "gateway/__init__.py",
        "gateway/api/routes.py",
        "dep/__init__.py",
        "dep-1.0.dist-info/METADATA",
    }


def test_runtime_provided_packages_are_refused(tmp_path, source):
    wheel = _make_wheel(tmp_path / "boto3-1.0-py3-none-any.whl", {"boto3/__init__.py": ""})
    with pytest.raises(SystemExit, match="provided by the Lambda runtime"):
        package_lambda.collect_entries([wheel], source)


def test_requirements_must_pin_exact_versions(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("fastapi==1.0  # pinned\nmangum>=0.1\n")
    with pytest.raises(SystemExit, match="must pin exact versions"):
        package_lambda.pinned_versions(requirements)


def test_pins_are_normalised(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# comment\nPyJWT[crypto]==2.0\ntyping_extensions==4.1\n")
    assert package_lambda.pinned_versions(requirements) == {"pyjwt": "2.0", "typing-extensions": "4.1"}


def test_zip_bytes_depend_only_on_content(tmp_path):
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    package_lambda.write_zip({"b.py": b"2", "a.py": b"1"}, first)
    package_lambda.write_zip({"a.py": b"1", "b.py": b"2"}, second)
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        assert archive.namelist() == ["a.py", "b.py"]
        assert {info.date_time for info in archive.infolist()} == {package_lambda.FIXED_TIME}
    package_lambda.write_zip({"a.py": b"1", "b.py": b"3"}, second)
    assert first.read_bytes() != second.read_bytes()


def test_real_build_is_reproducible_and_small(tmp_path):
    cache = tmp_path / "wheels"
    first = package_lambda.build(tmp_path / "one.zip", cache)
    second = package_lambda.build(tmp_path / "two.zip", cache)
    assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()
    with zipfile.ZipFile(first) as archive:
        names = archive.namelist()
    assert "gateway/main.py" in names
    assert any(name.startswith("fastapi/") for name in names)
    assert any(name.startswith("pydantic_core/") and name.endswith(".so") for name in names)
    assert not any(name.startswith(("boto3/", "botocore/")) for name in names)
    assert "gateway/__pycache__/main.cpython-312.pyc" in names
    assert "fastapi/__pycache__/applications.cpython-312.pyc" in names
    assert first.stat().st_size < 20_000_000


# Imports `app` from the folder given, spying on the compiler: prints the modules compiled from source.
_IMPORT_AND_LIST_COMPILED = """
import importlib.machinery, sys
compiled = []
to_code = importlib.machinery.SourceFileLoader.source_to_code
def spy(self, data, path, *args, **kwargs):
    compiled.append(path.rsplit("/", 1)[-1])
    return to_code(self, data, path, *args, **kwargs)
importlib.machinery.SourceFileLoader.source_to_code = spy
sys.path.insert(0, sys.argv[1])
import app.main
print(app.main.ANSWER, sorted(compiled))
"""


def _import_from(folder):
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_AND_LIST_COMPILED, str(folder)],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin"},
    )
    return result.stdout.split(" ", 1)


def test_modules_ship_with_bytecode_used_for_their_source_only(tmp_path):
    sources = {
        "app/__init__.py": b"",
        "app/main.py": b"from app.util import ANSWER\n",
        "app/util.py": b"ANSWER = 42\n",
    }
    entries = package_lambda.with_bytecode({**sources, "app/data.json": b"{}"})
    assert sorted(entries) == sorted(
        [
            *sources,
            "app/data.json",
            "app/__pycache__/__init__.cpython-312.pyc",
            "app/__pycache__/main.cpython-312.pyc",
            "app/__pycache__/util.cpython-312.pyc",
        ]
    )
    for name, content in entries.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(content)
    assert _import_from(tmp_path) == ["42", "[]\n"]  # nothing compiled at import
    # A source changed after packaging: its bytecode no longer matches, and the source is what runs.
    (tmp_path / "app" / "util.py").write_bytes(b"ANSWER = 43\n")
    assert _import_from(tmp_path) == ["43", "['util.py']\n"]


def test_the_console_ships_in_the_zip():
    entries = package_lambda.collect_entries([], package_lambda.SOURCE_DIR)
    assert "gateway/console/index.html" in entries
    assert "gateway/console/app.js" in entries
    assert "gateway/console/vendor/uplot.js" in entries
    assert "gateway/console/vendor/preact.LICENSE.txt" in entries
