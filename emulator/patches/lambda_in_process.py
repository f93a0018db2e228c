"""Lambda invocations run the function's real handler, from its deployed zip, in this process,
with the function's environment and its execution role's credentials; what it prints goes to
its CloudWatch log group."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from types import ModuleType
from typing import IO, Any
from unittest import mock

import boto3
from moto.awslambda.exceptions import UnknownFunctionException
from moto.awslambda.models import LambdaFunction
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.logs.models import logs_backends

from emulator.identity import assume_role_as_service

REASON = "moto without Docker only echoes the payload back: no handler would ever run."

# One invocation at a time: a handler reads os.environ and boto3's default session.
_INVOKE_LOCK = threading.Lock()


class _InvocationOutput(io.TextIOBase):
    """sys.stdout during an invocation: what the handler prints goes to that invocation's
    buffer, then to the function's CloudWatch log group, as on Lambda. One object for the
    process's life: loggers keep the stream they found at import, and logging.getLogger
    hands the same logger to the next emulator's import of the same handler."""

    def __init__(self) -> None:
        self._local = threading.local()

    @contextmanager
    def capture(self) -> Iterator[io.StringIO]:
        self._local.buffer = io.StringIO()
        try:
            yield self._local.buffer
        finally:
            self._local.buffer = None

    def write(self, text: str) -> int:
        buffer = getattr(self._local, "buffer", None)
        stream: IO[str] | None = buffer if buffer is not None else sys.__stdout__
        return stream.write(text) if stream is not None else len(text)

    def flush(self) -> None:
        pass


class LambdaContext:
    """The context object the Lambda runtime hands to a Python handler."""

    def __init__(self, function: LambdaFunction, timeout_seconds: int) -> None:
        self.function_name = function.function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function.function_arn
        self.memory_limit_in_mb = int(function.memory_size or 128)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.function_name}"
        self.log_stream_name = "emulator"
        self._timeout_ms = timeout_seconds * 1000

    def get_remaining_time_in_millis(self) -> int:
        return self._timeout_ms


_OUTPUT = _InvocationOutput()


class _Runtime:
    """Unpacked code per deployed code (by its SHA-256), and imported handler modules per
    function: on AWS every function has execution environments of its own, so module
    state (a cached setting, a client) never passes from one function to another, even
    when they share the code ("Lambda execution environment", Lambda developer guide:
    docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html)."""

    def __init__(self) -> None:
        self._root = Path(tempfile.mkdtemp(prefix="emulated-lambda-"))
        self._handlers: dict[tuple[str, str, str | None, str], Any] = {}
        self._token = uuid.uuid4().hex[:8]  # this emulator's modules only

    def close(self) -> None:
        prefix = f"_emulated_lambda_{self._token}_"
        for name in [name for name in sys.modules if name.startswith(prefix)]:
            del sys.modules[name]
        shutil.rmtree(self._root, ignore_errors=True)

    def code_dir(self, function: LambdaFunction) -> Path:
        return self._root / function.code_sha_256.replace("/", "_")

    def handler(self, function: LambdaFunction) -> Any:
        # A new configuration starts new execution environments, as UpdateFunctionConfiguration does on AWS.
        configuration = json.dumps(function.environment_vars or {}, sort_keys=True)
        key = (function.function_arn, function.code_sha_256, function.handler, configuration)
        if key not in self._handlers:
            self._handlers[key] = self._load(function)
        return self._handlers[key]

    def _load(self, function: LambdaFunction) -> Any:
        code_dir = self.code_dir(function)
        if not code_dir.exists():
            with zipfile.ZipFile(io.BytesIO(function.code_bytes)) as archive:
                archive.extractall(code_dir)
        module_path, _, attribute = str(function.handler).rpartition(".")
        # Import under a private name per emulator, so two emulators (or the tests' own
        # imports of the same source) never share module state such as cached boto3 clients.
        configuration = json.dumps(function.environment_vars or {}, sort_keys=True)
        environment_id = hashlib.sha256(f"{function.function_arn}|{function.code_sha_256}|{configuration}".encode()).hexdigest()[:12]
        alias = f"_emulated_lambda_{self._token}_{environment_id}"
        top, *rest = module_path.split(".")
        package_init = code_dir / top / "__init__.py"
        if package_init.exists():
            spec = importlib.util.spec_from_file_location(alias, package_init, submodule_search_locations=[str(code_dir / top)])
        else:
            spec = importlib.util.spec_from_file_location(alias, code_dir / f"{top}.py")
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load handler {function.handler} from the deployed code")
        module: ModuleType = importlib.util.module_from_spec(spec)
        sys.modules[alias] = module
        spec.loader.exec_module(module)
        if rest:
            module = importlib.import_module(".".join([alias, *rest]))
        return getattr(module, attribute)


_runtime: _Runtime | None = None


def _ship_logs(function: LambdaFunction, region: str, text: str) -> None:
    """Write what the handler printed to /aws/lambda/<function> (the group its stack created)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return
    backend = logs_backends[function.account_id][region]
    group = f"/aws/lambda/{function.function_name}"
    if group not in backend.groups:
        return  # no log group, no logs: as on Lambda without logs:CreateLogGroup
    stream = "emulator"
    if stream not in backend.groups[group].streams:
        backend.create_log_stream(group, stream)
    now = int(time.time() * 1000)
    backend.put_log_events(group, stream, [{"timestamp": now, "message": line} for line in lines])


# Where the Lambda runtime puts a function's code (Lambda developer guide, "Defined runtime
# environment variables": LAMBDA_TASK_ROOT, "The path to your Lambda function code").
TASK_ROOT = "/var/task"


def _error_payload(error: BaseException, request_id: str, code_dir: Path) -> bytes:
    """What the Python runtime returns for an unhandled error (Lambda developer guide, "AWS
    Lambda function errors in Python": errorMessage, errorType, requestId, stackTrace): the
    trace holds the function's own frames, under the task root, not the runtime's."""
    own = [frame for frame in traceback.extract_tb(error.__traceback__) if Path(frame.filename).is_relative_to(code_dir)]
    for frame in own:
        frame.filename = f"{TASK_ROOT}/{Path(frame.filename).relative_to(code_dir).as_posix()}"
    return json.dumps(
        {
            "errorMessage": str(error),
            "errorType": type(error).__name__,
            "requestId": request_id,
            "stackTrace": traceback.format_list(own),
        }
    ).encode()


def invoke_in_process(
    self: LambdaSimpleBackend, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
) -> bytes:
    try:
        function = self.get_function(function_name, qualifier)
    except UnknownFunctionException:
        # Lambda names the version it looked for (Lambda API reference, Invoke, "Errors":
        # ResourceNotFoundException); an unqualified name is $LATEST.
        arn = function_name
        if not arn.startswith("arn:"):
            arn = f"arn:aws:lambda:{self.region_name}:{self.account_id}:function:{function_name}"
        raise UnknownFunctionException(arn if arn.count(":") > 6 else f"{arn}:{qualifier or '$LATEST'}") from None
    if not str(function.run_time).startswith("python"):
        raise NotImplementedError(f"the emulator runs Python handlers only, not {function.run_time}")
    assert _runtime is not None
    credentials = assume_role_as_service(
        function.role, service="lambda.amazonaws.com", source_arn=function.function_arn, region=self.region_name
    )
    event = json.loads(body) if body else {}
    process_env = {
        **(function.environment_vars or {}),
        # What the Lambda runtime sets: the role's credentials, the region, the function.
        "AWS_ACCESS_KEY_ID": credentials.access_key_id,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_access_key,
        "AWS_SESSION_TOKEN": credentials.session_token or "",
        "AWS_REGION": self.region_name,
        "AWS_DEFAULT_REGION": self.region_name,
        "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
    }
    with (
        _INVOKE_LOCK,
        mock.patch.dict(os.environ, process_env),
        _OUTPUT.capture() as printed,
        redirect_stdout(_OUTPUT),
    ):
        boto3.DEFAULT_SESSION = None  # the handler's boto3 picks up this role's credentials
        try:
            context = LambdaContext(function, int(function.timeout or 3))
            handler = _runtime.handler(function)
            result = handler(event, context)
        except Exception as error:  # the handler's own error: reported as Lambda reports it
            response_headers["x-amz-function-error"] = "Unhandled"
            payload = _error_payload(error, context.aws_request_id, _runtime.code_dir(function))
            print(f"[ERROR] {type(error).__name__}: {error}")
        else:
            payload = json.dumps(result).encode()
        finally:
            boto3.DEFAULT_SESSION = None
    _ship_logs(function, self.region_name, printed.getvalue())
    # The version that ran (Lambda API reference, Invoke, X-Amz-Executed-Version): unpublished code runs as $LATEST.
    response_headers["x-amz-executed-version"] = str(qualifier if qualifier and qualifier != "$LATEST" else function.version)
    response_headers["Content-Length"] = str(len(payload))
    return payload


@contextmanager
def patch() -> Iterator[None]:
    global _runtime
    _runtime = _Runtime()
    try:
        with mock.patch.object(LambdaSimpleBackend, "invoke", invoke_in_process):
            yield
    finally:
        _runtime.close()
        _runtime = None
