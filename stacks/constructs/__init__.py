"""Constructs, one per concern; stacks compose them."""
