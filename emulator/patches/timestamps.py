"""Choice timestamp comparisons read RFC 3339 timestamps the way AWS does: with fractional
seconds and offsets, such as the context object's $$.Execution.StartTime."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.is_operator import IsTimestamp

REASON = (
    "moto parses only '%Y-%m-%dT%H:%M:%SZ', so comparing with $$.Execution.StartTime (fractional "
    "seconds, and a datetime in moto's context object) raises a TypeError and fails the run."
)


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
    with mock.patch.object(IsTimestamp, "string_to_timestamp", staticmethod(string_to_timestamp)):
        yield
