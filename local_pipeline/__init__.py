"""The pipeline on this machine: `make local`, the kept-up accounts, the benchmark.

The top layer. It synthesizes with the pinned CDK CLI, audits with checkov, deploys the
cloud assembly into the emulated accounts (``emulator``) and runs the integration test
module against them. It reads what it runs from the cloud assembly (``project.assembly``)
and never imports the CDK app: importing it does not start jsii.

    python -m local_pipeline [--approve] [--keep-up [--port 5000]]
"""
