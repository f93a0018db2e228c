"""CKV_SCP_005: every Step Functions state machine logs to CloudWatch and is traced with
X-Ray, and logs no execution data where that data can carry a secret: an Express
workflow (its data is nowhere else), and any state machine, Standard too, that handles
a secret (``state_machine_data.handles_a_secret``): the log would keep the secret in
plain text, beyond the reach of the state machine's own key. checkov has no
CloudFormation check for any of it."""

from __future__ import annotations

from typing import Any

from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult
from iam_documents import as_list
from state_machine_data import handles_a_secret


class StateMachineObservability(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure state machines log and trace, and log no execution data where it can carry a secret",
            id="CKV_SCP_005",
            categories=(CheckCategories.LOGGING,),
            supported_resources=("AWS::StepFunctions::StateMachine",),
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        properties = conf.get("Properties") or {}
        self.evaluated_keys = ["Properties/LoggingConfiguration", "Properties/TracingConfiguration", "Properties/DefinitionString"]
        logging = properties.get("LoggingConfiguration") or {}
        if not isinstance(logging, dict) or logging.get("Level", "OFF") == "OFF" or not as_list(logging.get("Destinations")):
            return CheckResult.FAILED
        tracing = properties.get("TracingConfiguration") or {}
        if not isinstance(tracing, dict) or tracing.get("Enabled") is not True:
            return CheckResult.FAILED
        carries_secrets = properties.get("StateMachineType") == "EXPRESS" or handles_a_secret(properties)
        if carries_secrets and logging.get("IncludeExecutionData") is not False:
            return CheckResult.FAILED
        return CheckResult.PASSED


check = StateMachineObservability()
