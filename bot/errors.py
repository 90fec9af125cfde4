"""Domain errors that carry a message fit to show a user or an operator, and the exit codes
every ``eln-bot`` command returns (one table, documented in the README)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What an ``eln-bot`` command's exit status means, for every command."""

    OK = 0
    #: The command ran but the answer is "no": no confident answer, a failed check, an
    #: unhealthy bot, accuracy below a floor, or a change that could not be applied.
    FAILED = 1
    #: The command line or a setting is wrong (argparse uses 2 for usage errors too).
    USAGE = 2
    #: Discord refused the privileged Message Content intent.
    INTENTS_REFUSED = 3
    #: Discord could not be reached (DNS, TCP, TLS or gateway) within the start-up deadline.
    UNREACHABLE = 4
    #: Discord rejected the bot's token.
    TOKEN_REJECTED = 5
    #: Interrupted by Ctrl-C.
    INTERRUPTED = 130


class BotError(Exception):
    """Base for errors whose message is safe and useful to show as it is."""


class ConfigError(BotError):
    """A setting is missing or malformed."""


class StoreError(BotError):
    """A moderator change could not be applied; nothing was written."""


class NotFoundError(StoreError):
    """The entry or change named does not exist."""
