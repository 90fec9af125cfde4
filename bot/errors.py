"""Domain errors that carry a message fit to show a user or an operator."""

from __future__ import annotations


class BotError(Exception):
    """Base for errors whose message is safe and useful to show as it is."""


class ConfigError(BotError):
    """A setting is missing or malformed."""


class StoreError(BotError):
    """A moderator change could not be applied; nothing was written."""


class NotFoundError(StoreError):
    """The entry or change named does not exist."""
