"""CodePipeline's GetPipelineState and PutApprovalResult, answered for the local pipeline's runs.

moto keeps a pipeline's declaration but runs nothing, and has neither operation. The
local executor runs the pipeline's executions (``local_pipeline.executor``); while it
does, it registers here, per pipeline (account, region, name), a provider (``register``,
``publish``) that knows its runs. The operations follow the CodePipeline API reference:

- GetPipelineState ("GetPipelineState"): ``pipelineName``, ``pipelineVersion``,
  ``created``, ``updated`` and ``stageStates``, one per stage of the declaration, in its
  order, each with ``stageName``, ``inboundTransitionState``, ``actionStates`` (one per
  declared action: ``actionName`` and, once the action ran, ``latestExecution`` with
  ``status``, ``summary``, ``lastStatusChange`` and, for an approval that waits, its
  ``token``) and, once a run reached it, ``latestExecution`` (``pipelineExecutionId``,
  ``status``). What the runs say is the provider's; the stages and actions are the
  declaration's. With no provider registered (no run of it here), the pipeline's stages and
  actions are answered without any ``latestExecution``, every inbound transition enabled:
  a guess at what AWS answers of a pipeline that never ran.
- PutApprovalResult ("PutApprovalResult"): ``result.status`` ``Approved`` or ``Rejected``,
  ``result.summary`` at most 512 characters, ``token`` the one GetPipelineState gave;
  answers ``approvedAt``. Errors: PipelineNotFoundException, StageNotFoundException,
  ActionNotFoundException; InvalidApprovalTokenException ("The approval request already
  received a response or has expired") for a token that is not the waiting approval's;
  ApprovalAlreadyCompletedException ("The approval action has already been approved or
  rejected") for the token of an approval already decided. Both error pages could fit a
  decided approval: which one answers which case is the provider's, and a guess.
- A request that breaks the model's constraints (a name's pattern or length, the token's
  pattern, the summary's 512 characters, a status other than the two) is refused with
  ValidationException, worded as AWS words its validation errors (a guess at the text).

Who may call them is decided before moto acts, as for every operation
(``emulator.authorization``): codepipeline:GetPipelineState on the pipeline's ARN,
codepipeline:PutApprovalResult on the action's
(``arn:aws:codepipeline:<region>:<account>:<pipeline>/<stage>/<action>``), both derived
from the Service Authorization Reference (``emulator.operations``). The decision names
its caller as AWS does: the assumed role's session ARN
(``arn:aws:sts::<account>:assumed-role/<role>/<session>``), or the IAM user's ARN.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol
from unittest import mock

from moto.codepipeline.models import codepipeline_backends
from moto.codepipeline.responses import CodePipelineResponse
from moto.core.exceptions import JsonRESTError
from moto.iam.models import get_account_id_from

from emulator.identity import assumed_role_of, principal_for_access_key

REASON = (
    "moto's CodePipeline has neither GetPipelineState nor PutApprovalResult: a build could not find a run's waiting "
    "approval's token, nor approve or reject it, as the AWS CDK's ConfirmPermissionsBroadening does."
)

# API reference, GetPipelineState / PutApprovalResult, request parameters.
NAME = re.compile(r"[A-Za-z0-9.@\-_]{1,100}")
TOKEN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SUMMARY_MAX = 512  # ApprovalResult.summary: "Maximum length of 512"
STATUSES = ("Approved", "Rejected")  # ApprovalResult.status


class InvalidApprovalToken(Exception):
    """A provider's answer: the token is not the waiting approval's (or it expired)."""


class ApprovalAlreadyCompleted(Exception):
    """A provider's answer: the approval of that token was already approved or rejected."""


class ApprovalProvider(Protocol):
    """What the executor registers for a pipeline whose executions it runs."""

    def state(self) -> Mapping[str, Any]:
        """``{"stageStates": [...]}``: the stages and actions its runs reached, as
        GetPipelineState shows them (the declaration's others are added here)."""
        ...

    def put_approval_result(self, stage: str, action: str, token: str, status: str, summary: str, by: str) -> None:
        """Decide the approval ``token`` names (``status``: Approved or Rejected) as ``by``
        (the caller's ARN); raise InvalidApprovalToken or ApprovalAlreadyCompleted."""
        ...


_providers: dict[tuple[str, str, str], ApprovalProvider] = {}
_providers_lock = threading.Lock()


def register(account: str, region: str, pipeline: str, provider: ApprovalProvider) -> None:
    """``provider`` answers for ``pipeline`` in ``account`` and ``region`` (the last one
    registered does) until it is unregistered or the emulated accounts end."""
    with _providers_lock:
        _providers[(account, region, pipeline)] = provider


def unregister(account: str, region: str, pipeline: str, provider: ApprovalProvider) -> None:
    """``provider`` no longer answers for the pipeline (if another replaced it, that one stays)."""
    with _providers_lock:
        if _providers.get((account, region, pipeline)) is provider:
            del _providers[(account, region, pipeline)]


def provider_of(account: str, region: str, pipeline: str) -> ApprovalProvider | None:
    with _providers_lock:
        return _providers.get((account, region, pipeline))


def homes(pipeline: str) -> list[tuple[str, str]]:
    """(account, region) of each pipeline named ``pipeline`` that moto holds."""
    found = []
    # dict's own items: moto's BackendDict makes an account's backends when one is looked up.
    for account, regions in list(dict.items(codepipeline_backends)):
        for region, backend in list(dict.items(regions)):
            if pipeline in backend.pipelines:
                found.append((str(account), str(region)))
    return found


def publish(pipeline: str, provider: ApprovalProvider) -> tuple[str, str, str] | None:
    """Register ``provider`` for the pipeline named ``pipeline`` where it is deployed: the
    (account, region, name) it answers for, or None when no emulated account holds a
    pipeline of that name, or more than one does (which one the executor runs is then
    unknown, and no other account's pipeline of the same name may reach its runs)."""
    found = homes(pipeline)
    if len(found) != 1:
        return None
    ((account, region),) = found
    register(account, region, pipeline, provider)
    return account, region, pipeline


# --- the operations ---------------------------------------------------------------------


class _CodePipelineError(JsonRESTError):
    code = 400


def _validation(value: Any, member: str, constraint: str) -> _CodePipelineError:
    # AWS's wording of a model constraint's violation (a guess at the text; the code is the model's).
    return _CodePipelineError(
        "ValidationException",
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}",
    )


def _name(value: Any, member: str) -> str:
    if not isinstance(value, str) or not NAME.fullmatch(value):
        raise _validation(value, member, "Member must satisfy regular expression pattern: [A-Za-z0-9.@\\-_]+ of length 1 to 100")
    return value


def _epoch(moment: str) -> float:
    """moto's ISO 8601 time as the JSON protocol's timestamp (seconds since the epoch)."""
    parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def caller_arn(access_key_id: str) -> str:
    """Who calls, as AWS names the caller: an assumed role's session ARN, or the IAM user's ARN."""
    assumed = assumed_role_of(get_account_id_from(access_key_id), access_key_id)
    if assumed is not None:
        return str(assumed.arn)
    return principal_for_access_key(access_key_id).arn


def pipeline_state(declaration: Mapping[str, Any], metadata: Mapping[str, str], live: Mapping[str, Any]) -> dict[str, Any]:
    """GetPipelineState's answer: the declaration's stages and actions, in order, with what
    the provider's ``live`` state says of them."""
    live_stages = {str(stage.get("stageName")): stage for stage in live.get("stageStates") or []}
    stage_states = []
    for stage in declaration["stages"]:
        known = live_stages.get(stage["name"], {})
        known_actions = {str(action.get("actionName")): action for action in known.get("actionStates") or []}
        action_states = []
        for action in stage["actions"]:
            state: dict[str, Any] = {"actionName": action["name"]}
            latest = known_actions.get(action["name"], {}).get("latestExecution")
            if latest:
                state["latestExecution"] = dict(latest)
            action_states.append(state)
        stage_state: dict[str, Any] = {
            "stageName": stage["name"],
            "inboundTransitionState": dict(known.get("inboundTransitionState") or {"enabled": True}),
            "actionStates": action_states,
        }
        if known.get("latestExecution"):
            stage_state["latestExecution"] = dict(known["latestExecution"])
        stage_states.append(stage_state)
    return {
        "pipelineName": declaration["name"],
        "pipelineVersion": declaration["version"],
        "stageStates": stage_states,
        "created": _epoch(metadata["created"]),
        "updated": _epoch(metadata["updated"]),
    }


def _get_pipeline_state(self: CodePipelineResponse) -> str:
    name = _name(self._get_param("name"), "name")
    declaration, metadata = self.codepipeline_backend.get_pipeline(name)  # PipelineNotFoundException
    provider = provider_of(self.current_account, self.region, name)
    live = provider.state() if provider is not None else {}
    return json.dumps(pipeline_state(declaration, metadata, live))


def _put_approval_result(self: CodePipelineResponse) -> str:
    name = _name(self._get_param("pipelineName"), "pipelineName")
    stage = _name(self._get_param("stageName"), "stageName")
    action = _name(self._get_param("actionName"), "actionName")
    token = self._get_param("token")
    if not isinstance(token, str) or not TOKEN.fullmatch(token):
        raise _validation(token, "token", f"Member must satisfy regular expression pattern: {TOKEN.pattern}")
    result = self._get_param("result")
    if not isinstance(result, dict):
        raise _validation(result, "result", "Member must not be null")
    status, summary = result.get("status"), result.get("summary")
    if status not in STATUSES:
        raise _validation(status, "result.status", f"Member must satisfy enum value set: [{', '.join(STATUSES)}]")
    if not isinstance(summary, str):
        raise _validation(summary, "result.summary", "Member must not be null")
    if len(summary) > SUMMARY_MAX:
        raise _validation(summary, "result.summary", f"Member must have length less than or equal to {SUMMARY_MAX}")
    declaration, _ = self.codepipeline_backend.get_pipeline(name)  # PipelineNotFoundException
    stages = {str(declared["name"]): declared for declared in declaration["stages"]}
    if stage not in stages:
        raise _CodePipelineError("StageNotFoundException", f"Stage {stage} not found in pipeline {name}")
    if action not in {str(declared["name"]) for declared in stages[stage]["actions"]}:
        raise _CodePipelineError("ActionNotFoundException", f"Action {action} not found in stage {stage} of pipeline {name}")
    provider = provider_of(self.current_account, self.region, name)
    try:
        if provider is None:  # no run of this pipeline here: no approval waits (a guess: its token is invalid)
            raise InvalidApprovalToken(f"no approval of {stage}/{action} waits")
        provider.put_approval_result(stage, action, token, str(status), summary, caller_arn(self.get_access_key()))
    except InvalidApprovalToken as error:
        raise _CodePipelineError("InvalidApprovalTokenException", f"Invalid token {token} for pipeline {name}: {error}") from None
    except ApprovalAlreadyCompleted as error:
        raise _CodePipelineError("ApprovalAlreadyCompletedException", f"Approval already completed in pipeline {name}: {error}") from None
    return json.dumps({"approvedAt": time.time()})


@contextmanager
def patch() -> Iterator[None]:
    # moto dispatches an operation to the response class's method of its snake_case name.
    with (
        mock.patch.object(CodePipelineResponse, "get_pipeline_state", _get_pipeline_state, create=True),
        mock.patch.object(CodePipelineResponse, "put_approval_result", _put_approval_result, create=True),
    ):
        try:
            yield
        finally:
            # The accounts end (moto forgets their pipelines): so does every provider for them.
            with _providers_lock:
                _providers.clear()
