"""Config: the default loads; each kind of bad input names its key and value in one line."""

from __future__ import annotations

import copy
import itertools
import json
import os
import subprocess
from typing import Any

import pytest

from project.config import ConfigError, branch_name_problem, load_config
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


# --- issue 19, point 5: bad configuration that used to be accepted ------------------------


@pytest.mark.parametrize("bad", ["¹¹¹¹¹¹¹¹¹¹¹¹", "٢٢٢٢٢٢٢٢٢٢٢٢", "１１１１１１１１１１１１"])
def test_account_in_digits_other_than_ascii_is_refused(context, bad):
    """str.isdigit() takes superscripts, Arabic-Indic and full-width digits; AWS does not."""
    context["environments"][0]["trusted"]["account"] = bad
    assert _error(context) == (
        f"invalid configuration: environments[0].trusted.account = {bad!r}: "
        "must be a 12-digit AWS account ID in ASCII digits 0-9 (this has other Unicode digits)"
    )


def test_tooling_account_in_other_digits_is_refused(context):
    context["tooling"] = {"account": "٣٣٣٣٣٣٣٣٣٣٣٣", "region": "us-east-1"}
    assert _error(context).startswith("invalid configuration: tooling.account = '٣٣٣٣٣٣٣٣٣٣٣٣': must be a 12-digit AWS account ID")


@pytest.mark.parametrize("bad", ["mars-north-1", "us-east-9", "eu-west-0"])
def test_a_region_no_partition_lists_is_refused(context, bad):
    env = context["environments"][0]
    env["trusted"]["region"] = env["trusting"]["region"] = bad
    with pytest.raises(ConfigError) as raised:
        load_config(context)
    assert raised.value.problems == [
        f"invalid configuration: environments[0].{side}.region = {bad!r}: "
        "is not an AWS region: no partition of botocore's endpoint data lists it"
        for side in ("trusted", "trusting")
    ]


def test_the_tooling_region_must_exist_too(context):
    context["tooling"] = {"account": "333333333333", "region": "mars-north-1"}
    assert _error(context).startswith("invalid configuration: tooling.region = 'mars-north-1': is not an AWS region")


def test_regions_are_botocores_not_a_typed_list(context):
    """Every region of every partition in botocore's data is accepted, China's among them."""
    from botocore.loaders import create_loader

    listed = {region for partition in create_loader().load_data("endpoints")["partitions"] for region in partition["regions"]}
    assert {"us-east-1", "cn-north-1", "us-gov-west-1"} <= listed
    for region in sorted(listed):
        env = context["environments"][0]
        env["trusted"]["region"] = env["trusting"]["region"] = region
        assert load_config(context).environments[0].region == region


@pytest.mark.parametrize(
    ("key", "bad", "kind"),
    [
        ("cacheTtlSeconds", True, "integer"),  # bool is an int subclass: this was a TTL of 1 s
        ("cacheTtlSeconds", False, "integer"),
        ("cacheTtlSeconds", "300", "integer"),
        ("cacheTtlSeconds", 300.0, "integer"),
    ],
)
def test_numbers_and_booleans_are_strictly_typed(context, key, bad, kind):
    context["environments"][0][key] = bad
    assert _error(context) == f"invalid configuration: environments[0].{key} = {bad!r}: Input should be a valid {kind}"


@pytest.mark.parametrize("policy", ["always", "when-permissions-broaden", "never"])
def test_approvals_takes_one_of_three_policies(context, policy):
    context["environments"][0]["approvals"] = policy
    assert load_config(context).environments[0].approvals == policy


def test_approvals_defaults_to_always(context):
    context["environments"][0].pop("approvals", None)
    assert load_config(context).environments[0].approvals == "always"


@pytest.mark.parametrize("bad", ["sometimes", "Always", True, None, ""])
def test_an_unknown_approvals_policy_is_refused_naming_the_three(context, bad):
    context["environments"][0]["approvals"] = bad
    message = _error(context)
    assert message.startswith(f"invalid configuration: environments[0].approvals = {bad!r}: ")
    assert "'always', 'when-permissions-broaden' or 'never'" in message


def test_the_old_manual_approvals_key_is_refused_naming_its_replacement(context):
    context["environments"][0]["manualApprovals"] = False
    assert "manualApprovals was replaced by approvals" in _error(context)


def test_a_command_line_override_carries_json_numbers_and_booleans(context):
    """``-c environments='[...]'`` is JSON: its numbers and booleans arrive typed; quoted, they do not."""
    env = context["environments"][0]
    (dev,) = load_config({"environments": json.dumps([{**env, "cacheTtlSeconds": 60, "approvals": "never"}])}).environments
    assert (dev.cache_ttl_seconds, dev.approvals) == (60, "never")
    assert _error({"environments": json.dumps([{**env, "cacheTtlSeconds": "60"}])}) == (
        "invalid configuration: environments[0].cacheTtlSeconds = '60': Input should be a valid integer"
    )


def _with_key(context: dict[str, Any], key_arn: str) -> dict[str, Any]:
    context["environments"][0]["secrets"] = [{"name": "secret-cache/dev/secret"}, {"name": "payments/api_token", "kmsKeyArn": key_arn}]
    return context


def test_a_secrets_key_in_another_region_is_refused(context):
    key_arn = KEY_ARN.replace("us-east-1", "eu-west-1")
    assert _error(_with_key(context, key_arn)) == (
        f"invalid configuration: environments[0]: secrets[1] 'payments/api_token': kmsKeyArn '{key_arn}' is in region "
        "'eu-west-1' (partition 'aws'), the secret in trusting.region 'us-east-1' (partition 'aws'): "
        "Secrets Manager needs the key in the secret's region"
    )


def test_a_secrets_key_in_another_partition_is_refused(context):
    key_arn = "arn:aws-cn:kms:cn-north-1:222222222222:key/0a1b2c3d-0000-4000-8000-000000000000"
    message = _error(_with_key(context, key_arn))
    assert message.startswith(f"invalid configuration: environments[0]: secrets[1] 'payments/api_token': kmsKeyArn '{key_arn}'")
    assert message.endswith(
        "is in region 'cn-north-1' (partition 'aws-cn'), the secret in trusting.region 'us-east-1' (partition 'aws'): "
        "Secrets Manager needs the key in the secret's region"
    )


def test_a_key_arn_whose_partition_is_not_its_regions_is_refused(context):
    key_arn = "arn:aws-cn:kms:us-east-1:222222222222:key/0a1b2c3d-0000-4000-8000-000000000000"
    assert _error(_with_key(context, key_arn)) == (
        f"invalid configuration: environments[0].secrets[1].kmsKeyArn = '{key_arn}': "
        "names partition 'aws-cn', but its region 'us-east-1' is in partition 'aws'"
    )


def test_a_key_arn_in_a_region_that_does_not_exist_is_refused(context):
    key_arn = KEY_ARN.replace("us-east-1", "mars-north-1")
    assert _error(_with_key(context, key_arn)).startswith(
        f"invalid configuration: environments[0].secrets[1].kmsKeyArn = '{key_arn}': is not an AWS region"
    )


def test_a_key_in_the_secrets_own_region_and_partition_is_accepted_in_china_too(context):
    env = context["environments"][0]
    env["trusted"]["region"] = env["trusting"]["region"] = "cn-north-1"
    key_arn = "arn:aws-cn:kms:cn-north-1:222222222222:key/0a1b2c3d-0000-4000-8000-000000000000"
    (dev,) = load_config(_with_key(context, key_arn)).environments
    assert dev.allowed_secrets[1].kms_key_arn == key_arn


# Names git check-ref-format --branch refuses, and some it takes: each is checked against git itself below.
BAD_BRANCHES = [
    "a..b", "a b", "a\tb", "a\x7fb", "a\x01b", "a~1", "a^", "a:b", "a?", "a*", "a[b", "a\\b",
    "-x", "a/", "/a", "a//b", "a.lock", "a.lock/b", "x/y.lock", ".a", "a/.b", "a.", "a/b.", "@{x", "a@{1}", "HEAD",
    ".", "..", "a/./b",
]  # fmt: skip
GOOD_BRANCHES = [
    "main", "release", "feature/x", "a./b", "a@b", "a{b}", "a-b_c+d=e,f", "é", "v1.2.3", "x.lockx", "lock", "a.loc",
    "@a", "a@", "{", "a}", "#x", "a-",
]  # fmt: skip


@pytest.mark.parametrize("bad", BAD_BRANCHES)
def test_a_branch_git_would_refuse_is_refused(context, bad):
    context["branch"] = bad
    assert _error(context).startswith(
        f"invalid configuration: branch = {bad!r}: must be a git branch name (git check-ref-format --branch): it "
    )


@pytest.mark.parametrize("good", GOOD_BRANCHES)
def test_a_branch_git_takes_is_taken(context, good):
    context["branch"] = good
    assert load_config(context).branch == good


def test_a_branch_that_looks_like_json_stays_a_branch_name(context):
    """Only environments and tooling take JSON text from ``-c``; ``{x}`` is a valid branch name."""
    context["branch"] = "{release}"
    assert load_config(context).branch == "{release}"


def test_at_alone_is_refused_though_git_takes_it_outside_a_repository(context, tmp_path):
    """Inside a repository ``@`` is HEAD: ``git check-ref-format --branch @`` prints the current branch."""
    assert _git_takes_branch("@", tmp_path)
    context["branch"] = "@"
    assert "it is '@', which git reads as the current commit" in _error(context)


def _git_takes_branch(name: str, cwd: Any) -> bool:
    # Outside any repository, so that git expands no @{-N} and reads no config.
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(cwd.parent), "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd)}
    result = subprocess.run(["git", "check-ref-format", "--branch", name], cwd=cwd, env=env, capture_output=True, check=False)  # noqa: S607
    assert result.returncode in (0, 128), result.stderr
    return result.returncode == 0


def test_the_branch_rules_agree_with_git_check_ref_format(tmp_path):
    # The lists above, a few more, and every name of 1 to 3 characters of 'a./@{-', with '.lock' after each.
    combined = ["".join(chars) for n in (1, 2, 3) for chars in itertools.product("a./@{-", repeat=n)]
    samples = BAD_BRANCHES + GOOD_BRANCHES + ["", "a/b/c", "a.b.lock.c", "@{-1}", "HEAD/x", "x/HEAD", "a\u00a0b", "---"]
    samples += combined + [name + ".lock" for name in combined]
    verdicts = {name: (branch_name_problem(name), _git_takes_branch(name, tmp_path)) for name in samples if name != "@"}
    assert sum(git for _, git in verdicts.values()) > 50, "git took too few names to compare"
    assert {name: verdict for name, verdict in verdicts.items() if (verdict[0] is None) != verdict[1]} == {}
