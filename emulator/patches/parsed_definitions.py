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

from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

REASON = "moto parses a definition with a pure-Python ANTLR parser at every execution (~180 ms); it is parsed once per text."

_parse = AmazonStateLanguageParser.parse


@functools.lru_cache(maxsize=256)
def parse_once(definition: str) -> tuple[Any, Any]:
    return _parse(definition)


@contextmanager
def patch() -> Iterator[None]:
    with mock.patch.object(AmazonStateLanguageParser, "parse", staticmethod(parse_once)):
        yield
