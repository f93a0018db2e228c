"""Hand a target to the integration test through a pytest plugin argument:

    pytest.main([...], plugins=[TargetPlugin(target)])

The tests' ``secret_cache_target`` fixture takes it from the session's stash
(``injected_target``) before it looks at the environment variables.
"""

from __future__ import annotations

import pytest

from integration_target.target import SecretCacheTarget

_TARGET = pytest.StashKey[SecretCacheTarget]()


class TargetPlugin:
    def __init__(self, target: SecretCacheTarget) -> None:
        self._target = target

    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[_TARGET] = self._target


def injected_target(config: pytest.Config) -> SecretCacheTarget | None:
    """The target a ``TargetPlugin`` handed in, if any."""
    return config.stash.get(_TARGET, None)
