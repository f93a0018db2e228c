"""CloudFormation evaluates a template's Rules before it creates anything, and refuses the
stack with the failed assertion's description (the CDK's bootstrap-version check, and the
pipeline's refusal to deploy without a source)."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import yaml
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import CloudFormationBackend
from moto.ssm.models import ssm_backends

REASON = "moto ignores template Rules: a stack whose assertions fail (an old bootstrap, a pipeline without a source) deploys anyway."

_original = CloudFormationBackend.create_stack


class _Unknown(Exception):
    """An intrinsic the emulator does not evaluate: the rule is skipped, not guessed."""


def _parameter(backend: CloudFormationBackend, template: dict[str, Any], parameters: dict[str, Any], name: str) -> Any:
    declared = template.get("Parameters", {}).get(name)
    if declared is None:
        raise _Unknown(name)
    value = parameters.get(name, declared.get("Default"))
    if str(declared.get("Type", "")).startswith("AWS::SSM::Parameter::Value"):
        store = ssm_backends[backend.account_id][backend.region_name]
        found = store.get_parameter(value)
        return found.value if found is not None else None
    return value


def _evaluate(node: Any, resolve: Any) -> Any:
    if isinstance(node, dict) and len(node) == 1:
        ((function, argument),) = node.items()
        if function == "Ref":
            return resolve(argument)
        if function == "Fn::Not":
            return not _evaluate(argument[0], resolve)
        if function == "Fn::And":
            return all(_evaluate(item, resolve) for item in argument)
        if function == "Fn::Or":
            return any(_evaluate(item, resolve) for item in argument)
        if function == "Fn::Equals":
            left, right = (_evaluate(item, resolve) for item in argument)
            return str(left) == str(right)
        if function == "Fn::Contains":
            values, value = argument
            return str(_evaluate(value, resolve)) in [str(_evaluate(item, resolve)) for item in values]
        raise _Unknown(function)
    if isinstance(node, list):
        return [_evaluate(item, resolve) for item in node]
    return node


@functools.lru_cache(maxsize=16)
def _read(template_body: str) -> dict[str, Any]:
    """The template's document, read once per text: every account's bootstrap deploys the
    same YAML, 0.2 s in PyYAML's pure-Python loader. Only read here, never changed."""
    try:
        template = json.loads(template_body)
    except ValueError:
        template = yaml.safe_load(template_body)
    return template if isinstance(template, dict) else {}


def failed_assertion(backend: CloudFormationBackend, template_body: str, parameters: dict[str, Any]) -> str | None:
    """The description of the first assertion that does not hold, if any."""
    template = _read(template_body)
    for rule in template.get("Rules", {}).values():
        try:
            applies = _evaluate(rule.get("RuleCondition", True), lambda name: _parameter(backend, template, parameters, name))
            if not applies:
                continue
            for assertion in rule.get("Assertions", []):
                if not _evaluate(assertion["Assert"], lambda name: _parameter(backend, template, parameters, name)):
                    return str(assertion.get("AssertDescription", "Template rule assertion failed"))
        except _Unknown:
            continue
    return None


def _create_stack(self: CloudFormationBackend, name: str, template: str, parameters: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    description = failed_assertion(self, template, parameters or {})
    if description is not None:
        raise ValidationError(name, description)
    return _original(self, name, template, parameters, *args, **kwargs)


_original_change_set = CloudFormationBackend.create_change_set


def _create_change_set(
    self: CloudFormationBackend, stack_name: str, change_set_name: str, template: str, parameters: dict[str, Any], *args: Any, **kwargs: Any
) -> Any:
    # A change set is validated as a stack is: a failing rule refuses it before anything changes.
    description = failed_assertion(self, template, parameters or {})
    if description is not None:
        raise ValidationError(stack_name, description)
    return _original_change_set(self, stack_name, change_set_name, template, parameters, *args, **kwargs)


@contextmanager
def patch() -> Iterator[None]:
    with (
        mock.patch.object(CloudFormationBackend, "create_stack", _create_stack),
        mock.patch.object(CloudFormationBackend, "create_change_set", _create_change_set),
    ):
        yield
