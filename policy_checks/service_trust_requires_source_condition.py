"""CKV_SCP_002: a role that an AWS service may assume must pin aws:SourceAccount or
aws:SourceArn, or the service can be tricked into using it for someone else."""

from __future__ import annotations

from typing import Any

from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult
from iam_documents import condition_keys, is_allow, principals, trust_statements

_SOURCE_KEYS = ("aws:sourceaccount", "aws:sourcearn")


class ServiceTrustRequiresSourceCondition(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure a role trusted by a service principal carries aws:SourceAccount or aws:SourceArn",
            id="CKV_SCP_002",
            categories=(CheckCategories.IAM,),
            supported_resources=("AWS::IAM::Role",),
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["Properties/AssumeRolePolicyDocument/Statement"]
        for statement in trust_statements(conf):
            if is_allow(statement) and principals(statement, "Service"):
                keys = condition_keys(statement)
                if not any(keys.get(key) for key in _SOURCE_KEYS):
                    return CheckResult.FAILED
        return CheckResult.PASSED


check = ServiceTrustRequiresSourceCondition()
