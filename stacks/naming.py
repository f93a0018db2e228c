"""Names and ARNs of everything one account needs to know about the other.

Both accounts derive these from the environment name alone, so every stage
synthesizes without a token reference into the other account (CloudFormation
cannot resolve those), and the trust policies can name their exact peers.
ARNs are built with ``Stack.format_arn`` so the partition stays a token.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import ArnFormat, Stack

from project.config import DeploymentEnvironment, sample_secret_name


@dataclass(frozen=True)
class SecretCacheNames:
    """Physical names of one environment's resources (both accounts)."""

    environment_name: str

    @property
    def consumer_role(self) -> str:
        return f"TrustedAccountRl-{self.environment_name}"

    @property
    def consumer_workflow(self) -> str:
        return f"SecretCacheConsumerWfw-{self.environment_name}"

    @property
    def consumer_configuration_parameter(self) -> str:
        return f"/secret-cache/{self.environment_name}/consumer-configuration"

    @property
    def cross_account_role(self) -> str:
        return f"TrustingAccountRl-{self.environment_name}"

    @property
    def cache_workflow(self) -> str:
        return f"SecretCacheWfw-{self.environment_name}"

    @property
    def cache_workflow_role(self) -> str:
        return f"SecretCacheWfwRl-{self.environment_name}"

    @property
    def cache_function(self) -> str:
        return f"CacheSecret-{self.environment_name}"

    @property
    def cache_function_role(self) -> str:
        return f"CacheSecretRl-{self.environment_name}"

    @property
    def cache_table(self) -> str:
        return f"SecretCache-{self.environment_name}"

    @property
    def integration_test_step_role(self) -> str:
        """The pipeline's IntegrationTest step runs as this role, in the tooling account."""
        return f"SecretCacheItStepRl-{self.environment_name}"

    @property
    def integration_test_consumer_role(self) -> str:
        """In the trusted account: may only start and describe the consumer."""
        return f"SecretCacheItConsumerRl-{self.environment_name}"

    @property
    def integration_test_secret_role(self) -> str:
        """In the trusting account: may only read the secret, to compare with what came back."""
        return f"SecretCacheItSecretRl-{self.environment_name}"

    @property
    def integration_test_external_id(self) -> str:
        return f"secret-cache-integration-test-{self.environment_name}"

    @property
    def consumer_data_key_export(self) -> str:
        """The export of the consumer's data key ARN: the integration test's role, in a later
        stage, may decrypt the consumer's execution history with it."""
        return f"SecretCacheConsumerDataKeyArn-{self.environment_name}"

    @property
    def secret(self) -> str:
        return sample_secret_name(self.environment_name)


class SecretCacheArns:
    """ARNs of one environment's cross-account resources, rendered in ``scope``'s stack."""

    def __init__(self, scope: Stack, environment: DeploymentEnvironment, *, tooling_account: str) -> None:
        self._stack = scope
        self._env = environment
        self._tooling_account = tooling_account
        self.names = SecretCacheNames(environment.name)

    def _arn(
        self, account: str, service: str, resource: str, name: str, *, regional: bool = True, fmt: ArnFormat = ArnFormat.SLASH_RESOURCE_NAME
    ) -> str:
        return self._stack.format_arn(
            account=account,
            region=self._env.region if regional else "",
            service=service,
            resource=resource,
            resource_name=name,
            arn_format=fmt,
        )

    @property
    def consumer_role(self) -> str:
        return self._arn(self._env.trusted.account, "iam", "role", self.names.consumer_role, regional=False)

    @property
    def consumer_workflow(self) -> str:
        # Also the sts:ExternalId the trusting role demands (as AWS documents).
        return self._arn(
            self._env.trusted.account, "states", "stateMachine", self.names.consumer_workflow, fmt=ArnFormat.COLON_RESOURCE_NAME
        )

    @property
    def consumer_configuration_parameter(self) -> str:
        # The parameter name starts with "/", which the ARN must not repeat.
        return self._arn(self._env.trusted.account, "ssm", "parameter", self.names.consumer_configuration_parameter.lstrip("/"))

    @property
    def cross_account_role(self) -> str:
        return self._arn(self._env.trusting.account, "iam", "role", self.names.cross_account_role, regional=False)

    @property
    def cache_workflow(self) -> str:
        return self._arn(self._env.trusting.account, "states", "stateMachine", self.names.cache_workflow, fmt=ArnFormat.COLON_RESOURCE_NAME)

    @property
    def consumer_executions(self) -> str:
        """Every execution of the consumer (what DescribeExecution is granted on)."""
        return self._arn(
            self._env.trusted.account, "states", "execution", f"{self.names.consumer_workflow}:*", fmt=ArnFormat.COLON_RESOURCE_NAME
        )

    @property
    def integration_test_step_role(self) -> str:
        return self._arn(self._tooling_account, "iam", "role", self.names.integration_test_step_role, regional=False)

    @property
    def integration_test_consumer_role(self) -> str:
        return self._arn(self._env.trusted.account, "iam", "role", self.names.integration_test_consumer_role, regional=False)

    @property
    def integration_test_secret_role(self) -> str:
        return self._arn(self._env.trusting.account, "iam", "role", self.names.integration_test_secret_role, regional=False)

    def secret_named(self, name: str) -> str:
        """Partial ARN of a secret of the trusting account, by name: what the consumer asks for
        and the allow-list holds."""
        return self._arn(self._env.trusting.account, "secretsmanager", "secret", name, fmt=ArnFormat.COLON_RESOURCE_NAME)

    def secret_pattern(self, name: str) -> str:
        """What IAM matches a secret's full ARN against, by name: the partial ARN and
        Secrets Manager's six-character suffix."""
        return self.secret_named(name) + "-??????"

    @property
    def secret(self) -> str:
        """Partial ARN (no random suffix): what the consumer asks for and the allow-list holds."""
        return self.secret_named(self.names.secret)
