"""CKV_SCP_003: actions that read secrets, data or credentials, or hand out roles, must
name their resources: never "*" nor a whole-service ARN such as
arn:aws:secretsmanager:*:*:secret:*."""

from __future__ import annotations

from typing import Any

from iam_documents import AllowStatementCheck, action_covers, actions, is_wildcard_resource, resources
from sensitive_actions import SENSITIVE_ACTIONS


def grants_sensitive_action(statement: dict[str, Any]) -> bool:
    return any(action_covers(pattern, sensitive) for pattern in actions(statement) for sensitive in SENSITIVE_ACTIONS)


class NoWildcardResourceOnSensitiveActions(AllowStatementCheck):
    def __init__(self) -> None:
        super().__init__(name="Ensure secret, credential and data actions are not allowed on a wildcard resource", check_id="CKV_SCP_003")

    def violates(self, statement: dict[str, Any]) -> bool:
        return grants_sensitive_action(statement) and any(is_wildcard_resource(resource) for resource in resources(statement))


check = NoWildcardResourceOnSensitiveActions()
