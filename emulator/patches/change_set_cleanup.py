"""A change set that does not exist: deleting it succeeds, describing it answers
ChangeSetNotFound, as on AWS.

The CDK CLI's `cdk deploy` deletes `cdk-deploy-change-set` before it creates it again,
without asking whether it exists: CloudFormation answers such a DeleteChangeSet with
success when the stack exists (the CLI's own comment on ``cleanupOldChangeset``; the API
reference lists no ChangeSetNotFound error for DeleteChangeSet). Whether CloudFormation
refuses the call when the stack is missing too, the docs do not say; moto's response
handler does not pass the stack on, and the emulator answers success then as well (a guess).

The CLI then waits for the change set to be gone: DescribeChangeSet until it answers
``ChangeSetNotFoundException`` (API reference, DescribeChangeSet, Errors: "The specified
change set name or ID doesn't exit", HTTP 404). moto answers a ValidationError saying a
*stack* of the change set's name does not exist, and the CLI stops there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.cloudformation.exceptions import CloudFormationError
from moto.cloudformation.models import CloudFormationBackend

REASON = (
    "moto's DeleteChangeSet of a change set name it does not hold crashes (UnboundLocalError, an HTML 500), and its "
    "DescribeChangeSet answers ValidationError, not ChangeSetNotFound: `cdk deploy` makes both calls on every update."
)

_original = CloudFormationBackend.delete_change_set
_original_describe = CloudFormationBackend.describe_change_set


class ChangeSetNotFound(CloudFormationError):
    code = "ChangeSetNotFoundException"  # the model's shape: moto serializes it as ChangeSetNotFound, 404


def _held(backend: CloudFormationBackend, change_set_name: str) -> bool:
    return change_set_name in backend.change_sets or any(cs.change_set_name == change_set_name for cs in backend.change_sets.values())


def _describe_change_set(self: CloudFormationBackend, change_set_name: str) -> Any:
    if not _held(self, change_set_name):
        raise ChangeSetNotFound(f"ChangeSet [{change_set_name}] does not exist")
    return _original_describe(self, change_set_name)


def _delete_change_set(self: CloudFormationBackend, change_set_name: str) -> None:
    if _held(self, change_set_name):
        _original(self, change_set_name)
    # Nothing of that name: nothing to delete.


@contextmanager
def patch() -> Iterator[None]:
    with (
        mock.patch.object(CloudFormationBackend, "delete_change_set", _delete_change_set),
        mock.patch.object(CloudFormationBackend, "describe_change_set", _describe_change_set),
    ):
        yield
