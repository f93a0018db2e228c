"""What CacheSecret does, free of AWS: compute the entry and hand it to the cache."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from .models import CacheEntry, CacheRequest


class SecretCache(Protocol):
    def put(self, entry: CacheEntry) -> None: ...


def cache_secret(request: CacheRequest, *, ttl_seconds: int, now: datetime, cache: SecretCache) -> CacheEntry:
    entry = CacheEntry(
        secret_arn=request.secret_arn,
        secret_value=request.secret_value,
        expires_at=now + timedelta(seconds=ttl_seconds),
    )
    cache.put(entry)
    return entry
