"""CKV_SCP_006: a Secrets Manager secret is generated (GenerateSecretString), never given
a SecretString: a literal lands in the template, the cloud assembly and the repository."""

from __future__ import annotations

from typing import Any

from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult


class NoLiteralSecretString(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure Secrets Manager secrets have no SecretString in the template",
            id="CKV_SCP_006",
            categories=(CheckCategories.SECRETS,),
            supported_resources=("AWS::SecretsManager::Secret",),
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["Properties/SecretString"]
        properties = conf.get("Properties") or {}
        return CheckResult.FAILED if "SecretString" in properties else CheckResult.PASSED


check = NoLiteralSecretString()
