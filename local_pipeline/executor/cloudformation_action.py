"""The CloudFormation deploy action (``Deploy/AWS/CloudFormation/1``), as CodePipeline runs it.

CodePipeline acts as the pipeline's service role and, for an action that names a
``RoleArn``, as that role, assumed from the pipeline's (CodePipeline user guide,
"CodePipeline service role" and "Create a pipeline that uses resources from another AWS
account"). The action's configuration follows the user guide's "AWS CloudFormation
deploy action reference" and the CloudFormation user guide's "AWS CloudFormation
configuration properties reference"; every call goes to CloudFormation, which answers as
it answers (the emulator's refusals are CloudFormation's: ``emulator/patches/stack_operations.py``):

- ``CHANGE_SET_REPLACE`` "creates the change set, if it doesn't exist, based on the stack
  name and template that you submit. If the change set exists, AWS CloudFormation deletes
  it, and then creates a new one": an UPDATE change set for a stack that exists, whatever
  its state, a CREATE one otherwise (or for a stack still ``REVIEW_IN_PROGRESS``). The
  action waits for the change set and fails with CloudFormation's status reason when it
  is FAILED, but for a change set without changes, which is no failure. A stack left in
  ``ROLLBACK_COMPLETE`` is not deleted here (that is the CDK CLI's recovery, not
  CodePipeline's): CloudFormation refuses the change set, "Stack:<arn> is in
  ROLLBACK_COMPLETE state and can not be updated.", and the action fails with that.
- ``CHANGE_SET_EXECUTE`` executes it and waits for the stack.
- ``CREATE_UPDATE`` "creates the stack if it doesn't exist. If the stack exists, AWS
  CloudFormation updates the stack ... if the stack exists and is in a failed state,
  CodePipeline won't delete and replace the stack": CreateStack or UpdateStack, then a wait;
  "No updates are to be performed." is no failure.
- ``DELETE_ONLY`` "deletes a stack. If you specify a stack that doesn't exist, the action is
  completed successfully without deleting a stack."
- ``REPLACE_ON_FAILURE``: a stack in a failed state (``ROLLBACK_COMPLETE``,
  ``ROLLBACK_FAILED``, ``CREATE_FAILED``, ``DELETE_FAILED``, ``UPDATE_ROLLBACK_FAILED``, the
  CloudFormation user guide's list) is deleted, then created anew; otherwise as
  ``CREATE_UPDATE``.

Where a stack or change set is made, ``TemplateConfiguration`` (``<artifact>::<path>``, a
JSON object of ``Parameters``, ``Tags`` and ``StackPolicy``: CloudFormation user guide,
"AWS CloudFormation artifacts") and ``ParameterOverrides`` (a JSON object whose values
"override those set in the template configuration file"; a value may be
``{"Fn::GetParam": [artifact, JSON file, key]}``, "Using parameter override functions with
CodePipeline pipelines") give the parameters; "All parameter names must be present in the
stack template". Stack outputs become the action's variables in the modes the reference's
"Output variables" lists (``CREATE_UPDATE``, ``REPLACE_ON_FAILURE``, ``CHANGE_SET_EXECUTE``),
and ``OutputFileName`` names the JSON file of the stack's outputs written to the action's
output artifact. A path in an artifact stays in the artifact: one that climbs out of it, by
``..``, an absolute path or a symbolic link, fails the action, naming it.

Guesses, where the docs are silent: a change set without changes succeeds in both change
set modes (what CDK Pipelines relies on when a stack is unchanged); ``OutputFileName`` in
``CHANGE_SET_REPLACE`` holds the stack's outputs as they are (none before its creation),
and ``DELETE_ONLY`` writes no file; a template configuration's ``StackPolicy`` is not applied
to a change set (CreateChangeSet takes none), which the action's summary says; a number in
``ParameterOverrides`` or a template configuration is passed as its JSON text.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from botocore.exceptions import ClientError

from emulator import clients
from emulator.identity import Credentials
from local_pipeline.executor.engine import ActionContext, ActionOutcome

# How CodePipeline's action role reaches an account: ``sessions(role_arn, region)`` gives the
# credentials of ``role_arn`` as CodePipeline holds them (assumed from the pipeline's role).
Sessions = Callable[[str, str], Credentials]

MODES = ("CHANGE_SET_REPLACE", "CHANGE_SET_EXECUTE", "CREATE_UPDATE", "DELETE_ONLY", "REPLACE_ON_FAILURE")
# What each mode needs ("Required: Conditional" in the reference: ChangeSetName, RoleArn, TemplatePath).
_REQUIRED = {
    "CHANGE_SET_REPLACE": ("StackName", "ChangeSetName", "TemplatePath", "RoleArn"),
    "CHANGE_SET_EXECUTE": ("StackName", "ChangeSetName"),
    "CREATE_UPDATE": ("StackName", "TemplatePath", "RoleArn"),
    "DELETE_ONLY": ("StackName", "RoleArn"),
    "REPLACE_ON_FAILURE": ("StackName", "TemplatePath", "RoleArn"),
}
# "The corresponding action modes that generate variables" (reference, "Output variables").
_VARIABLE_MODES = {"CREATE_UPDATE", "REPLACE_ON_FAILURE", "CHANGE_SET_EXECUTE"}
# "If the stack exists and is in a failed state (reported as ROLLBACK_COMPLETE, ROLLBACK_FAILED,
# CREATE_FAILED, DELETE_FAILED, or UPDATE_ROLLBACK_FAILED), AWS CloudFormation deletes the stack".
REPLACED_STATES = {"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED", "DELETE_FAILED", "UPDATE_ROLLBACK_FAILED"}
_NO_CHANGES = "didn't contain changes"
_NO_UPDATES = "No updates are to be performed."
_TEMPLATE_CONFIGURATION_KEYS = {"Parameters", "Tags", "StackPolicy"}
_PARAMETER_OVERRIDES_LIMIT = 1024  # "The maximum size for the JSON object ... is 1 kilobyte"
_NO_EVENTS = "no details (the action's role may not call cloudformation:DescribeStackEvents)"


class ActionFailed(Exception):
    """The action fails before or between its calls, saying why."""


@dataclass(frozen=True)
class StackInput:
    """What a stack or change set is made from."""

    template_body: str
    parameters: list[dict[str, str]]
    tags: list[dict[str, str]]
    capabilities: list[str]
    role_arn: str
    stack_policy: str | None  # a JSON document, from the template configuration

    def arguments(self, *, stack_policy: bool = False) -> dict[str, Any]:
        """CreateChangeSet's arguments; CreateStack's and UpdateStack's with ``stack_policy``
        (CreateChangeSet takes none)."""
        arguments = {
            "TemplateBody": self.template_body,
            "Parameters": self.parameters,
            "Tags": self.tags,
            "Capabilities": self.capabilities,
            "RoleARN": self.role_arn,
        }
        return arguments | ({"StackPolicyBody": self.stack_policy} if stack_policy and self.stack_policy else {})


@dataclass(frozen=True)
class CloudFormationAction:
    sessions: Sessions
    region: str
    timeout_seconds: float = 120
    poll_seconds: float = 0.05

    def __call__(self, context: ActionContext) -> ActionOutcome:
        mode = str(context.configuration.get("ActionMode"))
        if mode not in MODES:
            return ActionOutcome(
                "Failed", f"ActionMode {mode!r} is not an action mode of the CloudFormation action, which takes {', '.join(MODES)}"
            )
        missing = [key for key in _REQUIRED[mode] if not context.configuration.get(key)]
        if missing:
            return ActionOutcome("Failed", f"ActionMode {mode} requires {', '.join(missing)} in the action's configuration")
        if context.action.role_arn is None:
            return ActionOutcome("Failed", "the action names no RoleArn: the emulator runs cross-account actions only through their role")
        region = context.action.region or self.region
        client = clients.client("cloudformation", region=region, credentials=self.sessions(context.action.role_arn, region))
        try:
            return _Run(self, client, context, mode).run()
        except ClientError as error:
            return ActionOutcome("Failed", f"{error.response['Error']['Code']}: {error.response['Error']['Message']}")
        except ActionFailed as error:
            return ActionOutcome("Failed", str(error))


class _Run:
    """One run of the action: its configuration, its client (as the action's role), its inputs."""

    def __init__(self, action: CloudFormationAction, client: Any, context: ActionContext, mode: str) -> None:
        self.action, self.client, self.context, self.mode = action, client, context, mode
        self.configuration = context.configuration
        self.stack_name = str(self.configuration["StackName"])
        self.output_file = _output_file(context)  # checked before anything is called

    def run(self) -> ActionOutcome:
        if self.mode == "CHANGE_SET_REPLACE":
            return self._replace_change_set()
        if self.mode == "CHANGE_SET_EXECUTE":
            return self._execute_change_set()
        if self.mode == "DELETE_ONLY":
            return self._delete_only()
        return self._create_or_update(replace_failed=self.mode == "REPLACE_ON_FAILURE")

    # --- the modes ----------------------------------------------------------------------

    def _replace_change_set(self) -> ActionOutcome:
        change_set = str(self.configuration["ChangeSetName"])
        stack_input = self._stack_input()
        stack = self._described()
        if stack is not None:
            # "If the change set exists, AWS CloudFormation deletes it"; CloudFormation answers
            # success for one that does not exist.
            self.client.delete_change_set(StackName=self.stack_name, ChangeSetName=change_set)
        update = stack is not None and stack["StackStatus"] != "REVIEW_IN_PROGRESS"
        made = self.client.create_change_set(
            StackName=self.stack_name, ChangeSetName=change_set, ChangeSetType="UPDATE" if update else "CREATE", **stack_input.arguments()
        )
        described = self._created_change_set(made["Id"])
        what = f"change set {change_set} of {self.stack_name}"
        if described["Status"] == "FAILED" and _NO_CHANGES not in str(described.get("StatusReason", "")):
            raise ActionFailed(f"{what} FAILED: {described.get('StatusReason', 'no reason given')}")
        self._write_outputs(self._outputs(str(stack["StackId"])) if update and stack is not None else {})
        note = " (the template configuration's StackPolicy is not applied to a change set)" if stack_input.stack_policy else ""
        if described["Status"] == "FAILED":
            return ActionOutcome("Succeeded", f"{what}: no changes{note}")
        return ActionOutcome("Succeeded", f"{what} ({'update' if update else 'create'}){note}")

    def _execute_change_set(self) -> ActionOutcome:
        change_set = str(self.configuration["ChangeSetName"])
        described = self._created_change_set(change_set)
        stack_id = str(described["StackId"])
        if described["Status"] == "FAILED":
            reason = str(described.get("StatusReason", "no reason given"))
            if _NO_CHANGES in reason:
                return self._succeeded(stack_id, f"{self.stack_name}: no changes")
            raise ActionFailed(f"change set {change_set} of {self.stack_name} FAILED: {reason}")
        self.client.execute_change_set(StackName=self.stack_name, ChangeSetName=change_set)
        return self._ended(stack_id, {"CREATE_COMPLETE", "UPDATE_COMPLETE"})

    def _create_or_update(self, *, replace_failed: bool) -> ActionOutcome:
        stack_input = self._stack_input()
        stack = self._described()
        replaced = ""
        if replace_failed and stack is not None and stack["StackStatus"] in REPLACED_STATES:
            replaced = f" (replaced the stack left {stack['StackStatus']})"
            self.client.delete_stack(StackName=self.stack_name, RoleARN=stack_input.role_arn)
            status = self._wait(str(stack["StackId"]))
            if status != "DELETE_COMPLETE":
                raise ActionFailed(f"{self.stack_name} ended {status}: {self._reason(str(stack['StackId']))}")
            stack = None
        if stack is None:
            made = self.client.create_stack(StackName=self.stack_name, **stack_input.arguments(stack_policy=True))
            return self._ended(str(made["StackId"]), {"CREATE_COMPLETE"}, replaced)
        stack_id = str(stack["StackId"])
        try:
            self.client.update_stack(StackName=self.stack_name, **stack_input.arguments(stack_policy=True))
        except ClientError as error:
            if error.response["Error"]["Message"] != _NO_UPDATES:
                raise
            return self._succeeded(stack_id, f"{self.stack_name}: no updates")
        return self._ended(stack_id, {"UPDATE_COMPLETE"})

    def _delete_only(self) -> ActionOutcome:
        stack = self._described()
        if stack is None:
            return ActionOutcome("Succeeded", f"{self.stack_name} does not exist: nothing to delete")
        self.client.delete_stack(StackName=self.stack_name, RoleARN=str(self.configuration["RoleArn"]))
        status = self._wait(str(stack["StackId"]))
        if status != "DELETE_COMPLETE":
            raise ActionFailed(f"{self.stack_name} ended {status}: {self._reason(str(stack['StackId']))}")
        return ActionOutcome("Succeeded", f"{self.stack_name}: {status}")

    # --- CloudFormation ---------------------------------------------------------------------

    def _described(self) -> dict[str, Any] | None:
        """The stack, or None when CloudFormation holds none of that name (a denial fails the action)."""
        try:
            return dict(self.client.describe_stacks(StackName=self.stack_name)["Stacks"][0])
        except ClientError as error:
            if error.response["Error"]["Code"] == "ValidationError" and "does not exist" in error.response["Error"]["Message"]:
                return None
            raise

    def _created_change_set(self, change_set: str) -> dict[str, Any]:
        """The change set (its name or ID) once CloudFormation has created it, or failed to."""
        deadline = time.monotonic() + self.action.timeout_seconds
        while True:
            described = dict(self.client.describe_change_set(StackName=self.stack_name, ChangeSetName=change_set))
            if described["Status"] in ("CREATE_COMPLETE", "FAILED"):
                return described
            if time.monotonic() > deadline:
                name = self.configuration["ChangeSetName"]
                raise ActionFailed(
                    f"change set {name} of {self.stack_name} still {described['Status']} after {self.action.timeout_seconds:g} s"
                )
            time.sleep(self.action.poll_seconds)

    def _wait(self, stack_id: str) -> str:
        """The stack's status once no operation is in progress (by ID: a deleted stack keeps it)."""
        deadline = time.monotonic() + self.action.timeout_seconds
        while True:
            status = str(self.client.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"])
            if not status.endswith("_IN_PROGRESS") or status == "REVIEW_IN_PROGRESS":
                return status
            if time.monotonic() > deadline:
                raise ActionFailed(f"{self.stack_name} still {status} after {self.action.timeout_seconds:g} s")
            time.sleep(self.action.poll_seconds)

    def _ended(self, stack_id: str, done: set[str], note: str = "") -> ActionOutcome:
        status = self._wait(stack_id)
        if status not in done:
            raise ActionFailed(f"{self.stack_name} ended {status}: {self._reason(stack_id)}")
        return self._succeeded(stack_id, f"{self.stack_name}: {status}{note}")

    def _succeeded(self, stack_id: str, summary: str) -> ActionOutcome:
        outputs = self._outputs(stack_id)
        self._write_outputs(outputs)
        return ActionOutcome("Succeeded", summary, outputs if self.mode in _VARIABLE_MODES else {})

    def _outputs(self, stack_id: str) -> dict[str, str]:
        description = self.client.describe_stacks(StackName=stack_id)["Stacks"][0]
        return {str(output["OutputKey"]): str(output["OutputValue"]) for output in description.get("Outputs", [])}

    def _reason(self, stack_id: str) -> str:
        """The failed resource and why, from DescribeStackEvents, as CodePipeline words its
        error: without that permission, "CodePipeline will ignore accessing the API and show
        a generic error message instead" (reference, introduction)."""
        try:
            events = self.client.describe_stack_events(StackName=stack_id)["StackEvents"]
        except ClientError:
            return _NO_EVENTS
        failed = [e for e in events if str(e.get("ResourceStatus", "")).endswith("FAILED") and e.get("ResourceStatusReason")]
        return f"{failed[0]['LogicalResourceId']}: {failed[0]['ResourceStatusReason']}" if failed else "no reason given"

    # --- what the stack is made from --------------------------------------------------------

    def _stack_input(self) -> StackInput:
        template_path = _in_artifact(self.context, str(self.configuration["TemplatePath"]), "TemplatePath")
        template_body = template_path.read_text()
        declared = _declared_parameters(template_body, str(self.configuration["TemplatePath"]))
        parameters, tags, stack_policy = self._template_configuration()
        parameters.update(self._parameter_overrides())
        undeclared = sorted(set(parameters) - declared)
        if undeclared:
            raise ActionFailed(
                f"the template {self.configuration['TemplatePath']} declares no parameter {', '.join(undeclared)} "
                "(all parameter names must be present in the stack template)"
            )
        return StackInput(
            template_body=template_body,
            parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
            tags=[{"Key": key, "Value": value} for key, value in tags.items()],
            capabilities=[c for c in str(self.configuration.get("Capabilities", "")).split(",") if c],
            role_arn=str(self.configuration["RoleArn"]),
            stack_policy=stack_policy,
        )

    def _template_configuration(self) -> tuple[dict[str, str], dict[str, str], str | None]:
        reference = self.configuration.get("TemplateConfiguration")
        if not reference:
            return {}, {}, None
        what = f"TemplateConfiguration {reference}"
        document = _json_object(_in_artifact(self.context, str(reference), "TemplateConfiguration"), what)
        unknown = sorted(set(document) - _TEMPLATE_CONFIGURATION_KEYS)
        if unknown:
            raise ActionFailed(f"{what} holds {', '.join(unknown)}: a template configuration holds only Parameters, Tags and StackPolicy")
        parameters = {key: _scalar(value, f"{what}, parameter {key}") for key, value in _mapping(document, "Parameters", what).items()}
        tags = {key: _scalar(value, f"{what}, tag {key}") for key, value in _mapping(document, "Tags", what).items()}
        policy = document.get("StackPolicy")
        if policy is not None and not isinstance(policy, dict):
            raise ActionFailed(f"{what}: StackPolicy is not a JSON object")
        return parameters, tags, json.dumps(policy) if policy is not None else None

    def _parameter_overrides(self) -> dict[str, str]:
        text = self.configuration.get("ParameterOverrides")
        if not text:
            return {}
        text = str(text)
        if len(text.encode()) > _PARAMETER_OVERRIDES_LIMIT:
            raise ActionFailed(f"ParameterOverrides is {len(text.encode())} bytes: CodePipeline takes at most 1 kilobyte")
        try:
            overrides = json.loads(text)
        except json.JSONDecodeError as error:
            raise ActionFailed(f"ParameterOverrides is not JSON: {error}") from None
        if not isinstance(overrides, dict):
            raise ActionFailed("ParameterOverrides is not a JSON object")
        return {str(key): self._override(str(key), value) for key, value in overrides.items()}

    def _override(self, key: str, value: Any) -> str:
        what = f"ParameterOverrides, parameter {key}"
        if not isinstance(value, dict):
            return _scalar(value, what)
        if list(value) != ["Fn::GetParam"]:
            raise ActionFailed(
                f"{what}: {', '.join(map(str, value)) or 'an empty object'} is not run by the local executor (it runs Fn::GetParam)"
            )
        arguments = value["Fn::GetParam"]
        if not (isinstance(arguments, list) and len(arguments) == 3 and all(isinstance(a, str) for a in arguments)):
            raise ActionFailed(f'{what}: Fn::GetParam takes ["artifactName", "JSONFileName", "keyName"]')
        artifact, file_name, name = arguments
        document = _json_object(_in_artifact(self.context, f"{artifact}::{file_name}", f"{what}, Fn::GetParam"), f"{artifact}::{file_name}")
        if name not in document:
            raise ActionFailed(f"{what}: Fn::GetParam finds no key {name} in {artifact}::{file_name}")
        return _scalar(document[name], f"{what}, Fn::GetParam")

    # --- OutputFileName ---------------------------------------------------------------------

    def _write_outputs(self, outputs: Mapping[str, str]) -> None:
        if self.output_file is not None:
            self.output_file.parent.mkdir(parents=True, exist_ok=True)
            self.output_file.write_text(json.dumps(dict(outputs), indent=2) + "\n")


# --- files in artifacts --------------------------------------------------------------------


def _inside(base: Path, relative: str, what: str) -> Path:
    """``relative`` under ``base``: refused when it climbs out, by ``..``, as an absolute path
    or through a symbolic link."""
    parts = PurePosixPath(relative).parts
    if not relative or PurePosixPath(relative).is_absolute() or ".." in parts or "\\" in relative:
        raise ActionFailed(f"{what} {relative!r} is not a path inside the artifact")
    path = base.joinpath(*parts)
    if not path.resolve().is_relative_to(base.resolve()):
        raise ActionFailed(f"{what} {relative!r} leads out of the artifact (a symbolic link)")
    return path


def _in_artifact(context: ActionContext, reference: str, what: str) -> Path:
    """The file ``<artifact>::<path>`` names, in one of the action's input artifacts."""
    artifact, separator, relative = reference.partition("::")
    if not separator:
        raise ActionFailed(f"{what} {reference!r} is not of the form ArtifactName::FileName")
    if artifact not in context.inputs:
        raise ActionFailed(f"{what} names the artifact {artifact}, which is not an input of this action")
    path = _inside(context.inputs[artifact], relative, what)
    if not path.is_file():
        raise ActionFailed(f"{what} {reference}: the artifact {artifact} holds no file {relative}")
    return path


def _output_file(context: ActionContext) -> Path | None:
    name = context.configuration.get("OutputFileName")
    if not name or context.configuration.get("ActionMode") == "DELETE_ONLY":
        return None
    if len(context.outputs) != 1:
        raise ActionFailed(
            f"OutputFileName {name} goes into the action's output artifact: it declares {len(context.outputs)} (the action takes 0 to 1)"
        )
    (folder,) = context.outputs.values()
    return _inside(folder, str(name), "OutputFileName")


def _json_object(path: Path, what: str) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ActionFailed(f"{what} is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise ActionFailed(f"{what} is not a JSON object")
    return document


def _mapping(document: Mapping[str, Any], key: str, what: str) -> dict[str, Any]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        raise ActionFailed(f"{what}: {key} is not a JSON object")
    return value


def _scalar(value: Any, what: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return json.dumps(value)
    raise ActionFailed(f"{what}: {json.dumps(value)} is not a string")


class _TemplateLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form functions (``!Ref``), read for its Parameters only."""


def _any_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> None:
    return None


_TemplateLoader.add_multi_constructor("!", _any_tag)


def _declared_parameters(template_body: str, what: str) -> set[str]:
    try:
        template = json.loads(template_body)
    except json.JSONDecodeError:
        try:
            template = yaml.load(template_body, Loader=_TemplateLoader)  # noqa: S506  (a SafeLoader)
        except yaml.YAMLError as error:
            raise ActionFailed(f"the template {what} is neither JSON nor YAML: {error}") from None
    if not isinstance(template, dict):
        raise ActionFailed(f"the template {what} is not a template (no JSON or YAML object)")
    parameters = template.get("Parameters") or {}
    return {str(name) for name in parameters} if isinstance(parameters, dict) else set()
