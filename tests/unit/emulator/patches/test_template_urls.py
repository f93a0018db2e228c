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
