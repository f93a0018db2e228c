"""CKV_SCP_001: a role that an AWS principal (another account, a role, anyone) may assume
must demand sts:ExternalId, or it is open to the confused deputy."""

from __future__ import annotations

from typing import Any

from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult
from iam_documents import condition_keys, is_allow, principals, trust_statements


class CrossAccountTrustRequiresExternalId(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure a role assumable by an AWS principal requires sts:ExternalId",
            id="CKV_SCP_001",
            categories=(CheckCategories.IAM,),
            supported_resources=("AWS::IAM::Role",),
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["Properties/AssumeRolePolicyDocument/Statement"]
        for statement in trust_statements(conf):
            if is_allow(statement) and principals(statement, "AWS"):
                external_ids = condition_keys(statement).get("sts:externalid", [])
                if not any(isinstance(value, str | dict) and value not in ("", "*") for value in external_ids):
                    return CheckResult.FAILED
        return CheckResult.PASSED


check = CrossAccountTrustRequiresExternalId()
