"""What CDK Pipelines generates, made to pass the audit: fixed where it can be, and otherwise
each cdk-nag finding acknowledged and each checkov finding skipped, one by one, with reasons.

CDK Pipelines writes its roles' policies itself (artifact bucket and key access, CodeBuild
logs and reports, the bootstrap roles it assumes); they cannot be narrowed from outside.
Each finding is named exactly, so that a new one (a CDK upgrade, a new environment) fails
synth until someone reads it and decides.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, RemovalPolicy, Stack, Validations
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import IConstruct

from stacks.constructs.audit_skips import skip_checkov

ARTIFACT_READ = "reads pipeline artifacts: CDK Pipelines grants s3:GetObject*/GetBucket*/List* on the artifact bucket and its objects"
ARTIFACT_WRITE = "writes pipeline artifacts: CDK Pipelines grants s3:DeleteObject*/Abort* on the artifact bucket's objects"
ARTIFACT_KEY = "encrypts artifacts: CDK Pipelines grants kms:GenerateDataKey*/ReEncrypt* on the pipeline's artifact key"
PROJECT_LOGS = "CodeBuild writes its project's own log streams and report groups, named after the project with a wildcard tail"
ASSET_PROJECTS = "the asset-publishing project's logs and reports, and starting its own builds: CDK Pipelines grants them per account"
SELF_MUTATION = (
    "self-mutation reads stack descriptions and bootstrap buckets, and assumes the bootstrap roles, "
    "restricted by the aws-cdk:bootstrap-role tag condition"
)


def _iam5(target: str) -> str:
    return f"AwsSolutions-IAM5[{target}]"


def _project_id(stack: Stack, scope: IConstruct) -> str:
    (project,) = [node for node in scope.node.find_all() if isinstance(node, codebuild.CfnProject)]
    return str(stack.resolve(stack.get_logical_id(project)))


def _project_findings(stack: Stack, scope: IConstruct) -> dict[str, str]:
    project = _project_id(stack, scope)
    return {
        _iam5(f"Resource::arn:aws:logs:{stack.region}:{stack.account}:log-group:/aws/codebuild/<{project}>:*"): PROJECT_LOGS,
        _iam5(f"Resource::arn:aws:codebuild:{stack.region}:{stack.account}:report-group/<{project}>-*"): PROJECT_LOGS,
    }


def _artifact_findings(bucket_id: str, *, write: bool = False, key: bool = True) -> dict[str, str]:
    findings = {
        _iam5("Action::s3:GetObject*"): ARTIFACT_READ,
        _iam5("Action::s3:GetBucket*"): ARTIFACT_READ,
        _iam5("Action::s3:List*"): ARTIFACT_READ,
        _iam5(f"Resource::<{bucket_id}.Arn>/*"): ARTIFACT_READ,
    }
    if write:
        findings |= {_iam5("Action::s3:DeleteObject*"): ARTIFACT_WRITE, _iam5("Action::s3:Abort*"): ARTIFACT_WRITE}
    if key:
        findings |= {_iam5("Action::kms:GenerateDataKey*"): ARTIFACT_KEY, _iam5("Action::kms:ReEncrypt*"): ARTIFACT_KEY}
    return findings


def acknowledge(scope: IConstruct, findings: dict[str, str]) -> None:
    for finding, reason in findings.items():
        Validations.of(scope).acknowledge(Acknowledgment(id=finding, reason=reason))


def acknowledge_pipeline_findings(stack: Stack, pipeline: IConstruct, bucket_id: str) -> None:
    """The generated pipeline: its role and Synth project, self-mutation, asset publishing."""
    generated = pipeline.node
    synth_project = generated.find_child("Pipeline").node.find_child("Build")
    acknowledge(generated.find_child("Pipeline"), _artifact_findings(bucket_id, write=True) | _project_findings(stack, synth_project))
    acknowledge(
        generated.find_child("Pipeline"),
        {
            "AwsSolutions-S1": "The artifact bucket holds KMS-encrypted build artifacts read only by the pipeline's roles; "
            "a second bucket for its access logs would need one too. CloudTrail data events cover access if required."
        },
    )
    update = generated.find_child("UpdatePipeline")
    acknowledge(
        update,
        _artifact_findings(bucket_id)
        | _project_findings(stack, update)
        | {_iam5("Resource::*"): SELF_MUTATION, _iam5(f"Resource::arn:*:iam::{stack.account}:role/*"): SELF_MUTATION},
    )
    acknowledge(
        generated.find_child("Assets"),
        _artifact_findings(bucket_id, key=False)
        | {
            _iam5("Resource::*"): ASSET_PROJECTS,
            _iam5(f"Resource::arn:aws:logs:{stack.region}:{stack.account}:log-group:/aws/codebuild/*"): ASSET_PROJECTS,
            _iam5(f"Resource::arn:aws:codebuild:{stack.region}:{stack.account}:report-group/*"): ASSET_PROJECTS,
        },
    )


def acknowledge_step_role_findings(stack: Stack, role: IConstruct, step_scope: IConstruct, bucket_id: str, *, writes: bool = False) -> None:
    """A CodeBuildStep's own role: CDK Pipelines adds artifact and CodeBuild grants to it
    (writes: the step has an output artifact)."""
    acknowledge(role, _artifact_findings(bucket_id, write=writes) | _project_findings(stack, step_scope))


def harden_generated_resources(stack: Stack, pipeline: Any) -> None:
    """What can be fixed on CDK Pipelines' generated resources, fixed; what cannot, skipped
    for checkov on that resource with the reason."""
    bucket = pipeline.pipeline.artifact_bucket.node.default_child
    bucket.versioning_configuration = s3.CfnBucket.VersioningConfigurationProperty(status="Enabled")
    # CloudFormation retains the bucket (it cannot delete one that holds objects): its key
    # is retained with it, or a destroyed pipeline would leave artifacts no one can decrypt.
    pipeline.pipeline.artifact_bucket.encryption_key.apply_removal_policy(RemovalPolicy.RETAIN)
    skip_checkov(
        bucket,
        "CKV_AWS_18",
        "The artifact bucket holds KMS-encrypted build artifacts read only by the pipeline's roles; a second bucket for "
        "its access logs would need one too. CloudTrail data events cover access if required.",
    )
    for node in stack.node.find_all():
        if isinstance(node, iam.CfnRole):
            _condition_service_trust(stack, node)
        elif isinstance(node, iam.CfnPolicy):
            _match_connection_prefix(stack, node)
        elif isinstance(node, sns.CfnTopicPolicy):
            _condition_service_statements(stack, node, "PolicyDocument", node.policy_document)
        elif isinstance(node, kms.CfnKey):
            _condition_service_statements(stack, node, "KeyPolicy", node.key_policy)
    generated = pipeline.node
    skip_checkov(
        generated.find_child("UpdatePipeline").node.find_child("SelfMutation").node.find_child("Role").node.find_child("DefaultPolicy"),
        "CKV_SCP_003",
        "Self-mutation assumes the bootstrap roles (iam::<tooling>:role/*), restricted by the aws-cdk:bootstrap-role tag condition; "
        "CDK Pipelines writes this statement.",
    )
    skip_checkov(
        generated.find_child("Assets").node.find_child("FileRole").node.find_child("DefaultPolicy"),
        "CKV_AWS_111",
        "CDK Pipelines' asset-publishing role: CodeBuild logs and reports under /aws/codebuild/* and report-group/* of the "
        "tooling account, and starting its own builds; the generated project names are not known to the policy.",
    )


# The two names of one service: CodeStar Connections became CodeConnections, and a connection's
# ARN carries either prefix. IAM authorizes UseConnection under the prefix of the ARN it is
# used on: codestar-connections:UseConnection does not cover an arn:aws:codeconnections:
# connection (cfn-lint I3510). CDK Pipelines grants the old prefix whatever the ARN.
CONNECTION_SERVICES = ("codestar-connections", "codeconnections")
USE_CONNECTION = "UseConnection"


def _connection_service(arn: Any) -> str | None:
    parts = arn.split(":") if isinstance(arn, str) else []
    return parts[2] if len(parts) > 5 and parts[2] in CONNECTION_SERVICES else None


def _match_connection_prefix(stack: Stack, policy: iam.CfnPolicy) -> None:
    """Grant UseConnection under the service prefix of the connection ARN it names."""
    for index, statement in enumerate(stack.resolve(policy.policy_document).get("Statement", [])):
        actions = statement.get("Action", [])
        resources = statement.get("Resource", [])
        actions, resources = [actions] if isinstance(actions, str) else actions, [resources] if isinstance(resources, str) else resources
        services = {_connection_service(arn) for arn in resources}
        uses = [action for action in actions if action in {f"{service}:{USE_CONNECTION}" for service in CONNECTION_SERVICES}]
        if not uses or len(services) != 1 or None in services:
            continue
        (service,) = services
        fixed = [f"{service}:{USE_CONNECTION}" if action in uses else action for action in actions]
        policy.add_property_override(f"PolicyDocument.Statement.{index}.Action", fixed[0] if len(fixed) == 1 else fixed)


def _condition_service_statements(stack: Stack, resource: Any, property_name: str, document: Any) -> None:
    """A service principal in a resource policy (the topic's, a key's) acts only for this account."""
    for index, statement in enumerate(stack.resolve(document).get("Statement", [])):
        if "Service" in statement.get("Principal", {}) and "Condition" not in statement:
            resource.add_property_override(
                f"{property_name}.Statement.{index}.Condition", {"StringEquals": {"aws:SourceAccount": stack.account}}
            )


def _condition_service_trust(stack: Stack, role: iam.CfnRole) -> None:
    # Confused deputy: a service may assume the generated role only for this account
    # (CodePipeline and CodeBuild send aws:SourceAccount). An action role assumed by the
    # pipeline's own role cannot require an ExternalId (CodePipeline sends none): skipped.
    document = stack.resolve(role.assume_role_policy_document)
    for index, statement in enumerate(document.get("Statement", [])):
        principal = statement.get("Principal", {})
        if "Service" in principal and "Condition" not in statement:
            role.add_property_override(
                f"AssumeRolePolicyDocument.Statement.{index}.Condition", {"StringEquals": {"aws:SourceAccount": stack.account}}
            )
        elif "AWS" in principal and not statement.get("Condition"):
            skip_checkov(
                role,
                "CKV_SCP_001",
                "A CodePipeline action role, assumed only by this pipeline's own role (a named principal in this account); "
                "CodePipeline passes no ExternalId, so requiring one would break the action.",
            )


REPLICATION = (
    "An environment in another region than the pipeline's: CodePipeline copies artifacts through the replication "
    "bucket CDK Pipelines puts in a support stack there, KMS-encrypted and read only by the pipeline's roles and "
    "that region's deploy roles; a second bucket for its access logs would need one too."
)


def harden_cross_region_support(stack: Stack, pipeline: Any) -> None:
    """The support stacks of other regions (their replication bucket and key): the bucket
    versioned, and the pipeline role's grant on their keys, which CDK writes on "*" (it knows
    each key by alias only), narrowed to the tooling account's keys in those regions that
    carry those aliases (``kms:ResourceAliases``, KMS developer guide, "Condition keys")."""
    support = pipeline.pipeline.cross_region_support
    if not support:
        return
    for region_support in support.values():
        bucket = region_support.replication_bucket.node.default_child
        bucket.versioning_configuration = s3.CfnBucket.VersioningConfigurationProperty(status="Enabled")
        for key in [node for node in region_support.stack.node.find_all() if isinstance(node, kms.CfnKey)]:
            key.apply_removal_policy(RemovalPolicy.RETAIN)  # kept with the retained bucket, as above
        skip_checkov(bucket, "CKV_AWS_18", REPLICATION)
        acknowledge(bucket, {"AwsSolutions-S1": REPLICATION})
    role_policy = pipeline.pipeline.role.node.find_child("DefaultPolicy").node.default_child
    assert isinstance(role_policy, iam.CfnPolicy)
    for index, statement in enumerate(stack.resolve(role_policy.policy_document).get("Statement", [])):
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if "*" in resources and all(action.startswith("kms:") for action in actions):
            kept = [resource for resource in resources if resource != "*"]
            role_policy.add_property_override(f"PolicyDocument.Statement.{index}.Resource", kept[0] if len(kept) == 1 else kept)
            pipeline.pipeline.role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="ReplicationKeys",
                    actions=actions,
                    resources=[f"arn:aws:kms:{region}:{stack.account}:key/*" for region in sorted(support)],
                    conditions={
                        "ForAnyValue:StringEquals": {
                            "kms:ResourceAliases": [stack.resolve(s.replication_bucket.encryption_key.alias_name) for s in support.values()]
                        }
                    },
                )
            )
    # cdk-nag reads the statement as CDK wrote it, before the override above.
    acknowledge(
        pipeline.pipeline,
        {
            _iam5("Resource::*"): "the replication keys of other regions' support stacks, which CDK Pipelines knows by alias "
            "only and grants on '*': narrowed in the template to the tooling account's keys with those aliases",
            **{
                _iam5(f"Resource::arn:aws:kms:{region}:{stack.account}:key/*"): "the tooling account's keys in that region "
                "that carry the replication key's alias (kms:ResourceAliases)"
                for region in support
            },
            **{
                _iam5(f"Resource::arn:aws:s3:::{stack.resolve(region_support.replication_bucket.bucket_name)}/*"): ARTIFACT_READ
                for region_support in support.values()
            },
        },
    )
    skip_checkov(
        role_policy,
        "CKV_SCP_003",
        "The replication keys of other regions' support stacks are known by alias only: the statement names the tooling "
        "account's keys in those regions and requires the alias (kms:ResourceAliases).",
    )
