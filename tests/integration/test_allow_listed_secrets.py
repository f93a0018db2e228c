"""Several allow-listed secrets, from configuration: an existing secret of the trusting
account, listed by name beside the sample one, is served to a consumer configured for
it; a secret that is not listed still ends SecretNotAllowed.

The app is synthesized for this module with that configuration, and deployed into fresh
emulated accounts where the existing secret was created first, as it would be on AWS.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from integration_target import secret_of
from project.assembly import read_stacks
from project.config import sample_secret_name
from tests.helpers import suite_context, synthesize, without_source

if TYPE_CHECKING:
    from local_pipeline.deployment import LocalDeployment

EXISTING = "payments/api_token"


@pytest.fixture(scope="module")
def existing_value() -> str:
    return secrets.token_urlsafe(24)  # generated: no secret is written down


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, existing_value: str) -> Iterator[LocalDeployment]:
    from emulator import Emulator
    from local_pipeline.deployment import deploy_environment

    context = without_source(suite_context())
    (environment,) = context["environments"]
    environment |= {"secrets": [{"name": sample_secret_name(environment["name"])}, {"name": EXISTING}], "consumerSecret": EXISTING}
    app = synthesize(tmp_path_factory.mktemp("two-secrets"), context)
    with Emulator() as emulator:
        trusting = emulator.client("secretsmanager", environment["trusting"]["account"], environment["trusting"]["region"])
        trusting.create_secret(Name=EXISTING, SecretString=existing_value)  # under aws/secretsmanager
        yield deploy_environment(emulator, read_stacks(app.outdir), environment["name"])


def test_a_consumer_configured_for_an_existing_listed_secret_gets_its_value(deployment, existing_value):
    result = deployment.target().run_consumer()
    assert secret_of(result)["SecretValue"] == existing_value
    assert secret_of(result)["SecretArn"].split(":secret:", 1)[1].startswith(EXISTING)


def test_a_secret_that_is_not_listed_still_ends_secret_not_allowed(deployment):
    other = deployment.trusting("secretsmanager").create_secret(Name="payments/other", SecretString=secrets.token_urlsafe(24))
    ssm = deployment.trusted("ssm")
    configuration = json.loads(ssm.get_parameter(Name=deployment.configuration_parameter)["Parameter"]["Value"])
    configuration["secret"]["secretArn"] = other["ARN"]
    ssm.put_parameter(Name=deployment.configuration_parameter, Value=json.dumps(configuration), Type="String", Overwrite=True)
    result = deployment.target().run_consumer()
    assert (result["status"], result.get("error")) == ("FAILED", "SecretNotAllowed")
