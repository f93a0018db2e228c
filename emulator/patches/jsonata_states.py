"""JSONata states and workflow variables run: moto parses ``QueryLanguage: JSONata``,
``Arguments``/``Output``/``Assign``/``Condition`` and ``$variable`` references, but its
evaluator is a stub (``'NoneType' object is not callable``, an uncatchable States.Runtime).

Each ``{% ... %}`` expression and each JSONPath state's ``$variable`` reference is evaluated
by the pinned jsonata-python engine (``emulator.jsonata_evaluation``), with ``$states``
(``input``, ``result``, ``errorOutput``, ``context``) and the variables in scope bound as
values. An expression that fails, or yields nothing or a non-JSON value, fails the state
with ``States.QueryEvaluationError``, which a Retry or Catch can handle (AWS Step Functions
Developer Guide, "Transforming data with JSONata in Step Functions").

Also: an Assign's new values take effect after the state's Output is evaluated (moto set
them before; the emulator's reading of "Passing data between states with variables", a
guess where the guide is not explicit); InputPath is refused in a JSONata state like the
other four JSONPath-only fields; and a definition refused mid-parse no longer leaves its
QueryLanguage on moto's class-level scope stack (which made every later JSONPath
definition in the process invalid).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.stepfunctions.parser.api import EvaluationFailedEventDetails, HistoryEventType
from moto.stepfunctions.parser.asl.component.common.assign.assign_decl import AssignDecl
from moto.stepfunctions.parser.asl.component.common.catch.catcher_decl import CatcherDecl
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent, FailureEventException
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.common.query_language import QueryLanguageMode
from moto.stepfunctions.parser.asl.component.common.string.string_expression import StringJSONata, StringVariableSample
from moto.stepfunctions.parser.asl.component.state.choice.state_choice import StateChoice
from moto.stepfunctions.parser.asl.component.state.state import CommonStateField
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

from emulator import jsonata_evaluation

REASON = "moto 5.2.5 ships JSONata states and variables with no evaluator: every {% %} expression and $variable fails as States.Runtime."


def _variables(env: Any) -> dict[str, Any]:
    store = env.variable_store
    return {**store._outer_scope, **store._inner_scope}


def _states(env: Any) -> dict[str, Any]:
    # $states.result and $states.errorOutput exist only where the state has them.
    return {key: value for key, value in env.states._states_data.items() if value is not None or key == "input"}


def _fail(env: Any, cause: str) -> FailureEventException:
    name = StatesErrorName(typ=StatesErrorNameType.StatesQueryEvaluationError)
    details = EvaluationFailedEventDetails(error=name.error_name, cause=cause)
    failure = FailureEventException(
        FailureEvent(
            env=env,
            error_name=name,
            event_type=HistoryEventType.EvaluationFailed,
            event_details=EventDetails(evaluationFailedEventDetails=details),  # type: ignore[typeddict-item]  # a total TypedDict moto itself fills with one key
        )
    )
    env.event_manager.add_event(
        context=env.event_history_context,
        event_type=HistoryEventType.EvaluationFailed,
        event_details=EventDetails(evaluationFailedEventDetails=failure.get_evaluation_failed_event_details()),  # type: ignore[typeddict-item]
    )
    return failure


def _evaluate(env: Any, expression: str, bindings: dict[str, Any]) -> Any:
    try:
        result = jsonata_evaluation.evaluate(expression, bindings)
    except jsonata_evaluation.QueryEvaluationError as error:
        raise _fail(env, f"The JSONata expression '{expression}' failed: {error}") from None
    if result is jsonata_evaluation.UNDEFINED:
        raise _fail(env, f"The JSONata expression '{expression}' returned nothing (undefined).")
    return result


def _eval_jsonata(self: StringJSONata, env: Any) -> None:
    env.stack.append(_evaluate(env, self.expression, {"states": _states(env), **_variables(env)}))


def _eval_variable_sample(self: StringVariableSample, env: Any) -> None:
    # A JSONPath state's "x.$": "$name.field" reads a variable, without $states; a JSONata
    # state's field holding only a reference is an expression like any other.
    if self.query_language_mode == QueryLanguageMode.JSONata:
        env.stack.append(_evaluate(env, self.expression, {"states": _states(env), **_variables(env)}))
        return
    # A JSONPath state keeps moto's reading of a missing field: null (a guess; the guide
    # does not say).
    try:
        env.stack.append(jsonata_evaluation.evaluate(self.expression, _variables(env)))
    except jsonata_evaluation.QueryEvaluationError as error:
        raise _fail(env, f"The variable reference '{self.expression}' failed: {error}") from None


# Where a state's new variable values wait until its Output is evaluated.
_PENDING = "_emulator_pending_assignments"


def _assign(self: AssignDecl, env: Any) -> None:
    # Every expression of one Assign reads the values of state entry; the new values take
    # effect once the state's (or the Catch's) Output is evaluated, which still reads the old ones.
    declarations: dict[str, Any] = {}
    for binding in self.declaration_bindings:
        binding.eval(env=env)
        declarations.update(env.stack.pop())
    vars(env.variable_store).setdefault(_PENDING, {}).update(declarations)


def _apply_assignments(env: Any) -> None:
    for name, value in vars(env.variable_store).pop(_PENDING, {}).items():
        env.variable_store.set(variable_identifier=name, variable_value=value)


@contextmanager
def patch() -> Iterator[None]:
    original_output = CommonStateField._eval_state_output
    original_choice_output = StateChoice._eval_state_output
    original_catch = CatcherDecl._eval_body
    original_input_path = Preprocessor.visitInput_path_decl
    original_preprocessor_init = Preprocessor.__init__

    def _preprocessor_init(self: Preprocessor, *args: Any, **kwargs: Any) -> None:
        # moto keeps the stack of QueryLanguage scopes on the class: a definition refused
        # mid-parse (a JSONPath field in a JSONata state) left "JSONata" on it, and every later
        # JSONPath definition in the process was then refused. Each parse gets its own.
        original_preprocessor_init(self, *args, **kwargs)
        self._query_language_per_scope = []

    def _eval_state_output(self: CommonStateField, env: Any) -> None:
        original_output(self, env)
        _apply_assignments(env)

    def _eval_choice_output(self: StateChoice, env: Any) -> None:
        original_choice_output(self, env)
        _apply_assignments(env)

    def _input_path(self: Preprocessor, ctx: Any) -> Any:
        # moto refuses the other four JSONPath-only fields in a JSONata state, not InputPath.
        self._raise_if_query_language_is_not(query_language_mode=QueryLanguageMode.JSONPath, ctx=ctx)
        return original_input_path(self, ctx)

    def _eval_catch(self: CatcherDecl, env: Any) -> None:
        # The state failed: its own Assign takes no effect; a matching Catch's Assign does.
        vars(env.variable_store).pop(_PENDING, None)
        original_catch(self, env)
        _apply_assignments(env)

    with (
        mock.patch.object(StringJSONata, "_eval_body", _eval_jsonata),
        mock.patch.object(StringVariableSample, "_eval_body", _eval_variable_sample),
        mock.patch.object(AssignDecl, "_eval_body", _assign),
        mock.patch.object(CommonStateField, "_eval_state_output", _eval_state_output),
        mock.patch.object(StateChoice, "_eval_state_output", _eval_choice_output),
        mock.patch.object(Preprocessor, "visitInput_path_decl", _input_path),
        mock.patch.object(Preprocessor, "__init__", _preprocessor_init),
        mock.patch.object(CatcherDecl, "_eval_body", _eval_catch),
    ):
        yield
