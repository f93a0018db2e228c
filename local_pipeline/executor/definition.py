"""The pipeline's definition as CodePipeline runs it, read from an ``AWS::CodePipeline::Pipeline``.

The reader takes the resource's properties as CloudFormation holds them (PascalCase,
``Stages[].Actions[]``, ``Triggers[].GitConfiguration.Push[]``), with intrinsic functions
already resolved by the caller: the executor runs what is deployed, not a list of its
own. Structure and semantics follow the CodePipeline API reference ("PipelineDeclaration",
"ActionDeclaration", "GitConfiguration") and its user guide ("Working with variables").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from itertools import groupby
from typing import Any

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
    """One entry of a trigger's ``Push`` list (GitConfiguration): branches and tags to
    include and exclude, as glob patterns."""

    branches_includes: tuple[str, ...] = ()
    branches_excludes: tuple[str, ...] = ()
    tags_includes: tuple[str, ...] = ()
    tags_excludes: tuple[str, ...] = ()

    def matches(self, ref: str) -> bool:
        if ref.startswith("refs/tags/"):
            return _included(ref.removeprefix("refs/tags/"), self.tags_includes, self.tags_excludes)
        return _included(ref.removeprefix("refs/heads/"), self.branches_includes, self.branches_excludes)


def _included(name: str, includes: Sequence[str], excludes: Sequence[str]) -> bool:
    if not includes:
        return False  # a filter without includes for this kind of ref selects none of them
    return any(fnmatchcase(name, pattern) for pattern in includes) and not any(fnmatchcase(name, pattern) for pattern in excludes)


@dataclass(frozen=True)
class Pipeline:
    name: str
    stages: tuple[Stage, ...]
    variables: Mapping[str, str] = field(default_factory=dict)  # pipeline-level variables and their defaults
    push_filters: tuple[PushFilter, ...] = ()
    source_action: str | None = None  # the action the trigger watches

    def actions(self) -> list[Action]:
        return [action for stage in self.stages for action in stage.actions]

    def triggered_by(self, ref: str) -> tuple[bool, str]:
        """Does a push of ``ref`` start a run? And why (not)."""
        if not self.push_filters:
            return False, f"the pipeline {self.name} has no push trigger"
        for push_filter in self.push_filters:
            if push_filter.matches(ref):
                return True, f"{ref} matches the trigger's push filter"
        kind = "tag" if ref.startswith("refs/tags/") else "branch"
        wanted = sorted({p for f in self.push_filters for p in (f.tags_includes if kind == "tag" else f.branches_includes)})
        return False, f"{ref} is a {kind} the trigger's push filter does not include ({', '.join(wanted) or 'none'})"


def _names(artifacts: Any) -> tuple[str, ...]:
    return tuple(str(artifact["Name"]) for artifact in artifacts or [])


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
            namespace=declaration.get("Namespace"),
            region=declaration.get("Region"),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise DefinitionError(f"stage {stage}: action {declaration.get('Name', '?')}: {error!r} is missing or malformed") from None


def _push_filters(triggers: Any) -> tuple[tuple[PushFilter, ...], str | None]:
    filters: list[PushFilter] = []
    source = None
    for trigger in triggers or []:
        git = trigger.get("GitConfiguration") or {}
        source = git.get("SourceActionName", source)
        for push in git.get("Push") or []:
            branches, tags = push.get("Branches") or {}, push.get("Tags") or {}
            filters.append(
                PushFilter(
                    branches_includes=tuple(branches.get("Includes") or ()),
                    branches_excludes=tuple(branches.get("Excludes") or ()),
                    tags_includes=tuple(tags.get("Includes") or ()),
                    tags_excludes=tuple(tags.get("Excludes") or ()),
                )
            )
    return tuple(filters), source


def read_pipeline(properties: Mapping[str, Any], *, name: str | None = None) -> Pipeline:
    """The pipeline ``properties`` declare (an ``AWS::CodePipeline::Pipeline``'s, resolved)."""
    stages = properties.get("Stages")
    if not stages:
        raise DefinitionError("the pipeline has no Stages")
    declared = tuple(
        Stage(str(stage["Name"]), tuple(_action(str(stage["Name"]), action) for action in stage.get("Actions") or [])) for stage in stages
    )
    _check_artifacts(declared)
    filters, source = _push_filters(properties.get("Triggers"))
    variables = {str(v["Name"]): str(v.get("DefaultValue", "")) for v in properties.get("Variables") or []}
    return Pipeline(
        name=str(name or properties.get("Name") or "pipeline"),
        stages=declared,
        variables=variables,
        push_filters=filters,
        source_action=source,
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
