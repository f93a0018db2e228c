"""Calls made under a role are authorized by IAM's evaluation of its policies (emulator.authorization)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.core.authorization import ActionAuthenticatorMixin

from emulator.authorization import authorize_call
from emulator.identity import principal_for_access_key

REASON = (
    "moto enforces no identity policy (and its optional enforcement matches actions case-sensitively, "
    "ignores resources and cross-account rules): a role without a permission succeeded where AWS denies it."
)


def _authorize(self: Any, iam_request_cls: type, resource: str = "*") -> None:
    # moto calls this before every operation it dispatches (core.responses.call_action).
    authorize_call(principal_for_access_key(self.get_access_key()), self, self._get_action())


@contextmanager
def patch() -> Iterator[None]:
    with mock.patch.object(ActionAuthenticatorMixin, "_authenticate_and_authorize_action", _authorize):
        yield
