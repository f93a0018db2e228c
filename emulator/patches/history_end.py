"""An execution's history ends with the execution: nothing is added after its
ExecutionSucceeded, ExecutionFailed, ExecutionTimedOut or ExecutionAborted event.

moto's interpreter leaves a timed-out task running in its thread: when the task's call
returns, after the execution has failed with States.Timeout, its TaskSucceeded is
appended to the history, and logged, after ExecutionFailed. Step Functions stops the
execution at its end; no event follows it. Here an event offered after the execution's
own last event is dropped, from the history and from the log alike.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.stepfunctions.parser.asl.eval.event.event_manager import EventHistoryContext, EventManager

REASON = "moto appends a timed-out task's late TaskSucceeded to the history after ExecutionFailed; the history ends with the execution."

EXECUTION_ENDS = frozenset({"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"})

_add_event = EventManager.add_event
_LOCKS: weakref.WeakKeyDictionary[EventManager, threading.Lock] = weakref.WeakKeyDictionary()
_LOCKS_LOCK = threading.Lock()
_ENDED = "_emulator_execution_ended"


def _order(manager: EventManager) -> threading.Lock:
    """One lock per execution's history: an end and a late event from two threads, one of
    them first; other executions do not wait on it."""
    with _LOCKS_LOCK:
        return _LOCKS.setdefault(manager, threading.Lock())


def add_event(self: EventManager, context: EventHistoryContext, event_type: Any, *args: Any, **kwargs: Any) -> int:
    with _order(self):
        if getattr(self, _ENDED, False):
            return context.last_published_event_id  # not published: the execution is over
        event_id = _add_event(self, context, event_type, *args, **kwargs)
        if getattr(event_type, "value", event_type) in EXECUTION_ENDS:
            setattr(self, _ENDED, True)
        return event_id


@contextmanager
def patch() -> Iterator[None]:
    with mock.patch.object(EventManager, "add_event", add_event):
        yield
