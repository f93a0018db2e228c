"""A JSONPath is compiled once per text, not at every use.

moto's interpreter compiles every path it evaluates (``InputPath``, ``Parameters``'
``.$`` fields, ``ResultPath``, Choice variables) with jsonpath-ng, whose ``parse`` builds
a new PLY parser each call: ~1.5 ms a path, 480 paths in 20 consumer executions, the
largest cost of an execution once its definition is parsed once
(``parsed_definitions``). A compiled path holds no data: ``find`` and
``update_or_create`` work on what they are given. A speed patch, not a behaviour.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

from jsonpath_ng import parser as jsonpath_parser
from jsonpath_ng.ext import parser as extended_parser
from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.utils import json_path

REASON = "moto compiles each JSONPath at every use (jsonpath-ng builds a parser per call, ~1.5 ms); each text is compiled once."


@functools.lru_cache(maxsize=1024)
def compiled_extended(path: str) -> Any:
    return extended_parser.parse(path)


@functools.lru_cache(maxsize=1024)
def compiled(path: str) -> Any:
    return jsonpath_parser.parse(path)


@contextmanager
def patch() -> Iterator[None]:
    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(json_path, "parse", compiled_extended))
        stack.enter_context(mock.patch.object(result_path, "parse", compiled))
        yield
