"""A template URL on the emulated accounts' own endpoint is read path-style, as the CDK
CLI writes it.

`cdk deploy` hands CloudFormation the stack's template as a URL of the object it
published: ``<the S3 endpoint>/<bucket>/<key>`` (the CLI's ``restUrlFromManifest``: the
S3 client's endpoint, which ``AWS_ENDPOINT_URL`` sets). On AWS that is
``https://s3.<region>.amazonaws.com/<bucket>/<key>``; here it is
``http://127.0.0.1:<port>/<bucket>/<key>``. moto reads a path-style URL only on
``localhost`` or ``s3*.amazonaws.com`` and takes the first label of any other host for the
bucket (``127``), so the change set failed with "The specified bucket does not exist".
A URL on a loopback address is read path-style here, as on ``localhost``. Whether the
caller may read the object CloudFormation does not check in moto, and neither here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock
from urllib.parse import urlparse

from moto.cloudformation import responses, utils

REASON = (
    "moto reads a TemplateURL path-style only on localhost or an amazonaws.com host: the CDK CLI's URL on the emulated "
    "endpoint (http://127.0.0.1:<port>/<bucket>/<key>) was read as bucket '127'."
)

_original = utils.get_stack_from_s3_url


def _on_loopback(template_url: str) -> bool:
    host = urlparse(template_url).hostname or ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _get_stack_from_s3_url(template_url: str, account_id: str, partition: str) -> str:
    if _on_loopback(template_url):
        from moto.s3.models import s3_backends

        bucket_name, key_name = urlparse(template_url).path.lstrip("/").split("/", 1)
        key = s3_backends[account_id][partition].get_object(bucket_name, key_name)
        return key.value.decode("utf-8")  # type: ignore[union-attr]
    return _original(template_url, account_id, partition)


@contextmanager
def patch() -> Iterator[None]:
    with mock.patch.object(responses, "get_stack_from_s3_url", _get_stack_from_s3_url):
        yield
