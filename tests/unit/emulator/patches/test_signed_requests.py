"""Every request is authenticated with SigV4 before moto acts (IAM User Guide, "AWS Signature
Version 4 for API requests"; the services' "Common Errors": InvalidClientTokenId,
SignatureDoesNotMatch, ExpiredToken). moto as shipped acts on a made-up key."""

from __future__ import annotations

import secrets
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError

from emulator.patches import signed_requests
from local_pipeline.keep_up import served
from tests.unit.emulator.helpers import ACCOUNT, OTHER_ACCOUNT, REGION

VALUE = secrets.token_urlsafe(16)  # generated: a secret value is never written down
MADE_UP_KEY = "AKIAFAKEFAKEFAKEFAKE"


def _client(service: str, key: str, secret: str, **extra):
    return boto3.client(service, region_name=REGION, aws_access_key_id=key, aws_secret_access_key=secret, **extra)


def test_moto_acts_on_a_made_up_key(vanilla):
    assert signed_requests.REASON
    vanilla.client("secretsmanager").create_secret(Name="s", SecretString=VALUE)
    assert _client("secretsmanager", MADE_UP_KEY, "x" * 40).get_secret_value(SecretId="s")["SecretString"] == VALUE  # the gap


def test_a_made_up_key_is_refused(patched, unique):
    patched.client("secretsmanager").create_secret(Name=unique, SecretString=VALUE)
    with pytest.raises(ClientError) as refused:
        _client("secretsmanager", MADE_UP_KEY, "x" * 40).get_secret_value(SecretId=unique)
    assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"
    with pytest.raises(ClientError) as refused:
        _client("sts", MADE_UP_KEY, "x" * 40).get_caller_identity()
    assert refused.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_a_real_key_with_a_wrong_secret_is_refused(emulator, patched, unique):
    patched.client("secretsmanager").create_secret(Name=unique, SecretString=VALUE)
    key = emulator.credentials(ACCOUNT).access_key_id
    with pytest.raises(ClientError) as refused:
        _client("secretsmanager", key, "y" * 40).get_secret_value(SecretId=unique)
    assert refused.value.response["Error"]["Code"] == "InvalidSignatureException"
    with pytest.raises(ClientError) as refused:
        _client("sts", key, "y" * 40).get_caller_identity()
    assert refused.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_a_role_session_needs_its_token_and_expires(emulator, patched):
    from moto.sts.models import sts_backends

    sts = patched.client("sts")
    role = patched.client("iam").create_role(
        RoleName=f"r{secrets.token_hex(4)}",
        AssumeRolePolicyDocument=f'{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"sts:AssumeRole"}}]}}',
    )["Role"]["Arn"]
    session = sts.assume_role(RoleArn=role, RoleSessionName="tt")["Credentials"]
    without_token = _client("sts", session["AccessKeyId"], session["SecretAccessKey"])
    with pytest.raises(ClientError) as refused:
        without_token.get_caller_identity()
    assert refused.value.response["Error"]["Code"] == "InvalidClientTokenId"
    with_token = _client("sts", session["AccessKeyId"], session["SecretAccessKey"], aws_session_token=session["SessionToken"])
    assert with_token.get_caller_identity()["Arn"].endswith("/tt")
    assumed = sts_backends[ACCOUNT]["aws"].get_assumed_role_from_access_key(session["AccessKeyId"])
    assumed.expiration = assumed.expiration.replace(year=2000)  # the session's hour has passed
    with pytest.raises(ClientError) as refused:
        with_token.get_caller_identity()
    assert refused.value.response["Error"]["Code"] == "ExpiredToken"


def test_the_account_header_is_refused(emulator, other, unique):
    other.client("secretsmanager").create_secret(Name=unique, SecretString=VALUE)
    credentials = emulator.credentials(ACCOUNT)
    client = _client("secretsmanager", credentials.access_key_id, credentials.secret_access_key)

    def pick_the_other_account(request, **_):
        request.headers["x-moto-account-id"] = OTHER_ACCOUNT

    client.meta.events.register_first("before-sign.secrets-manager.*", pick_the_other_account)
    with pytest.raises(ClientError) as refused:
        client.get_secret_value(SecretId=unique)
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"


def test_the_server_refuses_web_pages_other_hosts_and_moto_api(emulator):
    credentials = emulator.credentials(ACCOUNT)
    with served() as url:
        port = url.rsplit(":", 1)[1]
        allowed = boto3.client("sts", region_name=REGION, endpoint_url=url, **credentials.as_boto3_kwargs())
        assert allowed.get_caller_identity()["Account"] == ACCOUNT
        attempts = {
            "reset": (f"{url}/moto-api/reset", "POST", {}),
            "cross-origin": (f"{url}/", "POST", {"Origin": "http://evil.example"}),
            "preflight": (f"{url}/", "OPTIONS", {"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}),
            "rebinding": (f"{url}/", "POST", {"Host": f"evil.example:{port}"}),
            "unsigned": (f"{url}/?Action=GetCallerIdentity&Version=2011-06-15", "GET", {}),
        }
        for name, (address, method, headers) in attempts.items():
            request = urllib.request.Request(address, method=method, headers=headers, data=b"" if method == "POST" else None)  # noqa: S310
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=10)  # noqa: S310  (our loopback server)
            assert refused.value.code in (403, 404), name
            assert not [h for h in refused.value.headers if h.lower().startswith("access-control-")], name
