"""`make local`'s self-mutation in process: the pipeline stack deployed from the Synth step's
assembly through the self-mutation project's role, and a run cancelled when the pipeline
was updated (``runner.UpdatesThePipeline``). That it deploys what the real `cdk deploy` deploys:
tests/unit/local_pipeline/executor/test_runner.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from local_pipeline.executor.definition import read_pipeline
from local_pipeline.executor.engine import ActionContext, ActionOutcome, PipelineRun, RunRecord
from tests.unit.local_pipeline.executor.helpers import action, deploy_the_pipeline


def test_an_unchanged_pipeline_goes_on_and_an_updated_one_cancels_the_run(configured_app, tmp_path: Path):
    from emulator import Emulator
    from emulator.identity import assume_role_as_service
    from local_pipeline.executor.deployed import deployed_pipeline
    from local_pipeline.executor.runner import UpdatesThePipeline
    from local_pipeline.executor.self_mutation_action import SelfMutationAction

    assembly = Path(shutil.copytree(configured_app.outdir, tmp_path / "cdk.out"))
    with Emulator() as emulator:
        setup = deploy_the_pipeline(emulator, assembly)
        pipeline_stack, tooling, deployed = setup.pipeline_stack, setup.tooling, setup.deployed
        (mutate,) = [a for a in deployed.pipeline.actions() if a.name == "SelfMutate"]

        def credentials(role_arn: str):
            return assume_role_as_service(
                role_arn,
                service="codebuild.amazonaws.com",
                source_arn=f"arn:aws:codebuild:{pipeline_stack.region}:{tooling}:project/x",
                region=pipeline_stack.region,
            )

        mutation = SelfMutationAction(emulator, pipeline_stack.stack_name)

        def mutate_in_process(context: ActionContext) -> ActionOutcome:
            project = deployed.projects(str(context.configuration["ProjectName"]))
            assert mutation.recognizes(project)
            return mutation(context, project, credentials(project.service_role_arn))

        handler = UpdatesThePipeline(mutate_in_process, lambda: deployed_pipeline(emulator, pipeline_stack).declaration)

        def copy(context: ActionContext) -> ActionOutcome:
            (output,) = context.outputs.values()
            shutil.copytree(assembly, output, dirs_exist_ok=True)
            return ActionOutcome("Succeeded")

        stages = [
            {"Name": "Build", "Actions": [action("Synth", "Copy", outputs=["Synth_Output"])]},
            {
                "Name": "UpdatePipeline",
                "Actions": [action("SelfMutate", "SelfMutate", inputs=["Synth_Output"]) | {"Configuration": dict(mutate.configuration)}],
            },
            {"Name": "After", "Actions": [action("Next", "Copy", outputs=["Other"])]},
        ]
        handlers = {"Copy": copy, "SelfMutate": handler}

        unchanged = PipelineRun(
            read_pipeline({"Stages": stages}), handlers, directory=tmp_path / "1", record=RunRecord("1", "a", "release")
        ).execute()
        assert unchanged.status == "Succeeded", unchanged.reason
        assert unchanged.actions[1].summary == "SecretCachePipeline deployed in process"

        # A commit adds an action to the pipeline: self-mutation deploys it and the run is cancelled.
        template_file = pipeline_stack.template_file
        template = json.loads(template_file.read_text())
        (pipeline,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CodePipeline::Pipeline"]
        source_stage = pipeline["Properties"]["Stages"][0]
        source_stage["Actions"].append(
            {"Name": "Wait", "ActionTypeId": {"Category": "Approval", "Owner": "AWS", "Provider": "Manual", "Version": "1"}, "RunOrder": 2}
        )
        template_file.write_text(json.dumps(template))
        changed = PipelineRun(
            read_pipeline({"Stages": stages}), handlers, directory=tmp_path / "2", record=RunRecord("2", "b", "release")
        ).execute()
        assert (changed.status, changed.updated_pipeline) == ("Cancelled", "UpdatePipeline/SelfMutate"), changed.reason
        assert [a.action for a in changed.actions] == ["Synth", "SelfMutate"]
        assert "Wait" in [a.name for a in deployed_pipeline(emulator, pipeline_stack).pipeline.actions()]
