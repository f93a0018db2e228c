"""Concurrent consumers through the kept-up service, as `make bench` measures them.

Each of ``count`` clients is a boto3 client of its own, as a separate user of `make
local KEEP_UP=1` would have, in a thread of this process, all released at once. Each
starts the consumer and polls DescribeExecution every 50 ms until the execution ends:
its time is from the StartExecution call to the first answer that shows the end. The
clients share the service's process and its GIL: a conservative figure, since clients
in processes of their own would take nothing from the service.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from emulator import Emulator
from local_pipeline.deployment import LocalDeployment

POLL_SECONDS = 0.05
DEADLINE_SECONDS = 120


@dataclass(frozen=True)
class Execution:
    seconds: float
    status: str
    error: str | None = None
    cause: str | None = None


@dataclass(frozen=True)
class Concurrency:
    executions: Sequence[Execution]

    @property
    def failed(self) -> list[Execution]:
        return [execution for execution in self.executions if execution.status != "SUCCEEDED"]

    def line(self) -> str:
        seconds = [execution.seconds for execution in self.executions]
        return (
            f"concurrent consumers ({len(seconds)}): median {statistics.median(seconds):.2f} s, "
            f"max {max(seconds):.2f} s, failed {len(self.failed)}"
        )


def concurrent_consumers(emulator: Emulator, deployment: LocalDeployment, endpoint: str, count: int) -> Concurrency:
    """``count`` consumer executions at once, through ``endpoint`` (the kept-up service),
    as the trusted account's administrator."""
    credentials = emulator.credentials(deployment.trusted_account)
    config = Config(retries={"max_attempts": 1}, max_pool_connections=2)
    clients = [
        boto3.session.Session().client(
            "stepfunctions", region_name=deployment.region, endpoint_url=endpoint, config=config, **credentials.as_boto3_kwargs()
        )
        for _ in range(count)
    ]
    start = threading.Barrier(count)

    def one(client: Any) -> Execution:
        start.wait()
        started = time.perf_counter()
        arn = client.start_execution(stateMachineArn=deployment.consumer_arn)["executionArn"]
        while True:
            described = client.describe_execution(executionArn=arn)
            if described["status"] != "RUNNING":
                return Execution(time.perf_counter() - started, described["status"], described.get("error"), described.get("cause"))
            if time.perf_counter() - started > DEADLINE_SECONDS:
                return Execution(time.perf_counter() - started, "RUNNING", "still running", f"after {DEADLINE_SECONDS} s")
            time.sleep(POLL_SECONDS)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return Concurrency(list(pool.map(one, clients)))
