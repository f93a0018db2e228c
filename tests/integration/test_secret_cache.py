"""The integration test: run the consumer, and the secret comes back, then from the cache.

Runs against whatever ``secret_cache_target`` gives: the local emulator by default,
real AWS with SECRET_CACHE_TARGET=aws (see target.py).
"""

from __future__ import annotations

from tests.integration.target import secret_of


def test_the_consumer_gets_the_secret_across_accounts(secret_cache_target):
    secret = secret_of(secret_cache_target.run_consumer())
    assert secret["SecretValue"] == secret_cache_target.read_secret_value()
    assert secret["Source"] in ("cache", "secretsmanager")


def test_a_second_run_is_served_from_the_cache(secret_cache_target):
    first = secret_of(secret_cache_target.run_consumer())
    second = secret_of(secret_cache_target.run_consumer())
    assert second["Source"] == "cache"
    assert second["SecretValue"] == first["SecretValue"] == secret_cache_target.read_secret_value()
