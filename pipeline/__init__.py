"""The pipeline side of the project: configuration, and (later) the CDK Pipeline."""
