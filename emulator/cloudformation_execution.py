"""CloudFormation acts as the stack's execution role: before it reports a resource
created, updated or deleted, every permission its type's handlers list must be allowed
to that role, on the resource IAM checks it on (``resource_schemas``).

A stack operation runs with the role its change set (or CreateStack) was handed
(``RoleARN``). CloudFormation assumes it as ``cloudformation.amazonaws.com``, so the
role's trust policy is checked too. Without a role, CloudFormation acts with the
caller's credentials ("If no role is available, CloudFormation uses a temporary session
that is generated from your user credentials", API Reference, CreateStack ``RoleARN``): the
handlers' permissions are checked against the caller who made the stack operation, its
session policies included (an account's administrator deploys the bootstrap stack so).

A resource is checked against the policies its principal had before the handler ran:
a handler's calls are authorized as they are made, so a policy a stack attaches to its
own execution role (or to its caller) cannot authorize its own creation.

A denial fails the resource with CloudFormation's message shape (``Resource handler
returned message: "User: ... is not authorized to perform: <action> on resource:
<arn> because ..." (HandlerErrorCode: AccessDenied)``) and the stack rolls back.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from emulator.authorization import Target, check, identity_policies, s3_target
from emulator.authorization import key_target as _key_target
from emulator.identity import assume_role_as_service
from emulator.policy_evaluation import Principal
from emulator.resource_schemas import (
    NO_HANDLER_TYPES,
    SchemaMissing,
    property_values,
    referenced_arns,
    required_actions,
    resources_for,
)
from project.arns import account_of_arn


class HandlerAccessDenied(Exception):
    """The execution role may not do what a resource handler needs."""


@dataclass(frozen=True)
class Execution:
    role_arn: str  # "" when the stack operation acts with its caller's credentials
    stack_id: str
    caller: Principal | None = None


_current = threading.local()


def called_by(principal: Principal, region: str = "") -> None:
    """Who makes the request this thread serves, and in which region
    (emulator.patches.identity_policies, before moto dispatches it): a stack operation
    without a role acts as them, and a template URL is read as them."""
    _current.caller = principal
    _current.region = region


def current_caller() -> tuple[Principal, str] | None:
    """The principal and region of the request this thread serves, if any."""
    caller = getattr(_current, "caller", None)
    return (caller, getattr(_current, "region", "")) if caller is not None else None


@contextmanager
def executing_as(role_arn: str | None, stack_id: str) -> Iterator[None]:
    """Stack operations in this block act as ``role_arn``, or, without one, as the caller of
    the request being served. With neither (no request: moto's own calls), nothing is
    allowed: HandlerAccessDenied names the missing caller."""
    previous = getattr(_current, "execution", None)
    _current.execution = Execution(role_arn or "", stack_id, None if role_arn else getattr(_current, "caller", None))
    try:
        yield
    finally:
        _current.execution = previous


def current_execution() -> Execution | None:
    return getattr(_current, "execution", None)


def _acting(execution: Execution, account: str) -> tuple[Principal, str] | None:
    """Whom the execution acts as (the role, or the caller), and its session's ARN."""
    if execution.role_arn:
        session = f"arn:aws:sts::{account}:assumed-role/{execution.role_arn.rsplit('/', 1)[-1]}/AWSCloudFormation"
        return Principal(account=account, arn=execution.role_arn), session
    if execution.caller is not None and execution.caller.arn:
        return execution.caller, execution.caller.session_arn or execution.caller.arn
    return None


def policies_before_handler() -> list[dict[str, Any]] | None:
    """The identity policies of whom the current execution acts as, as they are before a
    handler runs (None outside an execution): the resource is checked against these."""
    execution = current_execution()
    if execution is None:
        return None
    acting = _acting(execution, account_of_arn(execution.stack_id))
    return identity_policies(acting[0]) if acting is not None else None


# --- which resources a resource is known by ----------------------------------------------

_ARN_ATTRIBUTES = ("arn", "function_arn", "table_arn", "topic_arn", "state_machine_arn", "physical_resource_id")
# Properties that name a KMS key by ID or alias rather than by ARN.
_KEY_PROPERTIES = ("KmsKeyId", "KMSMasterKeyId", "KmsMasterKeyId", "EncryptionKey", "TargetKeyId")


def _own_arns(resource_type: str, resource: Any, properties: Mapping[str, Any], account: str, region: str) -> list[str]:
    values = [getattr(resource, name, None) for name in _ARN_ATTRIBUTES]
    arns = [value for value in values if isinstance(value, str) and value.startswith("arn:")]
    arns = [arn.removesuffix(":*") for arn in arns]  # a log group's ARN as moto gives it ends in ":*"
    if resource_type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::InstanceProfile", "AWS::IAM::UserToGroupAddition"):
        # The roles, users and groups a policy is put on (or a profile or group holds), by name:
        # each handler call is on each of them.
        arns += [f"arn:aws:iam::{account}:role/{name}" for name in properties.get("Roles", [])]
        arns += [f"arn:aws:iam::{account}:user/{name}" for name in properties.get("Users", [])]
        groups = [*properties.get("Groups", []), *([properties["GroupName"]] if properties.get("GroupName") else [])]
        arns += [f"arn:aws:iam::{account}:group/{name}" for name in groups]
    elif resource_type == "AWS::Lambda::Permission":
        function = str(properties.get("FunctionName", ""))
        arns.append(function if function.startswith("arn:") else f"arn:aws:lambda:{region}:{account}:function:{function}")
    elif resource_type == "AWS::SQS::QueuePolicy":
        # Queues by URL (https://sqs.<region>.amazonaws.com/<account>/<name>).
        for url in properties.get("Queues", []):
            *_, owner, name = str(url).rstrip("/").rsplit("/", 2)
            arns.append(f"arn:aws:sqs:{region}:{owner if owner.isdigit() else account}:{name}")
    elif resource_type == "AWS::SSM::Parameter":
        arns.append(f"arn:aws:ssm:{region}:{account}:parameter/{str(properties.get('Name', '')).lstrip('/')}")
    elif resource_type == "AWS::KMS::Alias":
        arns.append(f"arn:aws:kms:{region}:{account}:{properties.get('AliasName')}")
    elif resource_type == "AWS::Lambda::Function":
        code = properties.get("Code", {})
        if code.get("S3Bucket"):
            arns += [f"arn:aws:s3:::{code['S3Bucket']}/{code.get('S3Key', '')}", f"arn:aws:s3:::{code['S3Bucket']}"]
    elif resource_type == "AWS::S3::BucketPolicy":
        arns.append(f"arn:aws:s3:::{properties.get('Bucket')}")
    elif resource_type == "AWS::S3::Bucket":
        # Object actions of the bucket's handlers (which objects, the schema does not say: a guess).
        arns += [f"{arn}/*" for arn in arns if arn.startswith("arn:aws:s3:::")]
    return arns


def _key_arns(properties: Any, region: str, account: str) -> list[str]:
    """The ARNs of the KMS keys that properties name by ID or alias."""
    keys = [
        _key_target(value, region, account)
        for name, value in property_values(properties)
        if name in _KEY_PROPERTIES and isinstance(value, str) and not value.startswith("arn:")
    ]
    return [key.arn for key in keys if key is not None]


# The property holding the role a resource hands to its service (what iam:PassRole is checked on).
_PASSED_ROLE = {
    "AWS::CodeBuild::Project": "ServiceRole",
    "AWS::CodePipeline::Pipeline": "RoleArn",
    "AWS::Lambda::Function": "Role",
    "AWS::StepFunctions::StateMachine": "RoleArn",
}


def candidate_arns(resource_type: str, resource: Any, properties: Mapping[str, Any], account: str, region: str) -> list[str]:
    passed = properties.get(_PASSED_ROLE.get(resource_type, ""))
    return [
        *([passed] if isinstance(passed, str) else []),
        *_own_arns(resource_type, resource, properties, account, region),
        *referenced_arns(properties),
        *_key_arns(properties, region, account),
    ]


# --- the check -------------------------------------------------------------------------------

# Types whose handler writes the resource policy of the resource they name: checked on it
# without that policy (a guess on the safe side: the one it had before is not kept).
RESOURCE_POLICY_WRITERS = {
    "AWS::S3::BucketPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::Lambda::Permission",
    "AWS::SecretsManager::ResourcePolicy",
    "AWS::Events::EventBusPolicy",
    "AWS::Logs::ResourcePolicy",
}


def _checked_on(
    action: str, resource_type: str, properties: Mapping[str, Any], own: list[str], candidates: list[str], account: str, region: str
) -> list[str]:
    """The ARNs ``action`` is checked on for this resource.

    - iam:PassRole: the role the resource hands its service, not every role its properties
      mention (an action's role, an environment variable).
    - The resource's own ARNs and the ones it acts on by name (the users, groups and roles a
      policy is put on, a permission's function, a queue policy's queues): every one of the
      action's format, since the handler calls on each.
    - Otherwise the first ARN of the action's format among all its properties (a pipeline
      names many roles it does not act on), and "*" when none has it (the broadest claim,
      which only a statement on "*" or that type's wildcard allows; a guess).
    """
    passed = properties.get(_PASSED_ROLE.get(resource_type, ""))
    if action == "iam:PassRole" and isinstance(passed, str):
        return resources_for(action, [passed], account=account, region=region) or ["*"]
    named = resources_for(action, own, account=account, region=region)
    if named:
        return named
    return (resources_for(action, candidates, account=account, region=region) or ["*"])[:1]


def authorize_handler(
    operation: str,
    *,
    logical_id: str,
    resource_type: str,
    resource: Any,
    properties: Mapping[str, Any],
    region: str,
    policies: list[dict[str, Any]] | None = None,
) -> None:
    """Raise HandlerAccessDenied unless the current execution role may ``operation`` the
    resource; with ``policies`` (:func:`policies_before_handler`), as those allow."""
    execution = current_execution()
    if execution is None or resource_type in NO_HANDLER_TYPES:
        return
    account = account_of_arn(execution.stack_id)
    try:
        actions = required_actions(resource_type, operation, properties, region)
    except SchemaMissing as missing:
        raise HandlerAccessDenied(f"{logical_id}: {missing}") from None
    acting = _acting(execution, account)
    if acting is None:
        raise HandlerAccessDenied(f"{logical_id}: no execution role and no caller to act as (HandlerErrorCode: AccessDenied)")
    principal, session = acting
    if execution.role_arn:
        credentials = assume_role_as_service(
            execution.role_arn, service="cloudformation.amazonaws.com", source_arn=execution.stack_id, region=region
        )
        del credentials  # the check is on the role; the session only proves the trust
    candidates = candidate_arns(resource_type, resource, properties, account, region)
    own = _own_arns(resource_type, resource, properties, account, region)
    for action in actions:
        for arn in _checked_on(action, resource_type, properties, own, candidates, account, region):
            target = _target(arn, account)
            if resource_type in RESOURCE_POLICY_WRITERS:
                # Checked without the resource policy the handler has just written (it would
                # authorize its own writing: another account's bucket policy naming the caller).
                target = dataclasses.replace(target, policy=None)
            decision = check(principal, action, target, region, identity=policies)
            if not decision.allowed:
                raise HandlerAccessDenied(
                    f'Resource handler returned message: "User: {session} is not authorized to perform: {action} '
                    f'on resource: {arn} because {decision.reason}" (HandlerErrorCode: AccessDenied)'
                )


def _target(arn: str, account: str) -> Target:
    if arn.startswith("arn:aws:s3:::"):
        # An S3 ARN names no account: the bucket's is its owner's, as the API's check finds it
        # (another account's bucket was taken for the stack's own: a stack rewrote its policy).
        return s3_target(arn, account)
    owner = account_of_arn(arn) if arn.startswith("arn:") and arn.split(":")[4] else account
    if arn.startswith("arn:aws:kms:") and ":key/" in arn:
        key = _key_target(arn, arn.split(":")[3], owner)
        if key is not None:
            return key
    return Target(arn, owner)
