"""TrustingAccountResources: the secret, its cache, CacheSecret, SecretCacheWfw, TrustingAccountRl."""

from __future__ import annotations

from tests.unit.stacks.template_helpers import (
    allowed_actions,
    assert_role_trusts_step_functions_only_for,
    identity_statements,
    iter_states,
    only_resource,
    render,
    resources,
    role_by_name,
    state_machine_definition,
)


def _logical_id(template, resource_type, prefix=""):
    (logical_id,) = (logical_id for logical_id in resources(template, resource_type) if logical_id.startswith(prefix))
    return logical_id


# --- TrustingAccountRl -------------------------------------------------------


def test_trusting_role_trusts_only_the_consumer_role_with_the_consumer_arn_as_external_id(trusting_resources, names, expected_arns):
    _, role = role_by_name(trusting_resources, names.cross_account_role)
    (statement,) = render(role["Properties"]["AssumeRolePolicyDocument"])["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Principal"] == {"AWS": expected_arns["consumer_role"]}
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": expected_arns["consumer_workflow"]}}


def test_trusting_role_may_only_start_the_express_workflow_synchronously(trusting_resources, names):
    role_id, _ = role_by_name(trusting_resources, names.cross_account_role)
    express_id = _logical_id(trusting_resources, "AWS::StepFunctions::StateMachine")
    data_key = "${" + _logical_id(trusting_resources, "AWS::KMS::Key", "SecretCacheWorkflowDataKey") + ".Arn}"
    statements = identity_statements(trusting_resources, role_id)
    assert allowed_actions(statements) == {"states:StartSyncExecution": ["${" + express_id + "}"], "kms:Decrypt": [data_key]}
    # StartSyncExecution returns the run's output from its encrypted history: the caller's
    # kms:Decrypt (Step Functions developer guide, "Data at rest encryption"), through
    # Step Functions only, for this state machine only.
    (decrypt,) = [s for s in statements if s["Action"] == "kms:Decrypt"]
    assert decrypt["Condition"] == {
        "StringEquals": {
            "kms:ViaService": "states.us-east-1.amazonaws.com",
            "kms:EncryptionContext:aws:states:stateMachineArn": "arn:aws:states:us-east-1:222222222222:stateMachine:SecretCacheWfw-dev",
        }
    }


# --- SecretCacheWfwRl --------------------------------------------------------


def test_express_role_trusts_only_step_functions_for_the_express_workflow(trusting_resources, names, dev, expected_arns):
    assert_role_trusts_step_functions_only_for(
        trusting_resources, names.cache_workflow_role, account=dev.trusting.account, state_machine_arn=expected_arns["cache_workflow"]
    )


def test_express_role_reads_only_the_cache_and_the_allow_listed_secret(trusting_resources, names):
    role_id, _ = role_by_name(trusting_resources, names.cache_workflow_role)
    actions = allowed_actions(identity_statements(trusting_resources, role_id))
    table = "${" + _logical_id(trusting_resources, "AWS::DynamoDB::Table") + ".Arn}"
    secret = "${" + _logical_id(trusting_resources, "AWS::SecretsManager::Secret") + "}"
    function = "${" + _logical_id(trusting_resources, "AWS::Lambda::Function") + ".Arn}"
    key = "${" + _logical_id(trusting_resources, "AWS::KMS::Key", "SecretCacheKey") + ".Arn}"
    assert actions["dynamodb:GetItem"] == [table]
    assert actions["secretsmanager:GetSecretValue"] == [secret]
    assert actions["lambda:InvokeFunction"] == [function]
    data_key = "${" + _logical_id(trusting_resources, "AWS::KMS::Key", "SecretCacheWorkflowDataKey") + ".Arn}"
    # Its own data key: Decrypt for its synchronous runs, GenerateDataKey for log delivery only.
    assert actions["kms:Decrypt"] == [key, data_key]
    assert actions["kms:GenerateDataKey"] == [data_key]
    data_plane = {action for action in actions if not action.startswith(("logs:", "xray:"))}
    assert data_plane == {
        "dynamodb:GetItem",
        "secretsmanager:GetSecretValue",
        "lambda:InvokeFunction",
        "kms:Decrypt",
        "kms:GenerateDataKey",
    }


# --- SecretCacheWfw ----------------------------------------------------------


def test_express_workflow_data_is_encrypted_with_its_own_rotating_key(trusting_resources, names):
    machine = only_resource(trusting_resources, "AWS::StepFunctions::StateMachine", StateMachineName=names.cache_workflow)
    key_id = _logical_id(trusting_resources, "AWS::KMS::Key", "SecretCacheWorkflowDataKey")
    assert machine["Properties"]["EncryptionConfiguration"]["Type"] == "CUSTOMER_MANAGED_KMS_KEY"
    assert machine["Properties"]["EncryptionConfiguration"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert resources(trusting_resources, "AWS::KMS::Key")[key_id]["Properties"]["EnableKeyRotation"] is True


def test_express_workflow_logs_all_levels_without_execution_data_and_traces(trusting_resources, names):
    machine = only_resource(trusting_resources, "AWS::StepFunctions::StateMachine", StateMachineName=names.cache_workflow)
    props = machine["Properties"]
    assert props["StateMachineType"] == "EXPRESS"
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    assert props["LoggingConfiguration"]["IncludeExecutionData"] is False
    assert props["TracingConfiguration"] == {"Enabled": True}


def test_every_log_group_keeps_30_days_encrypted_with_a_key_only_logs_may_use_for_it(trusting_resources, trusted_resources, dev):
    for template, account in ((trusting_resources, dev.trusting.account), (trusted_resources, dev.trusted.account)):
        groups = resources(template, "AWS::Logs::LogGroup")
        logs_key_id = _logical_id(template, "AWS::KMS::Key", "LogsKey")
        assert groups
        for group in groups.values():
            assert group["Properties"]["RetentionInDays"] == 30
            assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [logs_key_id, "Arn"]}
        key_policy = render(template["Resources"][logs_key_id]["Properties"]["KeyPolicy"])
        (logs_statement,) = [s for s in key_policy["Statement"] if s.get("Sid") == "CloudWatchLogsForThisStacksLogGroups"]
        allowed = logs_statement["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
        expected = sorted(
            f"arn:aws:logs:{dev.region}:{account}:log-group:{group['Properties']['LogGroupName']}" for group in groups.values()
        )
        assert sorted(allowed) == expected


def test_express_workflow_refuses_secrets_outside_the_allow_list(trusting_resources, names, expected_arns):
    states = state_machine_definition(trusting_resources, names.cache_workflow)["States"]
    check = states["CheckAllowList"]
    (rule,) = check["Choices"]
    assert rule["Or"] == [{"Variable": "$.secretArn", "StringEquals": expected_arns["secret"]}]
    assert rule["Next"] == "StampRequest"
    assert states[check["Default"]] == {
        "Type": "Fail",
        "Error": "SecretNotAllowed",
        "Cause": "The requested secret is not on this workflow's allow-list.",
    }


def test_express_workflow_serves_only_unexpired_cache_items(trusting_resources, names):
    states = state_machine_definition(trusting_resources, names.cache_workflow)["States"]
    read = states["ReadCache"]
    assert read["Resource"] == "arn:aws:states:::dynamodb:getItem"
    assert read["Next"] == "IsCacheFresh"
    (fresh,) = states["IsCacheFresh"]["Choices"]
    assert {"Variable": "$.Cache.Item.ExpiresAt.S", "TimestampGreaterThanPath": "$.RequestedAt"} in fresh["And"]
    assert states["StampRequest"]["Parameters"] == {"secretArn.$": "$.secretArn", "RequestedAt.$": "$$.Execution.StartTime"}
    assert fresh["Next"] == "ServeFromCache"
    assert states["IsCacheFresh"]["Default"] == "GetSecretValue"


def test_express_workflow_reads_a_miss_from_secrets_manager_and_fails_by_name_if_missing(trusting_resources, names):
    states = state_machine_definition(trusting_resources, names.cache_workflow)["States"]
    get = states["GetSecretValue"]
    assert get["Resource"] == "arn:aws:states:::aws-sdk:secretsmanager:getSecretValue"
    assert get["Parameters"] == {"SecretId.$": "$.secretArn"}
    (catch,) = get["Catch"]
    assert catch["ErrorEquals"] == ["SecretsManager.ResourceNotFoundException"]
    assert states[catch["Next"]]["Type"] == "Fail"
    assert states[catch["Next"]]["Error"] == "SecretNotFound"


def test_a_failed_cache_write_still_returns_the_secret(trusting_resources, names):
    states = state_machine_definition(trusting_resources, names.cache_workflow)["States"]
    cache = states["CacheSecret"]
    # Invoked by ARN (payload only): the function's reply is discarded, never stored.
    assert cache["Resource"] == "${" + _logical_id(trusting_resources, "AWS::Lambda::Function") + ".Arn}"
    assert cache["Parameters"] == {"SecretArn.$": "$.secretArn", "SecretValue.$": "$.Secret.SecretString"}
    assert cache["ResultPath"] is None
    (catch,) = cache["Catch"]
    assert catch["ErrorEquals"] == ["States.ALL"]
    assert states[catch["Next"]]["Next"] == cache["Next"] == "ServeFromSecretsManager"
    assert states["ServeFromSecretsManager"]["Parameters"]["SecretValue.$"] == "$.Secret.SecretString"


def test_every_express_task_retries_transient_errors_only(trusting_resources, names):
    definition = state_machine_definition(trusting_resources, names.cache_workflow)
    tasks = [state for _, state in iter_states(definition) if state["Type"] == "Task"]
    assert len(tasks) == 3
    for task in tasks:
        (retry,) = task["Retry"]
        assert "States.ALL" not in retry["ErrorEquals"] and "States.TaskFailed" not in retry["ErrorEquals"]
        assert retry["BackoffRate"] > 1


# --- the secret, the key, the cache ------------------------------------------


def test_secret_is_generated_and_encrypted_with_the_customer_managed_key(trusting_resources, names):
    secret = only_resource(trusting_resources, "AWS::SecretsManager::Secret", Name=names.secret)
    props = secret["Properties"]
    assert "SecretString" not in props
    assert props["GenerateSecretString"]["PasswordLength"] >= 32
    assert props["KmsKeyId"] == {"Fn::GetAtt": [_logical_id(trusting_resources, "AWS::KMS::Key", "SecretCacheKey"), "Arn"]}


def test_every_key_rotates(trusting_resources, trusted_resources):
    for template in (trusting_resources, trusted_resources):
        keys = resources(template, "AWS::KMS::Key").values()
        assert keys and all(key["Properties"]["EnableKeyRotation"] is True for key in keys)


def test_cache_function_environment_is_encrypted_with_the_customer_managed_key(trusting_resources, names):
    function = only_resource(trusting_resources, "AWS::Lambda::Function", FunctionName=names.cache_function)["Properties"]
    assert function["KmsKeyArn"] == {"Fn::GetAtt": [_logical_id(trusting_resources, "AWS::KMS::Key", "SecretCacheKey"), "Arn"]}


def test_cache_table_is_on_demand_keyed_by_secret_arn_with_ttl_pitr_and_kms(trusting_resources, names):
    table = only_resource(trusting_resources, "AWS::DynamoDB::Table", TableName=names.cache_table)["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "SecretArn", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "TimeToLive", "Enabled": True}
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    sse = table["SSESpecification"]
    assert sse["SSEEnabled"] is True and sse["SSEType"] == "KMS"
    assert sse["KMSMasterKeyId"] == {"Fn::GetAtt": [_logical_id(trusting_resources, "AWS::KMS::Key", "SecretCacheKey"), "Arn"]}


# --- CacheSecret ---------------------------------------------------------------


def test_cache_function_is_python_3_13_on_arm64_with_powertools_bundled_not_layered(trusting_resources, names):
    function = only_resource(trusting_resources, "AWS::Lambda::Function", FunctionName=names.cache_function)["Properties"]
    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == ["arm64"]
    assert function["Handler"] == "cache_secret.handler.lambda_handler"
    # No layer: Powertools is in the zip (tests/unit/stacks/constructs/test_function_bundle.py).
    assert "Layers" not in function
    assert set(function["Environment"]["Variables"]) == {
        "CACHE_TABLE_NAME",
        "CACHE_TTL_SECONDS",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_LOG_LEVEL",
    }


def test_no_template_looks_anything_up_at_deploy_time_but_the_bootstrap_version(synthesized_app):
    """CloudFormation resolves an ``AWS::SSM::Parameter::Value`` parameter as the caller, the
    stage's deploy role, which CDK's bootstrap template lets read only its own version
    parameter (CDK docs, "Bootstrapping your environment for use with the AWS CDK",
    the deploy role's policy; CloudFormation User Guide, "Specify existing resources at
    runtime with CloudFormation-supplied parameter types": SSM parameter types)."""
    lookups = {
        (stage, name, parameter.get("Default"))
        for stage, template in synthesized_app.templates.items()
        for name, parameter in template.get("Parameters", {}).items()
        if parameter["Type"].startswith("AWS::SSM::Parameter::Value")
    }
    assert lookups
    assert {default for _, _, default in lookups} == {"/cdk-bootstrap/hnb659fds/version"}, lookups


def test_cache_function_role_may_only_put_items_and_write_its_logs(trusting_resources, names, dev):
    role_id, role = role_by_name(trusting_resources, names.cache_function_role)
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": dev.trusting.account}}
    actions = allowed_actions(identity_statements(trusting_resources, role_id))
    data_plane = {action for action in actions if not action.startswith("xray:")}
    assert data_plane == {
        "dynamodb:PutItem",
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    assert actions["dynamodb:PutItem"] == ["${" + _logical_id(trusting_resources, "AWS::DynamoDB::Table") + ".Arn}"]


def test_outputs_give_the_integration_test_what_it_needs(trusting_resources):
    assert {"SecretArn", "SecretCacheWfwArn", "CacheTableName"} <= set(trusting_resources["Outputs"])


def test_the_secret_check_role_trusts_only_the_pipeline_step_and_may_only_read_the_secret(trusting_resources, names, dev):
    role_id, role = role_by_name(trusting_resources, names.integration_test_secret_role)
    (trust,) = render(role["Properties"]["AssumeRolePolicyDocument"])["Statement"]
    assert trust["Principal"] == {"AWS": f"arn:aws:iam::{dev.trusting.account}:role/{names.integration_test_step_role}"}
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": names.integration_test_external_id}}
    actions = allowed_actions(identity_statements(trusting_resources, role_id))
    assert actions == {
        "secretsmanager:GetSecretValue": ["${" + _logical_id(trusting_resources, "AWS::SecretsManager::Secret") + "}"],
        "kms:Decrypt": ["${" + _logical_id(trusting_resources, "AWS::KMS::Key", "SecretCacheKey") + ".Arn}"],
    }
