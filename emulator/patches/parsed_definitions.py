"""A state machine's definition is parsed once, not at every execution.

moto (its interpreter is LocalStack's) parses the Amazon States Language text with an
ANTLR parser in pure Python at the start of every execution: ~180 ms of CPU for the
consumer's definition, 70% of an execution's cost, so 25 concurrent consumers queued
for seconds on the GIL. The parsed program is a tree of declarations: what an execution
changes lives in its own environment (retry counters too, under each declaration's heap
key), so one tree serves every execution of the same text. A definition that does not
parse is not kept: it fails again, as before. A speed patch, not a behaviour.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.stepfunctions.parser.asl.component.component import Component
from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

REASON = "moto parses a definition with a pure-Python ANTLR parser at every execution (~180 ms); it is parsed once per text."

_parse = AmazonStateLanguageParser.parse


@functools.lru_cache(maxsize=256)
def parse_once(definition: str) -> tuple[Any, Any]:
    program, tree = _parse(definition)
    _assign_heap_keys(program)
    return program, tree


def _assign_heap_keys(program: Any) -> None:
    """Give every declaration its heap key now. moto draws one on first use, unlocked: two
    executions reaching a shared Retrier for the first time at once could each draw one, and
    one of them would then read its retry count under the other's key."""
    seen: set[int] = set()
    pending = [program]
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, Component):  # a declaration, or a plain part of one (the States map)
            if isinstance(item, EvalComponent):
                _ = item.heap_key
            pending.extend(vars(item).values())
        elif isinstance(item, list | tuple | set | frozenset):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item.values())


@contextmanager
def patch() -> Iterator[None]:
    with mock.patch.object(AmazonStateLanguageParser, "parse", staticmethod(parse_once)):
        yield
