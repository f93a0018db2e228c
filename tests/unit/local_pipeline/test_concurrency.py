"""The bench's concurrent consumers: each client its own, all through the kept-up
service, each execution timed to its end, and a failure counted, not hidden."""

from __future__ import annotations

import re

from project.assembly import read_stacks


def test_concurrent_consumers_through_the_service_all_get_the_secret(synthesized_app):
    from emulator import Emulator
    from local_pipeline.concurrency import concurrent_consumers
    from local_pipeline.deployment import deploy_environment
    from local_pipeline.keep_up import served

    with Emulator() as emulator:
        deployment = deploy_environment(emulator, read_stacks(synthesized_app.outdir), "dev")
        with served() as endpoint:
            figures = concurrent_consumers(emulator, deployment, endpoint, 4)
            deployment.trusted("ssm").delete_parameter(Name=deployment.configuration_parameter)
            broken = concurrent_consumers(emulator, deployment, endpoint, 2)
    assert [execution.status for execution in figures.executions] == ["SUCCEEDED"] * 4
    assert re.fullmatch(r"concurrent consumers \(4\): median \d+\.\d\d s, max \d+\.\d\d s, failed 0", figures.line())
    assert [execution.status for execution in broken.failed] == ["FAILED", "FAILED"]
    assert broken.line().endswith("failed 2")


def test_the_line_gives_the_median_and_the_max():
    from local_pipeline.concurrency import Concurrency, Execution

    figures = Concurrency([Execution(0.2, "SUCCEEDED"), Execution(0.4, "SUCCEEDED"), Execution(1.5, "FAILED", "States.Timeout")])
    assert figures.line() == "concurrent consumers (3): median 0.40 s, max 1.50 s, failed 1"
