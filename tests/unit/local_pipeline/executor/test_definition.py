"""Reading the pipeline as CodePipeline runs it: stages, run orders, artifacts, the trigger's
push filters and the default change detection, the execution mode, disabled transitions
(CodePipeline API reference: PipelineDeclaration, ActionDeclaration, GitConfiguration; each
test names the page it follows, and says so where the executor guesses)."""

from __future__ import annotations

import pytest

from local_pipeline.executor.definition import DefinitionError, Pipeline, read_pipeline, resolve_variables
from tests.unit.local_pipeline.executor.helpers import action


def test_stages_and_run_orders_of_the_synthesized_pipeline(configured_app):
    from local_pipeline.executor.deployed import PIPELINE_TYPE

    (properties,) = [
        r["Properties"] for r in configured_app.templates["SecretCachePipeline"]["Resources"].values() if r["Type"] == PIPELINE_TYPE
    ]
    pipeline = read_pipeline(properties)
    assert [stage.name for stage in pipeline.stages][:4] == ["Source", "Build", "UpdatePipeline", "Assets"]
    (trusting,) = [stage for stage in pipeline.stages if stage.name == "TrustingResources-dev"]
    assert [[a.name for a in group] for group in trusting.action_groups()] == [
        ["Prepare"],
        ["ChangeSummary-TrustingResources-dev"],
        ["Approve-TrustingResources-dev"],
        ["Deploy"],
    ]
    assert pipeline.source_action is not None
    assert pipeline.triggered_by("refs/heads/release") == (
        True,
        "refs/heads/release matches the trigger's push filter: Branches: release is included by 'release'",
    )
    assert pipeline.triggered_by("refs/heads/feature/x") == (
        False,
        "refs/heads/feature/x is a branch the trigger's push filter does not select: "
        "Branches: feature/x matches none of the includes (release)",
    )
    assert pipeline.triggered_by("refs/tags/v1.0") == (
        False,
        "refs/tags/v1.0 is a tag the trigger's push filter does not select: it declares no Tags",
    )
    # What CDK Pipelines declares: V2, the default mode, a restart on update, no disabled transition.
    assert (pipeline.pipeline_type, pipeline.execution_mode, pipeline.restart_on_update) == ("V2", "SUPERSEDED", True)
    assert pipeline.disabled_transitions == {}


def test_groups_follow_run_order_not_declaration_order():
    pipeline = read_pipeline(
        {"Stages": [{"Name": "S", "Actions": [action("late", "X", run_order=2), action("first", "X"), action("also-first", "X")]}]}
    )
    assert [[a.name for a in group] for group in pipeline.stages[0].action_groups()] == [["first", "also-first"], ["late"]]


def test_an_input_artifact_no_earlier_action_produces_is_refused():
    stages = [{"Name": "S", "Actions": [action("build", "CodeBuild", inputs=["Src"]), action("source", "X", run_order=2, outputs=["Src"])]}]
    with pytest.raises(DefinitionError, match="stage S: action build reads Src, which no earlier action produces"):
        read_pipeline({"Stages": stages})


def test_a_malformed_action_is_named():
    with pytest.raises(DefinitionError, match="stage S: action broken"):
        read_pipeline({"Stages": [{"Name": "S", "Actions": [{"Name": "broken"}]}]})


def test_variables_resolve_in_nested_configuration_and_an_unknown_one_fails():
    variables = {"Source": {"CommitId": "abc123"}, "variables": {"Env": "dev"}}
    resolved = resolve_variables({"A": "#{Source.CommitId}-#{variables.Env}", "B": ["#{Source.CommitId}"], "C": 3}, variables)
    assert resolved == {"A": "abc123-dev", "B": ["abc123"], "C": 3}
    with pytest.raises(DefinitionError, match=r"variable #\{Source.BranchName\} does not resolve"):
        resolve_variables("#{Source.BranchName}", variables)


# --- triggers -------------------------------------------------------------------------------

SOURCE = action("Source", "CodeStarSourceConnection", outputs=["Src"], category="Source") | {
    "Configuration": {
        "ConnectionArn": "arn:aws:codeconnections:us-east-1:222222222222:connection/x",
        "FullRepositoryId": "acme/app",
        "BranchName": "main",
    }
}
STAGES = [{"Name": "Source", "Actions": [SOURCE]}, {"Name": "Build", "Actions": [action("Build", "CodeBuild", inputs=["Src"])]}]


def _triggered(*push: dict[str, object], **properties: object) -> Pipeline:
    """A V2 pipeline whose trigger on the source action has ``push`` filters."""
    trigger = {"ProviderType": "CodeStarSourceConnection", "GitConfiguration": {"SourceActionName": "Source", "Push": list(push)}}
    return read_pipeline({"Stages": STAGES, "PipelineType": "V2", "Triggers": [trigger], **properties})


def _without_trigger(**configuration: object) -> Pipeline:
    source = SOURCE | {"Configuration": {**SOURCE["Configuration"], **configuration}}
    return read_pipeline({"Stages": [{"Name": "Source", "Actions": [source]}, STAGES[1]], "PipelineType": "V2"})


def test_a_branch_star_stays_within_one_name_component():
    """CodePipeline user guide, "Working with glob patterns in syntax": ``*`` is "zero or more
    characters of a name component in directory boundaries", ``**`` "crossing directory
    boundaries"; "Filter triggers on code push or pull requests" filters branches with them."""
    one_level = _triggered({"Branches": {"Includes": ["release/*"]}})
    assert one_level.triggered_by("refs/heads/release/a")[0]
    assert one_level.triggered_by("refs/heads/release/a/b") == (
        False,
        "refs/heads/release/a/b is a branch the trigger's push filter does not select: "
        "Branches: release/a/b matches none of the includes (release/*)",
    )
    assert _triggered({"Branches": {"Includes": ["release/**"]}}).triggered_by("refs/heads/release/a/b") == (
        True,
        "refs/heads/release/a/b matches the trigger's push filter: Branches: release/a/b is included by 'release/**'",
    )


def test_a_group_selects_any_of_its_branches():
    """CodePipeline user guide, "Working with glob patterns in syntax": ``{ }`` is a group of
    subpatterns, ``*.{java,class}`` "Specifies file names ending with .java or .class"."""
    pipeline = _triggered({"Branches": {"Includes": ["{main,dev}"]}})
    assert pipeline.triggered_by("refs/heads/main")[0] and pipeline.triggered_by("refs/heads/dev")[0]
    assert not pipeline.triggered_by("refs/heads/maindev")[0] and not pipeline.triggered_by("refs/heads/staging")[0]


def test_an_excluded_branch_is_not_selected_even_when_included():
    """CodePipeline user guide, "Trigger filtering in the pipeline JSON (CLI)": includes and
    excludes are joined with AND; the CDK's GitPushFilter: "The branchesExcludes takes
    priority over the branchesIncludes"."""
    pipeline = _triggered({"Branches": {"Includes": ["release/**"], "Excludes": ["release/old/**"]}})
    assert pipeline.triggered_by("refs/heads/release/2")[0]
    assert pipeline.triggered_by("refs/heads/release/old/1") == (
        False,
        "refs/heads/release/old/1 is a branch the trigger's push filter does not select: "
        "Branches: release/old/1 is excluded by 'release/old/**'",
    )


def test_tags_are_filtered_by_tags_and_branches_by_branches():
    """CodePipeline API reference, "GitTagFilterCriteria": "The list of patterns of Git tags
    that, when pushed, are to be included as criteria that starts the pipeline"; a filter
    that declares no Tags selects no tag push (and no Branches, no branch push)."""
    pipeline = _triggered({"Tags": {"Includes": ["v[0-9]*"], "Excludes": ["v*-rc"]}})
    assert pipeline.triggered_by("refs/tags/v1.2")[0]
    assert not pipeline.triggered_by("refs/tags/v1.3-rc")[0]
    assert pipeline.triggered_by("refs/heads/main") == (
        False,
        "refs/heads/main is a branch the trigger's push filter does not select: it declares no Branches",
    )


def test_push_filters_are_alternatives_and_the_reason_names_the_one_that_decided():
    """CodePipeline user guide, "Trigger filtering in the pipeline JSON (CLI)": "push: Push
    events with filtering. These events use an OR operation between different push filters
    and an AND operation inside filters"."""
    pipeline = _triggered({"Branches": {"Includes": ["main"]}}, {"Tags": {"Includes": ["v*"]}})
    assert pipeline.triggered_by("refs/tags/v2") == (
        True,
        "refs/tags/v2 matches push filter 2 of the trigger: Tags: v2 is included by 'v*'",
    )
    assert pipeline.triggered_by("refs/heads/dev") == (
        False,
        "refs/heads/dev is a branch none of the trigger's push filters selects: "
        "filter 1: Branches: dev matches none of the includes (main); filter 2: it declares no Branches",
    )


def test_file_paths_select_a_push_by_the_files_it_changed():
    """CodePipeline API reference, "GitFilePathFilterCriteria": includes are "patterns of Git
    repository file paths that, when a commit is pushed, are to be included as criteria that
    starts the pipeline", excludes those "to be excluded from starting the pipeline"; the
    user guide ("Automate starting pipelines using triggers and filtering") allows "branches
    + file paths". That one changed file included and not excluded is enough is a guess."""
    pipeline = _triggered({"Branches": {"Includes": ["main"]}, "FilePaths": {"Includes": ["src/**"], "Excludes": ["**/README.md"]}})
    assert pipeline.triggered_by("refs/heads/main", ["src/README.md", "src/app.py"]) == (
        True,
        "refs/heads/main matches the trigger's push filter: Branches: main is included by 'main', "
        "and FilePaths: src/app.py is included by 'src/**'",
    )
    assert pipeline.triggered_by("refs/heads/main", ["src/README.md", "docs/guide.md"]) == (
        False,
        "refs/heads/main is a branch the trigger's push filter does not select: Branches: main is included by 'main', "
        "but none of the 2 changed files passes its FilePaths: src/README.md is excluded by '**/README.md', "
        "docs/guide.md matches none of the includes (src/**)",
    )
    assert not pipeline.triggered_by("refs/heads/dev", ["src/app.py"])[0]  # the branch still has to match


def test_an_escaped_star_in_a_file_path_matches_only_a_star():
    """CodePipeline user guide, "Working with glob patterns in syntax": "To escape characters
    that would otherwise be interpreted as special characters, use the backslash character
    (\\)"."""
    pipeline = _triggered({"Branches": {"Includes": ["main"]}, "FilePaths": {"Includes": [r"docs/\*.md"]}})
    assert pipeline.triggered_by("refs/heads/main", ["docs/*.md"])[0]
    assert not pipeline.triggered_by("refs/heads/main", ["docs/a.md"])[0]


def test_file_paths_with_unknown_or_no_changed_files_select_nothing():
    """CodePipeline knows the files a push changed (API reference, "GitFilePathFilterCriteria":
    "when a commit is pushed"); the executor, told nothing about them, does not start a run a
    FilePaths filter might refuse, and says why; a push that changed no file passes no
    FilePaths. Both are the executor's guesses: the docs are silent."""
    pipeline = _triggered({"Branches": {"Includes": ["main"]}, "FilePaths": {"Includes": ["src/**"]}})
    assert pipeline.triggered_by("refs/heads/main") == (
        False,
        "refs/heads/main is a branch the trigger's push filter does not select: Branches: main is included by 'main', "
        "but its FilePaths cannot be checked: the pushed commits' changed files are unknown",
    )
    assert pipeline.triggered_by("refs/heads/main", [])[1].endswith(
        "but the push changed no file, and its FilePaths select pushes by the files they change"
    )


def test_file_paths_do_not_apply_to_a_tag_push():
    """CodePipeline user guide, "Automate starting pipelines using triggers and filtering":
    the valid push combinations are "Git tags", "branches" and "branches + file paths"; what
    FilePaths would mean for a tag is not said, and the executor ignores them there (a guess)."""
    pipeline = _triggered({"Tags": {"Includes": ["v*"]}, "FilePaths": {"Includes": ["src/**"]}})
    assert pipeline.triggered_by("refs/tags/v1") == (True, "refs/tags/v1 matches the trigger's push filter: Tags: v1 is included by 'v*'")


@pytest.mark.parametrize(
    ("push", "message"),
    [
        (
            {"Branches": {"Includes": ["{main,dev"]}},
            "Branches.Includes: the glob pattern '{main,dev' is malformed: the { at position 0 is never closed",
        ),
        (
            {"Tags": {"Excludes": ["v[9-0]"]}},
            "Tags.Excludes: the glob pattern 'v[9-0]' is malformed: the range 9-0 at position 2 runs backwards",
        ),
        (
            {"Branches": {"Includes": ["main"]}, "FilePaths": {"Includes": ["src\\"]}},
            "FilePaths.Includes: the glob pattern 'src\\\\' is malformed: it ends with a \\ that escapes nothing",
        ),
    ],
)
def test_a_malformed_pattern_is_refused_naming_it_and_where_it_is(push, message):
    """CodePipeline user guide, "Working with glob patterns in syntax": a group must close,
    groups cannot be nested, a backslash escapes a next character. Refusing the definition
    when it is read (not when a push comes) is the executor's choice."""
    with pytest.raises(DefinitionError) as raised:
        _triggered(push)
    assert str(raised.value) == f"a trigger's push filter, {message}"


def test_a_trigger_turns_the_source_actions_own_change_detection_off():
    """CodePipeline API reference, "PipelineTriggerDeclaration": "When a trigger configuration
    is specified, default change detection for repository and branch commits is disabled"."""
    pipeline = _triggered({"Branches": {"Includes": ["release"]}})  # the source action's BranchName is main
    assert not pipeline.triggered_by("refs/heads/main")[0]


def test_a_trigger_must_watch_a_source_action_of_the_pipeline():
    """CodePipeline API reference, "GitConfiguration": sourceActionName is "The name of the
    pipeline source action where the trigger configuration, such as Git tags, is specified"."""
    trigger = {"ProviderType": "CodeStarSourceConnection", "GitConfiguration": {"SourceActionName": "Build", "Push": []}}
    with pytest.raises(DefinitionError, match="trigger 1 watches Build, which is not a source action of the pipeline"):
        read_pipeline({"Stages": STAGES, "Triggers": [trigger]})


def test_without_a_trigger_a_push_to_the_source_actions_branch_starts_the_pipeline():
    """CodePipeline user guide, "Automate starting pipelines using triggers and filtering":
    "No filter: This trigger configuration starts your pipeline on any push to the default
    branch specified as part of action configuration"; DetectChanges, unset, is true (the
    CodeStarSourceConnection action reference, as the CDK's triggerOnPush quotes it: "If
    unspecified, the default value is true")."""
    pipeline = _without_trigger()
    assert pipeline.triggered_by("refs/heads/main") == (
        True,
        "refs/heads/main is the branch of the source action Source, which detects changes (DetectChanges unset, so true; no trigger)",
    )
    assert pipeline.triggered_by("refs/heads/dev") == (
        False,
        "refs/heads/dev is a branch no source action watches: "
        "without a trigger, a push starts the pipeline only on a source action's BranchName (Source: main)",
    )
    assert pipeline.triggered_by("refs/tags/v1") == (
        False,
        "refs/tags/v1 is a tag: without a trigger, a push starts the pipeline only on a source action's BranchName (Source: main)",
    )


@pytest.mark.parametrize("detect_changes", [False, "false", "False"])
def test_without_a_trigger_detect_changes_false_starts_nothing(detect_changes):
    """CodePipeline user guide, "Automate starting pipelines using triggers and filtering": its
    table gives the configuration with no trigger and no detection as DetectChanges false. CloudFormation may hold the value as a
    boolean or a string; reading the string without regard to case is a guess."""
    assert _without_trigger(DetectChanges=detect_changes).triggered_by("refs/heads/main") == (
        False,
        "refs/heads/main is the branch of the source action Source, whose DetectChanges is false, and the pipeline has no trigger",
    )
    assert _without_trigger(DetectChanges="true").triggered_by("refs/heads/main")[0]


def test_a_detect_changes_that_is_neither_true_nor_false_is_refused():
    """CodeStarSourceConnection action reference (as the CDK's triggerOnPush quotes it):
    DetectChanges is a true/false switch; any other value is refused when read (a guess at
    what CodePipeline does with it)."""
    with pytest.raises(DefinitionError, match="stage Source: action Source: DetectChanges is 'sometimes', not true or false"):
        _without_trigger(DetectChanges="sometimes")


def test_a_pipeline_without_trigger_or_connection_source_is_started_by_no_push():
    """CodePipeline API reference, "PipelineTriggerDeclaration": triggers are "only supported
    for the CodeStarSourceConnection action type"; without one, nothing here detects a push."""
    pipeline = read_pipeline({"Stages": [{"Name": "S", "Actions": [action("Src", "S3", category="Source", outputs=["A"])]}]})
    assert pipeline.triggered_by("refs/heads/main") == (
        False,
        "refs/heads/main: the pipeline has no trigger, and no CodeStarSourceConnection source action to detect changes",
    )


# --- execution mode, pipeline type, transitions, restart ------------------------------------


def test_the_execution_mode_defaults_to_superseded_and_is_read():
    """CodePipeline API reference, "PipelineDeclaration": executionMode "The method that the
    pipeline will use to handle multiple executions. The default mode is SUPERSEDED", valid
    values QUEUED | SUPERSEDED | PARALLEL."""
    assert read_pipeline({"Stages": STAGES}).execution_mode == "SUPERSEDED"
    assert read_pipeline({"Stages": STAGES, "PipelineType": "V2", "ExecutionMode": "QUEUED"}).execution_mode == "QUEUED"
    assert read_pipeline({"Stages": STAGES, "PipelineType": "V2", "ExecutionMode": "PARALLEL"}).execution_mode == "PARALLEL"


def test_an_unknown_execution_mode_is_refused_naming_it():
    """CodePipeline API reference, "PipelineDeclaration": executionMode's valid values are
    QUEUED | SUPERSEDED | PARALLEL (CloudFormation, "AWS::CodePipeline::Pipeline":
    ExecutionMode, the same three)."""
    with pytest.raises(DefinitionError) as raised:
        read_pipeline({"Stages": STAGES, "ExecutionMode": "FIFO"})
    assert str(raised.value) == "ExecutionMode 'FIFO' is not one of QUEUED, SUPERSEDED, PARALLEL"


def test_a_v1_pipeline_runs_superseded_only():
    """CodePipeline user guide, "How pipeline executions work": QUEUED mode "requires pipeline
    type V2", and so does PARALLEL mode."""
    with pytest.raises(DefinitionError) as raised:
        read_pipeline({"Stages": STAGES, "PipelineType": "V1", "ExecutionMode": "QUEUED"})
    assert str(raised.value) == "ExecutionMode QUEUED requires pipeline type V2; this pipeline's PipelineType is V1"
    assert read_pipeline({"Stages": STAGES, "PipelineType": "V1", "ExecutionMode": "SUPERSEDED"}).pipeline_type == "V1"


def test_the_pipeline_type_is_read_or_follows_from_v2_parameters():
    """CloudFormation, "AWS::CodePipeline::Pipeline": PipelineType, V1 or V2, no default
    documented; the API reference ("PipelineDeclaration"): "Including V2 parameters, such as
    triggers on Git tags, in the pipeline JSON when creating or updating a pipeline will result
    in the pipeline having the V2 type". V1 when nothing says V2 is a guess."""
    assert read_pipeline({"Stages": STAGES}).pipeline_type == "V1"
    assert read_pipeline({"Stages": STAGES, "Variables": [{"Name": "Env", "DefaultValue": "dev"}]}).pipeline_type == "V2"
    assert read_pipeline({"Stages": STAGES, "ExecutionMode": "QUEUED"}).pipeline_type == "V2"
    assert _triggered({"Branches": {"Includes": ["main"]}}).pipeline_type == "V2"
    with pytest.raises(DefinitionError, match="PipelineType 'V3' is not one of V1, V2"):
        read_pipeline({"Stages": STAGES, "PipelineType": "V3"})


def test_disabled_inbound_transitions_are_read_by_stage():
    """CloudFormation, "AWS::CodePipeline::Pipeline" DisableInboundStageTransitions, a list of
    "StageTransition" (StageName, Reason, both required); API reference,
    "DisableStageTransition": inbound means artifacts are "prevented from transitioning into
    the stage"."""
    transitions = [{"StageName": "Build", "Reason": "Waiting for the release window"}]
    pipeline = read_pipeline({"Stages": STAGES, "DisableInboundStageTransitions": transitions})
    assert pipeline.disabled_transitions == {"Build": "Waiting for the release window"}
    assert read_pipeline({"Stages": STAGES}).disabled_transitions == {}


@pytest.mark.parametrize(
    ("transitions", "message"),
    [
        ([{"StageName": "Deploy", "Reason": "later"}], "DisableInboundStageTransitions names Deploy, which the pipeline has no stage of"),
        ([{"StageName": "Build"}], "DisableInboundStageTransitions entry 1 needs both StageName and Reason"),
        (
            [{"StageName": "Build", "Reason": "a"}, {"StageName": "Build", "Reason": "b"}],
            "DisableInboundStageTransitions names the stage Build twice",
        ),
        (
            [{"StageName": "Build", "Reason": "wait; then go"}],
            "DisableInboundStageTransitions: the reason 'wait; then go' for Build is not 1 to 300 of letters, digits, spaces and !@().*?-",
        ),
    ],
)
def test_a_disabled_transition_codepipeline_would_refuse_is_refused(transitions, message):
    """CloudFormation, "StageTransition": StageName and Reason are required; API reference,
    "DisableStageTransition": the stage must be the pipeline's, the reason is 1 to 300
    characters of ``[a-zA-Z0-9!@ \\(\\)\\.\\*\\?\\-]``. Refusing a stage named twice is a guess
    (CloudFormation's list is "uniqueItems")."""
    with pytest.raises(DefinitionError) as raised:
        read_pipeline({"Stages": STAGES, "DisableInboundStageTransitions": transitions})
    assert str(raised.value) == message


def test_restart_execution_on_update_is_read_and_defaults_to_false():
    """CloudFormation, "AWS::CodePipeline::Pipeline" RestartExecutionOnUpdate: "Indicates
    whether to rerun the CodePipeline pipeline after you update it"; no default documented
    there, false is the CDK's (restartExecutionOnUpdate, "@default false")."""
    assert read_pipeline({"Stages": STAGES}).restart_on_update is False
    assert read_pipeline({"Stages": STAGES, "RestartExecutionOnUpdate": True}).restart_on_update is True
    assert read_pipeline({"Stages": STAGES, "RestartExecutionOnUpdate": "true"}).restart_on_update is True
    with pytest.raises(DefinitionError, match="RestartExecutionOnUpdate is 'yes', not true or false"):
        read_pipeline({"Stages": STAGES, "RestartExecutionOnUpdate": "yes"})


def test_a_changed_declaration_reads_as_a_different_pipeline():
    """CodePipeline API reference, "PipelineDeclaration": executionMode, pipelineType and the
    triggers are part of the declaration, so a change to any of them is a new definition (the
    executor tells an updated pipeline by comparing what it reads)."""
    base = {"Stages": STAGES, "PipelineType": "V2"}
    assert read_pipeline(base) == read_pipeline(dict(base))
    assert read_pipeline(base) != read_pipeline(base | {"ExecutionMode": "QUEUED"})
    assert read_pipeline(base) != read_pipeline(base | {"DisableInboundStageTransitions": [{"StageName": "Build", "Reason": "x"}]})
    assert read_pipeline(base) != read_pipeline(base | {"RestartExecutionOnUpdate": True})
    assert _triggered({"Branches": {"Includes": ["main"]}}) != _triggered(
        {"Branches": {"Includes": ["main"]}, "FilePaths": {"Includes": ["src/**"]}}
    )


@pytest.mark.parametrize("namespace", ["codepipeline", "variables"])
def test_an_action_may_not_take_a_reserved_namespace(namespace):
    """CodePipeline user guide, "Variables reference": the codepipeline namespace is reserved
    (its PipelineExecutionId), as is the pipeline-level variables'; an action that declared
    one could forge #{codepipeline.PipelineExecutionId} for the actions after it."""
    stages = [{"Name": "S", "Actions": [action("A", "Make", namespace=namespace)]}]
    with pytest.raises(DefinitionError, match=f"stage S: action A: the namespace '{namespace}' is reserved by CodePipeline"):
        read_pipeline({"Stages": stages})
