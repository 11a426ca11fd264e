"""The Lambda worker, started as a real subprocess on small handlers (no LocalStack involved)."""

import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from gateway_localstack.lambda_executor.process import WorkerProcess, WorkerStartError

ARN = "arn:aws:lambda:us-east-1:000000000000:function:fn"


def make_worker(tmp_path: Path, code: str, handler: str = "app.handler", timeout: float = 5.0, files=None):
    task_root = tmp_path / "task"
    task_root.mkdir(exist_ok=True)
    (task_root / "app.py").write_text(textwrap.dedent(code))
    for name, text in (files or {}).items():
        (task_root / name).parent.mkdir(parents=True, exist_ok=True)
        (task_root / name).write_text(textwrap.dedent(text))
    env = {
        "PATH": os.environ.get("PATH", ""),
        "LAMBDA_TASK_ROOT": str(task_root),
        "_HANDLER": handler,
        "AWS_LAMBDA_FUNCTION_NAME": "fn",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(timeout),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
    }
    return WorkerProcess(sys.executable, env, tmp_path / "logs" / "output.log", timeout=timeout)


@pytest.fixture
def worker_for(tmp_path):
    workers = []

    def start(code, **kwargs):
        worker = make_worker(tmp_path, code, **kwargs)
        workers.append(worker)
        worker.start()
        return worker

    yield start
    for worker in workers:
        worker.stop()


def invoke(worker, event=None):
    request_id = str(uuid.uuid4())
    outcome = worker.invoke(request_id, ARN, json.dumps(event))
    return request_id, outcome, json.loads(outcome.payload)


def test_result_is_returned_with_the_lambda_log_frame(worker_for):
    worker = worker_for(
        """
        def handler(event, context):
            return {"statusCode": 200, "body": event["name"], "rid": context.aws_request_id,
                    "arn": context.invoked_function_arn, "left": context.get_remaining_time_in_millis() > 0}
        """
    )

    rid, outcome, payload = invoke(worker, {"name": "ada"})

    assert outcome.ok
    assert payload == {"statusCode": 200, "body": "ada", "rid": rid, "arn": ARN, "left": True}
    lines = outcome.logs.splitlines()
    assert lines[0] == f"START RequestId: {rid} Version: $LATEST"
    assert lines[-2] == f"END RequestId: {rid}"
    assert lines[-1].startswith(f"REPORT RequestId: {rid}\tDuration: ")
    assert "Memory Size: 256 MB" in lines[-1]


def test_everything_the_function_writes_is_in_its_logs(worker_for):
    worker = worker_for(
        """
        import logging, os, subprocess, sys
        logging.basicConfig(level=logging.INFO)   # binds sys.stderr at import time
        print("init line")

        def handler(event, context):
            print("print line")
            logging.getLogger("app").info("logging line")
            os.write(2, b"fd two line\\n")
            subprocess.run(["echo", "child process line"], check=True)
            sys.stdout.write("no newline at the end")
            return None
        """
    )

    _, first, payload = invoke(worker)
    _, second, _ = invoke(worker)

    assert payload is None
    for line in ("init line", "print line", "INFO:app:logging line", "fd two line", "child process line"):
        assert line in first.logs
    assert "no newline at the end\nEND RequestId" in first.logs
    assert "init line" not in second.logs  # init output belongs to the first invocation only
    assert "print line" in second.logs


def test_exception_becomes_an_error_payload_and_a_logged_traceback(worker_for):
    worker = worker_for(
        """
        def handler(event, context):
            raise ValueError("bad input")
        """
    )

    rid, outcome, payload = invoke(worker)

    assert not outcome.ok
    assert payload["errorType"] == "ValueError"
    assert payload["errorMessage"] == "bad input"
    assert payload["requestId"] == rid
    assert payload["stackTrace"]
    assert "[ERROR] ValueError: bad input" in outcome.logs
    assert "Traceback (most recent call last)" in outcome.logs
    assert invoke(worker)[1].ok is False  # the environment stays usable


def test_timeout_kills_the_worker_keeps_its_logs_and_the_next_invoke_starts_fresh(worker_for):
    worker = worker_for(
        """
        import time
        STARTED = time.time()

        def handler(event, context):
            if event == "sleep":
                print("going to sleep")
                time.sleep(60)
            return STARTED
        """,
        timeout=0.5,
    )
    _, _, started_before = invoke(worker)
    pid_before = worker.pid

    rid, outcome, payload = invoke(worker, "sleep")

    assert not outcome.ok
    assert payload["errorType"] == "Sandbox.Timedout"
    assert payload["errorMessage"] == f"RequestId: {rid} Error: Task timed out after 0.50 seconds"
    assert "going to sleep" in outcome.logs
    assert "Task timed out after 0.50 seconds" in outcome.logs
    assert not worker.running()

    _, again, started_after = invoke(worker)
    assert again.ok
    assert worker.pid != pid_before
    assert started_after != started_before  # a new init, as after a Lambda timeout


@pytest.mark.parametrize(
    ("code", "handler", "error_type", "message"),
    [
        (
            "import not_installed_anywhere\n",
            "app.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'app': No module named 'not_installed_anywhere'",
        ),
        (
            "def other(event, context): pass\n",
            "app.handler",
            "Runtime.HandlerNotFound",
            "Handler 'handler' missing on module 'app'",
        ),
        (
            "def handler(event, context)\n",
            "app.handler",
            "Runtime.UserCodeSyntaxError",
            "Syntax error in module 'app'",
        ),
        ("raise RuntimeError('no config')\n", "app.handler", "RuntimeError", "no config"),
        ("", "nomodule.handler", "Runtime.ImportModuleError", "Unable to import module 'nomodule'"),
    ],
)
def test_init_errors_are_reported_on_every_invoke(worker_for, code, handler, error_type, message):
    worker = worker_for(code, handler=handler)

    for _ in range(2):
        _, outcome, payload = invoke(worker)
        assert not outcome.ok
        assert payload["errorType"] == error_type
        assert payload["errorMessage"].startswith(message)
        assert error_type in outcome.logs


def test_task_root_comes_first_and_the_worker_imports_no_localstack(worker_for):
    worker = worker_for(
        """
        import sys
        import worker, process   # the task root's modules, not the executor's files of the same names

        def handler(event, context):
            return {"worker": worker.WHO, "process": process.WHO, "path0": sys.path[0],
                    "localstack": sorted(m for m in sys.modules if "localstack" in m)}
        """,
        files={"worker.py": "WHO = 'task root worker'\n", "process.py": "WHO = 'task root process'\n"},
    )

    _, outcome, payload = invoke(worker)

    assert outcome.ok, outcome.logs
    assert payload["worker"] == "task root worker"
    assert payload["process"] == "task root process"
    assert payload["path0"].endswith("task")
    assert payload["localstack"] == []


def test_subdirectory_handler_and_decimal_results(worker_for):
    module = """
        from decimal import Decimal
        def handler(event, context):
            return {"count": Decimal("3"), "price": Decimal("1.5")}
        """
    worker = worker_for("", handler="pkg/mod.handler", files={"pkg/__init__.py": "", "pkg/mod.py": module})

    _, outcome, payload = invoke(worker)

    assert outcome.ok, outcome.logs
    assert payload == {"count": 3, "price": 1.5}


def test_unserializable_result_is_a_marshal_error(worker_for):
    worker = worker_for(
        """
        def handler(event, context):
            return {"when": object()}
        """
    )

    _, outcome, payload = invoke(worker)

    assert not outcome.ok
    assert payload["errorType"] == "Runtime.MarshalError"


def test_reading_stdin_or_exiting_does_not_break_the_protocol(worker_for):
    worker = worker_for(
        """
        import sys

        def handler(event, context):
            if event == "exit":
                sys.exit(3)
            return sys.stdin.read()
        """
    )

    assert invoke(worker)[2] == ""
    _, outcome, payload = invoke(worker, "exit")
    assert not outcome.ok
    assert payload["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in payload["errorMessage"]
    assert invoke(worker)[1].ok


def test_start_fails_when_the_interpreter_cannot_run_the_worker(tmp_path):
    worker = make_worker(tmp_path, "def handler(e, c): pass\n")
    worker.python = "/bin/false"
    worker.startup_timeout = 5

    with pytest.raises(WorkerStartError):
        worker.start()


def test_worker_exits_when_its_parent_dies(tmp_path):
    """LocalStack killed (even with SIGKILL) must not leave workers behind."""
    task_root = tmp_path / "task"
    task_root.mkdir()
    (task_root / "app.py").write_text("def handler(e, c): pass\n")
    pid_file = tmp_path / "worker.pid"
    plugin_dir = Path(__file__).resolve().parents[4] / "scripts" / "localstack_plugin"
    parent = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(plugin_dir)!r})
        from pathlib import Path
        from gateway_localstack.lambda_executor.process import WorkerProcess
        env = {{"PATH": os.environ["PATH"], "_HANDLER": "app.handler"}}
        env["LAMBDA_TASK_ROOT"] = {str(task_root)!r}
        w = WorkerProcess(sys.executable, env, Path({str(tmp_path / "out.log")!r}), timeout=5)
        w.start()
        Path({str(pid_file)!r}).write_text(str(w.pid))
        os._exit(0)  # dies without stopping the worker
        """
    )
    subprocess.run([sys.executable, "-c", parent], check=True, timeout=60)
    pid = int(pid_file.read_text())

    for _ in range(100):  # it checks its parent every second; allow plenty of slack on a busy machine
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, 9)
        pytest.fail("the worker outlived its parent")


def test_the_tests_can_record_the_functions_aws_calls_which_does_not_see_the_switch(tmp_path):
    recording = tmp_path / "calls.jsonl"
    worker = make_worker(
        tmp_path,
        """
        import os
        import boto3
        from botocore.stub import Stubber

        def handler(event, context):
            dynamodb = boto3.session.Session().client("dynamodb", region_name="us-east-1")
            with Stubber(dynamodb) as stub:
                stub.add_response("get_item", {})
                dynamodb.get_item(TableName="t", Key={"pk": {"S": "a"}})
            return sorted(name for name in os.environ if name.startswith("LAMBDA_WORKER_"))
        """,
    )
    worker.env.update(
        LAMBDA_WORKER_RECORD_AWS_CALLS=str(recording),
        LAMBDA_WORKER_AWS_CALL_RECORDER=str(Path(__file__).parents[3] / "support" / "aws_calls.py"),
    )
    worker.start()
    try:
        _, outcome, payload = invoke(worker)
    finally:
        worker.stop()

    assert outcome.ok, payload
    assert payload == []
    (record,) = [json.loads(line) for line in recording.read_text().splitlines()]
    assert record["function"] == "fn"
    assert record["needs"] == [
        {"action": "dynamodb:GetItem", "resource": "arn:aws:dynamodb:us-east-1:000000000000:table/t"}
    ]
