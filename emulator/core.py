"""The emulator's one public object: two (or more) AWS accounts in this process.

    with Emulator() as aws:
        aws.deploy(stack)                       # a StackArtifact from project.assembly
        sfn = aws.client("stepfunctions", "111111111111", "eu-west-1")

Inside, it is moto (in process, Step Functions execution on, Lambda without Docker)
with the patches in ``emulator.patches``. Nothing in the application knows it runs
here: templates, assets and handler code are the ones `cdk synth` wrote.
"""

from __future__ import annotations

import io
import logging
import time
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from types import TracebackType
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.utils import utcnow
from moto.iam.models import iam_backends
from moto.ssm.models import Parameter as SsmParameter
from moto.ssm.models import ssm_backends

from emulator import patches
from emulator.authorization import ADMIN_USER
from emulator.identity import PARTITION, Credentials, forget_sessions
from project.assembly import FileAsset, StackArtifact

MOTO_CONFIG = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
    # Identity policies are not enforced (see README): least privilege is checked statically.
    "iam": {"load_aws_managed_policies": False},
}
CDK_QUALIFIER = "hnb659fds"
# The bootstrap stack version `cdk bootstrap` writes; the templates' rule requires >= 6.
BOOTSTRAP_VERSION = "30"

# IAM is global; moto's IAM calls still take a region, which changes nothing.
IAM_REGION = "us-east-1"
_CLIENT_CONFIG = Config(retries={"max_attempts": 1})


class DeployError(Exception):
    """A stack did not reach CREATE_COMPLETE; says which and why."""


class Emulator:
    """Every account in every region: an account exists once a call names it. There is no
    default region: each client names its own, as each deployed stack does."""

    def __init__(self) -> None:
        self._contexts = ExitStack()
        self._admins: dict[str, Credentials] = {}
        self._bootstrapped: set[tuple[str, str]] = set()

    def __enter__(self) -> Emulator:
        # moto's Step Functions interpreter logs every caught error and every failed task
        # with its full state tree; what matters reaches the execution's history anyway.
        self._contexts.enter_context(_quiet("moto"))
        # The patches first: the sync-states endpoint must be known when moto starts.
        self._contexts.enter_context(patches.applied())
        self._contexts.enter_context(mock_aws(config=MOTO_CONFIG))
        forget_sessions()
        return self

    def __exit__(self, *exc: object | TracebackType) -> None:
        self._contexts.close()

    # --- accounts ------------------------------------------------------------

    def credentials(self, account: str) -> Credentials:
        """An administrator of ``account`` (an IAM user whose key moto files under it)."""
        if account not in self._admins:
            backend = iam_backends[account][PARTITION]
            backend.create_user(region_name=IAM_REGION, user_name=ADMIN_USER)
            key = backend.create_access_key(user_name=ADMIN_USER)
            self._admins[account] = Credentials(key.access_key_id, key.secret_access_key)
        return self._admins[account]

    def client(self, service: str, account: str, region: str) -> Any:
        """A client of ``account``'s administrator in ``region``."""
        return boto3.client(service, region_name=region, config=_CLIENT_CONFIG, **self.credentials(account).as_boto3_kwargs())

    # --- deployment ----------------------------------------------------------

    def bootstrap(self, account: str, region: str) -> None:
        """What `cdk bootstrap` leaves in an account: the version parameter and the asset bucket."""
        if (account, region) in self._bootstrapped:
            return
        self.client("ssm", account, region).put_parameter(
            Name=f"/cdk-bootstrap/{CDK_QUALIFIER}/version", Value=BOOTSTRAP_VERSION, Type="String"
        )
        s3 = self.client("s3", account, region)
        bucket = f"cdk-{CDK_QUALIFIER}-assets-{account}-{region}"
        s3.create_bucket(Bucket=bucket, **({} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}))
        self._bootstrapped.add((account, region))

    def _publish(self, asset: FileAsset, account: str, region: str) -> None:
        if asset.packaging == "zip":
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in sorted(asset.source.rglob("*")):
                    if path.is_file():
                        archive.write(path, path.relative_to(asset.source).as_posix())
            body = buffer.getvalue()
        else:
            body = asset.source.read_bytes()
        self.client("s3", account, region).put_object(Bucket=asset.bucket_name, Key=asset.object_key, Body=body)

    @staticmethod
    def _seed_public_parameters(stack: StackArtifact, template: dict[str, Any]) -> None:
        # AWS-owned public parameters (/aws/service/...) the template reads at deploy time.
        # They are reserved to AWS: added to moto's store the way moto adds its own.
        store = ssm_backends[stack.account][stack.region]._parameters
        for parameter in template.get("Parameters", {}).values():
            name = str(parameter.get("Default", ""))
            is_public = parameter.get("Type", "").startswith("AWS::SSM::Parameter::Value") and name.startswith("/aws/service/")
            if is_public and name not in store:
                store[name].append(
                    SsmParameter(
                        account_id=stack.account,
                        name=name,
                        value=public_parameter_value(name, stack.region),
                        parameter_type="String",
                        description="emulated AWS public parameter",
                        allowed_pattern=None,
                        keyid=None,
                        last_modified_date=utcnow(),
                        version=1,
                        data_type="text",
                    )
                )

    def deploy(self, stack: StackArtifact, *, timeout_seconds: float = 60) -> dict[str, str]:
        """Create ``stack`` in its account and region; return its outputs."""
        self.bootstrap(stack.account, stack.region)
        for asset in stack.assets:
            self._publish(asset, stack.account, stack.region)
        template = stack.template()
        self._seed_public_parameters(stack, template)
        cloudformation = self.client("cloudformation", stack.account, stack.region)
        try:
            cloudformation.create_stack(
                StackName=stack.stack_name,
                TemplateBody=stack.template_file.read_text(),
                Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
            )
        except ClientError as error:  # refused before anything was created (a rule, a bad template)
            raise DeployError(f"{stack.stack_name}: {error.response['Error']['Message']}") from None
        deadline = time.monotonic() + timeout_seconds
        while True:
            description = cloudformation.describe_stacks(StackName=stack.stack_name)["Stacks"][0]
            status = description["StackStatus"]
            if status == "CREATE_COMPLETE":
                break
            if not status.endswith("IN_PROGRESS") or time.monotonic() > deadline:
                raise DeployError(f"{stack.stack_name} ended {status}: {self._failure_reason(cloudformation, stack.stack_name)}")
            time.sleep(0.05)
        return {output["OutputKey"]: output["OutputValue"] for output in description.get("Outputs", [])}

    @staticmethod
    def _failure_reason(cloudformation: Any, stack_name: str) -> str:
        events = cloudformation.describe_stack_events(StackName=stack_name)["StackEvents"]
        reasons = [f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason')}" for e in events if e.get("ResourceStatusReason")]
        return "; ".join(reasons) or "no reason given"


@contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def public_parameter_value(name: str, region: str) -> str:
    """A stand-in for an AWS public parameter's value."""
    if name.startswith("/aws/service/powertools/python/"):
        # /aws/service/powertools/python/<arch>/<python>/<version> -> the layer's ARN
        _, _, _, _, _, arch, python, version = name.split("/")
        layer = f"AWSLambdaPowertoolsPythonV3-{python.replace('.', '')}-{arch}"
        return f"arn:aws:lambda:{region}:017000801446:layer:{layer}:{version.replace('.', '')}"
    return f"emulated:{name}"
