from __future__ import annotations

import pytest

from project.arns import account_of_arn, region_of_arn

CONSUMER = "arn:aws:states:eu-west-1:111111111111:stateMachine:SecretCacheConsumerWfw-dev"


def test_account_and_region():
    assert (account_of_arn(CONSUMER), region_of_arn(CONSUMER)) == ("111111111111", "eu-west-1")
    assert account_of_arn("arn:aws:iam::222222222222:role/path/with:colon") == "222222222222"


@pytest.mark.parametrize("text", ["", "SecretCacheConsumerWfw-dev", "arn:aws:states"])
def test_not_an_arn_is_named(text):
    with pytest.raises(ValueError, match="not an ARN"):
        account_of_arn(text)
