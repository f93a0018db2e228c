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
import json
import logging
import re
import time
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from types import TracebackType
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.config import DefaultConfig
from moto.iam.models import iam_backends

from emulator import clients, patches
from emulator.authorization import ADMIN_USER, register_administrator
from emulator.identity import PARTITION, Credentials, assume_role_as, forget_sessions, principal_for_access_key
from project.assembly import FileAsset, StackArtifact

MOTO_CONFIG: DefaultConfig = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
    # moto's own identity-policy enforcement stays off: the identity_policies patch evaluates
    # them as IAM does (docs/emulator.md).
    "iam": {"load_aws_managed_policies": False},
}
CDK_QUALIFIER = "hnb659fds"
BOOTSTRAP_STACK = "CDKToolkit"
# The customer managed policies handed to the bootstrap as the execution role's.

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
        clients.forget_clients()
        return self

    def __exit__(self, *exc: object | TracebackType) -> None:
        clients.forget_clients()
        self._contexts.close()

    # --- accounts ------------------------------------------------------------

    def credentials(self, account: str) -> Credentials:
        """An administrator of ``account`` (an IAM user whose key moto files under it)."""
        if account not in self._admins:
            backend = iam_backends[account][PARTITION]
            user = backend.create_user(region_name=IAM_REGION, user_name=ADMIN_USER)
            register_administrator(account, user.id)
            key = backend.create_access_key(user_name=ADMIN_USER)
            self._admins[account] = Credentials(key.access_key_id, key.secret_access_key)
        return self._admins[account]

    def client(self, service: str, account: str, region: str) -> Any:
        """A client of ``account``'s administrator in ``region``."""
        return clients.client(service, region=region, credentials=self.credentials(account), config=_CLIENT_CONFIG)

    # --- deployment ----------------------------------------------------------

    def bootstrap(
        self,
        account: str,
        region: str,
        *,
        template: str,
        trusted_accounts: Sequence[str] = (),
        execution_policies: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """`cdk bootstrap` as its administrator runs it: the CDK CLI's own bootstrap
        ``template`` (``cdk bootstrap --show-template``), deployed as the stack CDKToolkit,
        trusting ``trusted_accounts``, with ``execution_policies`` (by name) created as customer
        managed policies and handed over as ``CloudFormationExecutionPolicies``."""
        if (account, region) in self._bootstrapped:
            return
        iam = self.client("iam", account, region)
        policy_arns = [
            iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(document))["Policy"]["Arn"]
            for name, document in (execution_policies or {}).items()
        ]
        parameters = {"TrustedAccounts": ",".join(trusted_accounts), "CloudFormationExecutionPolicies": ",".join(policy_arns)}
        cloudformation = self.client("cloudformation", account, region)
        cloudformation.create_stack(
            StackName=BOOTSTRAP_STACK,
            TemplateBody=template,
            Capabilities=["CAPABILITY_NAMED_IAM"],
            Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items() if value],
        )
        self._wait(cloudformation, BOOTSTRAP_STACK, "CREATE_COMPLETE", timeout_seconds=60)
        self._bootstrapped.add((account, region))

    def publish_assets(self, stack: StackArtifact, publisher: Credentials, *, only: Sequence[FileAsset] | None = None) -> None:
        """Publish the stack's file assets (or ``only`` those) as cdk-assets does, each through
        its publishing role assumed by ``publisher``; DeployError naming the asset if one is refused."""
        for asset in stack.assets if only is None else only:
            try:
                self._publish(asset, stack.account, stack.region, publisher)
            except ClientError as error:
                raise DeployError(
                    f"{stack.stack_name}: publishing asset {asset.object_key} to {asset.bucket_name}: {error.response['Error']['Message']}"
                ) from None

    def _publish(self, asset: FileAsset, account: str, region: str, publisher: Credentials) -> None:
        """Upload a file asset as cdk-assets does: as its publishing role, assumed by ``publisher``."""
        if asset.packaging == "zip":
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in sorted(asset.source.rglob("*")):
                    if path.is_file():
                        archive.write(path, path.relative_to(asset.source).as_posix())
            body = buffer.getvalue()
        else:
            body = asset.source.read_bytes()
        credentials = publisher
        if asset.role_arn:
            credentials = assume_role_as(principal_for_access_key(publisher.access_key_id), asset.role_arn, external_id=None, region=region)
        s3 = clients.client("s3", region=region, credentials=credentials, config=_CLIENT_CONFIG)
        s3.put_object(Bucket=asset.bucket_name, Key=asset.object_key, Body=body)

    def deploy(
        self,
        stack: StackArtifact,
        *,
        deployer_account: str | None = None,
        deployer: Credentials | None = None,
        timeout_seconds: float = 60,
    ) -> dict[str, str]:
        """Create or update ``stack`` as CDK Pipelines does: the assets published, then, as
        the stack's deploy role (assumed by ``deployer``, or else by ``deployer_account``'s
        administrator, as the pipeline's action role assumes it), a change set handed to the
        CloudFormation execution role, then executed. Returns the stack's outputs."""
        if stack.deploy_role_arn is None or stack.execution_role_arn is None:
            raise DeployError(f"{stack.stack_name}: the assembly names no deploy and execution roles (a legacy synthesizer?)")
        # The bootstrap whose roles the assembly names: the stack's own region's, but for a
        # pipeline's cross-region support stack, which goes through the pipeline region's roles.
        roles_of = re.search(r"-(\d{12})-([a-z0-9-]+)$", stack.deploy_role_arn)
        bootstrap = (roles_of.group(1), roles_of.group(2)) if roles_of else (stack.account, stack.region)
        if bootstrap not in self._bootstrapped:
            raise DeployError(f"{stack.stack_name}: account {bootstrap[0]} ({bootstrap[1]}) is not bootstrapped")
        deployer = deployer or self.credentials(deployer_account or stack.account)
        self.publish_assets(stack, deployer)
        session = assume_role_as(
            principal_for_access_key(deployer.access_key_id), stack.deploy_role_arn, external_id=None, region=stack.region
        )
        cloudformation = clients.client("cloudformation", region=stack.region, credentials=session, config=_CLIENT_CONFIG)
        if self._stack_status(stack) == "ROLLBACK_COMPLETE":
            # A stack whose creation failed can only be deleted; the CDK CLI deletes it and creates it anew.
            cloudformation.delete_stack(StackName=stack.stack_name, RoleARN=stack.execution_role_arn)
        exists = self._stack_status(stack) not in (None, "REVIEW_IN_PROGRESS")
        try:
            change_set = cloudformation.create_change_set(
                StackName=stack.stack_name,
                ChangeSetName=f"{stack.stack_name}-{int(time.time() * 1000)}",
                ChangeSetType="UPDATE" if exists else "CREATE",
                TemplateBody=stack.template_file.read_text(),
                RoleARN=stack.execution_role_arn,
                Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
            )
        except ClientError as error:  # refused before anything was created (a rule, a bad template, a permission)
            raise DeployError(f"{stack.stack_name}: {error.response['Error']['Message']}") from None
        described = cloudformation.describe_change_set(ChangeSetName=change_set["Id"])
        if described["Status"] == "FAILED" and "didn't contain changes" in described.get("StatusReason", ""):
            return self.stack_outputs(stack)  # nothing to do, as CDK Pipelines' Deploy action then does
        cloudformation.execute_change_set(ChangeSetName=change_set["Id"])
        # Watched as the deploy role, as CDK Pipelines' Deploy action does (AWSCloudFormationReadOnlyAccess).
        self._wait(cloudformation, stack.stack_name, "UPDATE_COMPLETE" if exists else "CREATE_COMPLETE", timeout_seconds=timeout_seconds)
        return self.stack_outputs(stack)

    def delete(self, stack: StackArtifact, *, deployer_account: str | None = None, timeout_seconds: float = 60) -> None:
        """Delete ``stack`` as `cdk destroy` does: as the deploy role, CloudFormation acting as the execution role."""
        deployer = self.credentials(deployer_account or stack.account)
        assert stack.deploy_role_arn is not None and stack.execution_role_arn is not None
        session = assume_role_as(
            principal_for_access_key(deployer.access_key_id), stack.deploy_role_arn, external_id=None, region=stack.region
        )
        cloudformation = clients.client("cloudformation", region=stack.region, credentials=session, config=_CLIENT_CONFIG)
        cloudformation.delete_stack(StackName=stack.stack_name, RoleARN=stack.execution_role_arn)
        if self._stack_status(stack) not in (None, "DELETE_COMPLETE"):
            admin = self.client("cloudformation", stack.account, stack.region)
            raise DeployError(f"{stack.stack_name} ended {self._stack_status(stack)}: {self._failure_reason(admin, stack.stack_name)}")

    def deployed_resources(self, stack: StackArtifact) -> dict[str, Any]:
        """The resources of a deployed stack, by logical ID, as the emulated account holds them."""
        from moto.cloudformation.models import cloudformation_backends

        backend = cloudformation_backends[stack.account][stack.region]
        (deployed,) = [s for s in backend.stacks.values() if s.name == stack.stack_name]
        return {logical_id: deployed.resource_map[logical_id] for logical_id in deployed.resource_map}

    def handler_denials(self, stack: StackArtifact, operation: str) -> list[str]:
        """What the stack's execution role would be refused if CloudFormation ran
        ``operation``'s handlers (``update``: as if every resource changed) on every deployed
        resource: one message per refused resource, as the handler would fail it."""
        from moto.cloudformation import parsing
        from moto.cloudformation.models import cloudformation_backends

        from emulator.cloudformation_execution import HandlerAccessDenied, authorize_handler, executing_as

        assert stack.execution_role_arn is not None
        backend = cloudformation_backends[stack.account][stack.region]
        (deployed,) = [s for s in backend.stacks.values() if s.name == stack.stack_name]
        denials = []
        with executing_as(stack.execution_role_arn, deployed.stack_id):
            for logical_id, resource_json in deployed.template_dict["Resources"].items():
                try:
                    authorize_handler(
                        operation,
                        logical_id=logical_id,
                        resource_type=resource_json["Type"],
                        resource=deployed.resource_map[logical_id],
                        properties=parsing.clean_json(resource_json.get("Properties", {}), deployed.resource_map),
                        region=stack.region,
                    )
                except HandlerAccessDenied as denied:
                    denials.append(f"{logical_id} ({resource_json['Type']}): {denied}")
        return denials

    def _stack_status(self, stack: StackArtifact) -> str | None:
        admin = self.client("cloudformation", stack.account, stack.region)
        try:
            return str(admin.describe_stacks(StackName=stack.stack_name)["Stacks"][0]["StackStatus"])
        except ClientError:
            return None

    def stack_outputs(self, stack: StackArtifact) -> dict[str, str]:
        """A deployed stack's outputs, read as its account's administrator."""
        admin = self.client("cloudformation", stack.account, stack.region)
        description = admin.describe_stacks(StackName=stack.stack_name)["Stacks"][0]
        return {output["OutputKey"]: output["OutputValue"] for output in description.get("Outputs", [])}

    def _wait(self, cloudformation: Any, stack_name: str, done: str, *, timeout_seconds: float) -> None:
        deadline = time.monotonic() + timeout_seconds
        while True:
            status = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"]
            if status == done:
                return
            if not status.endswith("IN_PROGRESS") or time.monotonic() > deadline:
                raise DeployError(f"{stack_name} ended {status}: {self._failure_reason(cloudformation, stack_name)}")
            time.sleep(0.05)

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
