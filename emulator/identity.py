"""Who is calling, and credentials for a role, inside the emulated accounts.

moto ties an access key to the account it was minted in (IAM user keys, or
sts:AssumeRole keys, which moto files under the role's account): that is what
lets one process hold two accounts. Every role assumption here goes through the
role's trust policy (``trust.evaluate_trust``), which moto itself never checks.
"""

from __future__ import annotations

import datetime
import json
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from moto.iam.models import get_account_id_from, iam_backends
from moto.sts.exceptions import STSClientError
from moto.sts.models import sts_backends

from emulator.authorization import SessionPolicyParameter, identity_policies
from emulator.policy_evaluation import Decision, Principal, Request, authorize, evaluate_trust
from emulator.request_context import Context, ContextValue, global_keys
from project.arns import account_of_arn

PARTITION = "aws"


class AccessDenied(STSClientError):
    code = "AccessDenied"


# STS's model declares no AccessDenied shape (AWS returns it all the same); moto warns on each.
warnings.filterwarnings("ignore", message=r"Exception\(AccessDenied\)", category=UserWarning)


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def as_environment(self) -> dict[str, str]:
        """As the SDKs and the AWS CLI read them from the environment."""
        variables = {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}
        return variables | ({"AWS_SESSION_TOKEN": self.session_token} if self.session_token else {})

    def as_boto3_kwargs(self) -> dict[str, Any]:
        return {
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
            "aws_session_token": self.session_token,
        }


def _role(role_arn: str) -> Any:
    backend = iam_backends[account_of_arn(role_arn)][PARTITION]
    return next((role for role in backend.roles.values() if role.arn == role_arn), None)


def role_trust_policy(role_arn: str) -> dict[str, Any] | None:
    """The trust policy of an existing role, or None if there is no such role."""
    role = _role(role_arn)
    if role is None:
        return None
    document = role.assume_role_policy_document
    trust: dict[str, Any] = json.loads(document) if isinstance(document, str) else document
    return trust


def role_tags(role_arn: str) -> dict[str, str]:
    """The role's tags, as ``aws:ResourceTag/<key>`` carries them for sts:AssumeRole (the CDK's
    own roles may assume only roles tagged ``aws-cdk:bootstrap-role``)."""
    role = _role(role_arn)
    tags = getattr(role, "tags", None) or []
    if isinstance(tags, dict):  # moto keeps them as a mapping or as a list, by version
        return {str(key): str(value.get("Value", value) if isinstance(value, dict) else value) for key, value in tags.items()}
    return {str(tag["Key"]): str(tag["Value"]) for tag in tags}


# Each request looks its key up twice (authentication, then authorization), and moto's own
# lookup walks every session the account ever made: a list that grows with each execution
# that assumes a role (25 consumers at once slowed from batch to batch). Sessions are only
# ever appended, so an index per account is extended with the new ones as they come.
def existing_backend(backends: Any, account: str) -> Any | None:
    """``backends[account]`` if moto has made it, else None; never made here. moto's own
    ``__getitem__`` takes one process-wide lock and walks its list of backends on every
    call: on each request's path, 150 concurrent clients queued on it."""
    return dict.get(backends, account)


_session_index: dict[int, tuple[list[Any], int, dict[str, Any]]] = {}
_session_index_lock = threading.Lock()


def assumed_role_of(account: str, access_key_id: str) -> Any | None:
    """The STS session (moto's AssumedRole) whose key is ``access_key_id``; None if none."""
    backend = existing_backend(sts_backends, account)
    if backend is None:
        return None
    sessions: list[Any] = backend[PARTITION].assumed_roles
    with _session_index_lock:
        indexed, seen, index = _session_index.get(id(sessions), (None, 0, {}))
        if indexed is not sessions or seen > len(sessions):  # a new backend, or its sessions cleared
            seen, index = 0, {}
        for session in sessions[seen:]:
            index.setdefault(session.access_key_id, session)
        _session_index[id(sessions)] = (sessions, len(sessions), index)
    return index.get(access_key_id)


def session_policies_of(assumed: Any) -> tuple[str, ...] | None:
    """The session policies of moto's session (IAM User Guide, "Policies and permissions in
    IAM", "Session policies"): its ``Policy`` and the default version of each of its
    ``PolicyArns`` (read at each call: whether AWS reads the version current at the
    assumption instead, the pages do not say). None when the session was made without any.
    The ARNs must name managed policies "in the same account as the role" (STS API
    Reference, AssumeRole, PolicyArns): one that is not there adds no document, so it
    allows nothing."""
    policy = assumed.policy
    arns = policy.policy_arns if isinstance(policy, SessionPolicyParameter) else ()
    if not policy and not arns:
        return None
    documents = [str(policy)] if policy else []
    backend = existing_backend(iam_backends, assumed.account_id)
    for arn in arns:
        managed = backend[PARTITION].managed_policies.get(arn) if backend is not None else None
        for version in managed.versions if managed is not None else []:
            if version.is_default:
                document = version.document
                documents.append(document if isinstance(document, str) else json.dumps(document))
    return tuple(documents)


def principal_for_access_key(access_key_id: str) -> Principal:
    account = get_account_id_from(access_key_id)
    assumed = assumed_role_of(account, access_key_id)
    if assumed is not None:
        # The session's own ARN, for a resource policy that names it, and its session policies,
        # which limit every call it makes (policy_evaluation.authorize).
        return Principal(account=account, arn=assumed.role_arn, session_arn=assumed.arn, session_policies=session_policies_of(assumed))
    backend = existing_backend(iam_backends, account)
    key = backend[PARTITION].access_keys.get(access_key_id) if backend is not None else None
    user = getattr(key, "user_name", None) if key is not None else None
    return Principal(account=account, arn=f"arn:{PARTITION}:iam::{account}:user/{user}" if user else "")


def check_trust(role_arn: str, principal: Principal, context: Context) -> Decision:
    policy = role_trust_policy(role_arn)
    if policy is None:
        return Decision(False, f"role {role_arn} does not exist")
    return evaluate_trust(policy, principal=principal, context=context)


def deny(principal: Principal, role_arn: str, decision: Decision, action: str = "sts:AssumeRole") -> AccessDenied:
    return AccessDenied(f"User: {principal} is not authorized to perform: {action} on resource: {role_arn} ({decision.reason})")


_SESSIONS: dict[tuple[str, str], tuple[Credentials, datetime.datetime]] = {}
_RENEW_BEFORE_EXPIRY = datetime.timedelta(minutes=5)
_SESSIONS_LOCK = threading.Lock()


def mint_role_credentials(role_arn: str, session_name: str, region: str, external_id: str | None = None) -> Credentials:
    """Credentials for ``role_arn``, filed by moto under the role's account. No trust check.

    One session per role and session name, reused until five minutes before its hour ends
    (requests are authenticated, and an expired session is refused with ExpiredToken):
    minting one per task call would grow moto's key lists without end. Callers check the
    trust policy before every use.
    """
    key = (role_arn, session_name)
    with _SESSIONS_LOCK:
        kept = _SESSIONS.get(key)
    if kept is not None:
        cached, renew_at = kept
        if datetime.datetime.now(datetime.UTC) < renew_at and principal_for_access_key(cached.access_key_id).arn == role_arn:
            return cached
    backend = sts_backends[account_of_arn(role_arn)][PARTITION]
    role = backend.assume_role(
        region_name=region,
        role_session_name=session_name,
        role_arn=role_arn,
        policy=None,  # type: ignore[arg-type]  # moto's STS takes None for no session policy, as its own AssumeRole does
        duration=3600,
        external_id=external_id,  # type: ignore[arg-type]  # None when there is none, as moto's own AssumeRole passes it
    )
    credentials = Credentials(role.access_key_id, role.secret_access_key, role.session_token)
    expiry = role.expiration if role.expiration.tzinfo else role.expiration.replace(tzinfo=datetime.UTC)
    with _SESSIONS_LOCK:
        _SESSIONS[key] = (credentials, expiry - _RENEW_BEFORE_EXPIRY)
    return credentials


def forget_sessions() -> None:
    """A new emulator: moto's keys of the last one are gone."""
    with _SESSIONS_LOCK:
        _SESSIONS.clear()


def authorize_assume_role(
    principal: Principal, role_arn: str, external_id: str | None, session_tags: Mapping[str, str] | None = None
) -> None:
    """Raise AccessDenied unless ``principal`` may assume the role: the role's trust policy
    must allow it, and, unless the trust names this very role or user, so must the
    caller's identity policy (IAM User Guide, "Cross-account policy evaluation logic").
    With session tags, both must also allow sts:TagSession, with the tags as
    aws:RequestTag/<key> and aws:TagKeys (IAM User Guide, "Passing session tags in AWS STS")."""
    # STS's global endpoint: aws:RequestedRegion is us-east-1 (a guess for regional endpoints).
    context: dict[str, ContextValue] = global_keys(principal, region="us-east-1", resource_account=account_of_arn(role_arn))
    # A role's tags reach conditions as aws:ResourceTag/<key> and as IAM's own iam:ResourceTag/<key>
    # (IAM User Guide, "Controlling access to IAM resources": the CDK's roles use the latter).
    for key, value in role_tags(role_arn).items():
        context |= {f"aws:ResourceTag/{key}": value, f"iam:ResourceTag/{key}": value}
    if external_id is not None:
        context["sts:ExternalId"] = external_id
    trust = role_trust_policy(role_arn)
    if trust is None:
        raise deny(principal, role_arn, Decision(False, f"role {role_arn} does not exist"))
    # Every tag of the role is in the context: a missing one is absent (request_context).
    asked: list[tuple[str, dict[str, ContextValue], tuple[str, ...]]] = [("sts:AssumeRole", context, ())]
    if session_tags is not None:
        tags: dict[str, ContextValue] = {f"aws:RequestTag/{key}": value for key, value in session_tags.items()}
        tags["aws:TagKeys"] = list(session_tags)
        asked.append(("sts:TagSession", context | tags, ("aws:RequestTag/*", "aws:TagKeys")))
    for action, asked_context, carried in asked:
        request = Request(principal, action, role_arn, asked_context, carried=("aws:ResourceTag/*", "iam:ResourceTag/*", *carried))
        decision = authorize(
            request,
            identity_policies=identity_policies(principal),
            resource_account=account_of_arn(role_arn),
            resource_policy=trust,
            resource_policy_rule="required",
        )
        if not decision.allowed:
            raise deny(principal, role_arn, decision, action=action)


def assume_role_as(principal: Principal, role_arn: str, *, external_id: str | None, region: str) -> Credentials:
    """sts:AssumeRole by ``principal``, in process: the same check as the STS API's."""
    authorize_assume_role(principal, role_arn, external_id)
    return mint_role_credentials(role_arn, session_name=f"{principal.arn.rsplit('/', 1)[-1]}"[:64] or "session", region=region)


def assume_role_as_service(role_arn: str, *, service: str, source_arn: str, region: str) -> Credentials:
    """What an AWS service does before acting with a role: checked against the trust policy
    with the confused-deputy keys the service sends (aws:SourceAccount, aws:SourceArn)."""
    principal = Principal(service=service)
    context = global_keys(principal, region=region, resource_account=account_of_arn(role_arn)) | {
        "aws:SourceAccount": account_of_arn(source_arn),
        "aws:SourceArn": source_arn,
    }
    decision = check_trust(role_arn, principal, context)
    if not decision.allowed:
        raise deny(principal, role_arn, decision)
    return mint_role_credentials(role_arn, session_name=service.split(".")[0], region=region)
