"""A role the pipeline's IntegrationTest step assumes, and nothing else may."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from constructs import Construct


class IntegrationTestRole(Construct):
    """Trusts only the IntegrationTest step's role (tooling account), with an ExternalId,
    and allows exactly ``statements``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role_name: str,
        step_role_arn: str,
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
            assumed_by=iam.ArnPrincipal(step_role_arn).with_conditions({"StringEquals": {"sts:ExternalId": external_id}}),
        )
        for statement in statements:
            self.role.add_to_policy(statement)
