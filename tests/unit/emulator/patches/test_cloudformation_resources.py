from __future__ import annotations

import json

from tests.unit.emulator.helpers import REGION

TEMPLATE = {
    "Resources": {
        "Secret": {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {"Name": "generated", "GenerateSecretString": {"PasswordLength": 24, "ExcludePunctuation": True}},
        },
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": json.loads('{"Statement": []}')}},
        "Machine": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "StateMachineName": "express",
                "StateMachineType": "EXPRESS",
                "DefinitionString": '{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}',
                "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
            },
        },
    },
    "Outputs": {"SecretArn": {"Value": {"Ref": "Secret"}}},
}


def _table_template(table_name: str, key_arn: str) -> str:
    return json.dumps(
        {
            "Resources": {
                "Table": {
                    "Type": "AWS::DynamoDB::Table",
                    "Properties": {
                        "TableName": table_name,
                        "BillingMode": "PAY_PER_REQUEST",
                        "KeySchema": [{"AttributeName": "Id", "KeyType": "HASH"}],
                        "AttributeDefinitions": [{"AttributeName": "Id", "AttributeType": "S"}],
                        "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": key_arn},
                        "TimeToLiveSpecification": {"AttributeName": "ExpiresAt", "Enabled": True},
                    },
                }
            }
        }
    )


def test_moto_still_keeps_the_templates_sse_spelling_and_ignores_ttl(vanilla):
    key_arn = vanilla.client("kms").create_key()["KeyMetadata"]["Arn"]
    vanilla.client("cloudformation").create_stack(StackName="table", TemplateBody=_table_template("plain", key_arn))
    dynamodb = vanilla.client("dynamodb")
    assert "SSEDescription" not in dynamodb.describe_table(TableName="plain")["Table"]
    assert dynamodb.describe_time_to_live(TableName="plain")["TimeToLiveDescription"]["TimeToLiveStatus"] == "DISABLED"


def _log_group_arn(account, stack_name: str) -> str:
    template = {
        "Resources": {"Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": f"/{stack_name}/logs"}}},
        "Outputs": {"Arn": {"Value": {"Fn::GetAtt": ["Logs", "Arn"]}}},
    }
    cloudformation = account.client("cloudformation")
    cloudformation.create_stack(StackName=stack_name, TemplateBody=json.dumps(template))
    (stack,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    return str(stack["Outputs"][0]["OutputValue"])


def test_moto_still_returns_a_log_groups_arn_without_its_tail(vanilla):
    assert not _log_group_arn(vanilla, "logs").endswith(":*")


def test_moto_still_has_no_secret_model_and_hides_cloudformation_state_machines(vanilla):
    from moto.cloudformation import parsing

    from emulator.patches import cloudformation_resources

    assert cloudformation_resources.REASON
    assert "AWS::SecretsManager::Secret" not in parsing.get_model_map()
    vanilla.client("cloudformation").create_stack(
        StackName="s",
        TemplateBody=json.dumps(
            {
                "Resources": {
                    "Machine": TEMPLATE["Resources"]["Machine"]
                    | {"Properties": {**TEMPLATE["Resources"]["Machine"]["Properties"], "RoleArn": "arn:aws:iam::123456789012:role/r"}}
                }
            }
        ),
    )
    assert vanilla.client("stepfunctions").list_state_machines()["stateMachines"] == []


def test_a_generated_secret_and_an_executable_express_state_machine(patched, unique):
    cloudformation = patched.client("cloudformation")
    cloudformation.create_stack(StackName=unique, TemplateBody=json.dumps(TEMPLATE), Capabilities=["CAPABILITY_IAM"])
    (stack,) = cloudformation.describe_stacks(StackName=unique)["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    secret_arn = stack["Outputs"][0]["OutputValue"]
    value = patched.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]
    assert len(value) == 24 and value.isalnum()
    (machine,) = [m for m in patched.client("stepfunctions").list_state_machines()["stateMachines"] if m["name"] == "express"]
    assert machine["type"] == "EXPRESS"
    result = patched.client("stepfunctions").start_sync_execution(stateMachineArn=machine["stateMachineArn"])
    assert result["status"] == "SUCCEEDED"


def test_cdk_metadata_updates_in_place_as_constructs_are_added(patched, unique):
    """AWS::CDK::Metadata's Analytics change when a commit adds constructs (a new stage of
    the pipeline, say): CloudFormation updates the stack (User Guide, "Update behaviors of
    stack resources": a property change is an update), here a no-op, as the resource is
    the CDK's version reporting. It once failed the pipeline's self-mutation."""
    cloudformation = patched.client("cloudformation")

    def template(analytics: str) -> str:
        return json.dumps(
            {
                "Resources": {
                    "CDKMetadata": {"Type": "AWS::CDK::Metadata", "Properties": {"Analytics": analytics}},
                    "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": unique}},
                }
            }
        )

    cloudformation.create_stack(StackName=unique, TemplateBody=template("v2:deflate64:one"))
    cloudformation.update_stack(StackName=unique, TemplateBody=template("v2:deflate64:two"))
    (stack,) = cloudformation.describe_stacks(StackName=unique)["Stacks"]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"


def test_a_tables_encryption_and_ttl_are_as_the_template_declares(patched, unique):
    """CloudFormation template reference, AWS::DynamoDB::Table SSESpecification
    (``SSEEnabled``) and TimeToLiveSpecification; DynamoDB API reference, DescribeTable
    (``SSEDescription``) and DescribeTimeToLive."""
    key_arn = patched.client("kms").create_key()["KeyMetadata"]["Arn"]
    patched.client("cloudformation").create_stack(StackName=unique, TemplateBody=_table_template(unique, key_arn))
    dynamodb = patched.client("dynamodb")
    described = dynamodb.describe_table(TableName=unique)["Table"]["SSEDescription"]
    assert (described["Status"], described["SSEType"], described["KMSMasterKeyArn"]) == ("ENABLED", "KMS", key_arn)
    ttl = dynamodb.describe_time_to_live(TableName=unique)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "ExpiresAt")


def test_a_log_groups_arn_ends_as_cloudformation_returns_it(patched, unique):
    """CloudFormation template reference, AWS::Logs::LogGroup, return values: the Arn
    attribute ends in ``:*`` (unlike DescribeLogGroups' logGroupArn)."""
    assert _log_group_arn(patched, unique) == f"arn:aws:logs:{REGION}:{patched.id}:log-group:/{unique}/logs:*"


def test_a_state_machines_encryption_configuration_is_kept(patched, unique):
    """CloudFormation template reference, AWS::StepFunctions::StateMachine
    EncryptionConfiguration, and the API's DescribeStateMachine (encryptionConfiguration):
    the key the template names is the state machine's, which the emulator then asks
    callers for (tests/integration/test_failure_modes.py)."""
    key_arn = patched.client("kms").create_key()["KeyMetadata"]["Arn"]
    template = {
        "Resources": {
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "StateMachineName": unique,
                    "DefinitionString": json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
                    "RoleArn": f"arn:aws:iam::{patched.id}:role/runner",
                    "EncryptionConfiguration": {
                        "Type": "CUSTOMER_MANAGED_KMS_KEY",
                        "KmsKeyId": key_arn,
                        "KmsDataKeyReusePeriodSeconds": 120,
                    },
                },
            }
        }
    }
    patched.client("cloudformation").create_stack(StackName=unique, TemplateBody=json.dumps(template))
    arn = f"arn:aws:states:{REGION}:{patched.id}:stateMachine:{unique}"
    described = patched.client("stepfunctions").describe_state_machine(stateMachineArn=arn)["encryptionConfiguration"]
    assert described == {"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": key_arn, "kmsDataKeyReusePeriodSeconds": 120}
