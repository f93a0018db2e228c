"""CKV_SCP_002: a role that an AWS service may assume must pin aws:SourceAccount or
aws:SourceArn, or the service can be tricked into using it for someone else."""

from __future__ import annotations

from typing import Any

from iam_documents import TrustStatementCheck, condition_keys, principals

_SOURCE_KEYS = ("aws:sourceaccount", "aws:sourcearn")


class ServiceTrustRequiresSourceCondition(TrustStatementCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure a role trusted by a service principal carries aws:SourceAccount or aws:SourceArn", check_id="CKV_SCP_002"
        )

    def violates(self, statement: dict[str, Any]) -> bool:
        keys = condition_keys(statement)
        return bool(principals(statement, "Service")) and not any(keys.get(key) for key in _SOURCE_KEYS)


check = ServiceTrustRequiresSourceCondition()
