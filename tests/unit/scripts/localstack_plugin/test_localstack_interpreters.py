import json

import pytest
from gateway_localstack.lambda_executor.interpreters import InterpreterError, interpreter_for, parse_map


def test_declared_python38_runs_on_the_mapped_interpreter():
    raw = json.dumps({"python3.8": "/venvs/py312/bin/python", "python3.12": "/venvs/py312/bin/python"})

    assert interpreter_for("python3.8", raw) == "/venvs/py312/bin/python"
    assert interpreter_for("python3.12", raw) == "/venvs/py312/bin/python"


def test_unmapped_runtime_names_what_is_configured():
    raw = json.dumps({"python3.8": "/x/python"})

    with pytest.raises(InterpreterError, match=r"'python3\.11'.*LAMBDA_SUBPROCESS_PYTHON.*python3\.8"):
        interpreter_for("python3.11", raw)


@pytest.mark.parametrize("runtime", ["nodejs20.x", "provided.al2023", None, ""])
def test_non_python_runtimes_are_refused(runtime):
    with pytest.raises(InterpreterError, match="Python runtimes only"):
        interpreter_for(runtime, json.dumps({"python3.12": "/x/python"}))


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_unset_map_is_empty(raw):
    assert parse_map(raw) == {}
    with pytest.raises(InterpreterError, match="configured: none"):
        interpreter_for("python3.12", raw)


@pytest.mark.parametrize(
    "raw",
    ["/usr/bin/python3", "{not json", '["python3.12"]', '{"python3.12": 3}', '{"python3.12": ""}'],
)
def test_malformed_map_is_refused(raw):
    with pytest.raises(InterpreterError, match="LAMBDA_SUBPROCESS_PYTHON"):
        parse_map(raw)
