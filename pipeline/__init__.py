"""The pipeline on AWS: ``PipelineStack`` (the self-mutating CDK Pipeline) and its steps,
what it does about CDK Pipelines' generated resources, the least-privilege audit its
Synth step runs (``audit``, no CDK import), and the bootstrap policy and commands."""
