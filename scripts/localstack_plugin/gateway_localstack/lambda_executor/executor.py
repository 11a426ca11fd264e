"""LocalStack's Lambda runtime executor `subprocess` (LAMBDA_RUNTIME_EXECUTOR=subprocess): each execution
environment is a local worker process (process.py / worker.py) instead of a Docker container.

The worker's output comes back with each invocation as `InvocationResult.logs`, which LocalStack ships to
CloudWatch Logs (/aws/lambda/<function name>) as it does for containers.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path

from localstack import config
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin
from localstack.services.lambda_.invocation.runtime_executor import LambdaRuntimeException, RuntimeExecutor

from .interpreters import ENV_VAR, InterpreterError, interpreter_for, parse_map
from .process import WorkerProcess, WorkerStartError

LOG = logging.getLogger(__name__)

# Environment the worker inherits from LocalStack's own; the rest of it (LocalStack's config) stays out.
INHERITED = (
    "PATH",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
    # set by the end-to-end tests only: record the function's AWS calls (worker.py)
    "LAMBDA_WORKER_RECORD_AWS_CALLS",
    "LAMBDA_WORKER_AWS_CALL_RECORDER",
)

_live: dict[str, SubprocessRuntimeExecutor] = {}
_live_lock = threading.Lock()


def stop_all() -> None:
    """Stop every worker (LocalStack shutdown)."""
    with _live_lock:
        executors = list(_live.values())
    for executor in executors:
        executor.stop()


def _gateway_host() -> str:
    host = config.GATEWAY_LISTEN[0].host
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 - comparing, not binding


class SubprocessRuntimeExecutor(RuntimeExecutor):
    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self.worker: WorkerProcess | None = None
        self.log_dir = Path(tempfile.gettempdir()) / "lambda-workers" / id

    def start(self, env_vars: dict[str, str]) -> None:
        version = self.function_version
        try:
            python = interpreter_for(version.config.runtime, os.environ.get(ENV_VAR))
        except InterpreterError as exc:
            raise LambdaRuntimeException(str(exc)) from exc
        if not version.config.code:
            raise LambdaRuntimeException("the subprocess executor runs zip-packaged functions only")
        task_root = str(version.config.code.get_unzipped_code_location())

        env = {name: os.environ[name] for name in INHERITED if name in os.environ}
        # like the Lambda sandbox: no ~/.aws of the host user (AWS_ENDPOINT_URL and keys come from LocalStack)
        env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
        env.update({name: str(value) for name, value in env_vars.items()})
        env["LAMBDA_TASK_ROOT"] = task_root  # LocalStack says /var/task: the container's path
        env["PYTHONUNBUFFERED"] = "1"
        self.worker = WorkerProcess(
            python=python,
            env=env,
            log_path=self.log_dir / "output.log",
            timeout=float(version.config.timeout),
            startup_timeout=float(config.LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT),
        )
        with _live_lock:
            _live[self.id] = self
        try:
            self.worker.start()
        except (WorkerStartError, OSError) as exc:
            raise LambdaRuntimeException(str(exc)) from exc
        LOG.debug("Lambda worker %s for %s: pid %s", self.id, version.qualified_arn, self.worker.pid)

    def stop(self) -> None:
        with _live_lock:
            _live.pop(self.id, None)
        if self.worker is not None:
            self.worker.stop()
        shutil.rmtree(self.log_dir, ignore_errors=True)

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        if self.worker is None:
            raise LambdaRuntimeException(f"execution environment {self.id} was not started")
        outcome = self.worker.invoke(
            request_id=payload["invoke-id"],
            invoked_arn=payload["invoked-function-arn"],
            payload=payload.get("payload") or "",
            trace_id=payload.get("trace-id") or "",
        )
        return InvocationResult(
            payload["invoke-id"], outcome.payload, is_error=not outcome.ok, logs=outcome.logs
        )

    def get_address(self) -> str:
        return "127.0.0.1"

    def get_endpoint_from_executor(self) -> str:
        return _gateway_host()

    def get_runtime_endpoint(self) -> str:
        return f"http://{_gateway_host()}:{config.GATEWAY_LISTEN[0].port}/_localstack_lambda/{self.id}"

    def get_logs(self) -> str:
        try:
            return (self.log_dir / "output.log").read_text(errors="replace")
        except OSError:
            return ""

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        if function_version.config.code:
            function_version.config.code.prepare_for_execution()  # unzips the code

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        pass  # the unzipped code is LocalStack's to remove

    @classmethod
    def validate_environment(cls) -> bool:
        try:
            mapping = parse_map(os.environ.get(ENV_VAR))
        except InterpreterError as exc:
            LOG.warning("%s", exc)
            return False
        if not mapping:
            LOG.warning("%s is empty: no Python runtime can run", ENV_VAR)
            return False
        missing = {runtime: path for runtime, path in mapping.items() if not os.access(path, os.X_OK)}
        if missing:
            LOG.warning("%s names interpreters that do not exist: %s", ENV_VAR, missing)
            return False
        return True


class SubprocessRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    name = "subprocess"

    def load(self, *args, **kwargs):
        return SubprocessRuntimeExecutor
