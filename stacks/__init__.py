"""The application's stacks and the constructs they compose."""
