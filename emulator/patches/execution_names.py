"""StartExecution without a name gets a generated one, as on AWS."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock
from uuid import uuid4

from moto.stepfunctions.parser.models import StepFunctionsParserBackend

REASON = "moto's executing backend names every unnamed execution 'None', so the second one fails with ExecutionAlreadyExists."

_original = StepFunctionsParserBackend.start_execution


def _start_execution(self: StepFunctionsParserBackend, state_machine_arn: str, name: Any = None, *args: Any, **kwargs: Any) -> Any:
    return _original(self, state_machine_arn, name or str(uuid4()), *args, **kwargs)


@contextmanager
def patch() -> Iterator[None]:
    with mock.patch.object(StepFunctionsParserBackend, "start_execution", _start_execution):
        yield
