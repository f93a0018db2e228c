"""The only module that talks to AWS: a single PutItem per entry."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .models import CacheEntry, CacheWriteFailed


class DynamoDbSecretCache:
    def __init__(self, *, table_name: str, client: Any) -> None:
        self._table_name = table_name
        self._client = client

    def put(self, entry: CacheEntry) -> None:
        try:
            self._client.put_item(
                TableName=self._table_name,
                Item={
                    "SecretArn": {"S": entry.secret_arn},
                    "SecretValue": {"S": entry.secret_value},
                    "ExpiresAt": {"S": entry.expires_at_iso},
                    "TimeToLive": {"N": str(entry.time_to_live)},
                },
            )
        except ClientError as error:
            # The error code and table only: botocore messages can echo request fields.
            code = error.response.get("Error", {}).get("Code", "Unknown")
            raise CacheWriteFailed(f"PutItem on table {self._table_name} failed: {code}") from None
        except BotoCoreError as error:
            raise CacheWriteFailed(f"PutItem on table {self._table_name} failed: {type(error).__name__}") from None
