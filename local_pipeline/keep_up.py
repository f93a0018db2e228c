"""`make local KEEP_UP=1`: the emulated accounts stay up on 127.0.0.1 for the AWS CLI."""

from __future__ import annotations

import gc
import logging
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from emulator import Emulator
from local_pipeline.deployment import LocalDeployment


def serve(
    emulator: Emulator,
    deployments: Sequence[LocalDeployment],
    port: int,
    console: Any,
    *,
    until: Callable[[], bool] | None = None,
) -> None:
    """Serve until Ctrl-C (or ``until()``), after printing each account's credentials and
    the commands that run each environment's consumer."""
    with served(port):
        try:
            console.print(f"\nThe emulated accounts are up on http://127.0.0.1:{port} (Ctrl-C stops them). For the AWS CLI:\n")
            # botocore sends StartSyncExecution to "sync-<host>", which a local endpoint is not.
            console.print("  (AWS_DISABLE_HOST_PREFIX_INJECTION=true: start-sync-execution would otherwise miss the local endpoint)\n")
            accounts = sorted({(d.trusted_account, d.region) for d in deployments} | {(d.trusting_account, d.region) for d in deployments})
            for account, region in accounts:
                credentials = emulator.credentials(account)
                _print_commands(
                    console,
                    f"  # account {account}\n"
                    f"  export AWS_ACCESS_KEY_ID={credentials.access_key_id} AWS_SECRET_ACCESS_KEY={credentials.secret_access_key} "
                    f"AWS_DEFAULT_REGION={region} AWS_DISABLE_HOST_PREFIX_INJECTION=true",
                )
            for deployment in deployments:
                endpoint = f"aws --endpoint-url http://127.0.0.1:{port}"
                _print_commands(
                    console,
                    f"\n  # {deployment.environment_name}: with account {deployment.trusted_account}'s credentials\n"
                    f"  {endpoint} stepfunctions start-execution --state-machine-arn {deployment.consumer_arn}\n"
                    f"  {endpoint} stepfunctions describe-execution --execution-arn <executionArn>",
                )
            stop = threading.Event()
            while not stop.is_set() and not (until and until()):
                stop.wait(0.5)
        except KeyboardInterrupt:
            pass


def _print_commands(console: Any, text: str) -> None:
    console.print(text, highlight=False, soft_wrap=True)  # commands to copy: never broken across lines


@contextmanager
def served(port: int | None = None) -> Iterator[str]:
    """The emulated accounts of this process on http://127.0.0.1:<port> (a free port if
    None), for the AWS CLI, a buildspec's process or concurrent clients; yields the URL.
    Every request is authenticated, and web pages are refused (emulator.server)."""
    from emulator.server import GuardedServer

    if port is None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    # What the accounts hold by now (the deployed stacks, moto's models) lives as long as
    # the service: it is set aside from the garbage collector, whose full passes walked it
    # again and again under load (150 concurrent consumers: median 5.6 s with, 3.0 s without).
    gc.collect()
    gc.freeze()
    server = GuardedServer(port)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        gc.unfreeze()
