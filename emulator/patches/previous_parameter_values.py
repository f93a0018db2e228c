"""A stack's SSM-typed parameter keeps the parameter *name* it was given, as CloudFormation
keeps it, and is resolved anew on each update.

A parameter of type ``AWS::SSM::Parameter::Value<...>`` is given the name of a Systems
Manager parameter, and CloudFormation resolves it when the stack is created or updated
(CloudFormation user guide, "Specify existing resources at runtime with CloudFormation-
supplied parameter types", SSM parameter types: DescribeStacks shows the name as
``ParameterValue`` and what it resolved to as ``ResolvedValue``;
the emulator's DescribeStacks still shows the resolved value, moto's own). `cdk deploy` updates a
stack with ``UsePreviousValue`` for each parameter it does not set, the bootstrap-version
check ``BootstrapVersion`` (``/cdk-bootstrap/<qualifier>/version``) among them. moto hands
on the *resolved* value ("30") as the previous one and then looks up an SSM parameter
named "30": the change set's execution crashed (an HTML 500) on every `cdk deploy` of an
existing stack.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.cloudformation.models import Stack

REASON = (
    "moto keeps an SSM-typed stack parameter's resolved value as its value: an update with UsePreviousValue "
    "(every `cdk deploy` of an existing stack) looked up an SSM parameter named after the value, and crashed."
)


def _stack_parameters(self: Stack) -> dict[str, Any]:
    resource_map = self.resource_map
    parameters = dict(resource_map.resolved_parameters)
    for name, slot in (resource_map._template.get("Parameters") or {}).items():
        if str(slot.get("Type", "")).startswith("AWS::SSM::Parameter::") and name in parameters:
            parameters[name] = resource_map.input_parameters.get(name, slot.get("Default"))
    return parameters


@contextmanager
def patch() -> Iterator[None]:
    with mock.patch.object(Stack, "stack_parameters", property(_stack_parameters)):
        yield
