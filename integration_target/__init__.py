"""What the integration test runs against, and how a target is handed to it.

The test module (tests/integration/) asks for a ``SecretCacheTarget``; this package
defines it, builds it for real AWS from environment variables, and carries one built
elsewhere (the emulated accounts of the local run) into a pytest session as a plugin.
It imports neither the emulator nor the CDK.
"""

from integration_target.pytest_plugin import TargetPlugin, injected_target
from integration_target.target import SecretCacheTarget, aws_target, on_aws, secret_of

__all__ = ["SecretCacheTarget", "TargetPlugin", "aws_target", "injected_target", "on_aws", "secret_of"]
