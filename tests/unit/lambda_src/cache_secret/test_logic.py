"""cache_secret: the expiry it computes and what it hands to the cache."""

from __future__ import annotations

from datetime import UTC, datetime

from lambda_src.cache_secret.logic import cache_secret
from lambda_src.cache_secret.models import CacheEntry, CacheRequest


class RecordingCache:
    def __init__(self) -> None:
        self.entries: list[CacheEntry] = []

    def put(self, entry: CacheEntry) -> None:
        self.entries.append(entry)


def test_entry_expires_ttl_seconds_after_now():
    cache = RecordingCache()
    now = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
    entry = cache_secret(CacheRequest(secret_arn="arn:s", secret_value="v"), ttl_seconds=90, now=now, cache=cache)
    assert cache.entries == [entry]
    assert entry.expires_at_iso == "2026-11-28T12:01:30Z"
    assert entry.time_to_live == int(datetime(2026, 11, 28, 12, 1, 30, tzinfo=UTC).timestamp())
