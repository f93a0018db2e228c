"""What the integration test runs against: the consumer, and a way to read the secret.

The same test module runs against the emulated accounts (``make local``, ``make test``)
and against real AWS (the pipeline's IntegrationTest step); only this object differs.
Real AWS is described by environment variables (``aws_target``); the emulated accounts hand
their target in through the pytest plugin (``integration_target.pytest_plugin``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.client import BaseClient

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


class ConsumerTimeout(AssertionError):
    pass


@dataclass(frozen=True)
class SecretCacheTarget:
    name: str  # "local" or "aws"
    consumer_arn: str
    stepfunctions: Any  # a Step Functions client in the trusted account
    read_secret_value: Callable[[], str]  # the secret's current value, from the trusting account
    deadline_seconds: float = 90.0
    poll_seconds: float = 0.05  # first wait; doubles up to max_poll_seconds
    max_poll_seconds: float = 2.0

    def run_consumer(self) -> dict[str, Any]:
        """Start the consumer and wait for it to end; the describe_execution result."""
        arn = self.stepfunctions.start_execution(stateMachineArn=self.consumer_arn)["executionArn"]
        return self.wait(arn)

    def wait(self, execution_arn: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.deadline_seconds
        poll = self.poll_seconds
        while True:
            description = self.stepfunctions.describe_execution(executionArn=execution_arn)
            if description["status"] in TERMINAL:
                return dict(description)
            if time.monotonic() > deadline:
                raise ConsumerTimeout(
                    f"{execution_arn} is still {description['status']} after {self.deadline_seconds:.0f} s: "
                    "no output to check (the consumer did not finish)"
                )
            time.sleep(poll)
            poll = min(poll * 2, self.max_poll_seconds)


def secret_of(description: dict[str, Any]) -> dict[str, Any]:
    """The consumer's {"Secret": {...}}, or a failure that says how the run ended."""
    if description["status"] != "SUCCEEDED":
        raise AssertionError(f"consumer ended {description['status']}: {description.get('error')}: {description.get('cause')}")
    secret: dict[str, Any] = json.loads(description["output"])["Secret"]
    return secret


def on_aws() -> bool:
    """SECRET_CACHE_TARGET=aws: the test runs against real accounts, named by environment variables."""
    return os.environ.get("SECRET_CACHE_TARGET", "local") == "aws"


def aws_target(environment: Mapping[str, str] | None = None) -> SecretCacheTarget:
    """Real AWS, from the environment variables of the pipeline's IntegrationTest step
    (``environment``, this process's by default: `make local` hands in the step's own).

    CONSUMER_STATE_MACHINE_ARN  the consumer to run (a stack output)
    SECRET_ARN                  the secret to compare with (a stack output)
    TRUSTED_ROLE_ARN            optional: a role in the trusted account that may only start and
                                describe the consumer; assumed for the Step Functions calls
    TRUSTING_ROLE_ARN           optional: a role in the trusting account that may only read the
                                secret; assumed to read it
    TEST_ROLE_EXTERNAL_ID       the ExternalId those two roles require
    """
    import boto3

    env = os.environ if environment is None else environment
    missing = [name for name in ("CONSUMER_STATE_MACHINE_ARN", "SECRET_ARN") if not env.get(name)]
    if missing:
        raise RuntimeError(f"SECRET_CACHE_TARGET=aws needs {', '.join(missing)} in the environment")
    # Unset keys are None: boto3 then looks further (profile, instance role), as for any SDK client.
    session = boto3.Session(
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
        aws_session_token=env.get("AWS_SESSION_TOKEN"),
        region_name=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
    )

    def client_as_role(variable: str, service: str) -> Any:
        """A ``service`` client as the role ``variable`` names (or as the caller, if unset);
        one session throughout, so its loaded service models serve every client."""
        # The service is named at run time; the stubs overload each name as a literal.
        make_client: Callable[..., BaseClient] = session.client
        role_arn = env.get(variable)
        if not role_arn:
            return make_client(service)
        extra = {"ExternalId": env["TEST_ROLE_EXTERNAL_ID"]} if env.get("TEST_ROLE_EXTERNAL_ID") else {}
        assumed = session.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="secret-cache-integration", **extra)
        credentials = assumed["Credentials"]
        return make_client(
            service,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )

    secret_arn = env["SECRET_ARN"]
    secrets = client_as_role("TRUSTING_ROLE_ARN", "secretsmanager")
    return SecretCacheTarget(
        name="aws",
        consumer_arn=env["CONSUMER_STATE_MACHINE_ARN"],
        stepfunctions=client_as_role("TRUSTED_ROLE_ARN", "stepfunctions"),
        read_secret_value=lambda: secrets.get_secret_value(SecretId=secret_arn)["SecretString"],
        deadline_seconds=float(env.get("CONSUMER_DEADLINE_SECONDS", "330")),
    )
