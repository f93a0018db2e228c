"""Typed input, settings and result of CacheSecret. The secret value never reaches a repr."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class InvalidCacheRequest(ValueError):
    """The event is not ``{"SecretArn": str, "SecretValue": str}``. Names fields, never values."""


class InvalidSettings(ValueError):
    """The function's environment is incomplete or malformed (a deployment error)."""


class CacheWriteFailed(RuntimeError):
    """The cache could not be written. The workflow still returns the secret."""


@dataclass(frozen=True)
class Settings:
    """The function's environment variables, parsed once."""

    table_name: str
    ttl_seconds: int

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Settings:
        table_name = environ.get("CACHE_TABLE_NAME", "")
        if not table_name:
            raise InvalidSettings("CACHE_TABLE_NAME is not set")
        raw_ttl = environ.get("CACHE_TTL_SECONDS", "")
        if not raw_ttl.isdigit() or int(raw_ttl) < 1:
            raise InvalidSettings(f"CACHE_TTL_SECONDS must be a positive integer, got {raw_ttl!r}")
        return cls(table_name=table_name, ttl_seconds=int(raw_ttl))


@dataclass(frozen=True)
class CacheRequest:
    secret_arn: str
    secret_value: str = field(repr=False)

    @classmethod
    def from_event(cls, event: Any) -> CacheRequest:
        if not isinstance(event, Mapping):
            raise InvalidCacheRequest(f"the event must be a JSON object, got {type(event).__name__}")
        problems = [
            f"'{name}' must be a non-empty string"
            for name in ("SecretArn", "SecretValue")
            if not isinstance(event.get(name), str) or not event.get(name)
        ]
        if problems:
            raise InvalidCacheRequest("; ".join(problems))
        return cls(secret_arn=event["SecretArn"], secret_value=event["SecretValue"])


@dataclass(frozen=True)
class CacheEntry:
    secret_arn: str
    secret_value: str = field(repr=False)
    expires_at: datetime  # timezone-aware, UTC

    @property
    def time_to_live(self) -> int:
        """Epoch seconds, for DynamoDB TTL."""
        return int(self.expires_at.timestamp())

    @property
    def expires_at_iso(self) -> str:
        """RFC 3339, compared by the workflow with the time of the read."""
        return self.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")
