"""The integration test: run the consumer, and the secret comes back, then from the cache.

Runs against whatever ``secret_cache_target`` gives: the local emulator by default,
real AWS with SECRET_CACHE_TARGET=aws (see integration_target/target.py).
"""

from __future__ import annotations

from hashlib import sha256

from integration_target import secret_of


def fingerprint(value: str) -> str:
    """Compare secrets by digest: a failed assertion prints its operands into the CI log and
    the JUnit report, and those must never hold the secret."""
    return sha256(value.encode()).hexdigest()[:16]


def test_the_consumer_gets_the_secret_across_accounts(secret_cache_target):
    secret = secret_of(secret_cache_target.run_consumer())
    assert fingerprint(secret["SecretValue"]) == fingerprint(secret_cache_target.read_secret_value())
    assert secret["Source"] in ("cache", "secretsmanager")


def test_a_second_run_is_served_from_the_cache(secret_cache_target):
    first = secret_of(secret_cache_target.run_consumer())
    second = secret_of(secret_cache_target.run_consumer())
    assert second["Source"] == "cache"
    expected = fingerprint(secret_cache_target.read_secret_value())
    assert fingerprint(second["SecretValue"]) == fingerprint(first["SecretValue"]) == expected
