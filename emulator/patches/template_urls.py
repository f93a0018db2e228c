"""A template URL on the emulated accounts' own endpoint is read path-style, as the CDK
CLI writes it.

`cdk deploy` hands CloudFormation the stack's template as a URL of the object it
published: ``<the S3 endpoint>/<bucket>/<key>`` (the CLI's ``restUrlFromManifest``: the
S3 client's endpoint, which ``AWS_ENDPOINT_URL`` sets). On AWS that is
``https://s3.<region>.amazonaws.com/<bucket>/<key>``; here it is
``http://127.0.0.1:<port>/<bucket>/<key>``. moto reads a path-style URL only on
``localhost`` or ``s3*.amazonaws.com`` and takes the first label of any other host for the
bucket (``127``), so the change set failed with "The specified bucket does not exist".
A URL on a loopback address is read path-style here, as on ``localhost``.

moto reads any bucket's object, whoever asks. CloudFormation reads it as the caller: "The
URL must point to a template ... located in an Amazon S3 bucket" that you can read
(CloudFormation API Reference, CreateStack ``TemplateURL``; the error is a ValidationError,
"TemplateURL must reference a valid S3 object to which you have access."). So the caller's
s3:GetObject on the object, and the bucket's policy, are checked first: a role denied an
object, and another account's administrator, read it through CreateStack and GetTemplate.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock
from urllib.parse import urlparse

from moto.cloudformation import models, responses, utils
from moto.cloudformation.exceptions import ValidationError

from emulator.authorization import may_read_object
from emulator.cloudformation_execution import current_caller

REASON = (
    "moto reads a TemplateURL path-style only on localhost or an amazonaws.com host: the CDK CLI's URL on the emulated "
    "endpoint (http://127.0.0.1:<port>/<bucket>/<key>) was read as bucket '127'. And it reads any object for anyone."
)

_original = utils.get_stack_from_s3_url


def _on_loopback(template_url: str) -> bool:
    host = urlparse(template_url).hostname or ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bucket_and_key(template_url: str) -> tuple[str, str]:
    """The object a template URL names, as moto reads it (moto.cloudformation.utils), and
    path-style on a loopback address."""
    parts = urlparse(template_url)
    if (
        _on_loopback(template_url)
        or "localhost" in template_url
        or (parts.netloc.endswith("amazonaws.com") and parts.netloc.startswith("s3"))
    ):
        bucket, _, key = parts.path.lstrip("/").partition("/")
        return bucket, key
    return parts.netloc.split(".")[0], parts.path.lstrip("/")


def _get_stack_from_s3_url(template_url: str, account_id: str, partition: str) -> str:
    bucket_name, key_name = _bucket_and_key(template_url)
    caller = current_caller()
    if caller is not None:
        principal, region = caller
        if not may_read_object(principal, bucket_name, key_name, region).allowed:
            raise ValidationError(message="TemplateURL must reference a valid S3 object to which you have access.")
    if _on_loopback(template_url):
        from moto.s3.models import s3_backends

        key = s3_backends[account_id][partition].get_object(bucket_name, key_name)
        return key.value.decode("utf-8")  # type: ignore[union-attr]
    return _original(template_url, account_id, partition)


@contextmanager
def patch() -> Iterator[None]:
    # Both copies: the API's (CreateStack, ValidateTemplate, ...) and a nested stack's (models).
    with (
        mock.patch.object(responses, "get_stack_from_s3_url", _get_stack_from_s3_url),
        mock.patch.object(models, "get_stack_from_s3_url", _get_stack_from_s3_url),
    ):
        yield
