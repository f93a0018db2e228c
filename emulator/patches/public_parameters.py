"""AWS's public parameters (``/aws/service/...``) exist in every account and region."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

from moto.core.utils import utcnow
from moto.ssm.models import Parameter, SimpleSystemManagerBackend

REASON = (
    "moto knows no AWS public parameter: a template parameter of type AWS::SSM::Parameter::Value that reads one "
    "(the Powertools layer's ARN) fails to deploy, with an AttributeError."
)

_original = SimpleSystemManagerBackend.get_parameter


def public_parameter_value(name: str, region: str) -> str:
    """A stand-in for an AWS public parameter's value (AWS publishes them; the emulator
    knows the one this project reads, and says so for any other)."""
    if name.startswith("/aws/service/powertools/python/"):
        # /aws/service/powertools/python/<arch>/<python>/<version> -> the layer's ARN (Powertools
        # docs, "Lambda Layer"). The layer version number is a guess: the docs give no mapping.
        _, _, _, _, _, arch, python, version = name.split("/")
        layer = f"AWSLambdaPowertoolsPythonV3-{python.replace('.', '')}-{arch}"
        return f"arn:aws:lambda:{region}:017000801446:layer:{layer}:{version.replace('.', '')}"
    return f"emulated:{name}"


def _get_parameter(self: SimpleSystemManagerBackend, name: str) -> Parameter | None:
    found = _original(self, name)
    if found is None and name.startswith("/aws/service/"):
        found = Parameter(  # type: ignore[abstract]  # moto builds its Parameters so; nothing enforces those abstract methods
            account_id=self.account_id,
            name=name,
            value=public_parameter_value(name, self.region_name),
            parameter_type="String",
            description="AWS public parameter (emulated)",
            allowed_pattern=None,
            keyid=None,
            last_modified_date=utcnow(),
            version=1,
            data_type="text",
        )
    return found


@contextmanager
def patch() -> Iterator[None]:
    with mock.patch.object(SimpleSystemManagerBackend, "get_parameter", _get_parameter):
        yield
