"""CKV_SCP_007: no secret-looking value in a Lambda function's environment variables:
they show in the console, the API and the template. Pass an ARN and read the secret."""

from __future__ import annotations

import re
from typing import Any

from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult

# A name that says "secret" with a literal value, or a value that is one whatever its name.
_SECRET_NAME = re.compile(r"(secret|passw(or)?d|token|api_?key|private_?key|credential)", re.IGNORECASE)
_SECRET_VALUE = re.compile(r"(AKIA|ASIA)[A-Z0-9]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----|^gh[pousr]_[A-Za-z0-9]{36}$")
_REFERENCE = re.compile(r"^(arn:|\{\{resolve:)")


class NoSecretInLambdaEnvironment(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure Lambda environment variables hold no secret value",
            id="CKV_SCP_007",
            categories=(CheckCategories.SECRETS,),
            supported_resources=("AWS::Lambda::Function",),
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["Properties/Environment/Variables"]
        variables = ((conf.get("Properties") or {}).get("Environment") or {}).get("Variables") or {}
        if not isinstance(variables, dict):
            return CheckResult.UNKNOWN
        for name, value in variables.items():
            if not isinstance(value, str):
                continue  # a Ref/GetAtt/import is a reference, not a literal
            if _SECRET_VALUE.search(value):
                return CheckResult.FAILED
            if _SECRET_NAME.search(str(name)) and value and not _REFERENCE.match(value):
                return CheckResult.FAILED
        return CheckResult.PASSED


check = NoSecretInLambdaEnvironment()
