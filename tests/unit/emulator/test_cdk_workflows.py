"""Workflows the sample does not have, from the CDK's own constructs (``workflows_app.py``),
deployed into the emulated accounts and run there; each result beside what the Step
Functions developer guide says AWS returns."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.emulator.workflows_names import CHILD_ARN, REGION, STARTS_CHILD_ROLE, TABLE, TRUSTED, TRUSTING


@pytest.fixture(scope="module")
def workflows(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from emulator import Emulator
    from local_pipeline.synth import bootstrap_template
    from project.assembly import read_stacks
    from tests.unit.emulator.workflows_app import synthesize  # the CDK (jsii) loads here, not when pytest collects

    assembly = synthesize(tmp_path_factory.mktemp("workflows") / "cdk.out")
    with Emulator() as emulator:
        template = bootstrap_template()
        for account in (TRUSTED, TRUSTING):
            emulator.bootstrap(account, REGION, template=template)
        for stack in sorted(read_stacks(assembly), key=lambda s: s.account != TRUSTING):  # the child first
            emulator.deploy(stack, deployer_account=stack.account)
        yield emulator


def _run(emulator: Any, name: str, given: dict[str, Any], *, account: str = TRUSTED, seconds: float = 20) -> dict[str, Any]:
    """Start ``name`` with ``given`` as its input; its DescribeExecution once it has ended."""
    sfn = emulator.client("stepfunctions", account, REGION)
    arn = f"arn:aws:states:{REGION}:{account}:stateMachine:{name}"
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(given))["executionArn"]
    deadline = time.monotonic() + seconds
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"{name} still RUNNING after {seconds} s"
        time.sleep(0.05)
    return described


def test_a_cross_account_start_execution_sync_2_returns_the_child_s_output_as_json(workflows):
    """Developer guide, "Start a new AWS Step Functions state machine from a running
    execution" / "Service integration patterns" (Run a Job, ``.sync:2``): the task waits for
    the child and returns its DescribeExecution response with ``Output`` as JSON."""
    ended = _run(workflows, "StartsChild", {"n": 21})
    assert ended["status"] == "SUCCEEDED", ended.get("cause")
    output = json.loads(ended["output"])
    assert output["Output"] == {"doubled": 42, "from": "child"}
    assert output["Status"] == "SUCCEEDED" and output["StateMachineArn"] == CHILD_ARN


def test_a_cross_account_start_execution_returns_the_child_execution_and_goes_on(workflows):
    """Developer guide, "Service integration patterns" (Request Response): ``startExecution``
    returns ``ExecutionArn`` and ``StartDate`` without waiting."""
    ended = _run(workflows, "StartsChildAndGoesOn", {"n": 1})
    assert ended["status"] == "SUCCEEDED", ended.get("cause")
    output = json.loads(ended["output"])
    assert output["ExecutionArn"].startswith(f"arn:aws:states:{REGION}:{TRUSTING}:execution:Child:")
    assert "StartDate" in output


def test_without_start_execution_in_the_child_account_the_parent_fails_with_access_denied(workflows):
    """Taking states:StartExecution from the role the parent assumes fails the task with the
    service's AccessDenied, as the developer guide's "IAM policies for starting Step
    Functions executions" makes it needed."""
    iam = workflows.client("iam", TRUSTING, REGION)
    policies = iam.list_role_policies(RoleName=STARTS_CHILD_ROLE)["PolicyNames"]
    saved = {name: iam.get_role_policy(RoleName=STARTS_CHILD_ROLE, PolicyName=name)["PolicyDocument"] for name in policies}
    for name in policies:
        iam.delete_role_policy(RoleName=STARTS_CHILD_ROLE, PolicyName=name)
    try:
        ended = _run(workflows, "StartsChildAndGoesOn", {"n": 1})
    finally:
        for name, document in saved.items():
            iam.put_role_policy(RoleName=STARTS_CHILD_ROLE, PolicyName=name, PolicyDocument=json.dumps(document))
    assert ended["status"] == "FAILED"
    assert "AccessDenied" in ended["error"] + ended.get("cause", ""), ended
    assert "states:StartExecution" in ended.get("cause", ""), ended


def test_update_item_and_delete_item_through_their_tasks(workflows):
    """Developer guide, "Call DynamoDB with Step Functions": ``updateItem`` returns the
    attributes ``ReturnValues`` asks for; ``deleteItem`` removes the item."""
    ended = _run(workflows, "UpdatesItem", {"id": "order-1"})
    assert ended["status"] == "SUCCEEDED", ended.get("cause")
    assert json.loads(ended["output"])["updated"]["Attributes"] == {"visits": {"N": "1"}}
    item = workflows.client("dynamodb", TRUSTED, REGION).get_item(TableName=TABLE, Key={"id": {"S": "order-1"}})
    assert "Item" not in item


def test_a_jsonata_workflow_assigns_variables_and_builds_its_output_from_them(workflows):
    """Developer guide, "Passing data between states with variables" and "Transforming data
    with JSONata": ``Assign`` sets variables the next state reads as ``$name``; ``Output``
    is the state's output."""
    given = {"order": "o-7", "items": [{"price": 3}, {"price": 4}]}
    ended = _run(workflows, "AssignsWithJsonata", given)
    assert ended["status"] == "SUCCEEDED", ended.get("cause")
    assert json.loads(ended["output"]) == {"order": "o-7", "items": 2, "total": 7}


def test_a_lambda_that_raises_fails_the_execution_with_its_error_as_lambda_reports_it(workflows):
    """Developer guide, "Handling errors in Step Functions workflows": a Lambda function's
    unhandled exception is the task's error (its type), the cause the function's error
    payload: errorMessage, errorType, requestId and stackTrace, the handler's frames only."""
    ended = _run(workflows, "LambdaRaises", {"order": "o-9"})
    assert ended["status"] == "FAILED"
    assert ended["error"] == "ValueError"
    cause = json.loads(ended["cause"])
    assert cause["errorMessage"] == "no such order: o-9"
    assert cause["errorType"] == "ValueError"
    assert cause.get("requestId")
    assert all("raising.py" in frame or "raise ValueError" in frame for frame in cause["stackTrace"]), cause["stackTrace"]
    assert not any(str(Path.cwd()) in frame for frame in cause["stackTrace"])


@contextlib.contextmanager
def _without(emulator: Any, state_machine: str, action: str) -> Iterator[None]:
    """``state_machine``'s role without ``action`` (taken out of every policy statement of
    the role that grants it, as the CDK's grant wrote them), put back afterwards."""
    sfn = emulator.client("stepfunctions", TRUSTED, REGION)
    role = sfn.describe_state_machine(stateMachineArn=f"arn:aws:states:{REGION}:{TRUSTED}:stateMachine:{state_machine}")["roleArn"]
    name = role.rsplit("/", 1)[1]
    iam = emulator.client("iam", TRUSTED, REGION)
    saved = {
        p: iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"] for p in iam.list_role_policies(RoleName=name)["PolicyNames"]
    }
    taken = 0
    for policy, document in saved.items():
        statements = []
        for statement in document["Statement"]:
            actions = [statement["Action"]] if isinstance(statement["Action"], str) else list(statement["Action"])
            kept = [a for a in actions if a != action]
            taken += len(actions) - len(kept)
            if kept:
                statements.append({**statement, "Action": kept})
        iam.put_role_policy(RoleName=name, PolicyName=policy, PolicyDocument=json.dumps({**document, "Statement": statements}))
    assert taken, f"{state_machine}'s role was never granted {action}"
    try:
        yield
    finally:
        for policy, document in saved.items():
            iam.put_role_policy(RoleName=name, PolicyName=policy, PolicyDocument=json.dumps(document))


def test_lambda_invoke_put_item_and_get_item_through_their_tasks(workflows):
    """Developer guide, "Invoke an AWS Lambda function with Step Functions": "the function
    output is nested inside a dictionary of metadata" (``ExecutedVersion``, ``Payload``,
    ``StatusCode``); "Call DynamoDB with Step Functions": ``putItem`` then ``getItem``
    returns the ``Item`` in DynamoDB JSON."""
    ended = _run(workflows, "InvokesAndStores", {"id": "order-2", "order": "o-2"})
    assert ended["status"] == "SUCCEEDED", ended.get("cause")
    output = json.loads(ended["output"])
    assert output["packed"]["Payload"] == {"order": "o-2", "status": "packed"}
    assert output["packed"]["ExecutedVersion"] == "$LATEST" and output["packed"]["StatusCode"] == 200
    assert output["stored"]["Item"] == {"id": {"S": "order-2"}, "status": {"S": "packed"}}


def test_sns_publish_sqs_send_message_and_eventbridge_put_events_through_their_tasks(workflows):
    """Developer guide, "Call Amazon SNS", "Call Amazon SQS" and "Call EventBridge with Step
    Functions": each returns the service's answer (``MessageId``; ``MessageId`` and
    ``MD5OfMessageBody``; ``Entries`` with ``EventId`` and ``FailedEntryCount`` 0)."""
    ended = _run(workflows, "Notifies", {"order": "o-3"})
    assert ended["status"] == "SUCCEEDED", ended.get("cause")
    output = json.loads(ended["output"])
    assert output["published"]["MessageId"]
    assert output["sent"]["MessageId"] and output["sent"]["MD5OfMessageBody"]
    assert output["announced"]["FailedEntryCount"] == 0 and output["announced"]["Entries"][0]["EventId"]
    messages = workflows.client("sqs", TRUSTED, REGION).receive_message(
        QueueUrl=f"http://sqs.{REGION}.amazonaws.com/{TRUSTED}/ToShip", MaxNumberOfMessages=1
    )["Messages"]
    assert messages[0]["Body"] == "o-3"


@pytest.mark.parametrize(
    ("state_machine", "action", "given"),
    [
        ("UpdatesItem", "dynamodb:UpdateItem", {"id": "order-4"}),
        ("InvokesAndStores", "lambda:InvokeFunction", {"id": "order-5", "order": "o-5"}),
        ("InvokesAndStores", "dynamodb:PutItem", {"id": "order-6", "order": "o-6"}),
        ("Notifies", "sns:Publish", {"order": "o-7"}),
        ("Notifies", "sqs:SendMessage", {"order": "o-8"}),
        ("Notifies", "events:PutEvents", {"order": "o-9"}),
    ],
)
def test_taking_the_granted_action_away_fails_the_task_with_the_service_s_access_denied(workflows, state_machine, action, given):
    """Each integration needs what the developer guide's IAM policies page for it lists,
    and what the CDK construct grants: without it, the task fails with the service's own
    denial ("User: <role> is not authorized to perform: <action>"), not States.Runtime."""
    with _without(workflows, state_machine, action):
        ended = _run(workflows, state_machine, given)
    assert ended["status"] == "FAILED"
    assert ended["error"] != "States.Runtime", ended
    assert f"not authorized to perform: {action}" in ended.get("cause", ""), ended
