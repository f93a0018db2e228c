"""Lambda entry point: parse, call the logic once, map the result. Thin on purpose.

The response says what was cached and until when; it never carries the value,
and nothing here logs the event (it holds the secret).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from .dynamodb_cache import DynamoDbSecretCache
from .logic import cache_secret
from .models import CacheRequest, Settings

logger = Logger()


@cache
def _settings() -> Settings:
    return Settings.from_environment(os.environ)


@cache
def _cache(table_name: str) -> DynamoDbSecretCache:
    # Created on first use, reused by warm invocations.
    return DynamoDbSecretCache(table_name=table_name, client=boto3.client("dynamodb"))


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = _settings()
    request = CacheRequest.from_event(event)
    entry = cache_secret(request, ttl_seconds=settings.ttl_seconds, now=datetime.now(UTC), cache=_cache(settings.table_name))
    logger.info("secret cached", extra={"secret_arn": entry.secret_arn, "expires_at": entry.expires_at_iso})
    return {"SecretArn": entry.secret_arn, "ExpiresAt": entry.expires_at_iso, "Cached": True}
