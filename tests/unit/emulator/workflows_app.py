"""Workflows the sample does not have, written with the CDK's own constructs, for the
emulator's tests (issue 21, point 7): what a team's workflow produces, deployed into the
emulated accounts and run there.

- ``StartsChild`` (trusted account): ``StepFunctionsStartExecution`` with
  ``IntegrationPattern.RUN_JOB`` (``states:startExecution.sync:2``) of a state machine in
  the trusting account, through ``Credentials`` (a role there that trusts this one);
  ``StartsChildAndGoesOn`` the same with ``REQUEST_RESPONSE`` (plain ``startExecution``).
- ``UpdatesItem``: ``DynamoUpdateItem`` then ``DynamoDeleteItem`` on a table.
- ``AssignsWithJsonata``: a JSONata state machine whose Pass states ``Assign`` variables
  and build their ``Output`` from them.
- ``LambdaRaises``: ``LambdaInvoke`` of a function that raises.
- ``InvokesAndStores``: ``LambdaInvoke`` of a function that answers, then ``DynamoPutItem``
  and ``DynamoGetItem`` of what it answered.
- ``Notifies``: ``SnsPublish``, ``SqsSendMessage`` and ``EventBridgePutEvents``.

Each state machine's role is the one the construct grants; ``without`` names grants taken
away, for the tests that attack them.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from tests.unit.emulator.workflows_names import CHILD, CHILD_ARN, REGION, STARTS_CHILD_ROLE, TABLE, TRUSTED, TRUSTING

RAISING_HANDLER = """
def handler(event, context):
    raise ValueError(f"no such order: {event['order']}")
"""
ANSWERING_HANDLER = """
def handler(event, context):
    return {"order": event["order"], "status": "packed"}
"""


class ChildStack(cdk.Stack):
    """The trusting account: the child workflow, and the role its parent starts it through."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        child = sfn.StateMachine(
            self,
            "Child",
            state_machine_name=CHILD,
            definition_body=sfn.DefinitionBody.from_chainable(
                sfn.Pass(self, "Answer", parameters={"doubled.$": "States.MathAdd($.n, $.n)", "from": "child"})
            ),
        )
        starts = iam.Role(
            self,
            "StartsChild",
            role_name=STARTS_CHILD_ROLE,
            assumed_by=iam.ArnPrincipal(f"arn:aws:iam::{TRUSTED}:root"),
        )
        child.grant_start_execution(starts)
        child.grant_read(starts)  # DescribeExecution, for .sync
        starts.add_to_policy(
            iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[f"arn:aws:events:{REGION}:{TRUSTING}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"],
            )
        )


class WorkflowsStack(cdk.Stack):
    """The trusted account: the workflows under test."""

    def __init__(self, scope: Construct, construct_id: str, *, handler_folder: Path, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        starts_child = sfn.TaskRole.from_role(
            iam.Role.from_role_arn(self, "StartsChildRole", f"arn:aws:iam::{TRUSTING}:role/{STARTS_CHILD_ROLE}", mutable=False)
        )
        child = sfn.StateMachine.from_state_machine_arn(self, "ChildRef", CHILD_ARN)
        for name, pattern in (
            ("StartsChild", sfn.IntegrationPattern.RUN_JOB),
            ("StartsChildAndGoesOn", sfn.IntegrationPattern.REQUEST_RESPONSE),
        ):
            sfn.StateMachine(
                self,
                name,
                state_machine_name=name,
                definition_body=sfn.DefinitionBody.from_chainable(
                    tasks.StepFunctionsStartExecution(
                        self,
                        f"{name}Task",
                        state_machine=child,
                        integration_pattern=pattern,
                        input=sfn.TaskInput.from_object({"n.$": "$.n"}),
                        credentials=sfn.Credentials(role=starts_child),
                    )
                ),
            )

        table = dynamodb.Table(
            self,
            "Items",
            table_name=TABLE,
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        key = {"id": tasks.DynamoAttributeValue.from_string(sfn.JsonPath.string_at("$.id"))}
        update = tasks.DynamoUpdateItem(
            self,
            "Count",
            table=table,
            key=key,
            update_expression="ADD visits :one",
            expression_attribute_values={":one": tasks.DynamoAttributeValue.from_number(1)},
            return_values=tasks.DynamoReturnValues.UPDATED_NEW,
            result_path="$.updated",
        )
        delete = tasks.DynamoDeleteItem(self, "Forget", table=table, key=key, result_path=sfn.JsonPath.DISCARD)
        sfn.StateMachine(
            self, "UpdatesItem", state_machine_name="UpdatesItem", definition_body=sfn.DefinitionBody.from_chainable(update.next(delete))
        )

        remember = sfn.Pass.jsonata(
            self, "Remember", assign={"order": "{% $states.input.order %}", "seen": "{% $count($states.input.items) %}"}
        )
        answer = sfn.Pass.jsonata(
            self, "Answer", outputs={"order": "{% $order %}", "items": "{% $seen %}", "total": "{% $sum($states.input.items.price) %}"}
        )
        sfn.StateMachine(
            self,
            "AssignsWithJsonata",
            state_machine_name="AssignsWithJsonata",
            query_language=sfn.QueryLanguage.JSONATA,
            definition_body=sfn.DefinitionBody.from_chainable(remember.next(answer)),
        )

        def function(name: str, module: str) -> lambda_.Function:
            code = lambda_.Code.from_asset(str(handler_folder))
            return lambda_.Function(
                self, name, function_name=name, runtime=lambda_.Runtime.PYTHON_3_13, handler=f"{module}.handler", code=code
            )

        raises, answers = function("Raises", "raising"), function("Answers", "answering")
        invoke = tasks.LambdaInvoke(self, "Pack", lambda_function=answers, retry_on_service_exceptions=False, result_path="$.packed")
        put = tasks.DynamoPutItem(
            self,
            "Store",
            table=table,
            item={
                "id": tasks.DynamoAttributeValue.from_string(sfn.JsonPath.string_at("$.id")),
                "status": tasks.DynamoAttributeValue.from_string(sfn.JsonPath.string_at("$.packed.Payload.status")),
            },
            result_path=sfn.JsonPath.DISCARD,
        )
        get = tasks.DynamoGetItem(self, "Read", table=table, key=key, result_path="$.stored")
        sfn.StateMachine(
            self,
            "InvokesAndStores",
            state_machine_name="InvokesAndStores",
            definition_body=sfn.DefinitionBody.from_chainable(invoke.next(put).next(get)),
        )

        topic = sns.Topic(self, "Shipped", topic_name="Shipped")
        queue = sqs.Queue(self, "ToShip", queue_name="ToShip")
        publish = tasks.SnsPublish(
            self, "Publish", topic=topic, message=sfn.TaskInput.from_json_path_at("$.order"), result_path="$.published"
        )
        send = tasks.SqsSendMessage(
            self, "Send", queue=queue, message_body=sfn.TaskInput.from_json_path_at("$.order"), result_path="$.sent"
        )
        put_events = tasks.EventBridgePutEvents(
            self,
            "Announce",
            entries=[
                tasks.EventBridgePutEventsEntry(
                    detail=sfn.TaskInput.from_object({"order.$": "$.order"}),
                    detail_type="OrderShipped",
                    source="workflows.orders",
                    event_bus=events.EventBus.from_event_bus_name(self, "DefaultBus", "default"),
                )
            ],
            result_path="$.announced",
        )
        sfn.StateMachine(
            self,
            "Notifies",
            state_machine_name="Notifies",
            definition_body=sfn.DefinitionBody.from_chainable(publish.next(send).next(put_events)),
        )

        sfn.StateMachine(
            self,
            "LambdaRaises",
            state_machine_name="LambdaRaises",
            definition_body=sfn.DefinitionBody.from_chainable(
                tasks.LambdaInvoke(self, "Invoke", lambda_function=raises, retry_on_service_exceptions=False)
            ),
        )


def synthesize(outdir: Path) -> Path:
    """The two stacks synthesized into ``outdir`` (a cloud assembly), the raising handler
    written beside it."""
    handler_folder = outdir.parent / "raising-handler"
    handler_folder.mkdir(parents=True, exist_ok=True)
    (handler_folder / "raising.py").write_text(RAISING_HANDLER)
    (handler_folder / "answering.py").write_text(ANSWERING_HANDLER)
    app = cdk.App(outdir=str(outdir))
    ChildStack(app, "WorkflowChild", env=cdk.Environment(account=TRUSTING, region=REGION))
    WorkflowsStack(app, "Workflows", handler_folder=handler_folder, env=cdk.Environment(account=TRUSTED, region=REGION))
    app.synth()
    return outdir
