"""Change sets execute as the execution role they were handed: each resource operation
needs the permissions its type's schema lists (emulator.cloudformation_execution), and a
denied one fails the resource and rolls the stack back, as CloudFormation does. So does a
handler the service refuses (a secret whose name is taken): CloudFormation reports the
service's message as the resource's reason ("Resource handler returned message: ..."),
and the stack rolls back, not the API call."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

from moto.cloudformation import parsing
from moto.cloudformation.models import CloudFormationBackend, Event
from moto.cloudformation.parsing import ResourceMap
from moto.core.exceptions import ServiceException, _RESTError

from emulator.cloudformation_execution import (
    HandlerAccessDenied,
    authorize_handler,
    current_execution,
    executing_as,
    policies_before_handler,
)
from emulator.patches.change_set_cleanup import change_set_key

REASON = (
    "moto's CloudFormation creates every resource whatever the execution role may do, and has no rollback: "
    "an execution policy missing a handler permission deployed here and failed on AWS. It also reports an "
    "update of a type it cannot update (a log group, a table, a key) as done, and leaves the resource as it was."
)

_original_parse = parsing.parse_resource_and_generate_name
_original_create = parsing.parse_and_create_resource
_original_update = parsing.parse_and_update_resource
_original_delete = ResourceMap._delete_resource
_original_execute = CloudFormationBackend.execute_change_set
_original_delete_stack = CloudFormationBackend.delete_stack

_resolved = threading.local()  # logical ID -> properties as CloudFormation resolved them
_state = threading.local()  # rolling_back: a rollback puts back what the failed update could not change
# (operation, logical ID) -> the acting principal's policies before that resource's handler
# first ran in this stack operation: moto retries a failed update up to five times, and a
# retry must not be checked against the policy its first attempt applied.
_before = threading.local()


def _policies_before(operation: str, logical_id: str) -> list[dict[str, Any]] | None:
    pinned: dict[tuple[str, str], list[dict[str, Any]] | None] = _before.__dict__.setdefault("pinned", {})
    key = (operation, logical_id)
    if key not in pinned:
        pinned[key] = policies_before_handler()
    return pinned[key]


class ResourceFailed(Exception):
    def __init__(self, logical_id: str, resource_type: str, reason: str) -> None:
        super().__init__(reason)
        self.logical_id, self.resource_type, self.reason = logical_id, resource_type, reason


def _parse(logical_id: str, resource_json: dict[str, Any], resources_map: ResourceMap) -> Any:
    parsed = _original_parse(logical_id, resource_json, resources_map)
    if parsed:
        _resolved.__dict__[logical_id] = parsed[1].get("Properties", {})
    return parsed


def _checked(
    operation: str,
    logical_id: str,
    resource_json: dict[str, Any],
    resource: Any,
    region: str,
    policies: list[dict[str, Any]] | None = None,
) -> None:
    try:
        authorize_handler(
            operation,
            logical_id=logical_id,
            resource_type=resource_json["Type"],
            resource=resource,
            properties=_resolved.__dict__.get(logical_id, resource_json.get("Properties", {})),
            region=region,
            policies=policies,
        )
    except HandlerAccessDenied as denied:
        raise ResourceFailed(logical_id, resource_json["Type"], str(denied)) from None


@contextmanager
def _handler_errors(logical_id: str, resource_type: str) -> Iterator[None]:
    """While a change set executes, a service's refusal fails the resource (and the stack
    rolls back) with the service's message, as CloudFormation's resource handlers report it."""
    try:
        yield
    except (_RESTError, ServiceException) as error:
        if current_execution() is None:
            raise
        code = getattr(error, "error_type", None) or getattr(error, "code", "") or type(error).__name__
        message = getattr(error, "message", "") or str(error)
        raise ResourceFailed(logical_id, resource_type, f'Resource handler returned message: "{message}" ({code})') from None


# Nested stacks are refused: moto makes the inner stack outside the outer one's execution
# (its resources unchecked) and leaves it, and what it made, when the outer one rolls back.
NESTED_STACK = "AWS::CloudFormation::Stack"


def _create(logical_id: str, resource_json: dict[str, Any], resources_map: ResourceMap, account_id: str, region_name: str) -> Any:
    if resource_json.get("Type") == NESTED_STACK and current_execution() is not None:
        raise ResourceFailed(
            logical_id, NESTED_STACK, "the emulator does not create nested stacks: their resources would not be checked nor rolled back"
        )
    # What the acting principal may do before the handler runs: a policy the resource
    # attaches to that principal does not authorize the resource's own creation.
    policies = _policies_before("create", logical_id)
    with _handler_errors(logical_id, resource_json["Type"]):
        resource = _original_create(logical_id, resource_json, resources_map, account_id, region_name)
    if current_execution() is not None:
        # Checked once the handler has run (against the policies from before it), as on AWS
        # a handler fails part-way: the rollback deletes what it made. A type moto does not
        # model (None: an AWS::SNS::Subscription, say) is checked all the same, on the ARNs
        # its properties name.
        if resource is not None:
            resources_map._parsed_resources[logical_id] = resource
        else:
            condition = resource_json.get("Condition")
            if condition and not resources_map.lazy_condition_map[condition]:
                return None  # not created at all: nothing to check
            _resolved.__dict__[logical_id] = parsing.clean_json(resource_json.get("Properties", {}), resources_map)
        try:
            _checked("create", logical_id, resource_json, resource, region_name, policies)
        except ResourceFailed:
            # On AWS the denied call made nothing. Undone here at once, whatever its
            # DeletionPolicy: a rollback keeps a Retain resource, and this one never was.
            _undo(resources_map, logical_id, resource, resource_json)
            raise
    return resource


def _undo(resources_map: ResourceMap, logical_id: str, resource: Any, resource_json: dict[str, Any]) -> None:
    resources_map._parsed_resources.pop(logical_id, None)
    if resource is None:
        return
    # A type moto cannot delete stays, as after any rollback that fails to delete; the stack
    # still rolls back, and the failure is the check's.
    with contextlib.suppress(Exception):
        _original_delete(resources_map, resource, resource_json)


def _updatable(resource_type: str) -> bool:
    model = parsing.get_model_map().get(resource_type)
    update = getattr(model, "update_from_cloudformation_json", None)
    return update is not None and not hasattr(update, "__isabstractmethod__")


def _update(logical_id: str, resource_json: dict[str, Any], resources_map: ResourceMap, account_id: str, region_name: str) -> Any:
    if not _updatable(resource_json["Type"]):
        if getattr(_state, "rolling_back", False):
            return None  # as moto does for its own types without an update: left as it was
        # moto would leave the resource as it was and report the update done: say so instead.
        raise ResourceFailed(
            logical_id,
            resource_json["Type"],
            f"the emulator cannot update a {resource_json['Type']} (moto implements no update for it); AWS would",
        )
    policies = _policies_before("update", logical_id)
    with _handler_errors(logical_id, resource_json["Type"]):
        resource = _original_update(logical_id, resource_json, resources_map, account_id, region_name)
    if resource is not None and current_execution() is not None:
        _checked("update", logical_id, resource_json, resource, region_name, policies)
    return resource


def _delete(self: ResourceMap, parsed_resource: Any, resource_json: dict[str, Any]) -> None:
    if current_execution() is not None:
        logical_id = getattr(parsed_resource, "logical_resource_id", "")
        # The properties as the stack resolved them (Refs to its other resources).
        _resolved.__dict__[logical_id] = parsing.clean_json(resource_json.get("Properties", {}), self)
        _checked("delete", logical_id, resource_json, parsed_resource, self._region_name)
    _original_delete(self, parsed_resource, resource_json)


def _event(stack: Any, failure: ResourceFailed, status: str) -> Event:
    return Event(
        stack_id=stack.stack_id,
        stack_name=stack.name,
        logical_resource_id=failure.logical_id,
        physical_resource_id="",
        resource_type=failure.resource_type,
        resource_status=status,
        resource_status_reason=failure.reason,
        resource_properties=None,
    )


def _register_exports(backend: CloudFormationBackend, stack: Any) -> None:
    """The stack's exports as its executed template declares them, for other stacks'
    Fn::ImportValue (CloudFormation User Guide, "Get exported outputs from a deployed
    CloudFormation stack"): moto registers exports only in CreateStack."""
    for name in [name for name, export in backend.exports.items() if export.exporting_stack_id == stack.stack_id]:
        del backend.exports[name]
    for export in stack.exports:
        backend.exports[export.name] = export


def _execute_change_set(self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None) -> None:
    # The change set of that name of this stack, not of any stack (change_set_cleanup).
    key = change_set_key(self, change_set_name, stack_name)
    if key is None:  # no such change set: moto's own error
        return _original_execute(self, change_set_name, stack_name)
    change_set_name = key
    change_set = self.change_sets[key]
    stack = self.stacks[change_set.stack_id]
    role_arn = change_set.role_arn or getattr(stack, "role_arn", None)
    previous = (stack.template, dict(stack.resource_map.input_parameters)) if change_set.change_set_type == "UPDATE" else None
    # moto makes a change set's new stack with no exports to import from: the region's are.
    stack.cross_stack_resources = stack.resource_map.cross_stack_resources = self.exports
    try:
        with executing_as(role_arn, stack.stack_id):
            _original_execute(self, change_set_name, stack_name)
    except ResourceFailed as failure:
        _roll_back(stack, change_set, failure, previous)
    else:
        # moto keeps the outputs of the template the stack was created with (none, for a
        # change set's stack): the executed template's outputs are the stack's now.
        stack._parse_template()
        stack.output_map = stack._create_output_map()
        _register_exports(self, stack)
    finally:
        _resolved.__dict__.clear()
        _before.__dict__.clear()


def _roll_back(stack: Any, change_set: Any, failure: ResourceFailed, previous: tuple[str | dict[str, Any], dict[str, Any]] | None) -> None:
    """CloudFormation's rollback: a failed creation deletes what it made; a failed update
    puts the previous template back (AWS CloudFormation User Guide, "Stack failure
    options"). The rollback itself is not permission-checked (a guess: AWS rolls back
    with the same role, which needed those permissions to deploy the previous version)."""
    change_set.execution_status = "EXECUTE_FAILED"
    if previous is None:
        stack.events.append(_event(stack, failure, "CREATE_FAILED"))
        stack._add_stack_event(
            "ROLLBACK_IN_PROGRESS", resource_status_reason=f"The following resource(s) failed to create: [{failure.logical_id}]. "
        )
        stack.resource_map.delete()
        stack._add_stack_event("ROLLBACK_COMPLETE")
        stack.status = "ROLLBACK_COMPLETE"
        return
    template, parameters = previous
    stack.events.append(_event(stack, failure, "UPDATE_FAILED"))
    stack._add_stack_event(
        "UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason=f"The following resource(s) failed to update: [{failure.logical_id}]. "
    )
    _state.rolling_back = True
    try:
        stack.resource_map.update(stack.parse_template(template), parameters)
    finally:
        _state.rolling_back = False
    stack.template = template
    stack._parse_template()
    stack.output_map = stack._create_output_map()
    stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")
    stack.status = "UPDATE_ROLLBACK_COMPLETE"


def _delete_stack(self: CloudFormationBackend, name_or_stack_id: str) -> None:
    stack = next((s for s in self.stacks.values() if name_or_stack_id in (s.stack_id, s.name)), None)
    if stack is None:
        return  # deleting a stack that does not exist succeeds, as on AWS
    try:
        # As the role the stack was deployed with (CloudFormation keeps it with the stack).
        with executing_as(getattr(stack, "role_arn", None), stack.stack_id):
            _original_delete_stack(self, stack.stack_id)
    except ResourceFailed as failure:
        # moto took the stack out of the account before deleting its resources: a stack
        # whose deletion failed stays, DELETE_FAILED, with what is left of it.
        self.deleted_stacks.pop(stack.stack_id, None)
        self.stacks[stack.stack_id] = stack
        stack.events.append(_event(stack, failure, "DELETE_FAILED"))
        stack._add_stack_event(
            "DELETE_FAILED", resource_status_reason=f"The following resource(s) failed to delete: [{failure.logical_id}]. "
        )
        stack.status = "DELETE_FAILED"
    finally:
        _resolved.__dict__.clear()
        _before.__dict__.clear()


@contextmanager
def patch() -> Iterator[None]:
    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(parsing, "parse_resource_and_generate_name", _parse))
        stack.enter_context(mock.patch.object(parsing, "parse_and_create_resource", _create))
        stack.enter_context(mock.patch.object(parsing, "parse_and_update_resource", _update))
        stack.enter_context(mock.patch.object(ResourceMap, "_delete_resource", _delete))
        stack.enter_context(mock.patch.object(CloudFormationBackend, "execute_change_set", _execute_change_set))
        stack.enter_context(mock.patch.object(CloudFormationBackend, "delete_stack", _delete_stack))
        yield
