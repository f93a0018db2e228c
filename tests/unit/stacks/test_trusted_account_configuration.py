"""TrustedAccountConfiguration: the consumer's SSM configuration and the permissions that switch it on."""

from __future__ import annotations

import json

from tests.unit.stacks.template_helpers import allowed_actions, identity_statements, only_resource, render, resources, role_by_name


def test_configuration_names_the_trusting_role_workflow_and_secret(trusted_configuration, names, expected_arns):
    parameter = only_resource(trusted_configuration, "AWS::SSM::Parameter", Name=names.consumer_configuration_parameter)
    assert parameter["Properties"]["Type"] == "String"
    assert json.loads(render(parameter["Properties"]["Value"])) == {
        "trustingAccountRoleArn": expected_arns["cross_account_role"],
        "trustingAccountWorkflowArn": expected_arns["cache_workflow"],
        "secret": {"secretArn": expected_arns["secret"]},
    }


def test_consumer_may_read_only_its_parameter_and_assume_only_the_trusting_role(trusted_configuration, names, expected_arns):
    (policy,) = [
        p for p in resources(trusted_configuration, "AWS::IAM::Policy").values() if p["Properties"]["Roles"] == [names.consumer_role]
    ]
    assert allowed_actions([render(statement) for statement in policy["Properties"]["PolicyDocument"]["Statement"]]) == {
        "ssm:GetParameter": [expected_arns["parameter"]],
        "sts:AssumeRole": [expected_arns["cross_account_role"]],
    }


def test_the_integration_test_role_trusts_only_the_pipeline_step_and_may_only_run_the_consumer(
    trusted_configuration, names, expected_arns, dev
):
    role_id, role = role_by_name(trusted_configuration, names.integration_test_consumer_role)
    (trust,) = render(role["Properties"]["AssumeRolePolicyDocument"])["Statement"]
    tooling = dev.trusting.account  # the default tooling account
    assert trust["Principal"] == {"AWS": f"arn:aws:iam::{tooling}:role/{names.integration_test_step_role}"}
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": names.integration_test_external_id}}
    statements = identity_statements(trusted_configuration, role_id)
    assert allowed_actions(statements) == {
        "states:StartExecution": [expected_arns["consumer_workflow"]],
        "states:DescribeExecution": [expected_arns["consumer_workflow"].replace(":stateMachine:", ":execution:") + ":*"],
        # The consumer's history is encrypted with its own key, exported by TrustedAccountResources.
        "kms:Decrypt": [{"Fn::ImportValue": names.consumer_data_key_export}],
    }
    (decrypt,) = [s for s in statements if s["Action"] == "kms:Decrypt"]
    assert decrypt["Condition"] == {
        "StringEquals": {
            "kms:ViaService": f"states.{dev.region}.amazonaws.com",
            "kms:EncryptionContext:aws:states:stateMachineArn": expected_arns["consumer_workflow"],
        }
    }
