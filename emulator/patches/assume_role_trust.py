"""sts:AssumeRole honours the role's trust policy (Principal, ExternalId and other conditions)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.sts.responses import TokenResponse

from emulator.identity import authorize_assume_role, principal_for_access_key

REASON = "moto lets any caller assume any role: a wrong or missing ExternalId succeeds where AWS denies it."

_original = TokenResponse.assume_role


def _assume_role_checking_trust(self: TokenResponse) -> Any:
    principal = principal_for_access_key(self.get_access_key())
    authorize_assume_role(principal, self._get_param("RoleArn"), self._get_param("ExternalId"))
    return _original(self)


@contextmanager
def patch() -> Iterator[None]:
    with mock.patch.object(TokenResponse, "assume_role", _assume_role_checking_trust):
        yield
