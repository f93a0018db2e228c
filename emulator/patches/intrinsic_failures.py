"""An intrinsic function that fails in a payload template raises States.IntrinsicFailure,
which a Catch can handle (ASL specification, appendix A), not an uncatchable States.Runtime."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent, FailureEventException
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.intrinsic.function.statesfunction.json_manipulation.string_to_json import StringToJson
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

REASON = "moto lets States.StringToJson's JSON error escape as States.Runtime, so a Catch for States.IntrinsicFailure never fires."

_original = StringToJson._eval_body


def _eval_body(self: StringToJson, env: Any) -> None:
    try:
        _original(self, env)
    except (ValueError, TypeError) as error:
        name = StatesErrorNameType.StatesIntrinsicFailure.to_name()
        raise FailureEventException(
            FailureEvent(
                env=env,
                error_name=StatesErrorName(typ=StatesErrorNameType.StatesIntrinsicFailure),
                event_type=HistoryEventType.TaskFailed,
                event_details=EventDetails(  # type: ignore[typeddict-item]  # a total TypedDict moto itself fills with one key
                    taskFailedEventDetails=TaskFailedEventDetails(error=name, cause=f"States.StringToJson: {error}")
                ),
            )
        ) from None


@contextmanager
def patch() -> Iterator[None]:
    with mock.patch.object(StringToJson, "_eval_body", _eval_body):
        yield
