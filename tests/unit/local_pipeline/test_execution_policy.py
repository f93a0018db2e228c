"""The scoped execution policy really deploys, and every resource type's handler
permissions are really checked: taking one action out (one per resource type in the
templates) fails that resource's deployment, naming the action and the resource.

The permissions come from the CloudFormation resource provider schemas (cfn-lint's
package data), as emulator.resource_schemas reads them."""

from __future__ import annotations

import json

import pytest

from emulator import DeployError, Emulator
from emulator.resource_schemas import NO_HANDLER_TYPES, required_actions
from local_pipeline.deployment import deploy_stage, tooling_account
from local_pipeline.synth import bootstrap_template
from pipeline.bootstrap import MANAGED_POLICY_LIMIT, execution_policies, policy_size
from project.assembly import StackArtifact, read_stacks
from project.deployment_order import TRUSTING_RESOURCES


def _stacks(synthesized_app, configured_app) -> list[StackArtifact]:
    """The stage stacks of cdk.json's synth, and the pipeline stack of the configured one
    (without a source, the pipeline stack refuses to deploy)."""
    stages = [stack for stack in read_stacks(synthesized_app.outdir) if stack.stage]
    return [*stages, *(stack for stack in read_stacks(configured_app.outdir) if not stack.stage)]


def _cases(stacks: list[StackArtifact]) -> list[tuple[StackArtifact, str, str, str]]:
    """(stack, resource type, logical ID, action): for each resource type of the stacks,
    one of its create or read actions that no other type of that stack needs, so that
    taking it out can fail only that type's resource."""
    cases = []
    seen: set[str] = set()
    for stack in stacks:
        resources = stack.template()["Resources"]
        needs = {
            logical_id: required_actions(resource["Type"], "create", resource.get("Properties", {}))
            for logical_id, resource in resources.items()
            if resource["Type"] not in NO_HANDLER_TYPES
        }
        for logical_id, actions in needs.items():
            kind = resources[logical_id]["Type"]
            if kind in seen:
                continue
            others = {a for other, acts in needs.items() if resources[other]["Type"] != kind for a in acts}
            own = [action for action in actions if action not in others and action.split(":")[0] in kind.lower().replace("::", ":")]
            own = own or [action for action in actions if action not in others]
            if own:
                seen.add(kind)
                cases.append((stack, kind, logical_id, own[0]))
    return cases


def test_every_resource_type_of_the_templates_has_a_case(synthesized_app, configured_app):
    stacks = _stacks(synthesized_app, configured_app)
    kinds = {r["Type"] for s in stacks for r in s.template()["Resources"].values()} - NO_HANDLER_TYPES
    assert {kind for _, kind, _, _ in _cases(stacks)} == kinds


def _without(documents: list[dict], action: str) -> list[dict]:
    reduced = json.loads(json.dumps(documents))
    for document in reduced:
        for statement in document["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            statement["Action"] = [kept for kept in actions if kept.lower() != action.lower()] or "none:None"
    assert reduced != documents, f"the policy does not grant {action} by name"
    return reduced


def test_taking_one_action_out_fails_that_resource_naming_it(synthesized_app, configured_app):
    cases = _cases(_stacks(synthesized_app, configured_app))
    for stack, kind, logical_id, action in cases:
        tooling = tooling_account(read_stacks(configured_app.outdir if not stack.stage else synthesized_app.outdir))
        # Fresh accounts each time: a failed creation leaves behind what its rollback retains
        # (the secret, log groups: DeletionPolicy Retain), as on AWS.
        with Emulator() as emulator:
            policies = execution_policies(stack.account, stack.region, tooling=stack.account == tooling)
            emulator.bootstrap(
                stack.account,
                stack.region,
                template=bootstrap_template(),
                trusted_accounts=[] if stack.account == tooling else [tooling],
                execution_policies=_without(policies, action),
            )
            with pytest.raises(DeployError) as failed:
                deploy_stage(emulator, [stack], deployer_account=tooling)
        message = str(failed.value)
        assert "ROLLBACK_COMPLETE" in message, message
        assert f"{logical_id}: Resource handler returned message" in message, (kind, action, message)
        assert f"is not authorized to perform: {action} on resource: " in message, (kind, action, message)
        assert kind in NO_HANDLER_TYPES or kind.startswith("AWS::")
    print("\n".join(f"{kind}: {action} ({logical_id})" for _, kind, logical_id, action in cases))


def test_the_execution_policies_fit_iams_managed_policy_limit(dev):
    for account, tooling in ((dev.trusted.account, False), (dev.trusting.account, True)):
        for document in execution_policies(account, dev.region, tooling=tooling):
            # IAM User Guide, "IAM and AWS STS quotas": a managed policy holds at most
            # 6,144 characters, white space not counted.
            assert policy_size(document) <= MANAGED_POLICY_LIMIT == 6144


def test_assets_are_published_as_the_file_publishing_role(synthesized_app):
    """cdk-assets publishes as the bootstrap's file-publishing role: without s3:PutObject the
    deployment stops before CloudFormation is asked anything, naming the role and the action."""
    stacks = read_stacks(synthesized_app.outdir)
    (stack,) = [s for s in stacks if s.stage == TRUSTING_RESOURCES.id("dev")]  # the Lambda's code is an asset
    assert stack.assets
    tooling = tooling_account(stacks)
    with Emulator() as emulator:
        emulator.bootstrap(
            stack.account,
            stack.region,
            template=bootstrap_template(),
            trusted_accounts=[] if stack.account == tooling else [tooling],
            execution_policies=execution_policies(stack.account, stack.region, tooling=stack.account == tooling),
        )
        iam = emulator.client("iam", stack.account, stack.region)
        role = stack.assets[0].role_arn.rsplit("/", 1)[1]
        (name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(_without([document], "s3:PutObject*")[0]))
        with pytest.raises(DeployError) as failed:
            deploy_stage(emulator, [stack], deployer_account=tooling)
    message = str(failed.value)
    assert f"publishing asset {stack.assets[0].object_key} to {stack.assets[0].bucket_name}" in message
    assert f"assumed-role/{role}" in message or f"role/{role}" in message
    assert "is not authorized to perform: s3:PutObject on resource: arn:aws:s3:::" in message
