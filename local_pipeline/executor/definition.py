"""The pipeline's definition as CodePipeline runs it, read from an ``AWS::CodePipeline::Pipeline``.

The reader takes the resource's properties as CloudFormation holds them (PascalCase,
``Stages[].Actions[]``, ``Triggers[].GitConfiguration.Push[]``), with intrinsic functions
already resolved by the caller: the executor runs what is deployed, not a list of its
own. Structure and semantics follow the CodePipeline API reference ("PipelineDeclaration",
"ActionDeclaration", "GitConfiguration", "StageTransition") and its user guide ("Working
with variables", "Automate starting pipelines using triggers and filtering"); trigger
patterns are CodePipeline's globs (``trigger_filters``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from local_pipeline.executor.trigger_filters import Criteria, GlobError, compile_glob

# "#{SourceVariables.CommitId}": a namespace's variable; "#{variables.Name}": a pipeline variable
# (CodePipeline user guide, "Variables reference").
VARIABLE = re.compile(r"#\{([A-Za-z0-9@\-_]+)\.([A-Za-z0-9@\-_]+)\}")


class DefinitionError(Exception):
    """A pipeline definition the executor cannot run; says which part."""


@dataclass(frozen=True)
class ActionType:
    category: str  # Source, Build, Deploy, Approval, Test, Invoke
    owner: str  # AWS, ThirdParty, Custom
    provider: str  # CodeStarSourceConnection, CodeBuild, CloudFormation, Manual, ...
    version: str

    def __str__(self) -> str:
        return f"{self.category}/{self.owner}/{self.provider}/{self.version}"


@dataclass(frozen=True)
class Action:
    stage: str
    name: str
    type: ActionType
    run_order: int
    configuration: Mapping[str, Any]
    input_artifacts: tuple[str, ...]
    output_artifacts: tuple[str, ...]
    role_arn: str | None = None
    namespace: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class Stage:
    name: str
    actions: tuple[Action, ...]

    def action_groups(self) -> list[tuple[Action, ...]]:
        """The stage's actions by ``RunOrder``: a group runs after the one before it has
        succeeded, its actions side by side (API reference, ActionDeclaration.runOrder)."""
        ordered = sorted(self.actions, key=lambda action: action.run_order)
        return [tuple(group) for _, group in groupby(ordered, key=lambda action: action.run_order)]


@dataclass(frozen=True)
class PushFilter:
    """One entry of a trigger's ``Push`` list (API reference, "GitPushFilter"): branches, tags
    and changed file paths to include and exclude, as glob patterns (``trigger_filters``).

    The entry is "an AND operation inside filters" (user guide, "Trigger filtering in the
    pipeline JSON (CLI)"): a branch push must pass ``Branches`` and, when declared,
    ``FilePaths``; a tag push must pass ``Tags``. A filter that declares nothing for the
    pushed kind of ref selects none of them. The user guide ("Automate starting pipelines
    using triggers and filtering") lists the valid push combinations as "Git tags",
    "branches" and "branches + file paths": ``FilePaths`` are not applied to a tag push (a
    guess: the docs give no meaning to tags with file paths)."""

    branches_includes: tuple[str, ...] = ()
    branches_excludes: tuple[str, ...] = ()
    tags_includes: tuple[str, ...] = ()
    tags_excludes: tuple[str, ...] = ()
    file_paths_includes: tuple[str, ...] = ()
    file_paths_excludes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        lists = {
            "Branches.Includes": self.branches_includes,
            "Branches.Excludes": self.branches_excludes,
            "Tags.Includes": self.tags_includes,
            "Tags.Excludes": self.tags_excludes,
            "FilePaths.Includes": self.file_paths_includes,
            "FilePaths.Excludes": self.file_paths_excludes,
        }
        for where, patterns in lists.items():
            for pattern in patterns:
                try:
                    compile_glob(pattern)
                except GlobError as error:
                    raise DefinitionError(f"a trigger's push filter, {where}: {error}") from None

    @property
    def branches(self) -> Criteria:
        return Criteria(self.branches_includes, self.branches_excludes)

    @property
    def tags(self) -> Criteria:
        return Criteria(self.tags_includes, self.tags_excludes)

    @property
    def file_paths(self) -> Criteria:
        return Criteria(self.file_paths_includes, self.file_paths_excludes)

    def decide(self, ref: str, changed_files: Sequence[str] | None = None) -> tuple[bool, str]:
        """Does this filter select a push of ``ref`` that changed ``changed_files``? And why.

        A push passes ``FilePaths`` when one of its changed files is included and not
        excluded: the API reference ("GitFilePathFilterCriteria") has the includes as "file
        paths that, when a commit is pushed, are to be included as criteria that starts the
        pipeline", and includes and excludes combine with an AND. That they are weighed file
        by file (one file outside the excludes is enough) is a guess, as is that a push that
        changed no file passes no ``FilePaths``. ``changed_files=None`` means unknown: then
        a filter with ``FilePaths`` does not select the push, and says so (CodePipeline
        always knows them; starting a run it might not start is the worse mistake)."""
        if ref.startswith("refs/tags/"):
            name, kind, criteria = ref.removeprefix("refs/tags/"), "Tags", self.tags
        else:
            name, kind, criteria = ref.removeprefix("refs/heads/"), "Branches", self.branches
        if not criteria.declared:
            return False, f"it declares no {kind}"
        why = f"{kind}: {criteria.why(name)}"
        if not criteria.selects(name):
            return False, why
        if kind == "Tags" or not self.file_paths.declared:
            return True, why
        if changed_files is None:
            return False, f"{why}, but its FilePaths cannot be checked: the pushed commits' changed files are unknown"
        selected = next((path for path in changed_files if self.file_paths.selects(path)), None)
        if selected is None:
            return False, f"{why}, but {_no_file_passes(changed_files, self.file_paths)}"
        return True, f"{why}, and FilePaths: {self.file_paths.why(selected)}"

    def matches(self, ref: str, changed_files: Sequence[str] | None = None) -> bool:
        return self.decide(ref, changed_files)[0]


def _no_file_passes(changed_files: Sequence[str], file_paths: Criteria) -> str:
    if not changed_files:
        return "the push changed no file, and its FilePaths select pushes by the files they change"
    shown = ", ".join(file_paths.why(path) for path in changed_files[:3])
    more = f" (and {len(changed_files) - 3} more)" if len(changed_files) > 3 else ""
    return f"none of the {len(changed_files)} changed files passes its FilePaths: {shown}{more}"


EXECUTION_MODES = ("QUEUED", "SUPERSEDED", "PARALLEL")  # API reference, "PipelineDeclaration": executionMode
PIPELINE_TYPES = ("V1", "V2")  # API reference, "PipelineDeclaration": pipelineType
SOURCE_CONNECTION = "CodeStarSourceConnection"
# DisableStageTransition's reason: "Minimum length of 1. Maximum length of 300", this pattern (API reference, "DisableStageTransition").
TRANSITION_REASON = re.compile(r"[a-zA-Z0-9!@ \(\)\.\*\?\-]{1,300}")


@dataclass(frozen=True)
class Pipeline:
    name: str
    stages: tuple[Stage, ...]
    variables: Mapping[str, str] = field(default_factory=dict)  # pipeline-level variables and their defaults
    push_filters: tuple[PushFilter, ...] = ()
    source_action: str | None = None  # the action the trigger watches; None: the pipeline declares no trigger
    # How executions share the pipeline (API reference, "PipelineDeclaration": "The default mode is SUPERSEDED").
    execution_mode: str = "SUPERSEDED"
    pipeline_type: str = "V2"  # what read_pipeline finds; "V2" for a pipeline built in code (what this project deploys)
    disabled_transitions: Mapping[str, str] = field(default_factory=dict)  # stage name -> why its inbound transition is disabled
    restart_on_update: bool = False  # RestartExecutionOnUpdate

    def __post_init__(self) -> None:
        """Refuse what CodePipeline refuses, naming it: an execution mode or pipeline type it
        does not know (API reference, "PipelineDeclaration": "QUEUED | SUPERSEDED |
        PARALLEL", "V1 | V2"), QUEUED or PARALLEL on a V1 pipeline (user guide, "How pipeline
        executions work": each "requires pipeline type V2"), a disabled transition into a
        stage the pipeline does not have."""
        if self.execution_mode not in EXECUTION_MODES:
            raise DefinitionError(f"ExecutionMode {self.execution_mode!r} is not one of {', '.join(EXECUTION_MODES)}")
        if self.pipeline_type not in PIPELINE_TYPES:
            raise DefinitionError(f"PipelineType {self.pipeline_type!r} is not one of {', '.join(PIPELINE_TYPES)}")
        if self.execution_mode != "SUPERSEDED" and self.pipeline_type != "V2":
            raise DefinitionError(f"ExecutionMode {self.execution_mode} requires pipeline type V2; this pipeline's PipelineType is V1")
        unknown = sorted(set(self.disabled_transitions) - {stage.name for stage in self.stages})
        if unknown:
            raise DefinitionError(f"DisableInboundStageTransitions names {', '.join(unknown)}, which the pipeline has no stage of")

    def actions(self) -> list[Action]:
        return [action for stage in self.stages for action in stage.actions]

    def triggered_by(self, ref: str, changed_files: Sequence[str] | None = None) -> tuple[bool, str]:
        """Does a push of ``ref`` start a run? And why (not), naming what decided.

        ``changed_files``: the files the pushed commits changed, for ``FilePaths`` filters;
        ``None`` when unknown (see :meth:`PushFilter.decide`). A pipeline that declares
        triggers starts on its push filters only: "When a trigger configuration is
        specified, default change detection for repository and branch commits is disabled"
        (API reference, "PipelineTriggerDeclaration"). Without one, its connection source
        actions' own change detection starts it (:meth:`_default_detection`)."""
        if self.source_action is None and not self.push_filters:
            return self._default_detection(ref)
        kind = "tag" if ref.startswith("refs/tags/") else "branch"
        if not self.push_filters:
            return False, f"{ref} is a {kind} push; the trigger has no Push filter, and default change detection is off"
        verdicts = [push_filter.decide(ref, changed_files) for push_filter in self.push_filters]
        # "An OR operation between different push filters" (user guide, "Trigger filtering in the pipeline JSON (CLI)").
        for number, (selected, why) in enumerate(verdicts, start=1):
            if selected:
                return True, f"{ref} matches {self._filter_label(number)}: {why}"
        if len(verdicts) == 1:
            return False, f"{ref} is a {kind} the trigger's push filter does not select: {verdicts[0][1]}"
        reasons = "; ".join(f"filter {number}: {why}" for number, (_, why) in enumerate(verdicts, start=1))
        return False, f"{ref} is a {kind} none of the trigger's push filters selects: {reasons}"

    def _filter_label(self, number: int) -> str:
        return "the trigger's push filter" if len(self.push_filters) == 1 else f"push filter {number} of the trigger"

    def _default_detection(self, ref: str) -> tuple[bool, str]:
        """A pipeline without triggers: the user guide ("Automate starting pipelines using
        triggers and filtering") has "No filter: This trigger configuration starts your
        pipeline on any push to the default branch specified as part of action
        configuration"; its table gives the configuration with no trigger and no detection
        as the one whose ``DetectChanges`` is false. ``DetectChanges`` "Controls automatically starting your
        pipeline when a new commit is made on the configured repository and branch. If
        unspecified, the default value is true" (CodeStarSourceConnection action
        reference, as the CDK's ``triggerOnPush`` quotes it). Every connection source action
        is taken to watch the one pushed repository (a guess: the local executor has one)."""
        sources = [action for action in self.actions() if action.type.provider == SOURCE_CONNECTION]
        if not sources:
            return False, f"{ref}: the pipeline has no trigger, and no {SOURCE_CONNECTION} source action to detect changes"
        default = "without a trigger, a push starts the pipeline only on a source action's BranchName"
        watched = ", ".join(f"{action.name}: {action.configuration.get('BranchName') or 'none'}" for action in sources)
        if ref.startswith("refs/tags/"):
            return False, f"{ref} is a tag: {default} ({watched})"
        branch = ref.removeprefix("refs/heads/")
        watching = [action for action in sources if action.configuration.get("BranchName") == branch]
        if not watching:
            return False, f"{ref} is a branch no source action watches: {default} ({watched})"
        detecting = [action for action in watching if detects_changes(action)]
        if not detecting:
            names = ", ".join(action.name for action in watching)
            return False, f"{ref} is the branch of the source action {names}, whose DetectChanges is false, and the pipeline has no trigger"
        action = detecting[0]
        setting = "true" if "DetectChanges" in action.configuration else "unset, so true"
        return True, f"{ref} is the branch of the source action {action.name}, which detects changes (DetectChanges {setting}; no trigger)"


def detects_changes(action: Action) -> bool:
    """A connection source action's ``DetectChanges``: true unless set to false (a boolean, or
    the string ``"true"``/``"false"`` in any case: that the service reads the string without
    regard to case is a guess). Anything else is a :class:`DefinitionError` naming it."""
    value = action.configuration.get("DetectChanges", True)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise DefinitionError(f"stage {action.stage}: action {action.name}: DetectChanges is {value!r}, not true or false")


def _names(artifacts: Any) -> tuple[str, ...]:
    return tuple(str(artifact["Name"]) for artifact in artifacts or [])


# CodePipeline user guide, "Variables reference": "codepipeline" is the reserved namespace of
# the pipeline's execution (PipelineExecutionId), "variables" the pipeline-level variables'.
RESERVED_NAMESPACES = frozenset({"codepipeline", "variables"})


def _namespace(stage: str, declaration: Mapping[str, Any]) -> str | None:
    namespace = declaration.get("Namespace")
    if namespace is not None and str(namespace) in RESERVED_NAMESPACES:
        raise DefinitionError(
            f"stage {stage}: action {declaration.get('Name', '?')}: the namespace {namespace!r} is reserved by CodePipeline"
        )
    return None if namespace is None else str(namespace)


def _action(stage: str, declaration: Mapping[str, Any]) -> Action:
    try:
        kind = declaration["ActionTypeId"]
        return Action(
            stage=stage,
            name=str(declaration["Name"]),
            type=ActionType(str(kind["Category"]), str(kind["Owner"]), str(kind["Provider"]), str(kind["Version"])),
            run_order=int(declaration.get("RunOrder", 1)),
            configuration=dict(declaration.get("Configuration") or {}),
            input_artifacts=_names(declaration.get("InputArtifacts")),
            output_artifacts=_names(declaration.get("OutputArtifacts")),
            role_arn=declaration.get("RoleArn"),
            namespace=_namespace(stage, declaration),
            region=declaration.get("Region"),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise DefinitionError(f"stage {stage}: action {declaration.get('Name', '?')}: {error!r} is missing or malformed") from None


def _push_filters(triggers: Any, stages: Sequence[Stage]) -> tuple[tuple[PushFilter, ...], str | None]:
    """The push filters of ``Triggers``, and the source action they watch (API reference,
    "PipelineTriggerDeclaration", "GitConfiguration": ``sourceActionName`` is required,
    "the name of the pipeline source action where the trigger configuration ... is
    specified"). Pull request filters start no run here: the executor gets pushes only."""
    filters: list[PushFilter] = []
    source = None
    sources = {action.name for stage in stages for action in stage.actions if action.type.category == "Source"}
    watched: set[str] = set()
    for number, trigger in enumerate(triggers or [], start=1):
        git = trigger.get("GitConfiguration") or {}
        source = git.get("SourceActionName")
        if not source:
            raise DefinitionError(f"trigger {number} names no GitConfiguration.SourceActionName")
        if source not in sources:
            raise DefinitionError(f"trigger {number} watches {source}, which is not a source action of the pipeline")
        if source in watched:
            # "You cannot specify more than one trigger per source action" (user guide, "Start a pipeline in CodePipeline").
            raise DefinitionError(f"trigger {number} watches {source}, which another trigger already watches")
        watched.add(source)
        for push in git.get("Push") or []:
            branches, tags, paths = push.get("Branches") or {}, push.get("Tags") or {}, push.get("FilePaths") or {}
            filters.append(
                PushFilter(
                    branches_includes=tuple(branches.get("Includes") or ()),
                    branches_excludes=tuple(branches.get("Excludes") or ()),
                    tags_includes=tuple(tags.get("Includes") or ()),
                    tags_excludes=tuple(tags.get("Excludes") or ()),
                    file_paths_includes=tuple(paths.get("Includes") or ()),
                    file_paths_excludes=tuple(paths.get("Excludes") or ()),
                )
            )
    return tuple(filters), source


def _pipeline_type(properties: Mapping[str, Any]) -> str:
    """``PipelineType``, or the type its absence gives. Neither CloudFormation's reference
    nor the API reference names a default; the API reference says "Including V2 parameters,
    such as triggers on Git tags, in the pipeline JSON when creating or updating a pipeline
    will result in the pipeline having the V2 type". So: V2 when the declaration holds
    ``Triggers``, ``Variables`` or a V2 execution mode, V1 otherwise (a guess for the
    latter; the CDK documents its own default as "PipelineType.V1" without its feature flag)."""
    declared = properties.get("PipelineType")
    if declared is None:
        v2_only = properties.get("Triggers") or properties.get("Variables") or properties.get("ExecutionMode") in ("QUEUED", "PARALLEL")
        return "V2" if v2_only else "V1"
    return str(declared)


def _disabled_transitions(transitions: Any) -> dict[str, str]:
    """``DisableInboundStageTransitions`` (CloudFormation, "StageTransition": ``StageName``
    and ``Reason``, both required): stage name -> reason. The transition into each named
    stage starts disabled, as DisableStageTransition with ``transitionType`` Inbound
    leaves it ("prevented from transitioning into the stage and being processed by the
    actions in that stage")."""
    disabled: dict[str, str] = {}
    for number, transition in enumerate(transitions or [], start=1):
        stage, reason = transition.get("StageName"), transition.get("Reason")
        if not stage or reason is None:
            raise DefinitionError(f"DisableInboundStageTransitions entry {number} needs both StageName and Reason")
        if stage in disabled:
            raise DefinitionError(f"DisableInboundStageTransitions names the stage {stage} twice")
        if not TRANSITION_REASON.fullmatch(str(reason)):
            raise DefinitionError(
                f"DisableInboundStageTransitions: the reason {reason!r} for {stage} is not 1 to 300 of letters, digits, spaces and !@().*?-"
            )
        disabled[str(stage)] = str(reason)
    return disabled


def _restart_on_update(properties: Mapping[str, Any]) -> bool:
    """``RestartExecutionOnUpdate``: "Indicates whether to rerun the CodePipeline pipeline
    after you update it". CloudFormation documents no default; false is the CDK's
    (``restartExecutionOnUpdate``, "@default false"), and what an absent property means
    here (a guess)."""
    value = properties.get("RestartExecutionOnUpdate", False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise DefinitionError(f"RestartExecutionOnUpdate is {value!r}, not true or false")


def read_pipeline(properties: Mapping[str, Any], *, name: str | None = None) -> Pipeline:
    """The pipeline ``properties`` declare (an ``AWS::CodePipeline::Pipeline``'s, resolved)."""
    stages = properties.get("Stages")
    if not stages:
        raise DefinitionError("the pipeline has no Stages")
    declared = tuple(
        Stage(str(stage["Name"]), tuple(_action(str(stage["Name"]), action) for action in stage.get("Actions") or [])) for stage in stages
    )
    _check_artifacts(declared)
    for action in (action for stage in declared for action in stage.actions):
        if action.type.provider == SOURCE_CONNECTION:
            detects_changes(action)  # refuses a DetectChanges that is neither true nor false
    filters, source = _push_filters(properties.get("Triggers"), declared)
    variables = {str(v["Name"]): str(v.get("DefaultValue", "")) for v in properties.get("Variables") or []}
    pipeline_type = _pipeline_type(properties)
    return Pipeline(
        name=str(name or properties.get("Name") or "pipeline"),
        stages=declared,
        variables=variables,
        push_filters=filters,
        source_action=source,
        execution_mode=str(properties.get("ExecutionMode", "SUPERSEDED")),
        pipeline_type=pipeline_type,
        disabled_transitions=_disabled_transitions(properties.get("DisableInboundStageTransitions")),
        restart_on_update=_restart_on_update(properties),
    )


def _check_artifacts(stages: Sequence[Stage]) -> None:
    """Every input artifact is the output of an action that runs before (API reference,
    "InputArtifact": the artifact must have been produced by an earlier action)."""
    produced: set[str] = set()
    for stage in stages:
        for group in stage.action_groups():
            for action in group:
                missing = [artifact for artifact in action.input_artifacts if artifact not in produced]
                if missing:
                    raise DefinitionError(
                        f"stage {stage.name}: action {action.name} reads {', '.join(missing)}, which no earlier action produces"
                    )
            for action in group:
                produced.update(action.output_artifacts)


def resolve_variables(value: Any, variables: Mapping[str, Mapping[str, str]]) -> Any:
    """``#{namespace.name}`` in ``value`` (a string, or strings inside lists and mappings)
    replaced with what ``variables[namespace][name]`` holds; an unknown one is an error,
    as CodePipeline fails an action whose variable does not resolve."""
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            namespace, key = match.group(1), match.group(2)
            if key not in variables.get(namespace, {}):
                raise DefinitionError(f"variable #{{{namespace}.{key}}} does not resolve: no such variable was produced")
            return variables[namespace][key]

        return VARIABLE.sub(substitute, value)
    if isinstance(value, Mapping):
        return {key: resolve_variables(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_variables(item, variables) for item in value]
    return value
