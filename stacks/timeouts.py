"""Every timeout and retry budget of the application, in one place.

They nest: the Lambda's timeout fits in its task's timeout, every task's worst
case (all attempts and back-off) fits in the Express workflow's timeout, the
Express workflow fits in the consumer's cross-account task, and the consumer's
worst case fits in its own timeout. tests/unit/stacks/test_timeouts.py checks it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryBudget:
    max_attempts: int  # retries after the first attempt
    interval_seconds: int
    backoff_rate: float
    max_delay_seconds: int

    def worst_case_seconds(self, task_timeout_seconds: int) -> float:
        """Every attempt times out, with the longest back-off in between."""
        waits = sum(min(self.interval_seconds * self.backoff_rate**i, self.max_delay_seconds) for i in range(self.max_attempts))
        return (self.max_attempts + 1) * task_timeout_seconds + waits


# Transient AWS errors: two retries, 1 s then 2 s (with jitter, never longer).
TRANSIENT_RETRY = RetryBudget(max_attempts=2, interval_seconds=1, backoff_rate=2.0, max_delay_seconds=4)

CACHE_FUNCTION_TIMEOUT_SECONDS = 4
SERVICE_TASK_TIMEOUT_SECONDS = 5  # one DynamoDB / Secrets Manager / SSM / Lambda call
CACHE_WORKFLOW_TIMEOUT_SECONDS = 60  # Express: ReadCache + GetSecretValue + CacheSecret
CROSS_ACCOUNT_TASK_TIMEOUT_SECONDS = 70  # one StartSyncExecution, longer than the Express run
CONSUMER_WORKFLOW_TIMEOUT_SECONDS = 300
