"""Timestamps as AWS has them: the context object's $$.Execution.StartTime is an RFC 3339
string, and Choice comparisons read RFC 3339 with fractional seconds and offsets."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.is_operator import IsTimestamp
from moto.stepfunctions.parser.backend.execution import Execution

REASON = (
    "moto puts a datetime in $$.Execution.StartTime (an output holding it cannot be serialized) and "
    "parses only '%Y-%m-%dT%H:%M:%SZ', so comparing with it raises a TypeError and fails the run."
)

_original_start_details = Execution.get_start_execution_details


def _start_execution_details(self: Execution) -> Any:
    details = _original_start_details(self)
    start = self.start_date.astimezone(datetime.UTC)
    # As AWS writes it: "2026-11-28T12:00:00.123Z".
    details.start_time = start.strftime("%Y-%m-%dT%H:%M:%S.") + f"{start.microsecond // 1000:03d}Z"  # type: ignore[misc]  # Final in moto's types, set once here before anything reads it
    return details


def string_to_timestamp(value: Any) -> datetime.datetime | None:
    if isinstance(value, datetime.datetime):
        parsed = value
    elif isinstance(value, str) and "T" in value.upper():
        try:
            parsed = datetime.datetime.fromisoformat(value.replace("z", "Z"))
        except ValueError:
            return None
    else:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


@contextmanager
def patch() -> Iterator[None]:
    with (
        mock.patch.object(IsTimestamp, "string_to_timestamp", staticmethod(string_to_timestamp)),
        mock.patch.object(Execution, "get_start_execution_details", _start_execution_details),
    ):
        yield
