"""The bottom layer: what every other package may know about the project.

The configuration (``config``, read from cdk.json by ``context``), the order and ids of
the deployment stages (``deployment_order``), the cloud-assembly reader (``assembly``),
ARN parsing (``arns``) and the project's paths (``paths``). Nothing here imports
``aws_cdk``: the local run, the emulator and the bootstrap commands use it without
starting jsii (an import-linter contract in ``.importlinter`` keeps it so).
"""
