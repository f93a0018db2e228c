"""A KMS key's asymmetric private key is generated when a call first uses it, not when
the key is created.

moto generates a 2048-bit RSA private key for every key it creates, a symmetric one
too, where only Sign, Verify and GetPublicKey, which AWS refuses for a symmetric key,
would ever read it: 45 ms of CPU per key, eight keys per deployment of this project,
8.5 s of a test session. Here the key is generated on the first call that reads it,
from the same key spec, by moto's own function. Nothing a caller sees changes: a speed
patch, not a behaviour.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.kms import models as kms_models
from moto.kms import utils as kms_utils

REASON = "moto generates an RSA private key for every KMS key, symmetric ones included (45 ms each); it is made on first use instead."

_generate = kms_utils.generate_private_key  # what moto's models import by name, patched there


class GeneratedOnFirstUse:
    """Stands in for moto's private key object until something reads it."""

    def __init__(self, key_spec: str) -> None:
        self.key_spec = key_spec
        self._lock = threading.Lock()
        self._generated: Any = None

    def __getattr__(self, name: str) -> Any:
        with self._lock:
            if self._generated is None:
                self._generated = _generate(self.key_spec)
        return getattr(self._generated, name)


@contextmanager
def patch() -> Iterator[None]:
    with mock.patch.object(kms_models, "generate_private_key", GeneratedOnFirstUse):
        yield
