"""CKV_SCP_004: an Allow names its actions: no "*", no "service:*", and no
NotAction/NotResource (they allow everything they do not list)."""

from __future__ import annotations

import re
from typing import Any

from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult
from iam_documents import IDENTITY_POLICY_TYPES, actions, identity_policy_documents, is_allow, statements

_WHOLE_SERVICE = re.compile(r"^(\*|[A-Za-z0-9-]+:\*)$")


class NoWildcardActions(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure no Allow statement uses '*', 'service:*', NotAction or NotResource",
            id="CKV_SCP_004",
            categories=(CheckCategories.IAM,),
            supported_resources=IDENTITY_POLICY_TYPES,
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        for key, document in identity_policy_documents(conf):
            self.evaluated_keys = [key]
            for statement in statements(document):
                if not is_allow(statement):
                    continue
                if "NotAction" in statement or "NotResource" in statement:
                    return CheckResult.FAILED
                if any(_WHOLE_SERVICE.match(action.strip()) for action in actions(statement)):
                    return CheckResult.FAILED
        return CheckResult.PASSED


check = NoWildcardActions()
