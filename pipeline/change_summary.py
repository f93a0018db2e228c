"""What a stage's approval lets through: the stack's change set, and the security changes in it.

    python -m pipeline.change_summary --stack-name S --change-set-name C --region R \
        --template cdk.out/assembly-.../S.template.json --role-arn <a role in the stack's account> \
        --output change-summary

Run by the ChangeSummary step of each approved stack, after the stack's Prepare (which
creates the change set) and before its Deploy (which executes it). It reads the change
set with DescribeChangeSet and the deployed template with GetTemplate, as ``--role-arn``
narrowed by a session policy to reading this one stack (DescribeChangeSet,
DescribeStacks, GetTemplate; IAM User Guide, "Session policies"). The new template is the cloud assembly's.

It writes ``<output>/<stack>.json`` and ``<output>/<stack>.txt``, prints the text, and,
for the approval beside it, sets the CodeBuild exported variables (buildspec
``env.exported-variables``) ``SUMMARY`` (at most 500 characters: an approval's
CustomData limit, CodePipeline API reference, ActionDeclaration / "Manual approval
action" configuration), ``BROADENS`` (``true`` or ``false``) and ``SUMMARY_URL``.
An unreadable change set fails the step: it never passes silently.

What counts as widening (the templates' policies, old against new): an Allow in an IAM
policy, a role's trust, a key, bucket, secret, topic or queue policy, or a Lambda
permission, that grants an action on a resource to a principal that no Allow of the old
template granted under the same or fewer conditions; a Deny taken away; a managed policy
newly attached. Values the template computes (``Fn::GetAtt``, ``Ref``) are compared as
written, ``${Table.Arn}``, not resolved.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

CUSTOM_DATA_LIMIT = 500
NO_CHANGES = "didn't contain changes"  # CloudFormation's StatusReason for an empty change set

# Where each resource type keeps its policies: (property path, kind). A path step "[]"
# walks a list. Kinds name the policy as the summary does.
POLICY_PROPERTIES: dict[str, tuple[tuple[tuple[str, ...], str], ...]] = {
    "AWS::IAM::Role": ((("AssumeRolePolicyDocument",), "trust policy"), (("Policies", "[]", "PolicyDocument"), "inline policy")),
    "AWS::IAM::Policy": ((("PolicyDocument",), "identity policy"),),
    "AWS::IAM::ManagedPolicy": ((("PolicyDocument",), "identity policy"),),
    "AWS::KMS::Key": ((("KeyPolicy",), "key policy"),),
    "AWS::S3::BucketPolicy": ((("PolicyDocument",), "bucket policy"),),
    "AWS::SecretsManager::ResourcePolicy": ((("ResourcePolicy",), "secret policy"),),
    "AWS::SNS::TopicPolicy": ((("PolicyDocument",), "topic policy"),),
    "AWS::SQS::QueuePolicy": ((("PolicyDocument",), "queue policy"),),
    "AWS::Logs::ResourcePolicy": ((("PolicyDocument",), "log resource policy"),),
    "AWS::DynamoDB::Table": ((("ResourcePolicy", "PolicyDocument"), "table policy"),),
}


class SummaryError(Exception):
    """The change set cannot be read: the step fails, naming why."""


# --- rendering a template's values --------------------------------------------------


def render(value: Any) -> str:
    """A template value as a string to compare and to show: intrinsics as ``${...}``."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and len(value) == 1:
        ((name, argument),) = value.items()
        if name == "Ref":
            return f"${{{argument}}}"
        if name == "Fn::GetAtt":
            return "${" + ".".join(map(str, argument if isinstance(argument, list) else str(argument).split("."))) + "}"
        if name == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
            return str(argument[0]).join(render(part) for part in argument[1])
        if name == "Fn::ImportValue":
            return f"${{Import:{render(argument)}}}"
        if name == "Fn::Sub":
            return str(argument[0] if isinstance(argument, list) else argument)
    return json.dumps(value, sort_keys=True)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- grants ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    """One (principal, action, resource) an Allow or Deny statement speaks of, in one policy."""

    owner: str  # the logical id of the resource that holds the policy
    kind: str  # "identity policy", "trust policy", "key policy", ...
    effect: str
    principal: str
    action: str
    resource: str
    conditions: frozenset[tuple[str, str]]
    sid: str = ""
    negated: bool = False  # NotAction / NotResource: compared as written, never as covered


def _document(value: Any) -> Mapping[str, Any] | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, Mapping) else None


def _walk(value: Any, path: Sequence[str]) -> Iterator[Any]:
    if not path:
        yield value
        return
    head, rest = path[0], path[1:]
    if head == "[]":
        for item in value if isinstance(value, list) else []:
            yield from _walk(item, rest)
    elif isinstance(value, Mapping) and head in value:
        yield from _walk(value[head], rest)


def _conditions(statement: Mapping[str, Any]) -> frozenset[tuple[str, str]]:
    condition = statement.get("Condition") or {}
    pairs = set()
    for operator, keys in condition.items() if isinstance(condition, Mapping) else []:
        for key, values in keys.items() if isinstance(keys, Mapping) else []:
            for value in _as_list(values):
                pairs.add((f"{operator}:{key}", render(value)))
    return frozenset(pairs)


def statement_grants(statement: Mapping[str, Any], owner: str, kind: str) -> Iterator[Grant]:
    principal = "" if "Principal" not in statement else json.dumps(statement["Principal"], sort_keys=True)
    negated = "NotAction" in statement or "NotResource" in statement or "NotPrincipal" in statement
    actions = _as_list(statement.get("Action", statement.get("NotAction", [])))
    resources = _as_list(statement.get("Resource", statement.get("NotResource", "*")))
    for action in actions:
        for resource in resources:
            yield Grant(
                owner,
                kind,
                str(statement.get("Effect", "")),
                principal,
                render(action),
                render(resource),
                _conditions(statement),
                str(statement.get("Sid", "")),
                negated,
            )


def template_grants(template: Mapping[str, Any]) -> list[Grant]:
    grants: list[Grant] = []
    for logical_id, resource in (template.get("Resources") or {}).items():
        properties = resource.get("Properties") or {}
        for path, kind in POLICY_PROPERTIES.get(resource.get("Type", ""), ()):
            for value in _walk(properties, path):
                document = _document(value)
                for statement in _as_list((document or {}).get("Statement", [])):
                    if isinstance(statement, Mapping):
                        grants.extend(statement_grants(statement, logical_id, kind))
        if resource.get("Type") == "AWS::Lambda::Permission":
            # A Lambda permission is one Allow of the function's resource policy.
            statement = {
                "Effect": "Allow",
                "Principal": properties.get("Principal"),
                "Action": properties.get("Action"),
                "Resource": properties.get("FunctionName"),
                "Condition": {"ArnLike": {"AWS:SourceArn": properties["SourceArn"]}} if "SourceArn" in properties else {},
            }
            grants.extend(statement_grants(statement, logical_id, "function policy"))
    return grants


def _matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    return pattern == value or fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _covers(old: Grant, new: Grant) -> bool:
    """Does ``old`` already grant what ``new`` grants (the same or a wider grant, under the same or fewer conditions)?"""
    if old.negated or new.negated:
        return old.negated == new.negated and (old.principal, old.action, old.resource, old.conditions) == (
            new.principal,
            new.action,
            new.resource,
            new.conditions,
        )
    return (
        old.principal in (new.principal, '"*"')
        and _matches(old.action, new.action, ignore_case=True)
        and _matches(old.resource, new.resource)
        and old.conditions <= new.conditions
    )


@dataclass(frozen=True)
class Widening:
    owner: str
    kind: str
    how: str  # "allows", "no longer denies", "attaches"
    action: str
    resource: str
    principal: str = ""
    sid: str = ""

    def line(self) -> str:
        to = f" to {self.principal}" if self.principal else ""
        sid = f" (statement {self.sid})" if self.sid else ""
        if self.how == "attaches":
            return f"{self.owner} attaches the managed policy {self.resource}"
        return f"{self.owner} ({self.kind}) {self.how} {self.action} on {self.resource}{to}{sid}"


def _managed_policies(template: Mapping[str, Any]) -> set[tuple[str, str]]:
    return {
        (logical_id, render(arn))
        for logical_id, resource in (template.get("Resources") or {}).items()
        if resource.get("Type") == "AWS::IAM::Role"
        for arn in _as_list((resource.get("Properties") or {}).get("ManagedPolicyArns", []))
    }


def widenings(old_template: Mapping[str, Any], new_template: Mapping[str, Any]) -> list[Widening]:
    """The security changes from ``old_template`` to ``new_template`` that widen access."""
    old, new = template_grants(old_template), template_grants(new_template)
    old_allows = [grant for grant in old if grant.effect == "Allow"]
    found: list[Widening] = []
    wider = [grant for grant in new if grant.effect == "Allow" and not any(_covers(before, grant) for before in old_allows)]
    for grant in wider:
        # One line for what a wider new grant of the same policy already says (kms:* names kms:Decrypt).
        if any(other != grant and other.owner == grant.owner and _covers(other, grant) and not _covers(grant, other) for other in wider):
            continue
        found.append(Widening(grant.owner, grant.kind, "allows", grant.action, grant.resource, grant.principal, grant.sid))
    new_denies = {(g.owner, g.principal, g.action, g.resource, g.conditions) for g in new if g.effect == "Deny"}
    for grant in old:
        if grant.effect == "Deny" and (grant.owner, grant.principal, grant.action, grant.resource, grant.conditions) not in new_denies:
            found.append(Widening(grant.owner, grant.kind, "no longer denies", grant.action, grant.resource, grant.principal, grant.sid))
    for owner, arn in sorted(_managed_policies(new_template) - _managed_policies(old_template)):
        found.append(Widening(owner, "role", "attaches", "", arn))
    return found


# --- the change set -------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceChange:
    action: str  # Add | Modify | Remove | Import | Dynamic
    logical_id: str
    resource_type: str
    replacement: str  # True | False | Conditional | "" (not a Modify)
    properties: tuple[str, ...] = ()

    def line(self) -> str:
        replaced = "  REPLACEMENT" if self.replacement == "True" else "  may be replaced" if self.replacement == "Conditional" else ""
        changed = f"  [{', '.join(self.properties)}]" if self.properties else ""
        return f"{self.action:<7} {self.resource_type:<36} {self.logical_id}{changed}{replaced}"


def resource_changes(change_set: Mapping[str, Any]) -> list[ResourceChange]:
    """DescribeChangeSet's Changes (CloudFormation API reference, ResourceChange)."""
    changes = []
    for change in change_set.get("Changes", []):
        resource = change.get("ResourceChange", {})
        properties = sorted(
            {
                str(detail.get("Target", {}).get("Name"))
                for detail in resource.get("Details", [])
                if detail.get("Target", {}).get("Attribute") == "Properties" and detail.get("Target", {}).get("Name")
            }
        )
        changes.append(
            ResourceChange(
                str(resource.get("Action", "")),
                str(resource.get("LogicalResourceId", "")),
                str(resource.get("ResourceType", "")),
                str(resource.get("Replacement", "")) if resource.get("Action") == "Modify" else "",
                tuple(properties),
            )
        )
    return changes


@dataclass(frozen=True)
class ChangeSummary:
    stack: str
    change_set: str
    where: str  # "account 222222222222 (us-east-1)"
    changes: tuple[ResourceChange, ...] = ()
    widenings: tuple[Widening, ...] = ()
    no_changes: bool = False
    url: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def broadens(self) -> bool:
        return bool(self.widenings)

    def counts(self) -> str:
        if self.no_changes or not self.changes:
            return "no changes"
        by_action = {action: sum(1 for change in self.changes if change.action == action) for action in ("Add", "Modify", "Remove")}
        replaced = sum(1 for change in self.changes if change.replacement == "True")
        counted = ", ".join(f"{count} {action}" for action, count in by_action.items())
        return f"{len(self.changes)} change{'s' * (len(self.changes) != 1)} ({counted}; {replaced} replacement{'s' * (replaced != 1)})"

    def custom_data(self) -> str:
        """The approval's CustomData: the counts and the first widening, within 500 characters."""
        if self.widenings:
            more = f" (and {len(self.widenings) - 1} more)" if len(self.widenings) > 1 else ""
            text = f"{self.stack} in {self.where}: {self.counts()}. Permissions broaden: {self.widenings[0].line()}{more}"
        else:
            text = f"{self.stack} in {self.where}: {self.counts()}. No permission broadens."
        return text if len(text) <= CUSTOM_DATA_LIMIT else text[: CUSTOM_DATA_LIMIT - 1] + "…"

    def text(self) -> str:
        lines = [f"Change set {self.change_set} of {self.stack} in {self.where}: {self.counts()}"]
        lines += [f"  {change.line()}" for change in self.changes]
        if self.widenings:
            lines.append(f"Security changes that widen ({len(self.widenings)}):")
            lines += [f"  {widening.line()}" for widening in self.widenings]
        else:
            lines.append("No security change widens a permission.")
        lines += list(self.notes)
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "broadens": self.broadens, "customData": self.custom_data()}


def summarize(
    stack: str,
    change_set_name: str,
    where: str,
    change_set: Mapping[str, Any],
    old_template: Mapping[str, Any],
    new_template: Mapping[str, Any],
    url: str = "",
) -> ChangeSummary:
    status, reason = change_set.get("Status"), str(change_set.get("StatusReason", ""))
    if status == "FAILED" and NO_CHANGES in reason:
        return ChangeSummary(stack, change_set_name, where, no_changes=True, url=url)
    if status != "CREATE_COMPLETE":
        raise SummaryError(f"change set {change_set_name} of {stack} is {status}: {reason or 'no reason given'}")
    return ChangeSummary(
        stack, change_set_name, where, tuple(resource_changes(change_set)), tuple(widenings(old_template, new_template)), url=url
    )


# --- reading it from the account --------------------------------------------------------


def read_only_session_policy(stack_arn_pattern: str) -> str:
    """What the summary's session may do: describe this stack, its change sets, and read its template."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["cloudformation:DescribeChangeSet", "cloudformation:DescribeStacks", "cloudformation:GetTemplate"],
                    "Resource": stack_arn_pattern,
                }
            ],
        }
    )


def _session(base: Any, role_arn: str, region: str, stack: str) -> Any:
    """``role_arn``'s session, narrowed to reading this stack's change sets and template."""
    import boto3  # the step installs boto3 only; imported here so the module loads without it

    account = role_arn.split(":")[4]
    credentials = base.client("sts", region_name=region).assume_role(
        RoleArn=role_arn,
        RoleSessionName="change-summary",
        Policy=read_only_session_policy(f"arn:aws:cloudformation:{region}:{account}:stack/{stack}/*"),
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


def read_change_set(cloudformation: Any, stack: str, change_set_name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The change set (every page of it) and the deployed template (empty: the stack is new)."""
    from botocore.exceptions import ClientError

    try:
        described = cloudformation.describe_change_set(StackName=stack, ChangeSetName=change_set_name)
        pages = [described]
        while pages[-1].get("NextToken"):
            pages.append(
                cloudformation.describe_change_set(StackName=stack, ChangeSetName=change_set_name, NextToken=pages[-1]["NextToken"])
            )
    except ClientError as error:
        raise SummaryError(f"cannot read change set {change_set_name} of {stack}: {error}") from error
    change_set = {**described, "Changes": [change for page in pages for change in page.get("Changes", [])]}
    old: dict[str, Any] = {}
    # A stack a CREATE change set made is REVIEW_IN_PROGRESS until it is executed: nothing is
    # deployed yet (CloudFormation User Guide, "Stack status codes"); DescribeChangeSet does
    # not say the change set's type.
    try:
        status = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        body = (
            None
            if status == "REVIEW_IN_PROGRESS"
            else cloudformation.get_template(StackName=stack, TemplateStage="Original")["TemplateBody"]
        )
    except ClientError as error:
        raise SummaryError(f"cannot read the deployed template of {stack}: {error}") from error
    if body is not None:
        old = body if isinstance(body, dict) else json.loads(body)
    return change_set, old


def _build_url(region: str) -> str:
    """The CodeBuild console page of this build (CODEBUILD_BUILD_ARN, CodeBuild's environment)."""
    build_arn = os.environ.get("CODEBUILD_BUILD_ARN", "")
    if not build_arn:
        return ""
    account, build = build_arn.split(":")[4], build_arn.split(":build/", 1)[-1]
    project = build.split(":", 1)[0]
    return f"https://{region}.console.aws.amazon.com/codesuite/codebuild/{account}/projects/{project}/build/{build}/?region={region}"


def write(summary: ChangeSummary, output: Path) -> None:
    output.mkdir(parents=True, exist_ok=True)
    (output / f"{summary.stack}.json").write_text(json.dumps(summary.as_json(), indent=2) + "\n")
    (output / f"{summary.stack}.txt").write_text(summary.text() + "\n")


def main(argv: Sequence[str] | None = None, *, base_session: Any = None) -> int:
    """The step's command. ``base_session``: a boto3 Session with the build role's
    credentials (default: the environment's, as in CodeBuild)."""
    parser = argparse.ArgumentParser(prog="python -m pipeline.change_summary", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--stack-name", required=True)
    parser.add_argument("--change-set-name", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--role-arn", required=True, help="the role in the stack's account to read the change set as")
    parser.add_argument("--template", required=True, type=Path, help="the stack's template in the cloud assembly")
    parser.add_argument("--output", required=True, type=Path)
    args = parser.parse_args(argv)
    if base_session is None:
        import boto3

        base_session = boto3.Session()
    try:
        new_template = json.loads(args.template.read_text())
        cloudformation = _session(base_session, args.role_arn, args.region, args.stack_name).client("cloudformation")
        change_set, old_template = read_change_set(cloudformation, args.stack_name, args.change_set_name)
        where = f"account {args.role_arn.split(':')[4]} ({args.region})"
        summary = summarize(args.stack_name, args.change_set_name, where, change_set, old_template, new_template, _build_url(args.region))
    except (SummaryError, OSError, ValueError) as error:
        print(f"change summary: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001  (botocore's own errors: the role could not be assumed)
        print(f"change summary: cannot read the change set of {args.stack_name}: {error}", file=sys.stderr)
        return 1
    write(summary, args.output)
    print(summary.text())
    # One file per exported variable: the step's next command reads each into the build's
    # shell, which the buildspec's env.exported-variables then exports.
    exports = {"SUMMARY": summary.custom_data(), "BROADENS": "true" if summary.broadens else "false", "SUMMARY_URL": summary.url}
    variables = args.output / "variables"
    variables.mkdir(exist_ok=True)
    for name, value in exports.items():
        (variables / name).write_text(value)
    return 0


EXPORTED_VARIABLES = ("SUMMARY", "BROADENS", "SUMMARY_URL")


if __name__ == "__main__":
    sys.exit(main())
