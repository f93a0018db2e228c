"""The condition keys a call carries, from one place.

IAM evaluates a policy's conditions against the request context (IAM User Guide, "AWS
global condition context keys", docs.aws.amazon.com/IAM/latest/UserGuide/
reference_policies_condition-keys.html). The emulator builds that context here:

- ``global_keys``: the keys every request by a role or user carries (``aws:SourceIp``,
  ``aws:CurrentTime``, ``aws:EpochTime``, ``aws:SecureTransport``, ``aws:PrincipalArn``,
  ``aws:PrincipalAccount``, ``aws:PrincipalType``, ``aws:RequestedRegion``,
  ``aws:ResourceAccount``, ...), with how the call reached the emulator (``transport_of``):
  moto's server listens on plain HTTP on the loopback, so a call through it comes from
  ``127.0.0.1`` and ``aws:SecureTransport`` is ``false``; an in-process call goes to the
  SDK's ``https://`` endpoint.
- ``absence_is_known``: whether a key missing from a context is really absent, as it would
  be on AWS, or only not modelled by the emulator. ``policy_evaluation`` evaluates a
  condition on a missing key only when its absence is known; otherwise it cannot say what
  AWS would decide, and fails closed (a Deny denies, an Allow does not allow).
"""

from __future__ import annotations

import datetime
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

if TYPE_CHECKING:
    from emulator.policy_evaluation import Principal

ContextValue = str | Sequence[str]
Context = Mapping[str, ContextValue]

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Transport:
    """How a call reached the emulator: from which address, over TLS or not."""

    source_ip: str = LOOPBACK
    secure: bool = True


def transport_of(request: Any) -> Transport:
    """``Transport`` of moto's request for a call (``BaseResponse.normalized_request``, a
    werkzeug request): through the server, its peer address and the scheme it served
    (``http``); in process, the URL the SDK signed (``https://<service>.<region>.amazonaws.com``)
    from this machine. Without a request, an in-process call."""
    if request is None:
        return Transport()
    environ: Mapping[str, Any] = getattr(request, "environ", None) or {}
    if getattr(request, "from_wsgi_server", False):
        # The local service speaks plain HTTP on the loopback only. It counts as the TLS
        # endpoint it stands in for (a guess, listed in docs/emulator.md): otherwise the CDK bootstrap's
        # and the pipeline's buckets, which deny s3:* without aws:SecureTransport, would
        # refuse every build, where AWS, reached over HTTPS, serves them.
        return Transport(source_ip=str(environ.get("REMOTE_ADDR") or LOOPBACK), secure=True)
    url = str(getattr(request, "url", "") or "")
    scheme = urlparse(url).scheme or str(environ.get("wsgi.url_scheme") or "https")
    return Transport(source_ip=LOOPBACK, secure=scheme == "https")


def _principal_type(principal: Principal) -> str:
    # "aws:PrincipalType": Account, User, FederatedUser, AssumedRole, Anonymous.
    if principal.arn.endswith(":root"):
        return "Account"
    return "AssumedRole" if ":role/" in principal.arn else "User"


def global_keys(
    principal: Principal,
    *,
    region: str,
    resource_account: str,
    transport: Transport | None = None,
    now: datetime.datetime | None = None,
    principal_tags: Mapping[str, str] | None = None,
) -> dict[str, ContextValue]:
    """The global keys present in every request ``principal`` makes (each "always present"
    or "present in the request context when ..." as the keys page says), for a call to
    ``region`` on a resource of ``resource_account``."""
    transport = transport or Transport()
    moment = (now or datetime.datetime.now(datetime.UTC)).astimezone(datetime.UTC)
    keys: dict[str, ContextValue] = {
        # "aws:CurrentTime ... in ISO 8601 format"; "aws:EpochTime ... in epoch or Unix time".
        "aws:CurrentTime": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(moment.timestamp())),
        "aws:SourceIp": transport.source_ip,
        "aws:SecureTransport": "true" if transport.secure else "false",
        "aws:RequestedRegion": region,
        "aws:ResourceAccount": resource_account,
        "aws:ViaAWSService": "false",
    }
    if principal.service:
        keys |= {"aws:PrincipalIsAWSService": "true", "aws:PrincipalServiceName": principal.service}
        return keys
    keys |= {
        "aws:PrincipalIsAWSService": "false",
        "aws:PrincipalArn": principal.arn,
        "aws:PrincipalAccount": principal.account,
        "aws:PrincipalType": _principal_type(principal),
    }
    if ":user/" in principal.arn:
        keys["aws:username"] = principal.arn.rsplit("/", 1)[-1]
    for key, value in (principal_tags or {}).items():
        keys[f"aws:PrincipalTag/{key}"] = value
    return keys


# Keys the emulator puts into a call's context whenever AWS would, or that no call in the
# emulated accounts carries: a condition on one of them, missing, is evaluated as AWS
# evaluates a missing key. Any other missing key may be present on AWS: the emulator cannot
# evaluate a condition on it. Patterns: ``*`` matches any run of characters.
ABSENT_UNLESS_CARRIED: dict[str, str] = {
    "sts:ExternalId": "identity.authorize_assume_role passes the caller's ExternalId, if any",
    "aws:SourceArn": "passed when a service acts for a resource (identity.assume_role_as_service)",
    "aws:SourceAccount": "passed when a service acts for a resource (identity.assume_role_as_service)",
    "kms:ViaService": "passed when a service calls KMS for the caller (authorization.authorize_call)",
    "kms:EncryptionContext:*": "passed with the encryption context the service sends KMS",
    "iam:PassedToService": "passed on every iam:PassRole check",
    "aws:PrincipalOrgID": "the emulated accounts belong to no organization",
    "aws:PrincipalOrgPaths": "the emulated accounts belong to no organization",
    "aws:ResourceOrgID": "the emulated accounts belong to no organization",
    "aws:ResourceOrgPaths": "the emulated accounts belong to no organization",
    "aws:SourceOrgID": "the emulated accounts belong to no organization",
    "aws:SourceOrgPaths": "the emulated accounts belong to no organization",
    "aws:SourceVpc": "no call reaches the emulator through a VPC endpoint",
    "aws:SourceVpce": "no call reaches the emulator through a VPC endpoint",
    "aws:SourceVpcArn": "no call reaches the emulator through a VPC endpoint",
    "aws:VpcSourceIp": "no call reaches the emulator through a VPC endpoint",
    "aws:FederatedProvider": "the emulated accounts have no identity federation",
}


@functools.lru_cache(maxsize=256)
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in text.lower().split("*")), re.DOTALL)


_KNOWN_ABSENT = [_pattern(key) for key in ABSENT_UNLESS_CARRIED]


def absence_is_known(key: str, carried: Iterable[str] = ()) -> bool:
    """Is ``key``, missing from a call's context, absent as it would be on AWS? ``carried``
    adds the patterns of keys the call's own context holds whenever AWS would (a role's
    ``iam:ResourceTag/*``, passed with every sts:AssumeRole of it). Keys ignore case
    (IAM User Guide, "IAM JSON policy elements: Condition": "Context key names are not
    case-sensitive")."""
    lowered = key.lower()
    return any(pattern.fullmatch(lowered) for pattern in [*_KNOWN_ABSENT, *map(_pattern, carried)])
