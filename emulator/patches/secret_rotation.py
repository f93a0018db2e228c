"""Secrets Manager invokes a rotation function only if the function's policy lets it.

Rotation calls the function as ``secretsmanager.amazonaws.com``, so the function's
resource-based policy must allow that service ``lambda:InvokeFunction``; otherwise
RotateSecret fails with AccessDeniedException, "Secrets Manager cannot invoke the specified
Lambda function. Ensure that the function policy grants access to the principal
secretsmanager.amazonaws.com." (Secrets Manager user guide, "Rotation by Lambda function",
and "Troubleshoot rotation"). moto invokes any function it finds by name: a caller denied
``lambda:*`` ran another team's function four times, as that function's role. The function
must also be the endpoint's account's and region's (moto looks it up by name alone).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.core.exceptions import JsonRESTError
from moto.secretsmanager.models import SecretsManagerBackend

from emulator.authorization import Target, check, function_policy
from emulator.policy_evaluation import Principal

REASON = (
    "moto's RotateSecret invokes any function of that name, whatever its policy says: a caller denied lambda:* ran "
    "another team's function through a rotation."
)

CANNOT_INVOKE = (
    "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the "
    "principal secretsmanager.amazonaws.com."
)

_original = SecretsManagerBackend.rotate_secret


def _function_allows_rotation(account: str, region: str, function_arn: str) -> bool:
    from moto.awslambda.utils import get_backend

    parts = function_arn.split(":")
    if len(parts) < 7 or parts[3] != region or parts[4] != account:
        return False  # moto would invoke this region's and account's function of that name
    try:
        function = get_backend(account, region).get_function(function_arn)
    except Exception:  # noqa: BLE001  (none: moto answers ResourceNotFound itself)
        return True
    policy = function_policy(function)
    arn = str(function.function_arn)
    decision = check(
        Principal(service="secretsmanager.amazonaws.com"), "lambda:InvokeFunction", Target(arn, account, policy=policy), region
    )
    return decision.allowed


def _rotate_secret(self: SecretsManagerBackend, secret_id: str, *args: Any, **kwargs: Any) -> str:
    function_arn = kwargs.get("rotation_lambda_arn") if "rotation_lambda_arn" in kwargs else (args[1] if len(args) > 1 else None)
    if function_arn and not _function_allows_rotation(self.account_id, self.region_name, str(function_arn)):
        raise JsonRESTError("AccessDeniedException", CANNOT_INVOKE)
    return _original(self, secret_id, *args, **kwargs)


@contextmanager
def patch() -> Iterator[None]:
    with mock.patch.object(SecretsManagerBackend, "rotate_secret", _rotate_secret):
        yield
