"""Fixtures for the emulator's own tests: vanilla moto (to show each gap is still there)
and the patched emulator (to show each patch closes it)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from emulator import Emulator
from emulator.core import MOTO_CONFIG
from tests.unit.emulator.helpers import ACCOUNT, OTHER_ACCOUNT, REGION, Account


@pytest.fixture
def vanilla() -> Iterator[Account]:
    """moto as it ships (same config as the emulator, none of its patches): one default account."""
    with mock_aws(config=MOTO_CONFIG):
        yield Account(lambda service: boto3.client(service, region_name=REGION), "123456789012")


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator() as aws:
        yield aws


@pytest.fixture
def patched(emulator: Emulator) -> Account:
    return Account(lambda service: emulator.client(service, ACCOUNT, REGION), ACCOUNT)


@pytest.fixture
def other(emulator: Emulator) -> Account:
    return Account(lambda service: emulator.client(service, OTHER_ACCOUNT, REGION), OTHER_ACCOUNT)


_counter = iter(range(10_000))


@pytest.fixture
def unique() -> str:
    """A fresh name per test: the module's emulator is shared."""
    return f"t{next(_counter)}"
