"""The ``eln-bot`` command line: a thin front door to the core and the storage."""

from bot.cli.main import main

__all__ = ["main"]
