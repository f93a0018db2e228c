"""The synthesized pipeline: action order, trigger, reports, the integration-test roles,
self-mutation and cross-account keys, and the refusal to deploy without a source."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipeline.steps import CHECKOV_REPORT, INTEGRATION_REPORT, UNIT_TEST_REPORT
from stacks.naming import SecretCacheNames
from tests.helpers import CONFIGURED_SOURCE
from tests.unit.stacks.template_helpers import allowed_actions, identity_statements, render, resources, role_by_name


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


@pytest.fixture(scope="session")
def default_pipeline(synthesized_app) -> dict[str, Any]:
    return synthesized_app.templates["SecretCachePipeline"]


@pytest.fixture(scope="session")
def configured_pipeline(configured_app) -> dict[str, Any]:
    return configured_app.templates["SecretCachePipeline"]


def test_actions_in_order_audit_first_approvals_between_stages_test_last(default_pipeline):
    assert _actions(default_pipeline) == [
        ("Source", "unset_unset", "CodeStarSourceConnection"),
        ("Build", "Synth", "CodeBuild"),  # tests, synth, audit: nothing deploys unless they pass
        ("UpdatePipeline", "SelfMutate", "CodeBuild"),
        ("Assets", "FileAssets", "CodeBuild"),
        ("TrustedResources-dev", "Prepare", "CloudFormation"),
        ("TrustedResources-dev", "Deploy", "CloudFormation"),
        ("TrustingResources-dev", "Approve-TrustingResources-dev", "Manual"),
        ("TrustingResources-dev", "TrustingAccountResources.Prepare", "CloudFormation"),
        ("TrustingResources-dev", "TrustingAccountResources.Deploy", "CloudFormation"),
        ("TrustedConfiguration-dev", "Approve-TrustedConfiguration-dev", "Manual"),
        ("TrustedConfiguration-dev", "TrustedAccountConfiguration.Prepare", "CloudFormation"),
        ("TrustedConfiguration-dev", "TrustedAccountConfiguration.Deploy", "CloudFormation"),
        ("TrustedConfiguration-dev", "IntegrationTest-dev", "CodeBuild"),
    ]
    assert sum(provider == "CodeBuild" for _, _, provider in _actions(default_pipeline)) == 4


def test_deployments_go_to_their_accounts(default_pipeline, dev):
    role_by_stage = {}
    for stage in _pipeline(default_pipeline)["Stages"]:
        for action in stage["Actions"]:
            if action["Name"].endswith("Deploy"):
                role_by_stage[stage["Name"]] = render(action["RoleArn"])
    assert role_by_stage["TrustedResources-dev"].startswith(f"arn:aws:iam::{dev.trusted.account}:role/cdk-hnb659fds-deploy-role")
    assert role_by_stage["TrustingResources-dev"].startswith(f"arn:aws:iam::{dev.trusting.account}:role/cdk-hnb659fds-deploy-role")
    assert role_by_stage["TrustedConfiguration-dev"].startswith(f"arn:aws:iam::{dev.trusted.account}:role/cdk-hnb659fds-deploy-role")


def test_approval_comments_say_what_is_deployed_where(default_pipeline, dev):
    approvals = [a for s in _pipeline(default_pipeline)["Stages"] for a in s["Actions"] if a["ActionTypeId"]["Category"] == "Approval"]
    comments = [render(a["Configuration"]["CustomData"]) for a in approvals]
    assert comments[0].startswith("Deploy TrustingResources-dev-TrustingAccountResources into account 222222222222 (us-east-1)")
    assert all("NotificationArn" in a["Configuration"] for a in approvals)


def test_a_push_to_the_branch_triggers_the_v2_pipeline(default_pipeline, configured_pipeline):
    assert _pipeline(default_pipeline)["PipelineType"] == "V2"
    (trigger,) = _pipeline(configured_pipeline)["Triggers"]
    assert trigger["ProviderType"] == "CodeStarSourceConnection"
    assert trigger["GitConfiguration"]["Push"] == [{"Branches": {"Includes": [CONFIGURED_SOURCE["branch"]]}}]
    (source,) = _pipeline(configured_pipeline)["Stages"][0]["Actions"]
    assert source["Configuration"]["FullRepositoryId"] == CONFIGURED_SOURCE["repository"]
    assert source["Configuration"]["DetectChanges"] is False  # the trigger does it, filtered


def test_reports_are_published_from_the_build_specs(default_pipeline):
    specs = {
        logical_id: json.loads(render(project["Properties"]["Source"]["BuildSpec"]))
        for logical_id, project in resources(default_pipeline, "AWS::CodeBuild::Project").items()
        if "Synth" in logical_id or "IntegrationTest" in logical_id
    }
    synth = next(spec for logical_id, spec in specs.items() if "Synth" in logical_id)
    assert synth["reports"] == {
        "UnitTests": {"files": [UNIT_TEST_REPORT], "file-format": "JUNITXML"},
        "Checkov": {"files": [CHECKOV_REPORT], "file-format": "JUNITXML"},
    }
    assert synth["phases"]["build"]["commands"][:3] == ["make test", "make synth", "make audit"]
    test = next(spec for logical_id, spec in specs.items() if "IntegrationTest" in logical_id)
    assert test["reports"] == {"IntegrationTest-dev": {"files": [INTEGRATION_REPORT], "file-format": "JUNITXML"}}
    assert "tests/integration/test_secret_cache.py" in " ".join(test["phases"]["build"]["commands"])


def test_the_integration_test_step_may_only_assume_the_two_test_roles(default_pipeline, dev):
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
    assert len(service_statements) == 7  # 5 role trusts, the topic policy, the notifications key
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
