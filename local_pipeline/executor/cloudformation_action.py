"""The CloudFormation deploy action (``Deploy/AWS/CloudFormation/1``), as CodePipeline runs it.

CodePipeline acts as the pipeline's service role and, for an action that names a
``RoleArn``, as that role, assumed from the pipeline's (CodePipeline user guide,
"CodePipeline service role" and "Create a pipeline that uses resources from another AWS
account"). The action's configuration follows the user guide's "AWS CloudFormation
deploy action reference":

- ``CHANGE_SET_REPLACE``: creates the change set ``ChangeSetName`` for ``StackName``
  from ``TemplatePath`` (``<artifact>::<path>``), handed to the execution role ``RoleArn``,
  replacing a change set of that name; a stack that does not exist yet gets a CREATE one;
- ``CHANGE_SET_EXECUTE``: executes it and waits for the stack; the stack's outputs become
  the action's variables (its namespace's).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from emulator import clients
from emulator.identity import Credentials
from local_pipeline.executor.engine import ActionContext, ActionOutcome

# How CodePipeline's action role reaches an account: ``sessions(role_arn, region)`` gives the
# credentials of ``role_arn`` as CodePipeline holds them (assumed from the pipeline's role).
Sessions = Callable[[str, str], Credentials]

_DONE = {"CREATE_COMPLETE", "UPDATE_COMPLETE"}
_FAILED_TERMINAL = {"ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "CREATE_FAILED", "ROLLBACK_FAILED", "UPDATE_ROLLBACK_FAILED"}


@dataclass(frozen=True)
class CloudFormationAction:
    sessions: Sessions
    region: str
    timeout_seconds: float = 120

    def __call__(self, context: ActionContext) -> ActionOutcome:
        configuration = context.configuration
        mode = configuration.get("ActionMode")
        if context.action.role_arn is None:
            return ActionOutcome("Failed", "the action names no RoleArn: the emulator runs cross-account actions only through their role")
        region = context.action.region or self.region
        client = clients.client("cloudformation", region=region, credentials=self.sessions(context.action.role_arn, region))
        try:
            if mode == "CHANGE_SET_REPLACE":
                return self._replace(client, context)
            if mode == "CHANGE_SET_EXECUTE":
                return self._execute(client, context)
        except ClientError as error:
            return ActionOutcome("Failed", f"{error.response['Error']['Code']}: {error.response['Error']['Message']}")
        return ActionOutcome(
            "Failed", f"ActionMode {mode!r} is not run by the local executor (it runs CHANGE_SET_REPLACE and CHANGE_SET_EXECUTE)"
        )

    @staticmethod
    def _status(client: Any, stack_name: str) -> str | None:
        try:
            return str(client.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"])
        except ClientError:
            return None

    def _template(self, context: ActionContext) -> Path:
        artifact, _, path = str(context.configuration["TemplatePath"]).partition("::")
        if artifact not in context.inputs:
            raise FileNotFoundError(f"TemplatePath names the artifact {artifact}, which is not an input of this action")
        return context.inputs[artifact] / path

    def _replace(self, client: Any, context: ActionContext) -> ActionOutcome:
        configuration = context.configuration
        stack, change_set = configuration["StackName"], configuration["ChangeSetName"]
        status = self._status(client, stack)
        if status == "ROLLBACK_COMPLETE":
            # A stack whose creation failed can only be deleted (CloudFormation user guide).
            client.delete_stack(StackName=stack)
            status = self._status(client, stack)
        exists = status not in (None, "REVIEW_IN_PROGRESS")
        if exists:
            with contextlib.suppress(ClientError):  # none of that name yet
                client.delete_change_set(StackName=stack, ChangeSetName=change_set)
        client.create_change_set(
            StackName=stack,
            ChangeSetName=change_set,
            ChangeSetType="UPDATE" if exists else "CREATE",
            TemplateBody=self._template(context).read_text(),
            RoleARN=configuration["RoleArn"],
            Capabilities=[c for c in str(configuration.get("Capabilities", "")).split(",") if c],
        )
        return ActionOutcome("Succeeded", f"change set {change_set} of {stack} ({'update' if exists else 'create'})")

    def _execute(self, client: Any, context: ActionContext) -> ActionOutcome:
        configuration = context.configuration
        stack, change_set = configuration["StackName"], configuration["ChangeSetName"]
        described = client.describe_change_set(StackName=stack, ChangeSetName=change_set)
        if described["Status"] == "FAILED" and "didn't contain changes" in described.get("StatusReason", ""):
            return ActionOutcome("Succeeded", f"{stack}: no changes", self._outputs(client, stack))
        client.execute_change_set(StackName=stack, ChangeSetName=change_set)
        deadline = time.monotonic() + self.timeout_seconds
        while True:
            status = self._status(client, stack) or "DELETED"
            if status in _DONE:
                return ActionOutcome("Succeeded", f"{stack}: {status}", self._outputs(client, stack))
            if status in _FAILED_TERMINAL or not status.endswith("IN_PROGRESS") or time.monotonic() > deadline:
                return ActionOutcome("Failed", f"{stack} ended {status}: {self._reason(client, stack)}")
            time.sleep(0.05)

    @staticmethod
    def _outputs(client: Any, stack: str) -> dict[str, str]:
        description = client.describe_stacks(StackName=stack)["Stacks"][0]
        return {output["OutputKey"]: output["OutputValue"] for output in description.get("Outputs", [])}

    @staticmethod
    def _reason(client: Any, stack: str) -> str:
        events = client.describe_stack_events(StackName=stack)["StackEvents"]
        failed = [e for e in events if str(e.get("ResourceStatus", "")).endswith("FAILED") and e.get("ResourceStatusReason")]
        return f"{failed[0]['LogicalResourceId']}: {failed[0]['ResourceStatusReason']}" if failed else "no reason given"
