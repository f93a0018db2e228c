"""Runs the synthesized CodePipeline on this machine: its definition, its actions, its runs."""
