"""Helpers for the emulator's own tests: the accounts they use and what they build there."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable
from typing import Any

ACCOUNT = "111111111111"
OTHER_ACCOUNT = "222222222222"
REGION = "us-east-1"


ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def client_as_role(account: Any, role_arn: str, service: str, session_name: str = "test", **session_policies: Any) -> Any:
    """A boto3 client of ``service`` with the credentials of ``role_arn``, assumed by
    ``account``'s administrator, with ``session_policies`` (``Policy=...``, ``PolicyArns=[...]``) if any."""
    import boto3

    credentials = account.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name, **session_policies)["Credentials"]
    return boto3.client(
        service,
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def service_trust(service: str, account: str) -> str:
    """A trust policy for ``service`` (``states.amazonaws.com``), on behalf of ``account`` only."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                }
            ],
        }
    )


def states_trust(account: str) -> str:
    return service_trust("states.amazonaws.com", account)


class Account:
    """One account's clients: an emulator account, or moto's default account when vanilla."""

    def __init__(self, client: Callable[[str], Any], account_id: str) -> None:
        self.client = client
        self.id = account_id

    def role(self, name: str, trust: str | None = None, permissions: dict[str, Any] | None = ALLOW_ALL) -> str:
        """A role; by default it may do anything: the tests of the other patches are not about
        permissions (tests/unit/emulator/patches/test_identity_policies.py is)."""
        iam = self.client("iam")
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust or states_trust(self.id))["Role"]["Arn"]
        if permissions is not None:
            iam.put_role_policy(RoleName=name, PolicyName="permissions", PolicyDocument=json.dumps(permissions))
        return str(arn)

    def state_machine(self, name: str, definition: dict[str, Any], *, kind: str = "STANDARD", role_arn: str | None = None) -> str:
        role_arn = role_arn or self.role(f"{name}-role")
        return self.client("stepfunctions").create_state_machine(name=name, definition=json.dumps(definition), roleArn=role_arn, type=kind)[
            "stateMachineArn"
        ]

    def run(self, state_machine_arn: str, payload: dict[str, Any] | None = None, deadline: float = 15) -> dict[str, Any]:
        sfn = self.client("stepfunctions")
        arn = sfn.start_execution(stateMachineArn=state_machine_arn, input=json.dumps(payload or {}))["executionArn"]
        stop = time.monotonic() + deadline
        while True:
            description = sfn.describe_execution(executionArn=arn)
            if description["status"] != "RUNNING" or time.monotonic() > stop:
                return description
            time.sleep(0.02)

    def python_function(self, name: str, source: str, role_arn: str, environment: dict[str, str] | None = None) -> str:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("handler.py", source)
        return self.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=role_arn,
            Handler="handler.handle",
            Code={"ZipFile": buffer.getvalue()},
            Environment={"Variables": environment or {}},
        )["FunctionArn"]
