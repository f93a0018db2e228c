"""Every request to the emulated accounts is authenticated as AWS authenticates it: SigV4.

AWS refuses a request unless its ``Authorization`` header carries a Signature Version 4
signature made with the secret key of the access key it names (IAM User Guide, "AWS
Signature Version 4 for API requests"; "Create a signed AWS API request"). The emulator
does the same before moto sees the request, in process (``patches.signed_requests``) and
over the network (``emulator.server``):

- the access key must be one the emulated IAM issued (a user's key, Active) or the
  emulated STS issued (a role session), else ``InvalidClientTokenId``;
- a role session's key must come with its session token (``X-Amz-Security-Token``),
  else ``InvalidClientTokenId``, and before the session expires, else ``ExpiredToken``;
- the signature is recomputed with botocore's own SigV4 signer over the request as it
  arrived (method, path, query, the headers listed in ``SignedHeaders``, the payload
  hash), with the secret the emulated account holds; a mismatch is ``SignatureDoesNotMatch``;
- ``X-Amz-Date`` must be within 15 minutes of now, either way: the API references'
  "Common Errors" page, ``RequestExpired``: "The request reached the service more than 15
  minutes after the date stamp on the request ... or the date stamp on the request is
  more than 15 minutes in the future"; S3's is ``RequestTimeTooSkewed`` (S3 API
  reference, "Error responses"). The IAM User Guide ("AWS Signature Version 4 for API
  requests") says "in most cases ... within five minutes": the emulator takes 15, a guess
  at which services are the exceptions;
- an ``Authorization`` header that is not a whole SigV4 one is ``IncompleteSignature``;
- ``x-moto-account-id``, moto's header that picks an account whatever the credentials, is
  refused: no AWS endpoint honours it, and the account is the credentials' own.

The error codes: Query-protocol services (STS, IAM, CloudFormation) answer what their
"Common Errors" pages list (InvalidClientTokenId, IncompleteSignature,
MissingAuthenticationToken, RequestExpired) and SignatureDoesNotMatch / ExpiredToken,
as STS's error model names them; S3 what its "Error responses" page lists
(InvalidAccessKeyId, SignatureDoesNotMatch, ExpiredToken, AccessDenied,
AuthorizationHeaderMalformed, RequestTimeTooSkewed). JSON-protocol services (Step
Functions, DynamoDB, Secrets Manager, SSM, KMS, Lambda) answer, as recorded from AWS,
UnrecognizedClientException, InvalidSignatureException and ExpiredTokenException; their
"Common Errors" pages do not list the first two, so those names are a guess from AWS's
observed answers, as is the status code of each.

Not emulated: presigned URLs (query-string authentication) and chunk-signed S3 uploads
(``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``: the seed signature is checked, the chunks'
signatures are not). SigV2 and SigV4a are refused, as most AWS endpoints refuse them.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from xml.sax.saxutils import escape

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials as BotocoreCredentials
from moto.iam.models import get_account_id_from, iam_backends

from emulator.identity import assumed_role_of, existing_backend

PARTITION = "aws"
SIGV4_TIMESTAMP = "%Y%m%dT%H%M%SZ"
MAX_CLOCK_SKEW = datetime.timedelta(minutes=15)

# A scope's region and service are lower-case names (us-east-1, secretsmanager): nothing
# else may sit there, least of all something that reads as another access key (below).
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/(?P<service>[a-z0-9-]+)/aws4_request\s*,"
    r"\s*SignedHeaders=(?P<signed>[a-z0-9\-;.]+)\s*,\s*Signature=(?P<signature>[0-9a-f]{64})\s*$"
)
_HEX_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused: the kind of failure, said as AWS says it."""

    kind: str  # "unknown-key" | "incomplete" | "bad-signature" | "expired" | "missing" | "skewed" | "header"
    message: str


@dataclass(frozen=True)
class Authenticated:
    access_key_id: str
    account: str


@dataclass(frozen=True)
class IncomingRequest:
    """A request as it arrived: the raw (still percent-encoded) path and query."""

    method: str
    host: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes

    @functools.cached_property
    def _lowered(self) -> dict[str, str]:
        return {key.lower(): value for key, value in self.headers.items()}

    def header(self, name: str) -> str | None:
        """A header's value, whatever the case of its name (HTTP header names are case-insensitive)."""
        return self._lowered.get(name.lower())


def _secret_for(access_key_id: str) -> tuple[str, str, str | None, datetime.datetime | None] | Refusal:
    """(account, secret key, session token, expiry) of a key the emulated accounts issued."""
    account = get_account_id_from(access_key_id)
    assumed = assumed_role_of(account, access_key_id)
    if assumed is not None:
        return account, assumed.secret_access_key, assumed.session_token, assumed.expiration
    backend = existing_backend(iam_backends, account)
    iam = backend[PARTITION] if backend is not None else None
    key = iam.access_keys.get(access_key_id) if iam is not None else None
    user = getattr(key, "user_name", None)
    # moto deletes a user with its keys still filed (IAM refuses: DeleteConflict): a key whose
    # user is gone names no one, and authenticates no one.
    if iam is None or key is None or getattr(key, "status", "Active") != "Active" or user not in iam.users:
        return Refusal("unknown-key", "The security token included in the request is invalid.")
    return account, key.secret_access_key, None, None


class _ArrivedSigner(SigV4Auth):
    """botocore's signer, signing the headers the request says it signed (not the ones
    botocore would pick) and hashing the payload it carries."""

    def __init__(self, credentials: BotocoreCredentials, service: str, region: str, signed: list[str]) -> None:
        super().__init__(credentials, service, region)
        self._signed = signed

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        chosen = HTTPHeaders()
        for name in self._signed:
            value = request.context["arrived"].header(name)
            if value is None and name == "host":
                value = request.context["arrived"].host
            if value is not None:
                chosen[name] = value
        return chosen

    def payload(self, request: AWSRequest) -> str:
        return hashlib.sha256(request.context["arrived"].body).hexdigest()


class _ArrivedS3Signer(_ArrivedSigner):
    def _normalize_url_path(self, path: str) -> str:
        return path  # S3 signs the path as sent (botocore's S3SigV4Auth does the same)


def expected_signature(request: IncomingRequest, *, secret: str, access_key_id: str, scope: Mapping[str, str], signed: list[str]) -> str:
    """The signature botocore's signer makes for this request with ``secret``."""
    credentials = BotocoreCredentials(access_key_id, secret)
    signer_class = _ArrivedS3Signer if scope["service"] == "s3" else _ArrivedSigner
    signer = signer_class(credentials, scope["service"], scope["region"], signed)
    query = f"?{request.query}" if request.query else ""
    aws_request = AWSRequest(
        method=request.method, url=f"http://{request.host}{request.path}{query}", headers=dict(request.headers), data=request.body
    )
    aws_request.context["timestamp"] = scope["timestamp"]
    aws_request.context["arrived"] = request
    canonical = signer.canonical_request(aws_request)
    return str(signer.signature(signer.string_to_sign(aws_request, canonical), aws_request))


def moto_access_key(authorization: str) -> str | None:
    """The access key moto's ``BaseResponse.get_access_key`` takes from this header."""
    from moto.core.responses import BaseResponse

    found = BaseResponse.access_key_regex.search(authorization)
    return found.group("access_key") if found else None


def authenticate(request: IncomingRequest, *, now: datetime.datetime | None = None) -> Authenticated | Refusal:
    """Who signed ``request``, or why AWS would refuse it."""
    if request.header("x-moto-account-id") is not None:
        return Refusal("header", "x-moto-account-id is refused: the account is the one the request's credentials belong to.")
    authorization = request.header("Authorization")
    if not authorization:
        return Refusal("missing", "Request is missing Authentication Token")
    match = _AUTHORIZATION.match(authorization.strip())
    if match is None:
        return Refusal("incomplete", "Authorization header requires AWS4-HMAC-SHA256 with Credential, SignedHeaders and Signature.")
    access_key_id = match["key"]
    # moto, and the patches that ask it who calls, read the caller's key out of this header
    # with a regular expression of their own: it must find the key that signed, or the call
    # would be authenticated as one key and made as another.
    if moto_access_key(authorization) != access_key_id:
        return Refusal("incomplete", "Authorization header's Credential must name the signing access key, and no other.")
    found = _secret_for(access_key_id)
    if isinstance(found, Refusal):
        return found
    account, secret, session_token, expiry = found
    if session_token is not None and not hmac.compare_digest(request.header("X-Amz-Security-Token") or "", session_token):
        return Refusal("unknown-key", "The security token included in the request is invalid.")
    now = now or datetime.datetime.now(datetime.UTC)
    if expiry is not None and _aware(expiry) <= now:
        return Refusal("expired", "The security token included in the request is expired")
    timestamp = request.header("X-Amz-Date") or ""
    try:
        signed_at = datetime.datetime.strptime(timestamp, SIGV4_TIMESTAMP).replace(tzinfo=datetime.UTC)
    except ValueError:
        return Refusal("incomplete", f"X-Amz-Date {timestamp!r} is not a SigV4 time stamp (YYYYMMDD'T'HHMMSS'Z').")
    if abs(now - signed_at) > MAX_CLOCK_SKEW:
        return Refusal(
            "skewed", f"Signature expired: {timestamp} is more than {MAX_CLOCK_SKEW} from now ({now.strftime(SIGV4_TIMESTAMP)})."
        )
    signed = match["signed"].split(";")
    if "host" not in signed:
        return Refusal("incomplete", "'Host' must be a signed header.")
    content_hash = request.header("X-Amz-Content-SHA256")
    if content_hash is not None and _HEX_SHA256.match(content_hash) and hashlib.sha256(request.body).hexdigest() != content_hash:
        return Refusal("bad-signature", "The provided 'x-amz-content-sha256' header does not match what was computed.")
    scope = {"service": match["service"], "region": match["region"], "timestamp": timestamp}
    if match["date"] != timestamp[:8]:
        return Refusal("bad-signature", f"Credential should be scoped to a valid date: {match['date']} is not {timestamp[:8]}.")
    expected = expected_signature(request, secret=secret, access_key_id=access_key_id, scope=scope, signed=signed)
    if not hmac.compare_digest(expected, match["signature"]):
        return Refusal(
            "bad-signature",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        )
    return Authenticated(access_key_id, account)


def _aware(moment: datetime.datetime) -> datetime.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


# --- the answer AWS gives -------------------------------------------------------------------

# kind -> the error code, per protocol
_CODES = {
    "query": {
        "unknown-key": "InvalidClientTokenId",
        "incomplete": "IncompleteSignature",
        "bad-signature": "SignatureDoesNotMatch",
        "expired": "ExpiredToken",
        "missing": "MissingAuthenticationToken",
        "skewed": "RequestExpired",
        "header": "AccessDenied",
    },
    "json": {
        "unknown-key": "UnrecognizedClientException",
        "incomplete": "IncompleteSignature",
        "bad-signature": "InvalidSignatureException",
        "expired": "ExpiredTokenException",
        "missing": "MissingAuthenticationTokenException",
        "skewed": "RequestExpired",
        "header": "AccessDeniedException",
    },
    "s3": {
        "unknown-key": "InvalidAccessKeyId",
        "incomplete": "AuthorizationHeaderMalformed",
        "bad-signature": "SignatureDoesNotMatch",
        "expired": "ExpiredToken",
        "missing": "AccessDenied",
        "skewed": "RequestTimeTooSkewed",
        "header": "AccessDenied",
    },
}


def protocol_of(request: IncomingRequest) -> str:
    """How the service the request is for answers errors: S3's XML, the Query protocol's
    XML (STS, IAM, CloudFormation), or JSON (everything else this project calls)."""
    authorization = request.header("Authorization") or ""
    scope = _AUTHORIZATION.match(authorization.strip())
    service = scope["service"] if scope else ""
    if service == "s3" or (not service and request.header("X-Amz-Content-SHA256")):
        return "s3"
    if request.header("X-Amz-Target") or service in ("lambda", "states", "dynamodb", "secretsmanager", "ssm", "kms", "logs"):
        return "json"
    if service in ("sts", "iam", "cloudformation") or "Action=" in request.body.decode("utf-8", "replace") or "Action=" in request.query:
        return "query"
    return "json"


def refusal_response(request: IncomingRequest, refusal: Refusal) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of AWS's answer to a refused request."""
    protocol = protocol_of(request)
    code = _CODES[protocol][refusal.kind]
    status = 400 if protocol == "json" and refusal.kind != "missing" else 403
    if protocol == "json":
        body = json.dumps({"__type": code, "message": refusal.message}).encode()
        return status, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}, body
    message = escape(refusal.message)
    if protocol == "s3":
        body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'.encode()
    else:
        body = (
            f'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
            f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>0</RequestId></ErrorResponse>"
        ).encode()
    return status, {"Content-Type": "text/xml"}, body
