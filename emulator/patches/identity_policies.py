"""Calls made under a role are authorized by IAM's evaluation of its policies (emulator.authorization)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.core.authorization import ActionAuthenticatorMixin
from moto.iam.access_control import PermissionResult
from moto.s3.models import FakeBucket

from emulator.authorization import authorize_call
from emulator.cloudformation_execution import called_by
from emulator.identity import principal_for_access_key
from emulator.policy_evaluation import Principal, Request, evaluate_policy

REASON = (
    "moto enforces no identity policy (and its optional enforcement matches actions case-sensitively, "
    "ignores resources and cross-account rules): a role without a permission succeeded where AWS denies it. "
    "Its own bucket-policy check knows no request context: the CDK bootstrap bucket's deny of plain HTTP denied every call."
)


def _authorize(self: Any, iam_request_cls: type, resource: str = "*") -> None:
    # moto calls this before every operation it dispatches (core.responses.call_action), and
    # S3's handlers before each of theirs, with the bucket or object they act on.
    self.moto_resource = resource
    principal = principal_for_access_key(self.get_access_key())
    # A stack operation without an execution role acts as its caller, and reads a template URL as them.
    called_by(principal, str(getattr(self, "region", "") or ""))
    authorize_call(principal, self, self._get_action())


# Every SDK call reaches AWS over TLS; who the caller is, moto does not pass to this check.
_ANYONE_OVER_TLS = {"aws:SecureTransport": "true"}


def _bucket_denies_everyone(self: FakeBucket, action: str, resource: str) -> Any:
    # moto's check, before any caller-specific one, of whether the bucket policy denies the
    # request to everyone. The caller's own decision (identity and bucket policy) is
    # emulator.authorization's.
    if self.policy is None:
        return PermissionResult.NEUTRAL
    request = Request(Principal(account="", arn="*"), action, resource, _ANYONE_OVER_TLS)
    policy = json.loads(self.policy.decode())
    result = evaluate_policy(policy, request, resource_policy=True)
    # A Deny the evaluator cannot rule out for lack of the caller's keys is left to the
    # caller's own decision (emulator.authorization), which has them and fails closed.
    return PermissionResult.DENIED if result.denied and not result.denied_unknowingly else PermissionResult.NEUTRAL


@contextmanager
def patch() -> Iterator[None]:
    with (
        mock.patch.object(ActionAuthenticatorMixin, "_authenticate_and_authorize_action", _authorize),
        mock.patch.object(FakeBucket, "get_permission", _bucket_denies_everyone),
    ):
        yield
