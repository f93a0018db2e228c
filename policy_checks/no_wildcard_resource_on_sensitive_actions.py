"""CKV_SCP_003: actions that read secrets, data or credentials, or hand out roles, must
name their resources: never "*" nor a whole-service ARN such as
arn:aws:secretsmanager:*:*:secret:*."""

from __future__ import annotations

from typing import Any

from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult
from iam_documents import (
    IDENTITY_POLICY_TYPES,
    action_covers,
    actions,
    identity_policy_documents,
    is_allow,
    is_wildcard_resource,
    resources,
    statements,
)

SENSITIVE_ACTIONS = (
    "secretsmanager:GetSecretValue",
    "sts:AssumeRole",
    "iam:PassRole",
    "states:StartExecution",
    "states:StartSyncExecution",
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "kms:Decrypt",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
)


def grants_sensitive_action(statement: dict[str, Any]) -> bool:
    return any(action_covers(pattern, sensitive) for pattern in actions(statement) for sensitive in SENSITIVE_ACTIONS)


class NoWildcardResourceOnSensitiveActions(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure secret, credential and data actions are not allowed on a wildcard resource",
            id="CKV_SCP_003",
            categories=(CheckCategories.IAM,),
            supported_resources=IDENTITY_POLICY_TYPES,
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        for key, document in identity_policy_documents(conf):
            self.evaluated_keys = [key]
            for statement in statements(document):
                wildcard = any(is_wildcard_resource(resource) for resource in resources(statement))
                if is_allow(statement) and wildcard and grants_sensitive_action(statement):
                    return CheckResult.FAILED
        return CheckResult.PASSED


check = NoWildcardResourceOnSensitiveActions()
