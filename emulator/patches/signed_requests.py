"""Every request made in process is authenticated before moto sees it (emulator.authentication)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

from botocore.awsrequest import AWSPreparedRequest
from moto.core.botocore_stubber import BotocoreStubber

from emulator.authentication import IncomingRequest, Refusal, authenticate, refusal_response

REASON = (
    "moto never checks a request's signature: a made-up access key acts in moto's default account, a real key ID "
    "with a wrong secret acts as that key's principal, and the x-moto-account-id header picks any account."
)

_original = BotocoreStubber.process_request


def incoming(request: AWSPreparedRequest) -> IncomingRequest:
    """The request as botocore hands it to the wire: its URL still percent-encoded."""
    url = urlsplit(request.url)
    body: Any = request.body
    if hasattr(body, "read"):
        if hasattr(body, "tell") and hasattr(body, "seek"):  # read it, and leave it where it was for moto
            position = body.tell()
            data = body.read()
            body.seek(position)
            body = data
        else:
            # A stream that cannot be rewound (botocore's aws-chunked upload with a trailing
            # checksum) is signed as X-Amz-Content-SHA256: STREAMING-UNSIGNED-PAYLOAD-TRAILER,
            # which stands in for the payload; without that header the check fails, closed.
            body = b""
    if isinstance(body, str):
        body = body.encode()
    return IncomingRequest(
        method=str(request.method),
        host=url.netloc,
        path=url.path or "/",
        query=url.query,
        headers={str(key): _text(value) for key, value in request.headers.items()},
        body=body or b"",
    )


def _text(value: str | bytes) -> str:
    # botocore keeps the headers it set itself as bytes (HTTP headers are ISO-8859-1 on the wire).
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


# moto in process handles only AWS's own host names; a request to the kept-up port goes out
# to it, and emulator.server authenticates it there (once, not twice).
_LOOPBACK = ("127.0.0.1", "localhost")


def _process_request(self: BotocoreStubber, request: AWSPreparedRequest) -> Any:
    if urlsplit(request.url).hostname in _LOOPBACK:
        return _original(self, request)
    arrived = incoming(request)
    outcome = authenticate(arrived)
    if isinstance(outcome, Refusal):
        return refusal_response(arrived, outcome)
    return _original(self, request)


@contextmanager
def patch() -> Iterator[None]:
    with mock.patch.object(BotocoreStubber, "process_request", _process_request):
        yield
