"""What cfn-lint, as the audit runs it (pipeline/cfn_lint.py), reports of the kinds of template
error aws-cdk-lib's built-in validation reports: nearly all, not all (``NOT_IN_CFN_LINT``). So
the built-in validation stays on in every synth, though it is the largest CPU cost of one:
turning it off was to follow only from cfn-lint catching every kind. This test is the evidence,
and says at once when that changes.

aws-cdk-lib 2.273.0 runs CloudFormation Validate (@aws/cloudformation-validate 1.12.1, a WASM
engine) over every template at every synth, unless the app's process has CDK_VALIDATION=false
(core/lib/private/synthesis-validation.js, defaultValidationEnabled; `cdk synth --no-validation`
sets it). The context flag @aws-cdk/core:validateAgainstDefaultRules does not turn it off: true
fails synth on its errors, unset or false reports them as warnings, and the engine runs either way.
It costs ~4.7 CPU-s a `cdk synth` of this app (the engine's build, once per jsii kernel, and the
validation). Most of its rules are cfn-lint's own, ported under the same ids, or the resource
schemas cfn-lint checks too; the audit runs the pinned cfn-lint over every template, and an error
fails it.

Each kind below was planted through CDK L1 constructs and escape hatches, synthesized with the
flag on (the built-in rule in each plant's ``builtin``), and is planted here again as a plain
template: the test asserts cfn-lint reports it as an error, naming the rule. Without synth: one
cfn-lint run over every plant.

What only the built-in validation reports is in ``NOT_IN_CFN_LINT``, each expected to fail
(strict: should cfn-lint come to report one, the test fails, and it moves to ``PLANTS``). None
concerns what this app's templates hold (no security group, GameLift resource, Conditions,
CreationPolicy or Fn::FindInMap; the one Rules entry is CDK's own CheckBootstrapVersion). Its
warnings (open security groups, NotAction, unencrypted or public RDS...) fail no synth, even with
the flag on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from pipeline.cfn_lint import LintFinding, describe, lint

REGION = "us-east-1"  # the stacks' region in cdk.json
ROLE_ARN = "arn:aws:iam::111111111111:role/planted"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


@dataclass(frozen=True)
class Plant:
    name: str  # the template's file name (without .json)
    builtin: str  # the rule CloudFormation Validate reports it with, at synth
    cfn_lint: str  # the rule cfn-lint reports it with ("" for what cfn-lint does not report)
    template: dict[str, Any]


def template(resources: dict[str, Any], **sections: Any) -> dict[str, Any]:
    return {"AWSTemplateFormatVersion": "2010-09-09", **sections, "Resources": resources}


def resource(type_: str, **properties: Any) -> dict[str, Any]:
    return {"Type": type_, "Properties": properties}


def topic(**properties: Any) -> dict[str, Any]:
    return resource("AWS::SNS::Topic", **properties)


def queue(**properties: Any) -> dict[str, Any]:
    return resource("AWS::SQS::Queue", **properties)


def role(**properties: Any) -> dict[str, Any]:
    return {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": TRUST, **properties}}


def function(**properties: Any) -> dict[str, Any]:
    defaults = {"Role": ROLE_ARN, "Runtime": "python3.12", "Handler": "index.handler", "Code": {"ZipFile": "def handler(e, c): pass"}}
    return {"Type": "AWS::Lambda::Function", "Properties": {**defaults, **properties}}


def table(**properties: Any) -> dict[str, Any]:
    key = {
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
    }
    return {"Type": "AWS::DynamoDB::Table", "Properties": {"BillingMode": "PAY_PER_REQUEST", **key, **properties}}


def policy(statement: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"PolicyName": "planted", "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]}}]


IN_REGION = {"Fn::Equals": [{"Ref": "AWS::Region"}, REGION]}
MAPPING = {"Settings": {"planted": {"name": "planted"}}}
UNREACHABLE_START = {"StartAt": "Nowhere", "States": {"A": {"Type": "Pass", "End": True}}}
PORTS_INVERTED = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 80, "CidrIp": "10.0.0.0/8"}
STAGE = {
    "Name": "Build",
    "Actions": [
        {
            "Name": "Build",
            "ActionTypeId": {"Category": "Build", "Owner": "AWS", "Provider": "CodeBuild", "Version": "1"},
            "Configuration": {"ProjectName": "planted"},
            "InputArtifacts": [{"Name": "Source"}],
        }
    ],
}
SOURCE_STAGE = {
    "Name": "Source",
    "Actions": [
        {
            "Name": "Source",
            "ActionTypeId": {"Category": "Source", "Owner": "AWS", "Provider": "S3", "Version": "1"},
            "Configuration": {"S3Bucket": "planted", "S3ObjectKey": "source.zip"},
            "OutputArtifacts": [{"Name": "Source"}],
        }
    ],
}

CONTROL = Plant("control", "", "", template({"Topic": topic(), "Role": role(), "Table": table(), "Function": function()}))

PLANTS = (
    # The resource provider schemas.
    Plant("additional_property", "F3002", "E3002", template({"Topic": topic(NoSuchProperty="x")})),
    Plant("required_property_missing", "F3003", "E3003", template({"Role": resource("AWS::IAM::Role", Path="/")})),
    Plant("type_mismatch", "F3012", "E3012", template({"Log": resource("AWS::Logs::LogGroup", RetentionInDays={"Days": 7})})),
    # The built-in validation only warns of a value outside an enum (W3030); cfn-lint fails it.
    Plant("enum_value", "W3030", "E3030", template({"Parameter": resource("AWS::SSM::Parameter", Type="Strng", Value="v")})),
    Plant("pattern", "F3031", "E3031", template({"Alias": resource("AWS::KMS::Alias", AliasName="planted", TargetKeyId="k")})),
    Plant("arn_pattern", "F3031", "E3031", template({"Function": function(Role="not-an-arn")})),
    Plant("string_length", "F3033", "E3033", template({"Topic": topic(TopicName="t" * 300)})),
    Plant("number_range", "F3034", "E3034", template({"Function": function(Timeout=0)})),
    Plant("array_length", "F3032", "E3032", template({"Table": table(KeySchema=[])})),
    Plant("unique_items", "F3037", "E3037", template({"Role": role(ManagedPolicyArns=["arn:aws:iam::aws:policy/ReadOnlyAccess"] * 2)})),
    Plant("dependent_property", "F3021", "E3021", template({"Table": table(SSESpecification={"KMSMasterKeyId": "alias/planted"})})),
    Plant("unknown_resource_type", "F3006", "E3006", template({"Topic": resource("AWS::SNS::Topik")})),
    Plant("resource_without_type", "E3001", "E3001", template({"Topic": {"Properties": {}}})),
    Plant("logical_id_not_alphanumeric", "F0006", "E3001", template({"Planted-Topic": topic()})),
    # Intrinsic functions.
    Plant("ref_to_nothing", "F1020", "E1020", template({"Topic": topic(DisplayName={"Ref": "Nowhere"})})),
    Plant("getatt_of_nothing", "F1020", "E1010", template({"Topic": topic(DisplayName={"Fn::GetAtt": ["Nowhere", "Arn"]})})),
    Plant(
        "getatt_unknown_attribute",
        "E9004",
        "E1010",
        template({"Queue": queue(), "Topic": topic(DisplayName={"Fn::GetAtt": ["Queue", "Nope"]})}),
    ),
    Plant(
        "getatt_unknown_attribute_in_output",
        "F6101",
        "E6101",
        template({"Topic": topic()}, Outputs={"Out": {"Value": {"Fn::GetAtt": ["Topic", "Nope"]}}}),
    ),
    Plant("sub_variable_undefined", "F1018", "E1019", template({"Topic": topic(DisplayName={"Fn::Sub": "${Nowhere}-planted"})})),
    Plant("sub_not_a_string", "F1101", "E1019", template({"Topic": topic(DisplayName={"Fn::Sub": 1})})),
    Plant("sub_syntax_outside_sub", "E1029", "E1029", template({"Topic": topic(DisplayName="${AWS::Region}-planted")})),
    Plant("select_arity", "E1017", "E1017", template({"Topic": topic(DisplayName={"Fn::Select": ["0"]})})),
    # A warning for the built-in validation (W1102), an error for cfn-lint.
    Plant("join_delimiter_not_a_string", "W1102", "E1022", template({"Topic": topic(DisplayName={"Fn::Join": [["x"], ["a"]]})})),
    Plant("base64_of_a_list", "E1021", "E1021", template({"Topic": topic(DisplayName={"Fn::Base64": ["a"]})})),
    Plant("if_condition_undefined", "E1028", "E1028", template({"Topic": topic(DisplayName={"Fn::If": ["Nowhere", "a", "b"]})})),
    Plant(
        "if_arity",
        "F0013",
        "E1028",
        template({"Topic": topic(DisplayName={"Fn::If": ["InRegion", "a"]})}, Conditions={"InRegion": IN_REGION}),
    ),
    # cfn-lint checks the map's name where the property is constrained (see NOT_IN_CFN_LINT).
    Plant(
        "findinmap_map_undefined",
        "F1012",
        "E1011",
        template({"Topic": topic(TopicName={"Fn::FindInMap": ["Nowhere", "planted", "name"]})}, Mappings=MAPPING),
    ),
    Plant("dynamic_reference_service", "E1050", "E1050", template({"Topic": topic(DisplayName="{{resolve:ssm-nope:planted}}")})),
    Plant(
        "dynamic_reference_secure_string_location",
        "E1027",
        "E1027",
        template({"Topic": topic(DisplayName="{{resolve:ssm-secure:planted:1}}")}),
    ),
    Plant(
        "dynamic_reference_secret_in_output",
        "E1051",
        "E1051",
        template({"Topic": topic()}, Outputs={"Out": {"Value": "{{resolve:secretsmanager:s:SecretString:k}}"}}),
    ),
    # Template structure.
    Plant("output_value_not_a_string", "F6101", "E6101", template({"Topic": topic()}, Outputs={"Out": {"Value": {"a": 1}}})),
    Plant("output_name_not_alphanumeric", "F6004", "E6001", template({"Topic": topic()}, Outputs={"Out-1": {"Value": "a"}})),
    Plant("depends_on_nothing", "E3005", "E3005", template({"Topic": {**topic(), "DependsOn": ["Nowhere"]}})),
    Plant(
        "depends_on_conditional",
        "E3005",
        "E3005",
        template({"A": {**topic(), "Condition": "InRegion"}, "B": {**topic(), "DependsOn": ["A"]}}, Conditions={"InRegion": IN_REGION}),
    ),
    Plant("circular_dependency", "F3004", "E3004", template({"A": {**topic(), "DependsOn": ["B"]}, "B": {**topic(), "DependsOn": ["A"]}})),
    Plant("condition_undefined", "E8002", "E3015", template({"Topic": {**topic(), "Condition": "Nowhere"}})),
    Plant("equals_arity", "E8003", "E8003", template({"Topic": {**topic(), "Condition": "A"}}, Conditions={"A": {"Fn::Equals": ["a"]}})),
    Plant("deletion_policy", "F3016", "E3035", template({"Topic": {**topic(), "DeletionPolicy": "Keep"}})),
    Plant("update_replace_policy", "F0018", "E3036", template({"Topic": {**topic(), "UpdateReplacePolicy": "Keep"}})),
    Plant(
        "update_policy_unsupported",
        "E3016",
        "E3016",
        template({"Topic": {**topic(), "UpdatePolicy": {"AutoScalingRollingUpdate": {"MaxBatchSize": 1}}}}),
    ),
    Plant("parameter_type", "F2002", "E2002", template({"Topic": topic(DisplayName={"Ref": "P"})}, Parameters={"P": {"Type": "Strin"}})),
    Plant(
        "parameter_default_not_allowed",
        "F2012",
        "E2015",
        template(
            {"Topic": topic(DisplayName={"Ref": "P"})}, Parameters={"P": {"Type": "String", "Default": "c", "AllowedValues": ["a", "b"]}}
        ),
    ),
    Plant("description_too_long", "F0011", "E1003", {**template({"Topic": topic()}), "Description": "d" * 1100}),
    Plant("format_version", "F0002", "E1001", {**template({"Topic": topic()}), "AWSTemplateFormatVersion": "2011-01-01"}),
    # Resource-specific rules, on the types this app deploys.
    Plant(
        "iam_effect",
        "E3510",
        "E3510",
        template({"Role": role(Policies=policy({"Effect": "Permit", "Action": "s3:GetObject", "Resource": "*"}))}),
    ),
    Plant(
        "iam_trust_without_principal",
        "E3530",
        "E3530",
        template({"Role": role(AssumeRolePolicyDocument={**TRUST, "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]})}),
    ),
    Plant(
        "state_machine_start_at",
        "E3601",
        "E3601",
        template(
            {"Machine": resource("AWS::StepFunctions::StateMachine", RoleArn=ROLE_ARN, DefinitionString=json.dumps(UNREACHABLE_START))}
        ),
    ),
    Plant(
        "dynamodb_key_not_defined",
        "E3039",
        "E3039",
        template({"Table": table(AttributeDefinitions=[{"AttributeName": "other", "AttributeType": "S"}])}),
    ),
    Plant("dynamodb_provisioned_without_throughput", "E3639", "E3639", template({"Table": table(BillingMode="PROVISIONED")})),
    Plant("lambda_runtime_deprecated", "E2533", "E2533", template({"Function": function(Runtime="python2.7")})),
    Plant("lambda_reserved_variable", "E3663", "E3663", template({"Function": function(Environment={"Variables": {"AWS_REGION": "x"}})})),
    Plant("lambda_zipfile_runtime", "E3677", "E3677", template({"Function": function(Runtime="java21")})),
    Plant("sqs_fifo_name", "E2504", "E3501", template({"Queue": queue(FifoQueue=True, QueueName="planted")})),
    Plant(
        "sqs_visibility_below_function_timeout",
        "E3505",
        "E3505",
        template(
            {
                "Queue": queue(VisibilityTimeout=10),
                "Function": function(Timeout=60),
                "Mapping": resource(
                    "AWS::Lambda::EventSourceMapping", FunctionName={"Ref": "Function"}, EventSourceArn={"Fn::GetAtt": ["Queue", "Arn"]}
                ),
            }
        ),
    ),
    Plant("schedule_expression", "E3027", "E3027", template({"Rule": resource("AWS::Events::Rule", ScheduleExpression="every 5 minutes")})),
    Plant(
        "pipeline_source_not_first",
        "E3700",
        "E3700",
        template(
            {
                "Pipeline": resource(
                    "AWS::CodePipeline::Pipeline",
                    RoleArn=ROLE_ARN,
                    ArtifactStore={"Type": "S3", "Location": "planted"},
                    Stages=[STAGE, SOURCE_STAGE],
                )
            }
        ),
    ),
    Plant("log_group_name", "E1155", "E1155", template({"Log": resource("AWS::Logs::LogGroup", LogGroupName="planted name!")})),
)

# Reported by the built-in validation (as an error: it fails synth with the flag on), not by cfn-lint.
NOT_IN_CFN_LINT = (
    Plant(
        "security_group_ports_inverted",
        "E9002",
        "",
        template({"Group": resource("AWS::EC2::SecurityGroup", GroupDescription="planted", SecurityGroupIngress=[PORTS_INVERTED])}),
    ),
    Plant(
        "conditions_circular",
        "E9106",
        "",
        template({"Topic": {**topic(), "Condition": "A"}}, Conditions={"A": {"Condition": "B"}, "B": {"Condition": "A"}}),
    ),
    Plant("creation_policy_unsupported", "E3055", "", template({"Topic": {**topic(), "CreationPolicy": {"ResourceSignal": {"Count": 1}}}})),
    Plant("rule_without_assertions", "F8605", "", template({"Topic": topic()}, Rules={"R": {"Assertions": []}})),
    Plant(
        "rule_assertion_without_assert",
        "F8609",
        "",
        template({"Topic": topic()}, Rules={"R": {"Assertions": [{"AssertDescription": "x"}]}}),
    ),
    Plant(
        "findinmap_map_undefined_unconstrained",
        "F1012",
        "",
        template({"Topic": topic(DisplayName={"Fn::FindInMap": ["Nowhere", "planted", "name"]})}, Mappings=MAPPING),
    ),
    # aws-cdk-lib's own Rego rules (core/lib/validation/rules/gamelift-fleet.rego).
    Plant(
        "gamelift_ports_inverted",
        "CDK-GameLift-001",
        "",
        template(
            {
                "Fleet": resource(
                    "AWS::GameLift::Fleet",
                    Name="planted",
                    ComputeType="EC2",
                    EC2InstanceType="c5.large",
                    BuildId="build-1111",
                    RuntimeConfiguration={"ServerProcesses": [{"LaunchPath": "/local/game/server", "ConcurrentExecutions": 1}]},
                    EC2InboundPermissions=[{"FromPort": 2000, "ToPort": 1000, "IpRange": "10.0.0.0/8", "Protocol": "TCP"}],
                )
            }
        ),
    ),
    Plant(
        "gamelift_alias_fleet_and_message",
        "CDK-GameLift-004",
        "",
        template(
            {
                "Alias": resource(
                    "AWS::GameLift::Alias", Name="planted", RoutingStrategy={"Type": "SIMPLE", "FleetId": "fleet-1111", "Message": "m"}
                )
            }
        ),
    ),
)


@pytest.fixture(scope="module")
def errors(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[LintFinding]]:
    """cfn-lint's errors on each plant, by plant name: one run of the wrapper over them all."""
    folder = tmp_path_factory.mktemp("planted")
    for plant in (CONTROL, *PLANTS, *NOT_IN_CFN_LINT):
        (folder / f"{plant.name}.json").write_text(json.dumps(plant.template, indent=1))
    findings = lint([(path, REGION) for path in sorted(folder.glob("*.json"))], folder / "reports")
    by_plant: dict[str, list[LintFinding]] = {}
    for finding in findings:
        if finding.is_error:
            by_plant.setdefault(finding.template.stem, []).append(finding)
    return by_plant


def test_the_plants_differ_from_a_template_that_lints_clean(errors: dict[str, list[LintFinding]]) -> None:
    assert [describe(finding) for finding in errors.get(CONTROL.name, [])] == []
    assert len({plant.name for plant in (CONTROL, *PLANTS, *NOT_IN_CFN_LINT)}) == 1 + len(PLANTS) + len(NOT_IN_CFN_LINT)


@pytest.mark.parametrize("plant", PLANTS, ids=lambda plant: f"{plant.name}-{plant.builtin}")
def test_cfn_lint_reports_what_the_builtin_validation_reports(plant: Plant, errors: dict[str, list[LintFinding]]) -> None:
    found = errors.get(plant.name, [])
    assert plant.cfn_lint in {finding.rule_id for finding in found}, [describe(finding) for finding in found]


@pytest.mark.parametrize(
    "plant",
    [
        pytest.param(
            plant,
            marks=pytest.mark.xfail(
                strict=True, raises=AssertionError, reason=f"only the built-in validation reports it ({plant.builtin})"
            ),
        )
        for plant in NOT_IN_CFN_LINT
    ],
    ids=lambda plant: f"{plant.name}-{plant.builtin}",
)
def test_what_only_the_builtin_validation_reports(plant: Plant, errors: dict[str, list[LintFinding]]) -> None:
    assert errors.get(plant.name, []), "cfn-lint reports no error"
