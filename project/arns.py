"""Reading ARNs: ``arn:partition:service:region:account:resource``."""

from __future__ import annotations


def _field(arn: str, index: int, name: str) -> str:
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise ValueError(f"not an ARN: {arn!r} (no {name} to read)")
    return parts[index]


def account_of_arn(arn: str) -> str:
    return _field(arn, 4, "account")


def region_of_arn(arn: str) -> str:
    return _field(arn, 3, "region")
