"""CacheSecret end to end against moto's DynamoDB: what it writes, returns and logs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from lambda_src.cache_secret.handler import lambda_handler
from lambda_src.cache_secret.models import CacheWriteFailed, InvalidCacheRequest, InvalidSettings

SECRET_ARN = "arn:aws:secretsmanager:us-east-1:222222222222:secret:secret-cache/test/secret"
# Made up for the test; its only job is to be findable if it ever leaks.
SECRET_VALUE = "test-value-Zq8WnK2vR7"


def _event() -> dict[str, str]:
    return {"SecretArn": SECRET_ARN, "SecretValue": SECRET_VALUE}


def test_writes_the_item_with_its_expiry(table, lambda_context):
    before = datetime.now(UTC).replace(microsecond=0)
    lambda_handler(_event(), lambda_context)
    item = boto3.client("dynamodb").get_item(TableName=table, Key={"SecretArn": {"S": SECRET_ARN}})["Item"]
    assert item["SecretValue"] == {"S": SECRET_VALUE}
    ttl = int(item["TimeToLive"]["N"])
    assert before.timestamp() + 300 <= ttl <= before.timestamp() + 302
    expires_at = datetime.strptime(item["ExpiresAt"]["S"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert expires_at.timestamp() == ttl


def _everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    # Every field of every record, extras included: what Powertools would print as JSON.
    return "\n".join(repr(vars(record)) for record in caplog.records)


def test_returns_no_value_and_logs_no_value(table, lambda_context, caplog):
    caplog.set_level("INFO")  # the function's configured level (POWERTOOLS_LOG_LEVEL)
    response = lambda_handler(_event(), lambda_context)
    assert response["SecretArn"] == SECRET_ARN and response["Cached"] is True
    assert SECRET_VALUE not in repr(response)
    assert [record.getMessage() for record in caplog.records] == ["secret cached"]  # it did log, just not the value
    assert SECRET_ARN in _everything_logged(caplog)
    assert SECRET_VALUE not in _everything_logged(caplog)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"SecretValue": SECRET_VALUE}, "'SecretArn' must be a non-empty string"),
        ({"SecretArn": SECRET_ARN}, "'SecretValue' must be a non-empty string"),
        ({"SecretArn": SECRET_ARN, "SecretValue": 42}, "'SecretValue' must be a non-empty string"),
        (["not", "an", "object"], "the event must be a JSON object, got list"),
    ],
)
def test_invalid_event_is_a_named_error_without_the_value(table, lambda_context, event, message):
    with pytest.raises(InvalidCacheRequest) as raised:
        lambda_handler(event, lambda_context)
    assert str(raised.value) == message
    assert boto3.client("dynamodb").scan(TableName=table)["Count"] == 0


def test_failed_write_is_a_named_error_without_the_value(aws, lambda_context, caplog):
    # No table: PutItem fails with ResourceNotFoundException.
    with pytest.raises(CacheWriteFailed) as raised:
        lambda_handler(_event(), lambda_context)
    assert str(raised.value) == "PutItem on table SecretCache-test failed: ResourceNotFoundException"
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert SECRET_VALUE not in str(raised.value) + _everything_logged(caplog)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("CACHE_TABLE_NAME", "", "CACHE_TABLE_NAME is not set"),
        ("CACHE_TTL_SECONDS", "5m", "CACHE_TTL_SECONDS must be a positive integer, got '5m'"),
        ("CACHE_TTL_SECONDS", "0", "CACHE_TTL_SECONDS must be a positive integer, got '0'"),
    ],
)
def test_misconfigured_function_names_the_variable(aws, lambda_context, monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(InvalidSettings, match=message):
        lambda_handler(_event(), lambda_context)


def test_repr_of_request_and_entry_hides_the_value():
    from lambda_src.cache_secret.models import CacheEntry, CacheRequest

    request = CacheRequest.from_event(_event())
    entry = CacheEntry(secret_arn=SECRET_ARN, secret_value=SECRET_VALUE, expires_at=datetime.now(UTC) + timedelta(minutes=5))
    assert SECRET_VALUE not in repr(request) + repr(entry)
