"""An execution's history ends with its own end event. The Step Functions API reference
("HistoryEvent") numbers an execution's events one by one and lists its end events
(ExecutionSucceeded, ExecutionFailed, ExecutionTimedOut, ExecutionAborted); a task that
runs past its TimeoutSeconds fails with States.Timeout (Developer Guide, "Handling
errors in Step Functions workflows"). That no event follows the end is not written
there: it is what AWS shows, and the emulator's choice (docs/emulator.md, "the emulator guesses")."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tests.unit.emulator.helpers import service_trust

if TYPE_CHECKING:
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager

SLOW = """
import time
def handle(event, context):
    time.sleep(1.2)
    return {"done": True}
"""


def _types(manager: EventManager) -> list[str]:
    return [str(getattr(event["type"], "value", event["type"])) for event in manager.get_event_history()]


def test_moto_still_adds_events_after_the_execution_failed():
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventHistoryContext, EventManager

    from emulator.patches import history_end

    assert history_end.REASON
    manager, context = EventManager(), EventHistoryContext.of_program_start()
    for event_type in ("ExecutionStarted", "TaskTimedOut", "ExecutionFailed", "TaskSucceeded"):
        EventManager.add_event(manager, context, event_type)
    assert _types(manager) == ["ExecutionStarted", "TaskTimedOut", "ExecutionFailed", "TaskSucceeded"]


def test_nothing_follows_the_end_event():
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventHistoryContext, EventManager

    from emulator.patches import history_end

    manager, context = EventManager(), EventHistoryContext.of_program_start()
    for event_type in ("ExecutionStarted", "ExecutionSucceeded", "TaskSucceeded", "ExecutionFailed"):
        history_end.add_event(manager, context, event_type)
    assert _types(manager) == ["ExecutionStarted", "ExecutionSucceeded"]


def test_a_timed_out_task_that_returns_later_adds_nothing_to_the_failed_execution(patched, unique):
    role = patched.role(f"{unique}-fn", service_trust("lambda.amazonaws.com", patched.id))
    function = patched.python_function(f"{unique}-slow", SLOW, role)
    task = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": function}}
    arn = patched.state_machine(unique, {"StartAt": "Call", "States": {"Call": {**task, "TimeoutSeconds": 1, "End": True}}})
    described = patched.run(arn)
    assert (described["status"], described["error"]) == ("FAILED", "States.Timeout")
    time.sleep(0.5)  # the function returns 1.2 s after it started
    events = patched.client("stepfunctions").get_execution_history(executionArn=described["executionArn"])["events"]
    assert [event["type"] for event in events][-2:] == ["TaskTimedOut", "ExecutionFailed"]
