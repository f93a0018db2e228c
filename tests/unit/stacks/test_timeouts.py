"""Timeouts nest, inner shorter than outer, in the constants and in the templates."""

from __future__ import annotations

from stacks import timeouts
from stacks.timeouts import TRANSIENT_RETRY, RetryBudget
from tests.unit.stacks.template_helpers import iter_states, only_resource, state_machine_definition


def test_worst_case_of_a_retried_task_counts_every_attempt_and_wait():
    budget = RetryBudget(max_attempts=2, interval_seconds=1, backoff_rate=2.0, max_delay_seconds=4)
    assert budget.worst_case_seconds(5) == 3 * 5 + 1 + 2


def test_budgets_nest_from_lambda_to_consumer():
    task = TRANSIENT_RETRY.worst_case_seconds(timeouts.SERVICE_TASK_TIMEOUT_SECONDS)
    assert timeouts.CACHE_FUNCTION_TIMEOUT_SECONDS < timeouts.SERVICE_TASK_TIMEOUT_SECONDS
    # ReadCache + GetSecretValue + CacheSecret, each retried to the end.
    assert 3 * task < timeouts.CACHE_WORKFLOW_TIMEOUT_SECONDS < timeouts.CROSS_ACCOUNT_TASK_TIMEOUT_SECONDS
    consumer = TRANSIENT_RETRY.worst_case_seconds(timeouts.SERVICE_TASK_TIMEOUT_SECONDS) + TRANSIENT_RETRY.worst_case_seconds(
        timeouts.CROSS_ACCOUNT_TASK_TIMEOUT_SECONDS
    )
    assert consumer < timeouts.CONSUMER_WORKFLOW_TIMEOUT_SECONDS


def test_templates_use_the_budgeted_timeouts(trusting_resources, trusted_resources, names):
    function = only_resource(trusting_resources, "AWS::Lambda::Function", FunctionName=names.cache_function)
    assert function["Properties"]["Timeout"] == timeouts.CACHE_FUNCTION_TIMEOUT_SECONDS
    express = state_machine_definition(trusting_resources, names.cache_workflow)
    assert express["TimeoutSeconds"] == timeouts.CACHE_WORKFLOW_TIMEOUT_SECONDS
    for _, state in iter_states(express):
        if state["Type"] == "Task":
            assert state["TimeoutSeconds"] == timeouts.SERVICE_TASK_TIMEOUT_SECONDS
            assert state["Retry"][0]["MaxAttempts"] == TRANSIENT_RETRY.max_attempts
    consumer = state_machine_definition(trusted_resources, names.consumer_workflow)
    assert consumer["TimeoutSeconds"] == timeouts.CONSUMER_WORKFLOW_TIMEOUT_SECONDS
    assert consumer["States"]["GetSecretCrossAccount"]["TimeoutSeconds"] == timeouts.CROSS_ACCOUNT_TASK_TIMEOUT_SECONDS
