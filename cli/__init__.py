"""The `canhgac` command line."""

from canhgac.cli._main import cli, main

__all__ = ["cli", "main"]
