"""The synthesized pipeline: action order, trigger, reports, the integration-test roles,
self-mutation and cross-account keys, and the refusal to deploy without a source."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from project.deployment_order import UNSET_CONNECTION
from project.paths import PROJECT_ROOT
from tests.helpers import CONFIGURED_SOURCE
from tests.unit.stacks.template_helpers import allowed_actions, as_list, identity_statements, render, resources, role_by_name


def _pipeline(template: dict[str, Any]) -> dict[str, Any]:
    (pipeline,) = resources(template, "AWS::CodePipeline::Pipeline").values()
    return pipeline["Properties"]


def _actions(template: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(stage, action, provider) in execution order."""
    return [
        (stage["Name"], action["Name"], action["ActionTypeId"]["Provider"])
        for stage in _pipeline(template)["Stages"]
        for action in sorted(stage["Actions"], key=lambda action: action.get("RunOrder", 1))
    ]


def _build_specs(template: dict[str, Any], assembly: Path) -> dict[str, str]:
    """Each CodeBuild project's buildspec, as text: inline, or the file in the cloud assembly
    (the pipeline's input artifact) that CDK Pipelines names instead."""
    specs = {}
    for logical_id, project in resources(template, "AWS::CodeBuild::Project").items():
        spec = render(project["Properties"]["Source"]["BuildSpec"])
        specs[logical_id] = spec if spec.lstrip().startswith("{") else (assembly / spec).read_text()
    return specs


@pytest.fixture(scope="session")
def default_pipeline(synthesized_app) -> dict[str, Any]:
    return synthesized_app.templates["SecretCachePipeline"]


@pytest.fixture(scope="session")
def configured_pipeline(configured_app) -> dict[str, Any]:
    return configured_app.templates["SecretCachePipeline"]


def test_actions_in_order_audit_first_approvals_between_stages_test_last(default_pipeline):
    """Each approved stack: its change set is created (Prepare), summarized, approved, and
    only then executed (Deploy): what is approved is that change set (CDK Pipelines,
    StackSteps.changeSet)."""
    assert _actions(default_pipeline) == [
        ("Source", "local", "CodeStarSourceConnection"),  # no repository yet: named for what stands in
        ("Build", "Synth", "CodeBuild"),  # tests, synth, audit: nothing deploys unless they pass
        ("UpdatePipeline", "SelfMutate", "CodeBuild"),
        ("Assets", "FileAssets", "CodeBuild"),
        ("TrustedResources-dev", "Prepare", "CloudFormation"),
        ("TrustedResources-dev", "Deploy", "CloudFormation"),
        ("TrustingResources-dev", "Prepare", "CloudFormation"),
        ("TrustingResources-dev", "ChangeSummary-TrustingResources-dev", "CodeBuild"),
        ("TrustingResources-dev", "Approve-TrustingResources-dev", "Manual"),
        ("TrustingResources-dev", "Deploy", "CloudFormation"),
        ("TrustedConfiguration-dev", "TrustedAccountConfiguration.Prepare", "CloudFormation"),
        ("TrustedConfiguration-dev", "TrustedAccountConfiguration.ChangeSummary-TrustedConfiguration-dev", "CodeBuild"),
        ("TrustedConfiguration-dev", "TrustedAccountConfiguration.Approve-TrustedConfiguration-dev", "Manual"),
        ("TrustedConfiguration-dev", "TrustedAccountConfiguration.Deploy", "CloudFormation"),
        ("TrustedConfiguration-dev", "IntegrationTest-dev", "CodeBuild"),
    ]


def test_an_approval_stands_between_its_change_set_and_its_execution(default_pipeline):
    """Run orders: Prepare (CHANGE_SET_REPLACE) < ChangeSummary < Approve < Deploy
    (CHANGE_SET_EXECUTE) of the same change set; the approval shows the summary's exported
    SUMMARY and links its SUMMARY_URL (CodePipeline variables, "#{namespace.variable}")."""
    for stage in _pipeline(default_pipeline)["Stages"][5:]:
        actions = {action["Name"].split(".")[-1].split("-")[0]: action for action in stage["Actions"]}
        prepare, summary, approve, deploy = (actions[name] for name in ("Prepare", "ChangeSummary", "Approve", "Deploy"))
        assert prepare["RunOrder"] < summary["RunOrder"] < approve["RunOrder"] < deploy["RunOrder"], stage["Name"]
        assert prepare["Configuration"]["ActionMode"] == "CHANGE_SET_REPLACE"
        assert deploy["Configuration"]["ActionMode"] == "CHANGE_SET_EXECUTE"
        assert prepare["Configuration"]["ChangeSetName"] == deploy["Configuration"]["ChangeSetName"] == "PipelineChange"
        namespace = summary["Namespace"]
        assert approve["Configuration"]["CustomData"] == f"#{{{namespace}.SUMMARY}}"
        assert approve["Configuration"]["ExternalEntityLink"] == f"#{{{namespace}.SUMMARY_URL}}"


def test_deployments_go_to_their_accounts(default_pipeline, dev):
    role_by_stage = {}
    for stage in _pipeline(default_pipeline)["Stages"]:
        for action in stage["Actions"]:
            if action["Name"].endswith("Deploy"):
                role_by_stage[stage["Name"]] = render(action["RoleArn"])
    assert role_by_stage["TrustedResources-dev"].startswith(f"arn:aws:iam::{dev.trusted.account}:role/cdk-hnb659fds-deploy-role")
    assert role_by_stage["TrustingResources-dev"].startswith(f"arn:aws:iam::{dev.trusting.account}:role/cdk-hnb659fds-deploy-role")
    assert role_by_stage["TrustedConfiguration-dev"].startswith(f"arn:aws:iam::{dev.trusted.account}:role/cdk-hnb659fds-deploy-role")


def test_approvals_notify_the_topic(default_pipeline):
    """What an approval says is the change summary's (test_an_approval_stands_between_...):
    it names the stack and the account (tests/unit/pipeline/test_change_summary.py)."""
    approvals = [a for s in _pipeline(default_pipeline)["Stages"] for a in s["Actions"] if a["ActionTypeId"]["Category"] == "Approval"]
    assert len(approvals) == 2
    assert all("NotificationArn" in a["Configuration"] for a in approvals)


def test_a_push_to_the_branch_triggers_the_v2_pipeline(default_pipeline, configured_pipeline):
    assert _pipeline(default_pipeline)["PipelineType"] == "V2"
    (trigger,) = _pipeline(configured_pipeline)["Triggers"]
    assert trigger["ProviderType"] == "CodeStarSourceConnection"
    assert trigger["GitConfiguration"]["Push"] == [{"Branches": {"Includes": [CONFIGURED_SOURCE["branch"]]}}]
    (source,) = _pipeline(configured_pipeline)["Stages"][0]["Actions"]
    assert source["Configuration"]["FullRepositoryId"] == CONFIGURED_SOURCE["repository"]
    assert source["Configuration"]["DetectChanges"] is False  # the trigger does it, filtered


def test_the_source_action_is_named_after_the_configured_repository_and_local_without_one(default_pipeline, configured_pipeline):
    """On AWS the action keeps CDK Pipelines' name, the repository's ("owner_name"); without a
    repository it is "local", not the placeholder's "unset_unset"."""
    (configured,) = _pipeline(configured_pipeline)["Stages"][0]["Actions"]
    assert configured["Name"] == CONFIGURED_SOURCE["repository"].replace("/", "_")
    (unconfigured,) = _pipeline(default_pipeline)["Stages"][0]["Actions"]
    assert unconfigured["Name"] == "local"
    assert "unset_unset" not in json.dumps(default_pipeline)


def test_reports_are_published_from_the_build_specs(default_pipeline):
    from pipeline.steps import CFN_LINT_REPORT, CHECKOV_REPORT, INTEGRATION_REPORT, UNIT_TEST_REPORT

    specs = {
        logical_id: json.loads(render(project["Properties"]["Source"]["BuildSpec"]))
        for logical_id, project in resources(default_pipeline, "AWS::CodeBuild::Project").items()
        if "Synth" in logical_id or "IntegrationTest" in logical_id
    }
    synth = next(spec for logical_id, spec in specs.items() if "Synth" in logical_id)
    assert synth["reports"] == {
        "UnitTests": {"files": [UNIT_TEST_REPORT], "file-format": "JUNITXML"},
        "Checkov": {"files": [CHECKOV_REPORT], "file-format": "JUNITXML"},
        "CfnLint": {"files": [CFN_LINT_REPORT], "file-format": "JUNITXML"},
    }
    assert synth["phases"]["build"]["commands"][:3] == ["make test", "make synth", "make audit"]
    test = next(spec for logical_id, spec in specs.items() if "IntegrationTest" in logical_id)
    assert test["reports"] == {"IntegrationTest-dev": {"files": [INTEGRATION_REPORT], "file-format": "JUNITXML"}}
    assert "tests/integration/test_secret_cache.py" in " ".join(test["phases"]["build"]["commands"])


def test_every_tool_a_build_installs_is_pinned_in_package_json(default_pipeline, synthesized_app):
    from pipeline.pipeline_stack import cdk_assets_version, cdk_cli_version

    specs = _build_specs(default_pipeline, synthesized_app.outdir)
    assert len(specs) == 6  # Synth, SelfMutate, FileAssets, two ChangeSummary, IntegrationTest
    assert not [logical_id for logical_id, spec in specs.items() if "@latest" in spec]
    installs = " ".join(specs.values())
    assert f"npm install -g cdk-assets@{cdk_assets_version()}" in installs
    assert f"npm install -g aws-cdk@{cdk_cli_version()}" in installs


def test_the_pinned_cdk_assets_reads_the_asset_manifests_we_write(synthesized_app):
    from pipeline.pipeline_stack import cdk_assets_version

    # The Assets step runs exactly this: `npm install -g cdk-assets@<pin>`, then `cdk-assets --path <manifest> ... publish`.
    # (aws-cdk-lib 2.274.0 and later write schema 55, which cdk-assets 4.7.3 refuses: issue 18.)
    node_modules = PROJECT_ROOT / "node_modules"
    package = node_modules / "cdk-assets"
    assert json.loads((package / "package.json").read_text())["version"] == cdk_assets_version()
    manifests = sorted(synthesized_app.outdir.glob("assembly-*/*.assets.json"))
    assert manifests
    for manifest in manifests:
        command = [str(node_modules / ".bin" / "node"), str(package / "bin" / "cdk-assets"), "--path", str(manifest), "ls"]
        listed = subprocess.run(command, capture_output=True, text=True)
        written = json.loads(manifest.read_text()).get("version")
        assert listed.returncode == 0, (
            f"cdk-assets {cdk_assets_version()} cannot read {manifest.name} (schema {written}): pin in package.json a cdk-assets "
            f"release whose supported schema includes {written}, or an aws-cdk-lib that writes it: {listed.stderr.strip()[-300:]}"
        )


def test_the_source_action_may_use_the_connection_under_its_arns_service_prefix(default_pipeline, configured_pipeline):
    # codestar-connections:UseConnection does not cover an arn:aws:codeconnections: connection.
    for template, connection_arn in ((configured_pipeline, CONFIGURED_SOURCE["connection-arn"]), (default_pipeline, UNSET_CONNECTION)):
        uses = [
            (action, resource)
            for statement in identity_statements(template)
            for action in as_list(statement["Action"])
            if action.endswith(":UseConnection")
            for resource in as_list(statement["Resource"])
        ]
        assert uses == [("codeconnections:UseConnection", connection_arn)]


def test_the_integration_test_step_may_only_assume_the_two_test_roles(default_pipeline, dev):
    from stacks.naming import SecretCacheNames

    names = SecretCacheNames(dev.name)
    role_id, role = role_by_name(default_pipeline, names.integration_test_step_role)
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "codebuild.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": dev.trusting.account}}
    actions = allowed_actions(identity_statements(default_pipeline, role_id))
    assert sorted(actions["sts:AssumeRole"]) == sorted(
        [
            f"arn:aws:iam::{dev.trusted.account}:role/{names.integration_test_consumer_role}",
            f"arn:aws:iam::{dev.trusting.account}:role/{names.integration_test_secret_role}",
        ]
    )


def test_self_mutation_and_cross_account_keys_are_on(default_pipeline):
    assert ("UpdatePipeline", "SelfMutate", "CodeBuild") in _actions(default_pipeline)
    store = _pipeline(default_pipeline)["ArtifactStore"]
    assert store["EncryptionKey"]["Type"] == "KMS"  # a customer managed key other accounts can be granted
    key_id = store["EncryptionKey"]["Id"]["Fn::GetAtt"][0]
    assert default_pipeline["Resources"][key_id]["Properties"]["EnableKeyRotation"] is True


def test_every_service_principal_acts_only_for_the_tooling_account(default_pipeline, dev):
    # Role trusts, the topic's policy and the keys' policies: the confused-deputy guard.
    documents = [r["Properties"]["AssumeRolePolicyDocument"] for r in resources(default_pipeline, "AWS::IAM::Role").values()]
    documents += [r["Properties"]["PolicyDocument"] for r in resources(default_pipeline, "AWS::SNS::TopicPolicy").values()]
    documents += [r["Properties"]["KeyPolicy"] for r in resources(default_pipeline, "AWS::KMS::Key").values()]
    service_statements = [s for document in documents for s in document["Statement"] if "Service" in s.get("Principal", {})]
    assert len(service_statements) == 9  # 7 role trusts (two ChangeSummary), the topic policy, the notifications key
    for statement in service_statements:
        assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == dev.trusting.account, statement


def test_failures_and_waiting_approvals_notify_an_encrypted_topic(default_pipeline):
    (topic,) = resources(default_pipeline, "AWS::SNS::Topic").values()
    assert "KmsMasterKeyId" in topic["Properties"]
    (rule,) = resources(default_pipeline, "AWS::CodeStarNotifications::NotificationRule").values()
    assert rule["Properties"]["EventTypeIds"] == ["codepipeline-pipeline-pipeline-execution-failed"]


def test_without_a_source_the_stack_refuses_to_deploy_naming_the_keys(default_pipeline, configured_pipeline):
    rule = default_pipeline["Rules"]["SourceConfigured"]["Assertions"][0]
    assert rule["Assert"] == {"Fn::Not": [{"Fn::Equals": ["unset", "unset"]}]}  # can never hold
    assert "repository and connection-arn" in rule["AssertDescription"]
    assert "SourceConfigured" not in configured_pipeline.get("Rules", {})


def test_each_environment_gets_its_stages_and_its_own_approval_switch(configured_pipeline):
    stages = [(stage, action) for stage, action, _ in _actions(configured_pipeline)]
    assert ("TrustedConfiguration-prod", "IntegrationTest-prod") in stages
    assert not any(action.startswith("Approve-") for stage, action in stages if stage.endswith("-prod"))
    assert ("TrustingResources-dev", "Approve-TrustingResources-dev") in stages


def test_every_codebuild_project_names_the_node_it_runs_on(synthesized_app):
    """On aws/codebuild/standard:7.0 a buildspec without runtime-versions runs the image's
    default Node 18 (CodeBuild user guide, "Docker images provided by CodeBuild", "Available
    runtimes"), which the pinned CDK CLI warns about: every project, CDK Pipelines' own
    self-mutation and asset publishing included, names ours."""
    import yaml

    from pipeline.steps import RUNTIMES

    template = synthesized_app.templates["SecretCachePipeline"]["Resources"]
    projects = {k: r["Properties"] for k, r in template.items() if r["Type"] == "AWS::CodeBuild::Project"}
    assert len(projects) >= 4
    for logical_id, properties in projects.items():
        assert properties["Environment"]["Image"] == "aws/codebuild/standard:7.0", logical_id
        buildspec = properties["Source"]["BuildSpec"]
        if buildspec.strip().endswith(".yaml"):  # the FileAsset buildspec, a file of the assembly
            buildspec = (synthesized_app.outdir / buildspec.strip()).read_text()
        runtimes = (yaml.safe_load(buildspec)["phases"].get("install") or {}).get("runtime-versions") or {}
        assert runtimes.get("nodejs") == RUNTIMES["nodejs"], logical_id


def test_every_retained_artifact_bucket_keeps_its_key(variants_app):
    """CloudFormation cannot delete a bucket that holds objects, so CDK retains the artifact
    buckets (the pipeline's, and each support stack's replication bucket); their keys are
    retained with them, or a destroyed pipeline would leave artifacts no key decrypts."""
    stacks = [name for name in variants_app.templates if name == "SecretCachePipeline" or name.startswith("cross-region-stack-")]
    assert len(stacks) == 2
    for name in stacks:
        resources = variants_app.templates[name]["Resources"].values()
        buckets = [r for r in resources if r["Type"] == "AWS::S3::Bucket"]
        keys = [r for r in resources if r["Type"] == "AWS::KMS::Key"]
        assert buckets and keys, name
        assert {r.get("DeletionPolicy") for r in buckets + keys} == {"Retain"}, name
