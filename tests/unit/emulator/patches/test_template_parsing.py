"""A JSON template is read as JSON, to the document moto's YAML reader gives; a YAML
template still goes to moto's reader (CloudFormation User Guide, "Template formats":
JSON or YAML)."""

from __future__ import annotations

import json

from project.assembly import read_stacks

YAML_TEMPLATE = """
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub "${AWS::StackName}-topic"
"""


def test_moto_still_reads_json_with_its_yaml_loader_to_the_same_document(synthesized_app):
    from emulator.patches import template_parsing

    assert template_parsing.REASON
    for stack in read_stacks(synthesized_app.outdir):
        text = stack.template_file.read_text()
        assert template_parsing._stack_parse(text) == json.loads(text) == template_parsing._parse(text)


def test_yaml_templates_go_to_motos_reader_unchanged():
    from moto.cloudformation.models import Stack

    from emulator.patches import template_parsing

    with template_parsing.patch():
        parsed = Stack.parse_template(YAML_TEMPLATE)
    assert parsed == template_parsing._stack_parse(YAML_TEMPLATE)
    assert parsed["Resources"]["Topic"]["Properties"]["TopicName"] == {"Fn::Sub": "${AWS::StackName}-topic"}


def test_a_json_template_deploys_as_before(patched, unique):
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": unique}}}}
    cloudformation = patched.client("cloudformation")
    cloudformation.create_stack(StackName=unique, TemplateBody=json.dumps(template))
    (stack,) = cloudformation.describe_stacks(StackName=unique)["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert json.loads(json.dumps(cloudformation.get_template(StackName=unique)["TemplateBody"])) == template
