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

from tests.unit.emulator.helpers import ACCOUNT, OTHER_ACCOUNT, REGION

VALUE = secrets.token_urlsafe(16)  # generated: a secret value is never written down
MADE_UP_KEY = "AKIAFAKEFAKEFAKEFAKE"


def _client(service: str, key: str, secret: str, **extra):
    return boto3.client(service, region_name=REGION, aws_access_key_id=key, aws_secret_access_key=secret, **extra)


def _refused_with(call, *args, **kwargs) -> str:
    """The error code a refused call answers (the call must be refused)."""
    with pytest.raises(ClientError) as refused:
        call(*args, **kwargs)
    return str(refused.value.response["Error"]["Code"])


def test_moto_acts_on_a_made_up_key(vanilla):
    from emulator.patches import signed_requests

    assert signed_requests.REASON
    vanilla.client("secretsmanager").create_secret(Name="s", SecretString=VALUE)
    assert _client("secretsmanager", MADE_UP_KEY, "x" * 40).get_secret_value(SecretId="s")["SecretString"] == VALUE  # the gap


def test_a_made_up_key_is_refused(patched, unique):
    """Common Errors (STS API reference): InvalidClientTokenId, "The X.509 certificate or AWS
    access key ID provided does not exist in our records"."""
    patched.client("secretsmanager").create_secret(Name=unique, SecretString=VALUE)
    made_up = _client("secretsmanager", MADE_UP_KEY, "x" * 40)
    assert _refused_with(made_up.get_secret_value, SecretId=unique) == "UnrecognizedClientException"
    assert _refused_with(_client("sts", MADE_UP_KEY, "x" * 40).get_caller_identity) == "InvalidClientTokenId"


def test_a_real_key_with_a_wrong_secret_is_refused(emulator, patched, unique):
    patched.client("secretsmanager").create_secret(Name=unique, SecretString=VALUE)
    key = emulator.credentials(ACCOUNT).access_key_id
    wrong_secret = _client("secretsmanager", key, "y" * 40)
    assert _refused_with(wrong_secret.get_secret_value, SecretId=unique) == "InvalidSignatureException"
    assert _refused_with(_client("sts", key, "y" * 40).get_caller_identity) == "SignatureDoesNotMatch"


def test_a_role_session_needs_its_token_and_expires(emulator, patched):
    from moto.sts.models import sts_backends

    sts = patched.client("sts")
    role = patched.client("iam").create_role(
        RoleName=f"r{secrets.token_hex(4)}",
        AssumeRolePolicyDocument=f'{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"sts:AssumeRole"}}]}}',
    )["Role"]["Arn"]
    session = sts.assume_role(RoleArn=role, RoleSessionName="tt")["Credentials"]
    without_token = _client("sts", session["AccessKeyId"], session["SecretAccessKey"])
    assert _refused_with(without_token.get_caller_identity) == "InvalidClientTokenId"
    with_token = _client("sts", session["AccessKeyId"], session["SecretAccessKey"], aws_session_token=session["SessionToken"])
    assert with_token.get_caller_identity()["Arn"].endswith("/tt")
    assumed = sts_backends[ACCOUNT]["aws"].get_assumed_role_from_access_key(session["AccessKeyId"])
    assumed.expiration = assumed.expiration.replace(year=2000)  # the session's hour has passed
    assert _refused_with(with_token.get_caller_identity) == "ExpiredToken"


def test_the_account_header_is_refused(emulator, other, unique):
    other.client("secretsmanager").create_secret(Name=unique, SecretString=VALUE)
    credentials = emulator.credentials(ACCOUNT)
    client = _client("secretsmanager", credentials.access_key_id, credentials.secret_access_key)

    def pick_the_other_account(request, **_):
        request.headers["x-moto-account-id"] = OTHER_ACCOUNT

    client.meta.events.register_first("before-sign.secrets-manager.*", pick_the_other_account)
    assert _refused_with(client.get_secret_value, SecretId=unique) == "AccessDeniedException"


def test_the_key_of_a_deleted_user_is_refused(emulator, patched, unique):
    """IAM refuses to delete a user that still has access keys (DeleteConflict); moto deletes
    it and keeps the key filed. Such a key names no one: refused as any unknown key."""
    iam = patched.client("iam")
    iam.create_user(UserName=unique)
    key = iam.create_access_key(UserName=unique)["AccessKey"]
    assert _client("sts", key["AccessKeyId"], key["SecretAccessKey"]).get_caller_identity()["Account"] == ACCOUNT
    iam.delete_user(UserName=unique)
    assert _refused_with(_client("sts", key["AccessKeyId"], key["SecretAccessKey"]).get_caller_identity) == "InvalidClientTokenId"


def test_a_request_signed_with_one_key_never_acts_as_another(emulator):
    """moto takes the caller's key from the Authorization header with a greedy regular
    expression: the last 20-character key-like word. An attacker signing with their own key,
    and putting another's key ID where the scope's region goes, was authenticated as
    themselves and then acted as the other key (another account's administrator). The
    scope's region and service are lower-case names, and moto must find the signing key."""
    from botocore.config import Config

    attacker = emulator.credentials(ACCOUNT)
    victim = emulator.credentials(OTHER_ACCOUNT)
    smuggling = boto3.client(
        "sts",
        region_name=victim.access_key_id,  # the scope's region: Credential=<attacker>/<date>/<victim>/sts/aws4_request
        endpoint_url="https://sts.amazonaws.com",
        aws_access_key_id=attacker.access_key_id,
        aws_secret_access_key=attacker.secret_access_key,
        config=Config(user_agent_extra=f"region/{REGION}"),
    )
    assert _refused_with(smuggling.get_caller_identity) == "IncompleteSignature"
    own = _client("sts", attacker.access_key_id, attacker.secret_access_key)
    assert own.get_caller_identity()["Account"] == ACCOUNT


def test_a_time_stamp_more_than_15_minutes_off_is_refused(emulator):
    """Common Errors (API references), RequestExpired: "more than 15 minutes after the date
    stamp on the request ... or the date stamp on the request is more than 15 minutes in the future"."""
    credentials = emulator.credentials(ACCOUNT)
    client = _client("sts", credentials.access_key_id, credentials.secret_access_key)
    signed_at = []
    client.meta.events.register("before-sign.sts.*", lambda request, **_: signed_at.append(request))
    assert client.get_caller_identity()["Account"] == ACCOUNT
    from datetime import UTC, datetime, timedelta

    from emulator.authentication import authenticate
    from emulator.patches.signed_requests import incoming

    sent = signed_at[-1].prepare()
    now = datetime.now(UTC)
    assert not hasattr(authenticate(incoming(sent), now=now + timedelta(minutes=14)), "kind")
    assert authenticate(incoming(sent), now=now + timedelta(minutes=16)).kind == "skewed"
    assert authenticate(incoming(sent), now=now - timedelta(minutes=16)).kind == "skewed"


def test_an_incomplete_authorization_header_is_refused(emulator):
    """Common Errors (API references), IncompleteSignature: "The request signature does not
    conform to AWS standards" (here: a SigV2-style header)."""
    credentials = emulator.credentials(ACCOUNT)
    client = _client("sts", credentials.access_key_id, credentials.secret_access_key)

    def sign_the_old_way(request, **_):
        request.headers["Authorization"] = f"AWS {credentials.access_key_id}:c2lnbmF0dXJl"

    # After botocore has signed it, before moto (also a before-send handler) receives it.
    client.meta.events.register_first("before-send.sts.*", sign_the_old_way)
    assert _refused_with(client.get_caller_identity) == "IncompleteSignature"


def test_the_server_refuses_web_pages_other_hosts_and_moto_api(emulator):
    from local_pipeline.keep_up import served

    credentials = emulator.credentials(ACCOUNT)
    with served() as url:
        port = url.rsplit(":", 1)[1]
        allowed = boto3.client("sts", region_name=REGION, endpoint_url=url, **credentials.as_boto3_kwargs())
        assert allowed.get_caller_identity()["Account"] == ACCOUNT
        # Each attack: (url, method, headers) -> (status, what the answer says)
        unsigned = f"{url}/?Action=GetCallerIdentity&Version=2011-06-15"
        attempts = {
            "reset": ((f"{url}/moto-api/reset", "POST", {}), (404, "is not served")),
            "cross-origin": ((unsigned, "GET", {"Origin": "http://evil.example"}), (403, "web pages")),
            "preflight": (
                (unsigned, "OPTIONS", {"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"}),
                (403, "web pages"),
            ),
            "rebinding": ((unsigned, "GET", {"Host": f"evil.example:{port}"}), (403, "is not this service")),
            "unsigned": ((unsigned, "GET", {}), (403, "MissingAuthenticationToken")),
        }
        for name, ((address, method, headers), (status, said)) in attempts.items():
            request = urllib.request.Request(address, method=method, headers=headers, data=b"" if method == "POST" else None)  # noqa: S310
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=10)  # noqa: S310  (our loopback server)
            assert refused.value.code == status, name
            assert said in refused.value.read().decode(), name
            assert not [h for h in refused.value.headers if h.lower().startswith("access-control-")], name


def test_a_signed_request_reaches_no_moto_backend_of_moto_s_own(emulator):
    """moto picks its backend from the path, and else from the host that the signature's
    credential scope names: a request signed for the service "motoapi" at /%2Fmoto-api/...
    (moto's routes read "//moto-api" as "/moto-api") would reach moto's control API, where
    data.json lists every account's keys and reset wipes them; one scoped to the metadata
    address would reach the instance-metadata endpoint. Any key could sign it. Refused, and
    the accounts are still there."""
    import http.client

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from local_pipeline.keep_up import served

    credentials = emulator.credentials(ACCOUNT)
    with served() as url:
        port = int(url.rsplit(":", 1)[1])
        attacks = {
            "data.json": ("GET", "/%2Fmoto-api/data.json", "motoapi", "us-east-1"),
            "reset": ("POST", "/%2Fmoto-api/reset", "motoapi", "us-east-1"),
            "reset, slashes": ("POST", "//moto-api/reset", "motoapi", "us-east-1"),
            "metadata": ("GET", "/%2Flatest/meta-data/iam/security-credentials/", "169", "254.169.254"),
        }
        for name, (method, path, service, region) in attacks.items():
            request = AWSRequest(method, f"{url}{path}", data=b"")
            SigV4Auth(Credentials(credentials.access_key_id, credentials.secret_access_key), service, region).add_auth(request)
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request(method, path, body=b"", headers=dict(request.headers))
            answer = connection.getresponse()
            said = answer.read().decode()
            connection.close()
            assert answer.status == 404, (name, answer.status, said[:200])
            assert "is not served" in said and "AccessKey" not in said, name
        still = boto3.client("sts", region_name=REGION, endpoint_url=url, **credentials.as_boto3_kwargs())
        assert still.get_caller_identity()["Account"] == ACCOUNT  # nothing was reset


def test_a_body_over_the_limit_is_refused_before_it_is_read():
    """The body is read before the signature over it can be checked: anyone who reaches the
    port could make the service hold any length in memory. Over MAX_BODY it is refused
    (413) from its declared length, and nothing is read."""
    import http.client

    from emulator.server import MAX_BODY
    from local_pipeline.keep_up import served

    with served() as url:
        port = int(url.rsplit(":", 1)[1])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.putrequest("POST", "/")
        connection.putheader("Content-Length", str(MAX_BODY + 1))
        connection.putheader("Content-Type", "application/x-www-form-urlencoded")
        connection.endheaders(b"Action=GetCallerIdentity")  # the rest never comes
        answer = connection.getresponse()
        assert answer.status == 413
        assert "is not read here" in answer.read().decode()
        connection.close()


def test_a_kept_session_is_renewed_before_it_expires(emulator, patched, monkeypatch):
    """Requests are authenticated, so a session kept past its hour would be refused
    (ExpiredToken): the emulator's own sessions are minted anew before then."""
    from emulator import identity

    role = patched.client("iam").create_role(
        RoleName=f"r{secrets.token_hex(4)}",
        AssumeRolePolicyDocument=f'{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"sts:AssumeRole"}}]}}',
    )["Role"]["Arn"]
    fresh = identity.mint_role_credentials(role, "fresh", REGION)
    assert identity.mint_role_credentials(role, "fresh", REGION) == fresh  # reused while fresh
    monkeypatch.setattr(identity, "_RENEW_BEFORE_EXPIRY", identity.datetime.timedelta(hours=2))  # a session's hour is always near its end
    ending = identity.mint_role_credentials(role, "ending", REGION)
    assert identity.mint_role_credentials(role, "ending", REGION).access_key_id != ending.access_key_id
