"""CKV_SCP_008: a state machine that handles a secret encrypts its data with a customer
managed key.

Its execution history (input, output, errors) holds the secret for up to 90 days.
Under the default AWS owned key, ``states:DescribeExecution`` alone shows it; under a
customer managed key (``EncryptionConfiguration.Type: CUSTOMER_MANAGED_KMS_KEY``), the
reader also needs ``kms:Decrypt`` on that key (Step Functions developer guide, "Data at
rest encryption in Step Functions"). Which state machines handle a secret:
``state_machine_data.handles_a_secret``. checkov has no check for it.
"""

from __future__ import annotations

from typing import Any

from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult
from state_machine_data import handles_a_secret


class SecretStateMachineEncryption(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure a state machine that handles a secret encrypts its data with a customer managed KMS key",
            id="CKV_SCP_008",
            categories=(CheckCategories.ENCRYPTION,),
            supported_resources=("AWS::StepFunctions::StateMachine",),
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        properties = conf.get("Properties") or {}
        self.evaluated_keys = ["Properties/EncryptionConfiguration", "Properties/DefinitionString"]
        if not isinstance(properties, dict) or not handles_a_secret(properties):
            return CheckResult.PASSED
        encryption = properties.get("EncryptionConfiguration") or {}
        if not isinstance(encryption, dict) or encryption.get("Type") != "CUSTOMER_MANAGED_KMS_KEY" or not encryption.get("KmsKeyId"):
            return CheckResult.FAILED
        return CheckResult.PASSED


check = SecretStateMachineEncryption()
