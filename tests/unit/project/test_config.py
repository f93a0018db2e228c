"""Config: the default loads; each kind of bad input names its key and value in one line."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from project.config import ConfigError, load_config
from tests.helpers import suite_context as default_context


@pytest.fixture
def context() -> dict[str, Any]:
    return copy.deepcopy(default_context())


def _error(context: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as raised:
        load_config(context)
    message = str(raised.value)
    assert "\n" not in message, "one problem, one line"
    return message


def test_the_blogs_two_accounts_in_us_east_1_deploy_from_the_trusting_one_by_default(context):
    """Without ``tooling``, the pipeline lives in the first environment's trusting account."""
    config = load_config(context)
    (dev,) = config.environments
    assert (dev.name, dev.trusted.account, dev.trusting.account, dev.region) == ("dev", "111111111111", "222222222222", "us-east-1")
    assert config.tooling_environment == dev.trusting


def test_config_is_frozen(context):
    config = load_config(context)
    with pytest.raises(Exception, match="frozen"):
        config.environments[0].name = "prod"  # type: ignore[misc]


def test_override_from_the_command_line_is_a_json_string(context):
    environments = context["environments"] + [
        {
            "name": "prod",
            "trusted": {"account": "333333333333", "region": "eu-west-1"},
            "trusting": {"account": "444444444444", "region": "eu-west-1"},
        }
    ]
    config = load_config({"environments": json.dumps(environments), "tooling": '{"account": "555555555555", "region": "eu-west-1"}'})
    assert [env.name for env in config.environments] == ["dev", "prod"]
    assert config.tooling_environment.account == "555555555555"


@pytest.mark.parametrize("bad", ["12345", "1111111111111", "11111111111a", ""])
def test_account_that_is_not_12_digits(context, bad):
    context["environments"][0]["trusted"]["account"] = bad
    assert _error(context) == f"invalid configuration: environments[0].trusted.account = {bad!r}: must be a 12-digit AWS account ID"


def test_account_given_as_a_number_is_refused(context):
    context["environments"][0]["trusting"]["account"] = 222222222222
    assert _error(context).startswith("invalid configuration: environments[0].trusting.account = 222222222222:")


def test_accounts_in_different_regions(context):
    context["environments"][0]["trusting"]["region"] = "eu-west-1"
    message = _error(context)
    assert message.startswith("invalid configuration: environments[0]: trusting.region 'eu-west-1' differs from trusted.region 'us-east-1'")
    assert "one region" in message


def test_invalid_region(context):
    context["environments"][0]["trusted"]["region"] = "useast1"
    assert (
        _error(context)
        == "invalid configuration: environments[0].trusted.region = 'useast1': must be an AWS region name such as 'us-east-1'"
    )


@pytest.mark.parametrize("key", ["name", "trusted", "trusting"])
def test_missing_environment_key(context, key):
    del context["environments"][0][key]
    assert _error(context) == f"invalid configuration: environments[0].{key}: required key is missing"


def test_missing_account_key(context):
    del context["environments"][0]["trusting"]["account"]
    assert _error(context) == "invalid configuration: environments[0].trusting.account: required key is missing"


def test_missing_environments(context):
    del context["environments"]
    assert _error(context).startswith("invalid configuration: environments: required key is missing")


def test_empty_environments(context):
    context["environments"] = []
    assert _error(context) == "invalid configuration: environments: at least one environment is required"


def test_duplicate_environment_name(context):
    context["environments"].append(copy.deepcopy(context["environments"][0]))
    assert _error(context) == "invalid configuration: environments: environment name 'dev' is used more than once"


def test_trusted_equals_trusting(context):
    context["environments"][0]["trusting"]["account"] = context["environments"][0]["trusted"]["account"]
    assert _error(context) == (
        "invalid configuration: environments[0]: trusted.account and trusting.account are both '111111111111': "
        "the secret cache spans two different accounts"
    )


def test_bad_environment_name(context):
    context["environments"][0]["name"] = "Dev_1"
    assert _error(context).startswith("invalid configuration: environments[0].name = 'Dev_1': must be 1-16 lower-case")


def test_unknown_key_is_refused_not_ignored(context):
    context["environments"][0]["trustedAcount"] = "111111111111"
    assert _error(context) == "invalid configuration: environments[0].trustedAcount: unknown key (value '111111111111')"


def test_command_line_json_that_does_not_parse(context):
    context["environments"] = '[{"name": "dev",'
    assert _error(context).startswith("invalid configuration: context 'environments' is not valid JSON")


def test_two_problems_give_two_lines(context):
    context["environments"][0]["trusted"]["account"] = "1"
    context["environments"][0]["trusting"]["account"] = "2"
    with pytest.raises(ConfigError) as raised:
        load_config(context)
    assert len(raised.value.problems) == 2


# --- the allow-listed secrets ---------------------------------------------------------------

KEY_ARN = "arn:aws:kms:us-east-1:222222222222:key/0a1b2c3d-0000-4000-8000-000000000000"


def test_without_secrets_the_sample_secret_alone_is_served_and_asked_for(context):
    (dev,) = load_config(context).environments
    assert [s.name for s in dev.allowed_secrets] == ["secret-cache/dev/secret"]
    assert dev.consumer_secret_name == "secret-cache/dev/secret"


def test_existing_secrets_are_listed_by_name_with_their_keys(context):
    context["environments"][0] |= {
        "secrets": [{"name": "secret-cache/dev/secret"}, {"name": "payments/api_token", "kmsKeyArn": KEY_ARN}],
        "consumerSecret": "payments/api_token",
    }
    (dev,) = load_config(context).environments
    assert [(s.name, s.kms_key_arn) for s in dev.allowed_secrets] == [("secret-cache/dev/secret", None), ("payments/api_token", KEY_ARN)]
    assert dev.consumer_secret_name == "payments/api_token"


@pytest.mark.parametrize(
    ("secrets", "expected"),
    [
        ([], "environments[0].secrets: lists no secret: the workflow would serve none"),
        ([{"name": "a b"}], "environments[0].secrets[0].name = 'a b': must be a Secrets Manager secret name"),
        ([{"name": "db/password-AbC123"}], "environments[0].secrets[0].name = 'db/password-AbC123': must not end with a hyphen"),
        ([{"name": "db/x", "kmsKeyArn": "alias/x"}], "environments[0].secrets[0].kmsKeyArn = 'alias/x': must be a KMS key ARN"),
        ([{"name": "db/x"}, {"name": "db/x"}], "secret 'db/x' is listed more than once"),
    ],
)
def test_a_bad_secrets_list_is_one_line_naming_it(context, secrets, expected):
    context["environments"][0]["secrets"] = secrets
    assert expected in _error(context)


def test_the_consumers_secret_must_be_on_the_list(context):
    context["environments"][0] |= {"secrets": [{"name": "payments/api_token"}]}
    assert "consumerSecret 'secret-cache/dev/secret' is not in secrets (payments/api_token): the workflow would refuse it" in _error(
        context
    )
