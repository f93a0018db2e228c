"""The execution role of one state machine, and the state machine, traced and logged."""

from __future__ import annotations

from typing import Any, NamedTuple

from aws_cdk import Acknowledgment, Duration, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.constructs.log_encryption import encrypted_log_group, state_machine_log_group_name
from stacks.constructs.workflow_encryption import StateMachineDataKey

# Step Functions log delivery and X-Ray have no resource-level permissions:
# these actions accept only "*" (Service Authorization Reference).
_LOG_DELIVERY_ACTIONS = [
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
]
_XRAY_ACTIONS = [
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
]


class WorkflowRole(Construct):
    """A role only Step Functions may assume, and only for the named state machine.

    The state machine receives ``immutable_role``, so the CDK cannot widen it
    behind our back (``TaskRole.from_role_arn_json_path`` would otherwise grant
    ``sts:AssumeRole`` on ``*``): every permission is an explicit statement.
    """

    def __init__(self, scope: Construct, construct_id: str, *, role_name: str, state_machine_arn: str, description: str) -> None:
        super().__init__(scope, construct_id)
        account = Stack.of(self).account
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            description=description,
            assumed_by=iam.ServicePrincipal(
                "states.amazonaws.com",
                conditions={
                    # Confused deputy: only our account's state machine of this name.
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnEquals": {"aws:SourceArn": state_machine_arn},
                },
            ),
        )
        self.role.add_to_policy(iam.PolicyStatement(sid="DeliverLogs", actions=_LOG_DELIVERY_ACTIONS, resources=["*"]))
        self.role.add_to_policy(iam.PolicyStatement(sid="Tracing", actions=_XRAY_ACTIONS, resources=["*"]))
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="Step Functions log delivery (logs:*LogDelivery*, PutResourcePolicy, Describe*) and X-Ray "
                "accept only Resource '*'; every other statement of this role names its resources.",
            )
        )
        self.immutable_role = self.role.without_policy_updates()

    def allow(self, sid: str, actions: list[str], resources: list[str], conditions: dict[str, Any] | None = None) -> None:
        self.role.add_to_policy(iam.PolicyStatement(sid=sid, actions=actions, resources=resources, conditions=conditions))


class ObservedStateMachine(NamedTuple):
    state_machine: sfn.StateMachine
    data_key: StateMachineDataKey


def observed_state_machine(
    scope: Construct,
    *,
    state_machine_name: str,
    state_machine_arn: str,
    state_machine_type: sfn.StateMachineType,
    definition: sfn.IChainable,
    role: WorkflowRole,
    timeout_seconds: int,
    logs_key: kms.IKey,
    started_synchronously: bool = False,
) -> ObservedStateMachine:
    """A state machine under its WorkflowRole, traced, logging every transition but
    never the execution data (it carries the secret), its definition and execution
    history under a key of its own (``StateMachineDataKey``). ``started_synchronously``:
    an Express workflow run only with StartSyncExecution, whose role needs less of the key."""
    data_key = StateMachineDataKey(
        scope,
        "DataKey",
        state_machine_name=state_machine_name,
        state_machine_arn=state_machine_arn,
        role=role,
        synchronous_express=started_synchronously,
    )
    log_group = encrypted_log_group(scope, "LogGroup", log_group_name=state_machine_log_group_name(state_machine_name), key=logs_key)
    state_machine = sfn.StateMachine(
        scope,
        "StateMachine",
        state_machine_name=state_machine_name,
        state_machine_type=state_machine_type,
        definition_body=sfn.DefinitionBody.from_chainable(definition),
        role=role.immutable_role,
        timeout=Duration.seconds(timeout_seconds),
        tracing_enabled=True,
        logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        encryption_configuration=data_key.encryption,
    )
    return ObservedStateMachine(state_machine, data_key)
