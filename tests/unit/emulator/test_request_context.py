"""The condition keys a call carries (emulator.request_context), each as the IAM User Guide's
"AWS global condition context keys" page (docs.aws.amazon.com/IAM/latest/UserGuide/
reference_policies_condition-keys.html) describes it."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import pytest
from moto.core.request import Request as MotoRequest

from emulator.policy_evaluation import Principal, Request, authorize
from emulator.request_context import LOOPBACK, Transport, absence_is_known, global_keys, transport_of

ROLE = Principal(account="111111111111", arn="arn:aws:iam::111111111111:role/Consumer")
USER = Principal(account="111111111111", arn="arn:aws:iam::111111111111:user/emulator-admin")
MOMENT = datetime.datetime(2026, 12, 7, 1, 30, 15, tzinfo=datetime.UTC)


def _server_request(scheme: str = "http") -> SimpleNamespace:
    # What moto's server hands an operation: werkzeug's request of the WSGI environ.
    return SimpleNamespace(from_wsgi_server=True, environ={"REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": scheme}, url="")


def test_a_call_through_the_local_server_comes_from_the_loopback_and_counts_as_tls():
    """ "AWS global condition context keys": aws:SourceIp - "Use this key to compare the
    requester's IP address with the IP address that you specify in the policy";
    aws:SecureTransport - "Use this key to check whether the request was sent using TLS". The
    emulator's server listens on http://127.0.0.1 (emulator.server), standing in for the TLS
    endpoint a build reaches on AWS: it counts as TLS (a guess, docs/emulator.md), or the buckets' TLS-only
    policies would refuse every build."""
    assert transport_of(_server_request()) == Transport(source_ip=LOOPBACK, secure=True)
    assert transport_of(_server_request("https")).secure


def test_an_in_process_call_goes_to_the_sdks_https_endpoint():
    """ "AWS global condition context keys", aws:SecureTransport: "Use this key to check whether
    the request was sent using TLS." In process, botocore sends to https://<service>.<region>.amazonaws.com."""
    request = MotoRequest.from_primitives("POST", "https://secretsmanager.us-east-1.amazonaws.com/", {}, b"")
    assert transport_of(request) == Transport(source_ip=LOOPBACK, secure=True)
    plain = MotoRequest.from_primitives("POST", "http://secretsmanager.us-east-1.amazonaws.com/", {}, b"")
    assert not transport_of(plain).secure
    assert transport_of(None) == Transport()


def test_the_global_keys_of_a_role_session():
    """ "AWS global condition context keys": aws:CurrentTime ("Availability – This key is always
    included in the request context", ISO 8601), aws:EpochTime (epoch or Unix time),
    aws:PrincipalArn (for a role session, "the ARN of the role"), aws:PrincipalAccount,
    aws:PrincipalType ("AssumedRole"), aws:RequestedRegion, aws:ResourceAccount,
    aws:ViaAWSService ("false" when the principal calls directly)."""
    keys = global_keys(ROLE, region="us-east-1", resource_account="222222222222", transport=Transport(secure=False), now=MOMENT)
    assert keys == {
        "aws:CurrentTime": "2026-12-07T01:30:15Z",
        "aws:EpochTime": str(int(MOMENT.timestamp())),
        "aws:SourceIp": "127.0.0.1",
        "aws:SecureTransport": "false",
        "aws:RequestedRegion": "us-east-1",
        "aws:ResourceAccount": "222222222222",
        "aws:ViaAWSService": "false",
        "aws:PrincipalIsAWSService": "false",
        "aws:PrincipalArn": ROLE.arn,
        "aws:PrincipalAccount": "111111111111",
        "aws:PrincipalType": "AssumedRole",
    }


def test_a_user_carries_its_name_and_tags_and_a_service_its_name():
    """ "AWS global condition context keys": aws:username ("the requester's user name" - IAM
    users only), aws:PrincipalTag/tag-key ("the tag attached to the principal"),
    aws:PrincipalServiceName and aws:PrincipalIsAWSService ("true" for a service principal)."""
    keys = global_keys(USER, region="us-east-1", resource_account="111111111111", principal_tags={"team": "a"}, now=MOMENT)
    assert keys["aws:username"] == "emulator-admin" and keys["aws:PrincipalType"] == "User"
    assert keys["aws:PrincipalTag/team"] == "a" and keys["aws:SecureTransport"] == "true"
    service = global_keys(Principal(service="states.amazonaws.com"), region="us-east-1", resource_account="1", now=MOMENT)
    assert service["aws:PrincipalIsAWSService"] == "true" and service["aws:PrincipalServiceName"] == "states.amazonaws.com"
    assert "aws:PrincipalArn" not in service


@pytest.mark.parametrize(
    ("key", "known"),
    [
        ("sts:ExternalId", True),
        ("STS:externalid", True),  # keys ignore case
        ("kms:EncryptionContext:aws:states:stateMachineArn", True),
        ("aws:RequestTag/Team", False),  # carried by a request with tags (authorization.request_tags says which)
        ("aws:PrincipalOrgID", True),
        ("aws:SourceVpce", True),
        ("aws:PrincipalTag/team", False),  # present on AWS when the role is tagged
        ("aws:MultiFactorAuthPresent", False),
        ("aws:SourceIp", False),  # always present on AWS: missing means the caller did not build the context
        ("s3:prefix", False),
    ],
)
def test_which_missing_keys_are_really_absent(key, known):
    """IAM User Guide, "IAM JSON policy elements: Condition operators": "If the key that you
    specify in a policy condition is not present in the request context, the values do not
    match" - true of a key the emulator puts in every context whenever AWS would, or that no
    emulated call carries (no organization, no VPC endpoint); of another key the emulator
    cannot say it is absent."""
    assert absence_is_known(key) is known
    assert absence_is_known("iam:ResourceTag/aws-cdk:bootstrap-role", ["iam:ResourceTag/*"])


def test_a_deny_of_plain_http_denies_a_call_without_tls_and_not_one_through_the_local_server():
    """IAM User Guide, "IAM JSON policy elements: Condition operators", Boolean: its example
    denies "all S3 actions on a bucket and its contents if the request is not over SSL" with
    "Bool": {"aws:SecureTransport": "false"}; and IpAddress with aws:SourceIp: "the IP address
    that the request originates from"."""
    keys = global_keys(ROLE, region="us-east-1", resource_account="111111111111", transport=Transport(secure=False), now=MOMENT)
    policies = [
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}},
                {"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            ],
        }
    ]
    over_http = Request(ROLE, "s3:GetObject", "arn:aws:s3:::bucket/key", keys)
    assert not authorize(over_http, identity_policies=policies, resource_account="111111111111").allowed
    over_tls = Request(ROLE, "s3:GetObject", "arn:aws:s3:::bucket/key", keys | {"aws:SecureTransport": "true"})
    assert authorize(over_tls, identity_policies=policies, resource_account="111111111111").allowed
    served = global_keys(ROLE, region="us-east-1", resource_account="111111111111", transport=transport_of(_server_request()), now=MOMENT)
    local = Request(ROLE, "s3:GetObject", "arn:aws:s3:::bucket/key", served)
    assert authorize(local, identity_policies=policies, resource_account="111111111111").allowed, "the local service counts as TLS"
