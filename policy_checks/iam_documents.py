"""Helpers shared by the policy checks: find IAM statements wherever CloudFormation can
hold them, read tokenized values the way IAM will see them, and the two base classes
of statement checks.

Not a check: checkov executes this module too, but it registers nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from fnmatch import fnmatchcase
from typing import Any

from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult

# Where identity policies live, per resource type.
_INLINE_POLICY_TYPES = ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group")
_POLICY_DOCUMENT_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
IDENTITY_POLICY_TYPES = _INLINE_POLICY_TYPES + _POLICY_DOCUMENT_TYPES


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _fields(value: dict[str, Any]) -> dict[str, Any]:
    """The template's own keys: checkov's parser adds __file__, __startline__, __endline__."""
    return {key: item for key, item in value.items() if not str(key).startswith("__")}


def render(value: Any) -> Any:
    """A string as IAM would see it, with unknowable parts as ``${...}`` placeholders.

    Handles Fn::Join, Fn::Sub (string form), Ref and Fn::GetAtt; anything else is
    returned unchanged (a dict), which callers treat as "not a literal".
    """
    if isinstance(value, dict) and len(_fields(value)) == 1:
        ((function, argument),) = _fields(value).items()
        if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
            separator, parts = argument
            rendered = [render(part) for part in as_list(parts)]
            if all(isinstance(part, str) for part in rendered):
                return str(separator).join(rendered)
        if function == "Fn::Sub":
            template = argument[0] if isinstance(argument, list) else argument
            if isinstance(template, str):
                return template
        if function == "Ref" and isinstance(argument, str):
            # No colons in the placeholder: "AWS::Partition" would break ARN parsing.
            return "${" + argument.replace("::", ".") + "}"
        if function == "Fn::GetAtt":
            return "${" + ".".join(map(str, as_list(argument))) + "}"
    return value


def _document(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def identity_policy_documents(conf: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(evaluated key, policy document) of every identity policy in a resource."""
    resource_type = conf.get("Type")
    properties = conf.get("Properties") or {}
    if not isinstance(properties, dict):
        return
    if resource_type in _POLICY_DOCUMENT_TYPES:
        document = _document(properties.get("PolicyDocument"))
        if document is not None:
            yield "Properties/PolicyDocument", document
    elif resource_type in _INLINE_POLICY_TYPES:
        for index, policy in enumerate(as_list(properties.get("Policies"))):
            document = _document(policy.get("PolicyDocument")) if isinstance(policy, dict) else None
            if document is not None:
                yield f"Properties/Policies/{index}/PolicyDocument", document


def statements(document: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [statement for statement in as_list((document or {}).get("Statement")) if isinstance(statement, dict)]


def is_allow(statement: dict[str, Any]) -> bool:
    return statement.get("Effect") == "Allow"


def actions(statement: dict[str, Any]) -> list[str]:
    return [action for action in as_list(statement.get("Action")) if isinstance(action, str)]


def resources(statement: dict[str, Any]) -> list[Any]:
    return [render(resource) for resource in as_list(statement.get("Resource"))]


def action_covers(pattern: str, action: str) -> bool:
    """Does the statement's action (maybe with wildcards) grant ``action``? IAM ignores case."""
    return fnmatchcase(action.lower(), pattern.lower())


_ARN = re.compile(r"^arn:[^:]*:(?P<service>[^:]*):(?P<region>[^:]*):(?P<account>[^:]*):(?P<resource>.*)$")


def is_wildcard_resource(resource: Any) -> bool:
    """``*``, or an ARN that names no particular resource (``...:secret:*``, ``...:table/*``,
    any account ``*``)."""
    if not isinstance(resource, str):
        return False  # an unresolvable intrinsic names a specific resource of the template
    if resource.strip() == "*":
        return True
    match = _ARN.match(resource)
    if not match:
        return False
    if match["account"] == "*":
        return True
    resource_part = match["resource"]
    return resource_part in ("*", "") or re.fullmatch(r"[A-Za-z-]+[:/]\*", resource_part) is not None


def condition_keys(statement: dict[str, Any]) -> dict[str, list[Any]]:
    """``{lower-cased condition key: [values...]}`` across every operator."""
    found: dict[str, list[Any]] = {}
    condition = statement.get("Condition")
    if not isinstance(condition, dict):
        return found
    for block in _fields(condition).values():
        if isinstance(block, dict):
            for key, value in _fields(block).items():
                found.setdefault(str(key).lower(), []).extend(as_list(value))
    return found


def trust_statements(conf: dict[str, Any]) -> list[dict[str, Any]]:
    properties = conf.get("Properties") or {}
    return statements(_document(properties.get("AssumeRolePolicyDocument"))) if isinstance(properties, dict) else []


def principals(statement: dict[str, Any], kind: str) -> list[Any]:
    principal = statement.get("Principal")
    if principal == "*" and kind == "AWS":
        return ["*"]
    if isinstance(principal, dict):
        return [render(value) for value in as_list(principal.get(kind))]
    return []


class AllowStatementCheck(BaseResourceCheck):
    """Fails a resource when an Allow statement of one of its identity policies ``violates``."""

    def __init__(self, *, name: str, check_id: str) -> None:
        super().__init__(name=name, id=check_id, categories=(CheckCategories.IAM,), supported_resources=IDENTITY_POLICY_TYPES)

    def violates(self, statement: dict[str, Any]) -> bool:
        raise NotImplementedError

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        for key, document in identity_policy_documents(conf):
            self.evaluated_keys = [key]
            if any(is_allow(statement) and self.violates(statement) for statement in statements(document)):
                return CheckResult.FAILED
        return CheckResult.PASSED


class TrustStatementCheck(BaseResourceCheck):
    """Fails a role when an Allow statement of its trust policy ``violates``."""

    def __init__(self, *, name: str, check_id: str) -> None:
        super().__init__(name=name, id=check_id, categories=(CheckCategories.IAM,), supported_resources=("AWS::IAM::Role",))

    def violates(self, statement: dict[str, Any]) -> bool:
        raise NotImplementedError

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["Properties/AssumeRolePolicyDocument/Statement"]
        if any(is_allow(statement) and self.violates(statement) for statement in trust_statements(conf)):
            return CheckResult.FAILED
        return CheckResult.PASSED
