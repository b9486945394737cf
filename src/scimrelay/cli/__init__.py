"""The ``scimrelay`` command line."""

from scimrelay.cli.main import main

__all__ = ["main"]
