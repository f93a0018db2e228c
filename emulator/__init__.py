"""An in-process emulation of the AWS accounts this project deploys into: moto, patched.

The interface is narrow on purpose: ``Emulator`` deploys a cloud assembly's stacks
into named accounts and hands out boto3 clients per account. What is patched and
why is in ``emulator.patches``; what is not emulated is in docs/emulator.md.
"""

from emulator.core import DeployError, Emulator

__all__ = ["DeployError", "Emulator"]
