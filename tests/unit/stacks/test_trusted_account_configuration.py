"""TrustedAccountConfiguration: the consumer's SSM configuration and the permissions that switch it on."""

from __future__ import annotations

import json

from tests.unit.stacks.template_helpers import allowed_actions, identity_statements, only_resource, render, resources


def test_configuration_names_the_trusting_role_workflow_and_secret(trusted_configuration, names, expected_arns):
    parameter = only_resource(trusted_configuration, "AWS::SSM::Parameter", Name=names.consumer_configuration_parameter)
    assert parameter["Properties"]["Type"] == "String"
    assert json.loads(render(parameter["Properties"]["Value"])) == {
        "trustingAccountRoleArn": expected_arns["cross_account_role"],
        "trustingAccountWorkflowArn": expected_arns["cache_workflow"],
        "secret": {"secretArn": expected_arns["secret"]},
    }


def test_consumer_may_read_only_its_parameter_and_assume_only_the_trusting_role(trusted_configuration, names, expected_arns):
    (policy,) = resources(trusted_configuration, "AWS::IAM::Policy").values()
    assert policy["Properties"]["Roles"] == [names.consumer_role]
    assert allowed_actions(identity_statements(trusted_configuration)) == {
        "ssm:GetParameter": [expected_arns["parameter"]],
        "sts:AssumeRole": [expected_arns["cross_account_role"]],
    }
