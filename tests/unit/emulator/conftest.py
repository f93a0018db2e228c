"""Fixtures for the emulator's own tests: vanilla moto (to show each gap is still there)
and the patched emulator (to show each patch closes it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest

from tests.unit.emulator.helpers import ACCOUNT, OTHER_ACCOUNT, REGION, Account

if TYPE_CHECKING:
    from emulator import Emulator


@pytest.fixture
def vanilla() -> Iterator[Account]:
    """moto as it ships (same config as the emulator, none of its patches): one default account."""
    from moto import mock_aws

    from emulator.core import MOTO_CONFIG

    with mock_aws(config=MOTO_CONFIG):
        yield Account(lambda service: boto3.client(service, region_name=REGION), "123456789012")


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    from emulator import Emulator

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
