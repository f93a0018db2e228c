"""CreateChangeSet, CreateStack and UpdateStack answer as CloudFormation answers them.

- **A stack that can only be deleted is not updated.** A stack whose creation failed and
  was rolled back is ``ROLLBACK_COMPLETE``: "This status exists only after a failed stack
  creation ... When in this state, only a delete operation can be performed"
  (CloudFormation user guide, "Stack status codes"; likewise ``ROLLBACK_FAILED``, "Delete
  the stack", and ``DELETE_FAILED``, "you cannot work with or update the stack"). An UPDATE
  change set or an UpdateStack of it is refused with ``ValidationError: Stack:<stack ARN>
  is in ROLLBACK_COMPLETE state and can not be updated.`` (the message aws/aws-cdk#901 and
  aws/aws-cli#6216 show). moto refuses UpdateStack in ``ROLLBACK_COMPLETE`` only, and
  creates the change set: CodePipeline's ``CHANGE_SET_REPLACE`` passed here and failed on
  AWS. A stack in an ``*_IN_PROGRESS`` or ``UPDATE_ROLLBACK_FAILED`` state is refused the
  same way (a guess at the wording for those; the emulator's operations never leave one).
- **A stack is created once.** "By default, CloudFormation specifies UPDATE. You can't use
  the UPDATE type to create a change set for a new stack or the CREATE type to create a
  change set for an existing stack." (API reference, CreateChangeSet, ChangeSetType): moto
  took CREATE for the default, and made a second stack of the same name for a CREATE
  change set of a stack that exists, which CloudFormation refuses with ``ValidationError:
  Stack [<name>] already exists and cannot be created again with the changeSet [<change
  set>].`` (as compose-x/ecs_composex#785 shows). A stack still ``REVIEW_IN_PROGRESS`` (a
  CREATE change set never executed) takes the new CREATE change set, as on AWS; moto made a
  second stack there too, and DescribeStacks went on answering the first one.
- **A change set without changes is created FAILED**, with the status reason "The
  submitted information didn't contain changes. Submit different information to create a
  change set." (what moto's backend does itself); moto's API refused the call instead
  ("No updates are to be performed.") whenever the request named parameters.
- **CreateStack and UpdateStack act as the execution role they are handed** (``RoleARN``,
  or for an update the one the stack keeps), as change sets do (patch
  ``cloudformation_execution_role``): the operation runs as a change set of CloudFormation's
  own, executed there, removed once done, so that handler permissions are checked and a
  failure rolls back. An UpdateStack without changes is refused with "No updates are to be
  performed." (CloudFormation API reference, UpdateStack); moto refused it only when the
  request named parameters. Without a role, CloudFormation acts with the caller's
  credentials, and the handlers' permissions are checked against the caller
  (``emulator.cloudformation_execution``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.cloudformation import responses
from moto.cloudformation.exceptions import AlreadyExistsException, ValidationError
from moto.cloudformation.models import CloudFormationBackend, Stack

REASON = (
    "moto creates an UPDATE change set of a stack in ROLLBACK_COMPLETE (CloudFormation refuses it: only a delete is "
    "possible), takes CREATE for the default change set type and makes a second stack for a CREATE change set of a name "
    "that exists, refuses a change set without changes instead of creating it FAILED, and runs CreateStack/UpdateStack "
    "with no regard to the execution role."
)

# States in which CloudFormation refuses an update: the documented ones ("Stack status codes"),
# and any operation still in progress.
_DELETE_ONLY = {"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED", "UPDATE_ROLLBACK_FAILED"}
NO_CHANGES = "The submitted information didn't contain changes. Submit different information to create a change set."
NO_UPDATES = "No updates are to be performed."


def _not_updatable(status: str) -> bool:
    return status in _DELETE_ONLY or status.endswith("_IN_PROGRESS")


def _held(backend: CloudFormationBackend, name_or_id: str) -> Stack | None:
    """The stack of that name or ID that the account holds (a deleted one is not held)."""
    return next((stack for stack in backend.stacks.values() if name_or_id in (stack.name, stack.stack_id)), None)


def refuse_update(stack: Stack) -> None:
    if _not_updatable(str(stack.status)):
        raise ValidationError(stack.stack_id, f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.")


def _checked_change_set(previous: Callable[..., tuple[str, str]]) -> Callable[..., tuple[str, str]]:
    def create_change_set(
        self: CloudFormationBackend,
        stack_name: str,
        change_set_name: str,
        template: str,
        parameters: dict[str, str],
        description: str,
        change_set_type: str,
        notification_arns: list[str] | None = None,
        tags: dict[str, str] | None = None,
        role_arn: str | None = None,
    ) -> tuple[str, str]:
        held = _held(self, stack_name)
        arguments = {
            "stack_name": stack_name,
            "change_set_name": change_set_name,
            "template": template,
            "parameters": parameters,
            "description": description,
            "change_set_type": change_set_type,
            "notification_arns": notification_arns,
            "tags": tags,
            "role_arn": role_arn,
        }
        if change_set_type == "UPDATE":
            if held is not None:
                refuse_update(held)
            return previous(self, **arguments)
        if held is not None and held.status != "REVIEW_IN_PROGRESS":
            raise ValidationError(
                stack_name, f"Stack [{stack_name}] already exists and cannot be created again with the changeSet [{change_set_name}]."
            )
        change_set_id, stack_id = previous(self, **arguments)
        if held is None:
            return change_set_id, stack_id
        # The stack awaiting its creation takes the change set; moto's new one goes.
        del self.stacks[stack_id]
        made = self.change_sets[change_set_id]
        made.stack, made.stack_id, made.stack_name = held, held.stack_id, held.name
        held.parameters, held.role_arn = parameters, role_arn
        held.tags = tags or {}
        held.notification_arns = notification_arns or []
        return change_set_id, held.stack_id

    return create_change_set


def _update_by_default(previous: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def create_change_set(self: Any) -> Any:
        read = self._get_param

        def get_param(name: str, if_none: Any = None) -> Any:
            return (read(name) or "UPDATE") if name == "ChangeSetType" else read(name, if_none)

        setattr(self, "_get_param", get_param)  # noqa: B010  (this request's own: moto makes a response object per request)
        return previous(self)

    return create_change_set


def _change_set_without_changes_is_created(previous: Callable[..., None]) -> Callable[..., None]:
    def validate_different_update(self: Any, incoming_params: Any, stack_body: str, old_stack: Stack) -> None:
        if self._get_action() == "CreateChangeSet":
            return  # created FAILED by the backend: the call itself succeeds
        previous(self, incoming_params, stack_body, old_stack)

    return validate_different_update


def _run_as_change_set(backend: CloudFormationBackend, stack: Stack, change_set_id: str) -> None:
    """Execute CloudFormation's own change set (as its role: ``cloudformation_execution_role``), then remove it."""
    try:
        backend.execute_change_set(change_set_id)
    finally:
        backend.change_sets.pop(change_set_id, None)
    # A stack made by CreateStack never showed REVIEW_IN_PROGRESS.
    stack.events = [event for event in stack.events if event.resource_status != "REVIEW_IN_PROGRESS"]


def _own_change_set_name() -> str:
    return f"emulator-{uuid.uuid4()}"


def _create_stack_as_role(previous: Callable[..., Stack]) -> Callable[..., Stack]:
    def create_stack(
        self: CloudFormationBackend,
        name: str,
        template: str,
        parameters: dict[str, Any],
        notification_arns: list[str] | None = None,
        tags: dict[str, str] | None = None,
        role_arn: str | None = None,
        enable_termination_protection: bool | None = False,
        timeout_in_mins: int | None = None,
        stack_policy_body: str | None = None,
    ) -> Stack:
        if _held(self, name) is not None:
            raise AlreadyExistsException(f"Stack [{name}] already exists")
        change_set_id, stack_id = self.create_change_set(
            stack_name=name,
            change_set_name=_own_change_set_name(),
            template=template,
            parameters=parameters,
            description="",
            change_set_type="CREATE",
            notification_arns=notification_arns,
            tags=tags,
            role_arn=role_arn,
        )
        stack = self.stacks[stack_id]
        stack.policy = stack_policy_body or ""
        stack.timeout_in_minutes = timeout_in_mins
        stack.enable_termination_protection = bool(enable_termination_protection)
        _run_as_change_set(self, stack, change_set_id)
        return stack

    return create_stack


def _update_stack_as_role(previous: Callable[..., Stack]) -> Callable[..., Stack]:
    def update_stack(
        self: CloudFormationBackend,
        name: str,
        template: str,
        role_arn: str | None,
        parameters: list[dict[str, Any]],
        tags: dict[str, str] | None,
    ) -> Stack:
        stack = self.get_stack(name)
        refuse_update(stack)
        role = role_arn or stack.role_arn
        resolved = self._resolve_update_parameters(instance=stack, incoming_params=parameters)
        change_set_id, _ = self.create_change_set(
            stack_name=stack.name,
            change_set_name=_own_change_set_name(),
            template=template,
            parameters=resolved,
            description="",
            change_set_type="UPDATE",
            notification_arns=stack.notification_arns,
            tags=tags if tags is not None else stack.tags,
            role_arn=role,
        )
        if self.change_sets[change_set_id].status == "FAILED":
            self.change_sets.pop(change_set_id)
            raise ValidationError(stack.name, NO_UPDATES)
        _run_as_change_set(self, stack, change_set_id)
        stack.role_arn = role
        if stack.status == "UPDATE_COMPLETE":
            stack.parameters = resolved
            if tags is not None:
                stack.tags = tags
        return stack

    return update_stack


@contextmanager
def patch() -> Iterator[None]:
    # Each wraps what is there when the emulator starts: other patches change these methods too.
    with (
        mock.patch.object(CloudFormationBackend, "create_change_set", _checked_change_set(CloudFormationBackend.create_change_set)),
        mock.patch.object(CloudFormationBackend, "create_stack", _create_stack_as_role(CloudFormationBackend.create_stack)),
        mock.patch.object(CloudFormationBackend, "update_stack", _update_stack_as_role(CloudFormationBackend.update_stack)),
        mock.patch.object(
            responses.CloudFormationResponse, "create_change_set", _update_by_default(responses.CloudFormationResponse.create_change_set)
        ),
        mock.patch.object(
            responses.CloudFormationResponse,
            "_validate_different_update",
            _change_set_without_changes_is_created(responses.CloudFormationResponse._validate_different_update),
        ),
    ):
        yield
