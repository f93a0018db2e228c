"""The scoped execution policy really deploys, and every resource type's handler
permissions are really checked: taking one action out (one per resource type in the
templates) fails that resource's deployment, naming the action and the resource.

The permissions come from the CloudFormation resource provider schemas (cfn-lint's
package data), as emulator.resource_schemas reads them."""

from __future__ import annotations

import fnmatch
import json
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from botocore import xform_name

from local_pipeline.synth import bootstrap_template
from pipeline.bootstrap import (
    MANAGED_POLICY_LIMIT,
    PROFILE_PREFIX,
    accounts_to_bootstrap,
    commands,
    execution_policies,
    named_execution_policies,
    policy_size,
    replication_regions,
)
from project.assembly import StackArtifact, read_stacks
from project.deployment_order import DEPLOYMENT_ORDER, PIPELINE_NAME, TRUSTING_RESOURCES

if TYPE_CHECKING:
    from emulator import Emulator


def _stacks(synthesized_app, configured_app) -> list[StackArtifact]:
    """The stage stacks of cdk.json's synth, and the pipeline stack of the configured one
    (without a source, the pipeline stack refuses to deploy)."""
    stages = [stack for stack in read_stacks(synthesized_app.outdir) if stack.stage]
    return [*stages, *(stack for stack in read_stacks(configured_app.outdir) if not stack.stage)]


def _cases(stacks: list[StackArtifact]) -> list[tuple[StackArtifact, str, str, str]]:
    """(stack, resource type, logical ID, action): for each resource type of the stacks,
    one of its create or read actions that no other type of that stack needs, so that
    taking it out can fail only that type's resource."""
    from emulator.resource_schemas import NO_HANDLER_TYPES, required_actions

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
    from emulator.resource_schemas import NO_HANDLER_TYPES

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
    from emulator import DeployError, Emulator
    from emulator.resource_schemas import NO_HANDLER_TYPES
    from local_pipeline.deployment import deploy_stage, tooling_account

    cases = _cases(_stacks(synthesized_app, configured_app))
    for stack, kind, logical_id, action in cases:
        tooling = tooling_account(read_stacks(configured_app.outdir if not stack.stage else synthesized_app.outdir))
        # Fresh accounts each time: a failed creation leaves behind what its rollback retains
        # (the secret, log groups: DeletionPolicy Retain), as on AWS.
        with Emulator() as emulator:
            policies = named_execution_policies(stack.account, stack.region, tooling=stack.account == tooling)
            emulator.bootstrap(
                stack.account,
                stack.region,
                template=bootstrap_template(),
                trusted_accounts=[] if stack.account == tooling else [tooling],
                execution_policies=dict(zip(policies, _without(list(policies.values()), action), strict=True)),
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
    from emulator import DeployError, Emulator
    from local_pipeline.deployment import deploy_stage, tooling_account

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
            execution_policies=named_execution_policies(stack.account, stack.region, tooling=stack.account == tooling),
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


def _deployment_order(stacks: list[StackArtifact], config) -> list[StackArtifact]:
    """As `cdk deploy SecretCachePipeline` and then the pipeline deploy them: the support
    stacks (the pipeline stack depends on them), the pipeline, each environment's stages."""
    from local_pipeline.deployment import stage_stacks

    top = [stack for stack in stacks if not stack.stage]
    pipeline = [stack for stack in top if stack.stack_name == PIPELINE_NAME]
    support = [stack for stack in top if stack not in pipeline]
    stages = [stack for env in config.environments for step in DEPLOYMENT_ORDER for stack in stage_stacks(stacks, step.id(env.name))]
    return [*support, *pipeline, *stages]


def test_every_documented_configuration_deploys_updates_and_is_destroyed_under_the_scoped_policies(variants_app):
    """Every option docs/configuration.md documents at once (tests/helpers.py): a source, a notification
    address (an SNS subscription), two environments, one in another region than the tooling
    account (CDK Pipelines' support stack there), several secrets under customer managed keys.
    Each stack is created (create and read handlers), checked as if every resource were
    updated (update and read handlers), then deleted (delete handlers), as the bootstrap's
    roles, under the policies `make bootstrap-commands` writes for each account and region
    (CloudFormation resource provider schemas, ``handlers``; AWS CloudFormation User Guide,
    "Resource type handlers")."""
    from emulator import Emulator

    stacks = read_stacks(variants_app.outdir)
    config = variants_app.config
    order = _deployment_order(stacks, config)
    assert {stack.stack_name for stack in order} == {stack.stack_name for stack in stacks}
    assert any(stack.region != config.tooling_environment.region and stack.account == config.tooling_environment.account for stack in order)
    types = {r["Type"] for stack in order for r in stack.template()["Resources"].values()}
    assert {"AWS::SNS::Subscription", "AWS::CodePipeline::Pipeline", "AWS::S3::Bucket"} <= types
    tooling = config.tooling_environment.account
    with Emulator() as emulator:
        for (account, region), is_tooling in accounts_to_bootstrap(config).items():
            emulator.bootstrap(
                account,
                region,
                template=bootstrap_template(),
                trusted_accounts=[] if account == tooling else [tooling],
                execution_policies=named_execution_policies(
                    account, region, tooling=is_tooling, replication_regions=replication_regions(config) if is_tooling else ()
                ),
            )
        for stack in order:
            emulator.deploy(stack, deployer_account=tooling)
        denials = [denial for stack in order for denial in emulator.handler_denials(stack, "update")]
        assert denials == [], "\n".join(denials)
        cleanup = commands(config)
        cleanup = cleanup[next(i for i, line in enumerate(cleanup) if line.startswith("# Cleanup")) :]
        destroyed = _run_printed_cleanup(emulator, [line for line in cleanup if not line.startswith("#")], variants_app.outdir, stacks)
        # Each environment's stages in reverse, then the pipeline, then its support stacks.
        by_stage = {stack.stage: stack.stack_name for stack in stacks if stack.stage}
        reverse_stages = [by_stage[step.id(env.name)] for env in config.environments for step in reversed(DEPLOYMENT_ORDER)]
        assert destroyed == [*reverse_stages, PIPELINE_NAME, *(stack.stack_name for stack in order[: len(order) - len(by_stage) - 1])]
        for account, region in accounts_to_bootstrap(config):
            assert emulator.client("cloudformation", account, region).describe_stacks()["Stacks"] == [], (account, region)
            assert emulator.client("iam", account, region).list_policies(Scope="Local")["Policies"] == [], account


def _display_names(assembly: Path) -> dict[str, str]:
    """Each stack artifact's hierarchical ID (what `cdk` selects stacks by), by artifact ID."""
    names = {}
    for manifest in [assembly / "manifest.json", *assembly.glob("assembly-*/manifest.json")]:
        for artifact_id, artifact in json.loads(manifest.read_text())["artifacts"].items():
            if artifact["type"] == "aws:cloudformation:stack":
                names[artifact_id] = artifact.get("displayName", artifact_id)
    return names


def _run_printed_cleanup(emulator: Emulator, lines: list[str], assembly: Path, stacks: list[StackArtifact]) -> list[str]:
    """Run the printed cleanup commands against the emulated accounts, each with the
    credentials its --profile names (an administrator of that account). `aws` commands go
    through botocore's model of the operation and its parameters, as the AWS CLI does; `npx
    cdk destroy` is done as the CDK CLI does it (emulator.delete: DeleteStack as the
    stack's deploy role, CloudFormation acting as its execution role), for the stacks its
    selectors match. Returns the stacks destroyed, in order."""
    names = _display_names(assembly)
    destroyed = []
    for line in lines:
        words = shlex.split(line)
        options = {words[i]: words[i + 1] for i in range(len(words) - 1) if words[i] in ("--profile", "--region")}
        account = options["--profile"].removeprefix(PROFILE_PREFIX)
        if words[:3] == ["npx", "cdk", "destroy"]:
            assert "--force" in words, f"{line}: cdk destroy would wait at a prompt"
            selectors = [word for word in words[3:] if not word.startswith("--") and word not in options.values()]
            for stack in [s for s in stacks if any(fnmatch.fnmatchcase(names[s.artifact_id], pattern) for pattern in selectors)]:
                emulator.delete(stack, deployer_account=account)
                destroyed.append(stack.stack_name)
            continue
        assert words[0] == "aws", line
        service, operation = words[1], words[2]
        client = emulator.client(service, account, options.get("--region", "us-east-1"))
        arguments = {
            word[2:]: words[i + 1]
            for i, word in enumerate(words[3:], start=3)
            if word.startswith("--") and word not in ("--profile", "--region")
        }
        if operation == "wait":
            waiter, *_ = [word for word in words[3:] if not word.startswith("--")]
            client.get_waiter(waiter.replace("-", "_")).wait(
                **{_member(client, waiter.replace("-", "_"), k, waiter=True): v for k, v in arguments.items()}
            )
            continue
        model = client.meta.service_model.operation_model(_operation(client, operation))
        getattr(client, xform_name(model.name))(**{_member(client, model.name, k): v for k, v in arguments.items()})
    return destroyed


def _operation(client, kebab: str) -> str:
    (name,) = [op for op in client.meta.service_model.operation_names if xform_name(op, "-") == kebab]
    return name


def _member(client, operation: str, kebab: str, *, waiter: bool = False) -> str:
    if waiter:
        operation = client.get_waiter(operation).config.operation
    members = client.meta.service_model.operation_model(operation).input_shape.members
    (name,) = [member for member in members if xform_name(member, "-") == kebab]
    return name
