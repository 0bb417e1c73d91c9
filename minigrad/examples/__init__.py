"""Runnable examples: ``python -m minigrad.examples.mnist --help``."""
