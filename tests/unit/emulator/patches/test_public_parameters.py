"""AWS public parameters (``/aws/service/...``) resolve in every account and region:
AWS Systems Manager User Guide, "Discovering public parameters in Parameter Store", and
Powertools for AWS Lambda (Python) docs, "Lambda Layer" (the SSM parameter
``/aws/service/powertools/python/<arch>/<python>/<version>`` holds the layer's ARN).
The layer version number in the emulated ARN is a guess: AWS numbers layer versions one
by one and the docs give no mapping from the Powertools version."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from emulator.patches import public_parameters

POWERTOOLS = "/aws/service/powertools/python/arm64/python3.13/3.37.0"


def test_moto_knows_no_public_parameter(vanilla):
    assert public_parameters.REASON
    with pytest.raises(ClientError, match="ParameterNotFound"):
        vanilla.client("ssm").get_parameter(Name=POWERTOOLS)


def test_every_account_reads_the_public_parameters(patched, other):
    for account in (patched, other):
        value = account.client("ssm").get_parameter(Name=POWERTOOLS)["Parameter"]["Value"]
        assert value == "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:3370"
