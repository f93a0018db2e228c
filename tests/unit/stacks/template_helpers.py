"""Read synthesized CloudFormation the way AWS will: tokens rendered, statements flattened."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

# Values that pseudo parameters take in the offline default environment.
PSEUDO_PARAMETERS = {"AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}


def render(value: Any) -> Any:
    """Resolve Fn::Join and pseudo-parameter Refs; other Refs/GetAtts become ``${Ref}`` markers."""
    if isinstance(value, dict):
        if set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            return separator.join(str(render(part)) for part in parts)
        if set(value) == {"Ref"}:
            return PSEUDO_PARAMETERS.get(value["Ref"], "${" + value["Ref"] + "}")
        if set(value) == {"Fn::GetAtt"}:
            return "${" + ".".join(value["Fn::GetAtt"]) + "}"
        return {key: render(item) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item) for item in value]
    return value


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {logical_id: resource for logical_id, resource in template["Resources"].items() if resource["Type"] == resource_type}


def only_resource(template: dict[str, Any], resource_type: str, **properties: Any) -> dict[str, Any]:
    """The one resource of that type whose (rendered) properties include ``properties``."""
    matches = [
        resource
        for resource in resources(template, resource_type).values()
        if all(render(resource["Properties"].get(key)) == value for key, value in properties.items())
    ]
    assert len(matches) == 1, f"expected one {resource_type} with {properties}, found {len(matches)}"
    return matches[0]


def role_by_name(template: dict[str, Any], role_name: str) -> tuple[str, dict[str, Any]]:
    for logical_id, resource in resources(template, "AWS::IAM::Role").items():
        if resource["Properties"].get("RoleName") == role_name:
            return logical_id, resource
    raise AssertionError(f"no role named {role_name}")


def identity_statements(template: dict[str, Any], role_logical_id: str | None = None) -> list[dict[str, Any]]:
    """Rendered Allow/Deny statements of every identity policy (inline, AWS::IAM::Policy,
    managed), optionally only those attached to one role of this template."""
    found = []
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            if role_logical_id in (None, logical_id):
                for policy in props.get("Policies", []):
                    found.extend(policy["PolicyDocument"]["Statement"])
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            roles = props.get("Roles", [])
            if role_logical_id is None or {"Ref": role_logical_id} in roles:
                found.extend(props["PolicyDocument"]["Statement"])
    return [render(statement) for statement in found]


def allowed_actions(statements: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """``{action: [resources...]}`` over Allow statements."""
    result: dict[str, list[Any]] = {}
    for statement in statements:
        if statement["Effect"] != "Allow":
            continue
        for action in as_list(statement["Action"]):
            result.setdefault(action, []).extend(as_list(statement["Resource"]))
    return result


def state_machine_definition(template: dict[str, Any], name: str) -> dict[str, Any]:
    machine = only_resource(template, "AWS::StepFunctions::StateMachine", StateMachineName=name)
    return json.loads(render(machine["Properties"]["DefinitionString"]))


def iter_states(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield from definition["States"].items()


def assert_role_trusts_step_functions_only_for(template: dict[str, Any], role_name: str, *, account: str, state_machine_arn: str) -> None:
    """The confused-deputy guard on a workflow role: this account's state machine of this ARN only."""
    _, role = role_by_name(template, role_name)
    (statement,) = render(role["Properties"]["AssumeRolePolicyDocument"])["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Principal"] == {"Service": "states.amazonaws.com"}
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": account},
        "ArnEquals": {"aws:SourceArn": state_machine_arn},
    }
