"""One cdk.Stage per deployment step, in the order they must deploy."""
