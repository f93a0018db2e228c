"""sts:AssumeRole honours the role's trust policy (Principal, ExternalId and other conditions),
and session tags need sts:TagSession (IAM User Guide, "Passing session tags in AWS STS")."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.sts.responses import TokenResponse

from emulator.identity import authorize_assume_role, principal_for_access_key

REASON = (
    "moto lets any caller assume any role: a wrong or missing ExternalId succeeds where AWS denies it, and session "
    "tags are taken without sts:TagSession."
)

_original = TokenResponse.assume_role


def _session_tags(self: TokenResponse) -> dict[str, str] | None:
    """The request's session tags (``Tags.member.N.Key``/``Value``) and transitive keys, if any."""
    params = {key: values[0] for key, values in (self.querystring or {}).items() if values}
    tags = {
        str(params[key]): str(params.get(key.removesuffix(".Key") + ".Value", ""))
        for key in params
        if key.startswith("Tags.member.") and key.endswith(".Key")
    }
    transitive = [str(params[key]) for key in params if key.startswith("TransitiveTagKeys.member.")]
    if not tags and not transitive:
        return None
    return tags | {key: tags.get(key, "") for key in transitive}


def _assume_role_checking_trust(self: TokenResponse) -> Any:
    principal = principal_for_access_key(self.get_access_key())
    authorize_assume_role(principal, self._get_param("RoleArn"), self._get_param("ExternalId"), _session_tags(self))
    return _original(self)


@contextmanager
def patch() -> Iterator[None]:
    with mock.patch.object(TokenResponse, "assume_role", _assume_role_checking_trust):
        yield
