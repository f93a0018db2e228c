"""The least-privilege bootstrap: a CloudFormation execution policy scoped to what this
project's stacks create, and the exact commands to bootstrap (and later untrust) each account.

    python -m pipeline.bootstrap      (make bootstrap-commands)

Prints the commands; runs none. The policies are written to reports/bootstrap/<account>.json.
`cdk bootstrap` otherwise hands CloudFormation AdministratorAccess in every account.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from project.config import ConfigError, ProjectConfig
from project.context import config_from_cdk_json
from project.deployment_order import DEPLOYMENT_ORDER, PIPELINE_NAME
from project.paths import PROJECT_ROOT, REPORTS

POLICY_NAME = "SecretCacheCfnExecution"
OUTPUT = REPORTS / "bootstrap"

# Resource names every stack of this project uses (stacks/naming.py); CloudFormation also
# names generated resources after the stack ("SecretCachePipeline-...", "TrustedResources-...").
NAME_PREFIXES = (
    "SecretCache",
    "TrustedAccountRl",
    "TrustingAccountRl",
    "CacheSecret",
    *(stage.name for stage in DEPLOYMENT_ORDER),
)
# Actions that accept no resource ARN (Service Authorization Reference): "*" is the only choice.
UNSCOPABLE = [
    "kms:CreateKey",
    "kms:ListAliases",
    "secretsmanager:GetRandomPassword",
    "codestar-notifications:ListTargets",
    "iam:GetAccountSummary",
    "cloudformation:DescribeStacks",
    "logs:DescribeIndexPolicies",
    "logs:DescribeResourcePolicies",
]


def _arns(service: str, account: str, region: str, resources: list[str]) -> list[str]:
    return [f"arn:aws:{service}:{region}:{account}:{resource}" for resource in resources]


def execution_policy(account: str, region: str, *, tooling: bool, replication_regions: Sequence[str] = ()) -> dict[str, Any]:
    """What CloudFormation may do in ``account`` when deploying this project's stacks.

    ``replication_regions``: the other regions the environments use. CDK Pipelines puts a
    support stack (the artifact replication bucket and its key) into the tooling account
    in each, and deploys it with the bootstrap roles of the pipeline's own region (the
    assembly names them): this region's execution role creates those keys and aliases."""
    key_regions = [region, *replication_regions] if tooling else [region]
    named = [f"{prefix}*" for prefix in NAME_PREFIXES]
    statements = [
        {
            "Sid": "ProjectRoles",
            "Effect": "Allow",
            "Action": [
                "iam:CreateRole",
                "iam:DeleteRole",
                "iam:GetRole",
                "iam:UpdateRole",
                "iam:UpdateRoleDescription",
                "iam:ListRolePolicies",
                "iam:ListAttachedRolePolicies",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:UpdateAssumeRolePolicy",
                "iam:PutRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:GetRolePolicy",
                "iam:AttachRolePolicy",
                "iam:DetachRolePolicy",
                "iam:PassRole",
            ],
            "Resource": [f"arn:aws:iam::{account}:role/{name}" for name in named],
        },
        {
            "Sid": "ProjectKeys",
            "Effect": "Allow",
            "Action": [
                "kms:DescribeKey",
                "kms:PutKeyPolicy",
                "kms:GetKeyPolicy",
                "kms:EnableKeyRotation",
                "kms:DisableKeyRotation",
                "kms:GetKeyRotationStatus",
                "kms:UpdateKeyDescription",
                "kms:ScheduleKeyDeletion",
                "kms:TagResource",
                "kms:UntagResource",
                "kms:CreateGrant",
                "kms:RevokeGrant",
                "kms:Decrypt",
                "kms:Encrypt",
                "kms:GenerateDataKey",
                "kms:ListResourceTags",
            ],
            "Resource": [arn for key_region in key_regions for arn in _arns("kms", account, key_region, ["key/*"])],
            "Condition": {"StringEquals": {"aws:ResourceAccount": account}},
        },
        {
            "Sid": "ProjectWorkflows",
            "Effect": "Allow",
            "Action": [
                "states:CreateStateMachine",
                "states:UpdateStateMachine",
                "states:DeleteStateMachine",
                "states:DescribeStateMachine",
                "states:TagResource",
                "states:UntagResource",
                "states:ListTagsForResource",
            ],
            "Resource": _arns(
                "states", account, region, [f"stateMachine:{name}" for name in ("SecretCacheConsumerWfw-*", "SecretCacheWfw-*")]
            ),
        },
        {
            "Sid": "ProjectLogGroups",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:PutRetentionPolicy",
                "logs:DeleteRetentionPolicy",
                "logs:AssociateKmsKey",
                "logs:DisassociateKmsKey",
                "logs:TagResource",
                "logs:UntagResource",
                "logs:ListTagsForResource",
                "logs:GetDataProtectionPolicy",
            ],
            "Resource": _arns(
                "logs",
                account,
                region,
                [
                    "log-group:/aws/vendedlogs/states/SecretCache*",
                    "log-group:/aws/lambda/CacheSecret-*",
                    "log-group:/aws/codebuild/*",
                ],
            ),
        },
        {
            # IAM authorizes DescribeLogGroups on "log-group::log-stream:", never on a named group.
            "Sid": "ListLogGroups",
            "Effect": "Allow",
            "Action": ["logs:DescribeLogGroups"],
            "Resource": _arns("logs", account, region, ["log-group:*"]),
        },
        {
            "Sid": "ProjectFunction",
            "Effect": "Allow",
            "Action": [
                "lambda:CreateFunction",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
                "lambda:DeleteFunction",
                "lambda:GetFunction",
                "lambda:GetFunctionCodeSigningConfig",
                "lambda:GetFunctionRecursionConfig",
                "lambda:GetFunctionScalingConfig",
                "lambda:GetRuntimeManagementConfig",
                "lambda:TagResource",
                "lambda:UntagResource",
            ],
            "Resource": _arns("lambda", account, region, ["function:CacheSecret-*"]),
        },
        {
            # The Lambda function's code, as `cdk deploy` or the pipeline's Assets step published it.
            "Sid": "FunctionCode",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": [f"arn:aws:s3:::cdk-hnb659fds-assets-{account}-{region}/*"],
        },
        {
            "Sid": "ProjectCacheTable",
            "Effect": "Allow",
            "Action": [
                "dynamodb:CreateTable",
                "dynamodb:UpdateTable",
                "dynamodb:DeleteTable",
                "dynamodb:DescribeTable",
                "dynamodb:UpdateTimeToLive",
                "dynamodb:DescribeTimeToLive",
                "dynamodb:UpdateContinuousBackups",
                "dynamodb:DescribeContinuousBackups",
                "dynamodb:DescribeContributorInsights",
                "dynamodb:DescribeKinesisStreamingDestination",
                "dynamodb:GetResourcePolicy",
                "dynamodb:ListTagsOfResource",
                "dynamodb:TagResource",
                "dynamodb:UntagResource",
            ],
            "Resource": _arns("dynamodb", account, region, ["table/SecretCache-*"]),
        },
        {
            "Sid": "ProjectSecret",
            "Effect": "Allow",
            "Action": [
                "secretsmanager:CreateSecret",
                "secretsmanager:UpdateSecret",
                "secretsmanager:DeleteSecret",
                "secretsmanager:DescribeSecret",
                # The Secret's read and update handlers read the value back.
                "secretsmanager:GetSecretValue",
                "secretsmanager:TagResource",
                "secretsmanager:UntagResource",
            ],
            "Resource": _arns("secretsmanager", account, region, ["secret:secret-cache/*"]),
        },
        {
            "Sid": "ProjectParameters",
            "Effect": "Allow",
            "Action": [
                "ssm:PutParameter",
                "ssm:DeleteParameter",
                "ssm:GetParameter",
                "ssm:GetParameters",
                "ssm:AddTagsToResource",
                "ssm:RemoveTagsFromResource",
                "ssm:ListTagsForResource",
            ],
            # Not the bootstrap's version parameter: CloudFormation reads it as the caller (the
            # deploy role, which the bootstrap lets), and no deployment of ours may write it.
            "Resource": _arns("ssm", account, region, ["parameter/secret-cache/*"]),
        },
        {"Sid": "NoResourceLevelPermissions", "Effect": "Allow", "Action": UNSCOPABLE, "Resource": "*"},
    ]
    if tooling:
        statements += [
            {
                "Sid": "PipelineItself",
                "Effect": "Allow",
                "Action": [
                    "codepipeline:CreatePipeline",
                    "codepipeline:UpdatePipeline",
                    "codepipeline:DeletePipeline",
                    "codepipeline:GetPipeline",
                    "codepipeline:GetPipelineState",
                    # RestartExecutionOnUpdate: an update starts the pipeline.
                    "codepipeline:StartPipelineExecution",
                    "codepipeline:ListTagsForResource",
                    "codepipeline:TagResource",
                    "codepipeline:UntagResource",
                ],
                "Resource": _arns("codepipeline", account, region, [PIPELINE_NAME]),
            },
            {
                "Sid": "PipelineProjects",
                "Effect": "Allow",
                "Action": ["codebuild:CreateProject", "codebuild:UpdateProject", "codebuild:DeleteProject", "codebuild:BatchGetProjects"],
                "Resource": _arns("codebuild", account, region, ["project/*"]),
                "Condition": {"StringEquals": {"aws:ResourceAccount": account}},
            },
            {
                "Sid": "PipelineArtifacts",
                "Effect": "Allow",
                "Action": [
                    "s3:CreateBucket",
                    "s3:DeleteBucket",
                    "s3:ListBucket",
                    "s3:PutBucketPolicy",
                    "s3:GetBucketPolicy",
                    "s3:DeleteBucketPolicy",
                    "s3:PutEncryptionConfiguration",
                    "s3:DeleteBucketEncryption",
                    "s3:PutBucketVersioning",
                    "s3:PutBucketPublicAccessBlock",
                    # What the bucket's read handler reads back, whatever the template sets.
                    "s3:GetAccelerateConfiguration",
                    "s3:GetAnalyticsConfiguration",
                    "s3:GetBucketAbac",
                    "s3:GetBucketAcl",
                    "s3:GetBucketCORS",
                    "s3:GetBucketLogging",
                    "s3:GetBucketMetadataTableConfiguration",
                    "s3:GetBucketNotification",
                    "s3:GetBucketObjectLockConfiguration",
                    "s3:GetBucketOwnershipControls",
                    "s3:GetBucketPublicAccessBlock",
                    "s3:GetBucketTagging",
                    "s3:GetBucketVersioning",
                    "s3:GetBucketWebsite",
                    "s3:GetEncryptionConfiguration",
                    "s3:GetIntelligentTieringConfiguration",
                    "s3:GetInventoryConfiguration",
                    "s3:GetLifecycleConfiguration",
                    "s3:GetMetricsConfiguration",
                    "s3:GetReplicationConfiguration",
                    "s3:ListTagsForResource",
                    "s3:DeleteObject",
                ],
                # CloudFormation names the artifact bucket after the stack, cut to fit S3's
                # 63 characters: "secretcachepipelin-pipelineartifactsbucket...".
                "Resource": ["arn:aws:s3:::secretcachepipelin*"],
            },
            {
                # The artifact key's alias, and in the replication regions the replication
                # key's: CDK names it after the support stack "SecretCachePipeline-support-<region>"
                # ("alias/ne-suppo..."; its bucket, "secretcachepipeline-suppo...", is covered above).
                "Sid": "PipelineArtifactsKeyAlias",
                "Effect": "Allow",
                "Action": ["kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"],
                "Resource": [
                    *_arns("kms", account, region, ["alias/codepipeline-secretcachepipeline*"]),
                    *(arn for other in replication_regions for arn in _arns("kms", account, other, ["alias/ne-suppo*"])),
                ],
            },
            {
                "Sid": "PipelineNotifications",
                "Effect": "Allow",
                "Action": [
                    "sns:CreateTopic",
                    "sns:DeleteTopic",
                    "sns:SetTopicAttributes",
                    "sns:GetTopicAttributes",
                    "sns:GetDataProtectionPolicy",
                    "sns:ListSubscriptionsByTopic",
                    "sns:ListTagsForResource",
                    "sns:Subscribe",
                    "sns:Unsubscribe",
                    # notification-email's subscription: read after create, changed, deleted.
                    "sns:GetSubscriptionAttributes",
                    "sns:SetSubscriptionAttributes",
                    "sns:TagResource",
                    "codestar-notifications:CreateNotificationRule",
                    "codestar-notifications:DeleteNotificationRule",
                    "codestar-notifications:UpdateNotificationRule",
                    "codestar-notifications:DescribeNotificationRule",
                    "codestar-notifications:TagResource",
                    "codestar-notifications:UntagResource",
                ],
                "Resource": [
                    *_arns("sns", account, region, [f"{PIPELINE_NAME}-*"]),
                    *_arns("codestar-notifications", account, region, ["notificationrule/*"]),
                ],
            },
            {
                "Sid": "PipelineSourceConnection",
                "Effect": "Allow",
                "Action": ["codeconnections:PassConnection", "codestar-connections:PassConnection"],
                "Resource": [
                    *_arns("codeconnections", account, region, ["connection/*"]),
                    *_arns("codestar-connections", account, region, ["connection/*"]),
                ],
            },
        ]
    return {"Version": "2012-10-17", "Statement": statements}


# IAM User Guide, "IAM and AWS STS quotas": a managed policy document holds at most
# 6,144 characters, white space not counted.
MANAGED_POLICY_LIMIT = 6144


def policy_size(document: dict[str, Any]) -> int:
    return len("".join(json.dumps(document, separators=(",", ":")).split()))


def execution_policies(account: str, region: str, *, tooling: bool, replication_regions: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The execution policy of ``account``, as the managed policies it is created as: its
    statements, in order, in as few documents as IAM's size limit allows
    (`cdk bootstrap --cloudformation-execution-policies` takes a list)."""
    statements = execution_policy(account, region, tooling=tooling, replication_regions=replication_regions)["Statement"]
    documents: list[dict[str, Any]] = [{"Version": "2012-10-17", "Statement": []}]
    for statement in statements:
        grown = {"Version": "2012-10-17", "Statement": [*documents[-1]["Statement"], statement]}
        if documents[-1]["Statement"] and policy_size(grown) > MANAGED_POLICY_LIMIT:
            documents.append({"Version": "2012-10-17", "Statement": [statement]})
        else:
            documents[-1] = grown
    return documents


def policy_names(region: str, count: int) -> list[str]:
    """The managed policies' names in one region: SecretCacheCfnExecution-<region>, then
    -<region>-1, ...: IAM is global, and an account bootstrapped in two regions (the tooling
    account, with an environment elsewhere) holds both regions' policies side by side."""
    return [f"{POLICY_NAME}-{region}{f'-{index}' if index else ''}" for index in range(count)]


def named_execution_policies(
    account: str, region: str, *, tooling: bool, replication_regions: Sequence[str] = ()
) -> dict[str, dict[str, Any]]:
    """``execution_policies`` by the names the printed commands create them under."""
    documents = execution_policies(account, region, tooling=tooling, replication_regions=replication_regions)
    return dict(zip(policy_names(region, len(documents)), documents, strict=True))


def accounts_to_bootstrap(config: ProjectConfig) -> dict[tuple[str, str], bool]:
    """Every (account, region) to bootstrap, the tooling one first: is it the tooling one?"""
    tooling = config.tooling_environment
    accounts: dict[tuple[str, str], bool] = {(tooling.account, tooling.region): True}
    for env in config.environments:
        for side in (env.trusted, env.trusting):
            accounts.setdefault((side.account, side.region), False)
    return accounts


def policy_files(account: str, region: str, count: int) -> list[Path]:
    return [OUTPUT / f"{account}-{region}{f'-{index}' if index else ''}.json" for index in range(count)]


def profile(account: str) -> str:
    """The AWS CLI profile the printed commands name for ``account``'s credentials."""
    return f"{PROFILE_PREFIX}{account}"


PROFILE_PREFIX = "secret-cache-"
BOOTSTRAP_STACK = "CDKToolkit"


def commands(config: ProjectConfig) -> list[str]:
    """The set-up and cleanup commands, each naming the credentials it needs (``--profile``)."""
    tooling = config.tooling_environment
    accounts = accounts_to_bootstrap(config)
    others = replication_regions(config)
    parts = {
        key: len(execution_policies(*key, tooling=is_tooling, replication_regions=others if is_tooling else ()))
        for key, is_tooling in accounts.items()
    }
    on_tooling = f"--profile {profile(tooling.account)}"
    lines = [
        "# Each command names the credentials it needs as a profile: secret-cache-<account>, an",
        "# administrator of that account (define them in ~/.aws/config, or change the names).",
        "#",
        "# 1. In each account: the scoped execution policies (IAM is global: one set per region).",
    ]
    for (account, region), count in parts.items():
        for name, path in zip(policy_names(region, count), policy_files(account, region, count), strict=True):
            document = path.relative_to(PROJECT_ROOT)
            lines.append(f"aws iam create-policy --policy-name {name} --policy-document file://{document} --profile {profile(account)}")
    lines.append("")
    lines.append("# 2. Bootstrap each account and region with them (not AdministratorAccess); the targets trust the tooling account.")
    for (account, region), is_tooling in accounts.items():
        trust = "" if is_tooling else f"--trust {tooling.account} "
        arns = ",".join(f"arn:aws:iam::{account}:policy/{name}" for name in policy_names(region, parts[(account, region)]))
        lines.append(
            f"npx cdk bootstrap aws://{account}/{region} {trust}--cloudformation-execution-policies {arns} --profile {profile(account)}"
        )
    lines += [
        "",
        "# 3. Deploy the pipeline once, into the tooling account; every push deploys from then on.",
        f"npx cdk deploy {PIPELINE_NAME} {on_tooling}",
        "",
        "# Cleanup. The stages in reverse order, the pipeline and its support stacks (as the",
        "# tooling account, through the bootstrap roles; --force: no prompt).",
    ]
    for env in config.environments:
        for stage in reversed(DEPLOYMENT_ORDER):
            lines.append(f"npx cdk destroy --force {on_tooling} '{PIPELINE_NAME}/{stage.id(env.name)}/*'")
    lines.append(f"npx cdk destroy --force {on_tooling} {PIPELINE_NAME}")
    lines += [f"npx cdk destroy --force {on_tooling} '{stack_id}'" for stack_id in support_stack_ids(config)]
    lines += [
        "# Then each bootstrap stack: its roles go with it, and with them the tooling account's trust and",
        "# the execution policies' attachments (IAM deletes no policy still attached). The bootstrap",
        "# template retains its staging bucket and ECR repository: empty and delete them by hand if no",
        "# other app uses them. An account whose bootstrap serves other apps: instead re-bootstrap it",
        "# with their own --cloudformation-execution-policies and --untrust, then delete ours.",
    ]
    for account, region in accounts:
        on_account = f"--region {region} --profile {profile(account)}"
        lines.append(f"aws cloudformation delete-stack --stack-name {BOOTSTRAP_STACK} {on_account}")
        lines.append(f"aws cloudformation wait stack-delete-complete --stack-name {BOOTSTRAP_STACK} {on_account}")
    for (account, region), count in parts.items():
        for name in policy_names(region, count):
            lines.append(f"aws iam delete-policy --policy-arn arn:aws:iam::{account}:policy/{name} --profile {profile(account)}")
    return lines


def replication_regions(config: ProjectConfig) -> list[str]:
    """The environments' regions other than the pipeline's (see ``execution_policy``)."""
    return sorted({env.region for env in config.environments} - {config.tooling_environment.region})


def support_stack_ids(config: ProjectConfig) -> list[str]:
    """CDK Pipelines' cross-region support stacks, which the pipeline stack depends on, named
    ``cross-region-stack-<account>:<region>``."""
    return [f"{SUPPORT_STACK_PREFIX}{config.tooling_environment.account}:{region}" for region in replication_regions(config)]


SUPPORT_STACK_PREFIX = "cross-region-stack-"


def main() -> int:
    try:
        config = config_from_cdk_json()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for (account, region), is_tooling in accounts_to_bootstrap(config).items():
        others = replication_regions(config) if is_tooling else ()
        documents = execution_policies(account, region, tooling=is_tooling, replication_regions=others)
        for path, document in zip(policy_files(account, region, len(documents)), documents, strict=True):
            path.write_text(json.dumps(document, indent=2) + "\n")
    print("\n".join(commands(config)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
