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

A change set belongs to its stack: DescribeChangeSet, DeleteChangeSet and
ExecuteChangeSet name it by "the name or the Amazon Resource Name (ARN) of the change
set" together with StackName ("If you specified the name of a change set, specify the
stack name or ID (ARN) of the change set you want to ...", API reference). moto ignores
StackName and answers the most recent change set of that name in the region, whichever
stack it belongs to; every stack of a CDK pipeline names its change set
``PipelineChange``, so two stacks of one account would read, run or drop each other's.
Here a name is looked up among the named stack's change sets only (ExecuteChangeSet:
``cloudformation_execution_role``, which runs it, looks it up with ``change_set_key``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.cloudformation.exceptions import CloudFormationError
from moto.cloudformation.models import CloudFormationBackend
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult, EmptyResult

REASON = (
    "moto's DeleteChangeSet of a change set name it does not hold crashes (UnboundLocalError, an HTML 500), and its "
    "DescribeChangeSet answers ValidationError, not ChangeSetNotFound: `cdk deploy` makes both calls on every update. "
    "It also ignores StackName: a name finds the latest change set of that name of any stack."
)

_original = CloudFormationBackend.delete_change_set
_original_describe = CloudFormationBackend.describe_change_set


class ChangeSetNotFound(CloudFormationError):
    code = "ChangeSetNotFoundException"  # the model's shape: moto serializes it as ChangeSetNotFound, 404


def change_set_key(backend: CloudFormationBackend, change_set_name: str, stack_name: str | None) -> str | None:
    """The key of the change set ``change_set_name`` (an ARN, or a name within ``stack_name``'s change sets)."""
    if change_set_name in backend.change_sets:
        return change_set_name
    for key, change_set in reversed(list(backend.change_sets.items())):
        if change_set.change_set_name == change_set_name and stack_name in (None, "", change_set.stack_name, change_set.stack_id):
            return key
    return None


def _describe_change_set(self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None) -> Any:
    key = change_set_key(self, change_set_name, stack_name)
    if key is None:
        raise ChangeSetNotFound(f"ChangeSet [{change_set_name}] does not exist")
    return _original_describe(self, key)


def _delete_change_set(self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None) -> None:
    key = change_set_key(self, change_set_name, stack_name)
    if key is not None:
        _original(self, key)
    # Nothing of that name: nothing to delete.


# moto's two handlers, with the request's StackName handed on (moto passes only the name).
def _describe_change_set_response(self: CloudFormationResponse) -> ActionResult:
    backend = self.cloudformation_backend
    return ActionResult(_describe_change_set(backend, self._get_param("ChangeSetName"), self._get_param("StackName")))


def _delete_change_set_response(self: CloudFormationResponse) -> EmptyResult:
    backend = self.cloudformation_backend
    _delete_change_set(backend, self._get_param("ChangeSetName"), self._get_param("StackName"))
    return EmptyResult()


@contextmanager
def patch() -> Iterator[None]:
    with (
        mock.patch.object(CloudFormationBackend, "delete_change_set", _delete_change_set),
        mock.patch.object(CloudFormationBackend, "describe_change_set", _describe_change_set),
        mock.patch.object(CloudFormationResponse, "describe_change_set", _describe_change_set_response),
        mock.patch.object(CloudFormationResponse, "delete_change_set", _delete_change_set_response),
    ):
        yield
