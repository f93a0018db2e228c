"""A template's Rules are checked before anything is created, and a failed assertion
refuses the stack with its AssertDescription: CloudFormation User Guide, "CloudFormation
template Rules syntax" (rules are validated when a stack or a change set is created or
updated)."""

from __future__ import annotations

import json

import pytest

from project.assembly import read_stacks

NEVER = {
    "Rules": {"Refuse": {"Assertions": [{"Assert": {"Fn::Not": [{"Fn::Equals": ["a", "a"]}]}, "AssertDescription": "set key x"}]}},
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
}


def test_moto_still_ignores_rules(vanilla):
    from emulator.patches import cloudformation_rules

    assert cloudformation_rules.REASON
    vanilla.client("cloudformation").create_stack(StackName="refused", TemplateBody=json.dumps(NEVER))
    (stack,) = vanilla.client("cloudformation").describe_stacks(StackName="refused")["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"


def test_a_failed_assertion_refuses_the_stack_with_its_description(patched, unique):
    with pytest.raises(Exception, match="set key x"):
        patched.client("cloudformation").create_stack(StackName=unique, TemplateBody=json.dumps(NEVER))
    assert unique not in [s["StackName"] for s in patched.client("cloudformation").describe_stacks()["Stacks"]]


def test_the_bootstrap_version_rule_reads_the_parameter(patched, unique):
    template = {
        "Parameters": {"BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": f"/{unique}/version"}},
        "Rules": {
            "CheckBootstrapVersion": {
                "Assertions": [
                    {
                        "Assert": {"Fn::Not": [{"Fn::Contains": [["1", "2", "3", "4", "5"], {"Ref": "BootstrapVersion"}]}]},
                        "AssertDescription": "bootstrap 6 required",
                    }
                ]
            }
        },
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    }
    ssm = patched.client("ssm")
    ssm.put_parameter(Name=f"/{unique}/version", Value="5", Type="String")
    with pytest.raises(Exception, match="bootstrap 6 required"):
        patched.client("cloudformation").create_stack(StackName=unique, TemplateBody=json.dumps(template))
    ssm.put_parameter(Name=f"/{unique}/version", Value="30", Type="String", Overwrite=True)
    patched.client("cloudformation").create_stack(StackName=unique, TemplateBody=json.dumps(template))


def test_the_pipeline_without_a_source_cannot_be_deployed(emulator, synthesized_app, dev):
    from emulator import DeployError
    from local_pipeline.deployment import bootstrap_accounts

    stacks = read_stacks(synthesized_app.outdir)
    (pipeline,) = [stack for stack in stacks if not stack.stage]
    assert pipeline.account == dev.trusting.account  # the tooling account by default
    bootstrap_accounts(emulator, stacks)
    with pytest.raises(DeployError) as refused:
        emulator.deploy(pipeline)  # a change set, as the deploy role: refused by the rule all the same
    assert str(refused.value) == (
        "SecretCachePipeline: The pipeline has no source: set the context key(s) repository and connection-arn "
        "in cdk.json, commit it, then deploy again."
    )
