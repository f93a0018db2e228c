"""KEEP_UP=1: the deployed accounts answer on 127.0.0.1 with the printed credentials."""

from __future__ import annotations

import io
import re
import socket
import threading
import time


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_printed_commands_reach_the_deployed_consumer(synthesized_app):
    import boto3  # the emulator (moto) and the CDK load when this test runs, not when pytest collects
    from rich.console import Console

    from emulator import Emulator
    from local_pipeline.deployment import deploy_environment
    from local_pipeline.keep_up import serve
    from project.assembly import read_stacks

    port, done = _free_port(), threading.Event()
    output = io.StringIO()
    with Emulator() as emulator:
        deployment = deploy_environment(emulator, read_stacks(synthesized_app.outdir), "dev")
        server = threading.Thread(
            target=serve, args=(emulator, [deployment], port, Console(file=output, width=400)), kwargs={"until": done.is_set}
        )
        server.start()
        try:
            deadline = time.monotonic() + 10
            while f"--state-machine-arn {deployment.consumer_arn}" not in output.getvalue() and time.monotonic() < deadline:
                time.sleep(0.05)
            printed = output.getvalue()
            # botocore's "sync-" host prefix (StartSyncExecution) would miss a local endpoint.
            exported = (
                r"export AWS_ACCESS_KEY_ID=(\S+) AWS_SECRET_ACCESS_KEY=(\S+) AWS_DEFAULT_REGION=(\S+) "
                r"AWS_DISABLE_HOST_PREFIX_INJECTION=true"
            )
            keys = re.search(rf"# account {deployment.trusted_account}\n  {exported}", printed)
            assert keys, printed
            stepfunctions = boto3.client(
                "stepfunctions",
                endpoint_url=f"http://127.0.0.1:{port}",
                aws_access_key_id=keys[1],
                aws_secret_access_key=keys[2],
                region_name=keys[3],
            )
            described = stepfunctions.describe_state_machine(stateMachineArn=deployment.consumer_arn)
        finally:
            done.set()
            server.join(timeout=10)
    assert described["name"] == "SecretCacheConsumerWfw-dev"
    assert keys[3] == deployment.region
