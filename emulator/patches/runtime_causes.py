"""A ``States.Runtime`` cause names the state that failed and the event at which it was
entered, as Step Functions writes it: "An error occurred while executing the state 'P'
(entered at the event id #4). <what went wrong>".

moto names the event it last published instead (a Task that fails in its ResultSelector
is "entered" at its TaskSucceeded event), and a failure moto's evaluator did not foresee
(a ResultPath into a string, say) ends the execution with a bare Python repr,
``TypeError('str' object does not support item assignment)``, naming no state at all.

The decoration's wording is the one AWS-recorded executions carry. For the failures moto
did not foresee, what follows the decoration is the emulator's own words: the developer
guide does not give AWS's message for each of them (a guess, said in the cause itself).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.eval.environment import Environment

REASON = (
    "moto's States.Runtime causes name the last event published, not the one the state was entered at, "
    "and a failure its evaluator did not foresee ends as a bare Python repr naming no state."
)

_DECORATION = "An error occurred while executing the state '{state}' (entered at the event id #{event_id}). "
_DECORATION_START = "An error occurred while executing the state "
_RUNTIME = StatesErrorNameType.StatesRuntime.to_name()


def entered_event_id(env: Any, state_name: str | None) -> int | None:
    """The id of the latest ``<Type>StateEntered`` event of ``state_name`` in the history."""
    for event in reversed(env.event_manager._history_event_list):
        details = event.get("stateEnteredEventDetails")
        if details is not None and details.get("name") == state_name:
            return int(event["id"])
    return None


_original_failure_event_init = FailureEvent.__init__


def _failure_event_init(self: FailureEvent, env: Any, *args: Any, **kwargs: Any) -> None:
    _original_failure_event_init(self, env, *args, **kwargs)
    entered = entered_event_id(env, self.state_name)
    if entered is not None:
        self.source_event_id = entered  # type: ignore[misc]  # moto's Final, set once in __init__ as here


_original_set_error = Environment.set_error


def _set_error(self: Environment, error: Any) -> None:
    cause = error.get("cause")
    if error.get("error") == _RUNTIME and isinstance(cause, str) and not cause.startswith(_DECORATION_START):
        state = self.next_state_name
        event_id = entered_event_id(self, state)
        if state is not None and event_id is not None:
            error = {
                **error,
                "cause": _DECORATION.format(state=state, event_id=event_id) + f"The emulator could not evaluate this state: {cause}. "
                "(AWS's own wording for this failure is not documented: this one is the emulator's.)",
            }
    _original_set_error(self, error)


@contextmanager
def patch() -> Iterator[None]:
    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(FailureEvent, "__init__", _failure_event_init))
        stack.enter_context(mock.patch.object(Environment, "set_error", _set_error))
        yield
