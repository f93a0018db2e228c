"""JSONata as Step Functions evaluates it: the pinned jsonata-python engine, the values a
state binds (``$states`` and the workflow's variables), and the functions Step Functions adds.

AWS Step Functions Developer Guide, "Transforming data with JSONata in Step Functions":
Step Functions supports JSONata 2.0.6, "with one exception: $eval is not available - use
$parse instead", and provides ``$partition``, ``$range``, ``$hash``, ``$random``, ``$uuid``
and ``$parse``. Values are bound to the expression, never pasted into its text: one text is
compiled once, and a string holding a quote is still that string.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import random
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any

# jsonata-python ships no type information (no py.typed, no stubs package on PyPI).
from jsonata import Jsonata  # type: ignore[import-untyped]
from jsonata.utils import Utils  # type: ignore[import-untyped]

# What JSONata returns for "no value": JSON has no way to say it.
UNDEFINED: Any = None


class QueryEvaluationError(Exception):
    """An expression failed or gave what JSON cannot hold; its message is the cause."""


class _Compiled:
    """One expression text, parsed once; one evaluation at a time (the engine keeps the
    evaluation's clock and its thread's current expression on the instance)."""

    def __init__(self, text: str) -> None:
        self.expression = Jsonata(text)
        # JSONata's null stays distinct from undefined: undefined is an error for a state.
        self.expression.set_output_convert_nulls(False)
        self.lock = threading.Lock()


@functools.lru_cache(maxsize=1024)
def _compiled(text: str) -> _Compiled:
    return _Compiled(text)


def _hash(value: Any, algorithm: Any) -> str:
    if not isinstance(value, str):
        raise QueryEvaluationError("The first argument of $hash must be a string")
    try:
        digest = hashlib.new(_HASH_ALGORITHMS[algorithm])
    except (KeyError, TypeError):
        raise QueryEvaluationError(f"Unsupported $hash algorithm {algorithm!r}: use one of {', '.join(_HASH_ALGORITHMS)}") from None
    digest.update(value.encode())
    return digest.hexdigest()


_HASH_ALGORITHMS = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}


def _integer(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not float(value).is_integer():
        raise QueryEvaluationError(f"{what} must be an integer, got {value!r}")
    return int(value)


def _partition(array: Any, size: Any) -> list[list[Any]]:
    chunk = _integer(size, "The chunk size of $partition")
    if not isinstance(array, list) or chunk <= 0:
        raise QueryEvaluationError("$partition takes an array and a positive chunk size")
    return [list(array[start : start + chunk]) for start in range(0, len(array), chunk)]


def _range(first: Any, last: Any, step: Any) -> list[int]:
    start, end, delta = _integer(first, "$range's start"), _integer(last, "$range's end"), _integer(step, "$range's step")
    if delta == 0:
        raise QueryEvaluationError("$range's step must not be 0")
    # Like States.ArrayRange: the end is included when the steps land on it.
    return list(range(start, end + (1 if delta > 0 else -1), delta))


def _random(seed: Any = None) -> float:
    if seed is None:
        return random.random()  # noqa: S311  # a workflow's $random, not a secret
    return random.Random(_integer(seed, "$random's seed")).random()  # noqa: S311


def _uuid() -> str:
    return str(uuid.uuid4())


def _parse(text: Any) -> Any:
    if not isinstance(text, str):
        raise QueryEvaluationError("$parse takes a string")
    try:
        return _with_nulls(json.loads(text))
    except ValueError as error:
        raise QueryEvaluationError(f"$parse: {error}") from None


def _eval(*_: Any) -> Any:
    raise QueryEvaluationError("$eval is not available in Step Functions: use $parse")


def _function(implementation: Callable[..., Any]) -> Any:
    return Jsonata.JLambda(implementation)


# Bound under the values a state brings, so a variable of the same name wins (a guess: the
# guide does not say which wins).
FUNCTIONS: Mapping[str, Any] = {
    "partition": _function(_partition),
    "range": _function(_range),
    "hash": _function(_hash),
    "random": _function(_random),
    "uuid": _function(_uuid),
    "parse": _function(_parse),
    "eval": _function(_eval),
}


def _with_nulls(value: Any) -> Any:
    """JSON's null as the engine's null: a bare Python None reads as undefined there."""
    if value is None:
        return Utils.NULL_VALUE
    if isinstance(value, dict):
        return {key: _with_nulls(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_nulls(item) for item in value]
    return value


def _to_json(value: Any) -> Any:
    """The engine's result as plain JSON, integral numbers as integers (JSON has one number
    type; JavaScript's engine prints 4/2 as 2). A function or other non-JSON value raises."""
    if value is Utils.NULL_VALUE or value is None:
        return None
    if isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise QueryEvaluationError("returned a number JSON cannot hold")
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, dict):
        return {str(key): _to_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_to_json(item) for item in value]
    raise QueryEvaluationError("returned an unsupported result type")


def evaluate(text: str, bindings: Mapping[str, Any]) -> Any:
    """The value of one expression (the text between ``{%`` and ``%}``) with ``bindings``
    (names without ``$``). Undefined comes back as ``UNDEFINED``; any failure of the engine
    raises ``QueryEvaluationError`` with its message."""
    try:
        compiled = _compiled(text)
    except Exception as error:  # the engine's parse errors are of several types
        raise QueryEvaluationError(str(error) or type(error).__name__) from None
    frame = {**FUNCTIONS, **{name: _with_nulls(value) for name, value in bindings.items()}}
    with compiled.lock:
        Jsonata.CURRENT.jsonata = compiled.expression
        try:
            result = compiled.expression.evaluate(None, frame)
        except QueryEvaluationError:
            raise
        except Exception as error:  # a failing builtin raises what it raises (ValueError, JException, ...)
            raise QueryEvaluationError(str(error) or type(error).__name__) from None
    return UNDEFINED if result is None else _to_json(result)
