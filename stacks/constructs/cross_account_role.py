"""TrustingAccountRl: the door from the trusted account into SecretCacheWfw."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from constructs import Construct


class CrossAccountRole(Construct):
    """Assumable only by the consumer's role, only on behalf of the consumer workflow.

    Step Functions passes the calling state machine's ARN as ``sts:ExternalId``
    when a task carries ``Credentials``; demanding it here means no other
    workflow (or person) using the consumer role can get in.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role_name: str,
        consumer_role_arn: str,
        consumer_workflow_arn: str,
        cache_workflow_arn: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            description="Lets the trusted account's SecretCacheConsumerWfw start SecretCacheWfw synchronously.",
            assumed_by=iam.ArnPrincipal(consumer_role_arn).with_conditions({"StringEquals": {"sts:ExternalId": consumer_workflow_arn}}),
        )
        self.role.add_to_policy(
            iam.PolicyStatement(sid="StartSecretCacheWfw", actions=["states:StartSyncExecution"], resources=[cache_workflow_arn])
        )
