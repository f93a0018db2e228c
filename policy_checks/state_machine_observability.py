"""CKV_SCP_005: every Step Functions state machine logs to CloudWatch and is traced with
X-Ray; an Express workflow never logs execution data (inputs and outputs carry secrets).
checkov has no CloudFormation check for either."""

from __future__ import annotations

from typing import Any

from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult
from iam_documents import as_list


class StateMachineObservability(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure state machines log and trace, and Express workflows log no execution data",
            id="CKV_SCP_005",
            categories=(CheckCategories.LOGGING,),
            supported_resources=("AWS::StepFunctions::StateMachine",),
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        properties = conf.get("Properties") or {}
        self.evaluated_keys = ["Properties/LoggingConfiguration", "Properties/TracingConfiguration"]
        logging = properties.get("LoggingConfiguration") or {}
        if not isinstance(logging, dict) or logging.get("Level", "OFF") == "OFF" or not as_list(logging.get("Destinations")):
            return CheckResult.FAILED
        tracing = properties.get("TracingConfiguration") or {}
        if not isinstance(tracing, dict) or tracing.get("Enabled") is not True:
            return CheckResult.FAILED
        if properties.get("StateMachineType") == "EXPRESS" and logging.get("IncludeExecutionData") is not False:
            return CheckResult.FAILED
        return CheckResult.PASSED


check = StateMachineObservability()
