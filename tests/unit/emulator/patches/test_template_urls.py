"""CloudFormation reads a change set's TemplateURL where `cdk deploy` published it: on the
emulated endpoint, path-style (the CDK CLI's restUrlFromManifest builds
``<S3 endpoint>/<bucket>/<key>``; CloudFormation API reference, CreateChangeSet, TemplateURL)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

TEMPLATE = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})


def _published(account, bucket: str) -> str:
    s3 = account.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="template.json", Body=TEMPLATE.encode())
    return f"http://127.0.0.1:4566/{bucket}/template.json"


def test_moto_still_reads_a_loopback_url_as_a_bucket_named_127(vanilla):
    from emulator.patches import template_urls

    assert template_urls.REASON
    url = _published(vanilla, "templates-vanilla")
    with pytest.raises(ClientError, match="bucket does not exist"):
        vanilla.client("cloudformation").create_change_set(StackName="s", ChangeSetName="c", TemplateURL=url, ChangeSetType="CREATE")


def test_a_loopback_template_url_is_read_path_style(patched, unique):
    url = _published(patched, f"templates-{unique}".lower())
    cloudformation = patched.client("cloudformation")
    cloudformation.create_change_set(StackName=unique, ChangeSetName="c", TemplateURL=url, ChangeSetType="CREATE")
    changes = cloudformation.describe_change_set(StackName=unique, ChangeSetName="c")["Changes"]
    assert [change["ResourceChange"]["ResourceType"] for change in changes] == ["AWS::SNS::Topic"]


def test_a_template_url_is_read_as_the_caller_who_may_read_the_object(patched, other, unique):
    """CloudFormation API Reference, CreateStack TemplateURL: the template is read from S3 as
    the caller, and one it cannot read is a ValidationError ("TemplateURL must reference a
    valid S3 object to which you have access."). moto reads any object for anyone: a role
    denied an object, and another account's administrator, read a private object through
    ValidateTemplate, CreateStack and GetTemplate."""
    from tests.unit.emulator.helpers import client_as_role

    bucket = f"private-{unique}".lower()
    secret_template = json.dumps({"Description": "private description", "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})
    patched.client("s3").create_bucket(Bucket=bucket)
    patched.client("s3").put_object(Bucket=bucket, Key="template.json", Body=secret_template.encode())
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{patched.id}:root"}, "Action": "sts:AssumeRole"}],
    }
    role = patched.role(
        f"cfn-{unique}",
        trust=json.dumps(trust),
        permissions={"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["cloudformation:*", "sns:*"], "Resource": "*"}]},
    )
    for url in (f"http://127.0.0.1:4566/{bucket}/template.json", f"https://s3.amazonaws.com/{bucket}/template.json"):
        for cloudformation in (client_as_role(patched, role, "cloudformation"), other.client("cloudformation")):
            for call, params in ((cloudformation.validate_template, {}), (cloudformation.create_stack, {"StackName": f"leak-{unique}"})):
                with pytest.raises(ClientError) as refused:
                    call(TemplateURL=url, **params)
                assert (
                    refused.value.response["Error"]["Message"] == "TemplateURL must reference a valid S3 object to which you have access."
                )
    assert patched.client("cloudformation").validate_template(TemplateURL=f"https://s3.amazonaws.com/{bucket}/template.json")["Description"]
