"""A role that one named principal may assume, with an ExternalId, to do exactly what it lists.

TrustingAccountRl (the consumer's door into the trusting account, ExternalId = the
consumer's ARN, as Step Functions sends it) and the integration test's two roles.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from constructs import Construct


class ExternalIdRole(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role_name: str,
        principal_arn: str,
        external_id: str,
        description: str,
        statements: list[iam.PolicyStatement],
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            description=description,
            assumed_by=iam.ArnPrincipal(principal_arn).with_conditions({"StringEquals": {"sts:ExternalId": external_id}}),
        )
        for statement in statements:
            self.role.add_to_policy(statement)
