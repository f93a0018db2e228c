from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest

from lambda_src.cache_secret import handler

TABLE = "SecretCache-test"


@dataclass
class FakeLambdaContext:
    function_name: str = "CacheSecret-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:222222222222:function:CacheSecret-test"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from moto import mock_aws

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("CACHE_TABLE_NAME", TABLE)
    monkeypatch.setenv("CACHE_TTL_SECONDS", "300")
    # The handler caches settings and its client per container; each test is a new container.
    handler._settings.cache_clear()
    handler._cache.cache_clear()
    with mock_aws():
        yield
    handler._settings.cache_clear()
    handler._cache.cache_clear()


@pytest.fixture
def table(aws: None) -> str:
    boto3.client("dynamodb").create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "SecretArn", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "SecretArn", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return TABLE
