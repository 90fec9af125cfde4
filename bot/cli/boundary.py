"""The command line's one error boundary: every expected failure becomes a line on stderr and an
``ExitCode``, for every command alike, never a traceback.

Two wrappers, outermost first: ``process_boundary`` turns a closed output pipe and Ctrl-C into
the statuses a shell expects, and ``guarded`` turns the project's own errors into messages.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Callable, Iterable

from bot.core.knowledge import KnowledgeError, iter_errors
from bot.errors import BotError, ConfigError, ExitCode

#: 128 + SIGPIPE: the status a shell reports for ``yes | head -1``. Returned when whoever
#: reads our output stops reading (``| head``); nothing is printed, as other tools do.
CLOSED_PIPE = 141
PROG = "eln-bot"


class UsageError(Exception):
    """Input the command cannot use (exit 2): a bad file, a missing option. One line each."""

    def __init__(self, *messages: str) -> None:
        super().__init__(messages[0] if messages else "bad input")
        self.messages = messages


def process_boundary(call: Callable[[], int]) -> int:
    """Run the whole command; a closed stdout or Ctrl-C ends it quietly with the usual status.

    The flush happens here, inside the ``try``: left to the interpreter's exit, a closed pipe
    would print "Exception ignored ... BrokenPipeError" and exit 120.
    """
    try:
        try:
            code = call()
        except SystemExit as exc:  # argparse's --help, --version and usage errors
            code = _status(exc.code)
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return CLOSED_PIPE
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    return code


def guarded(call: Callable[[], int]) -> int:
    """Run one command, turning every expected failure into lines on stderr and a status."""
    try:
        return call()
    except BrokenPipeError:
        raise  # an OSError, but not ours to report: process_boundary ends quietly
    except UsageError as exc:
        return fail(exc.messages, ExitCode.USAGE)
    except ConfigError as exc:
        return fail([str(exc)], ExitCode.USAGE)
    except KnowledgeError as exc:
        problems = list(iter_errors(exc.problems)) or exc.problems
        summary = f"{len(problems)} problem(s) found; nothing was loaded or changed."
        return fail([*(str(p) for p in problems), summary], ExitCode.FAILED)
    except BotError as exc:
        return fail([str(exc)], ExitCode.FAILED)
    except OSError as exc:
        return fail([f"{exc.filename or 'file'}: {exc.strerror or exc}"], ExitCode.FAILED)


def fail(messages: Iterable[str], status: ExitCode) -> ExitCode:
    """Print each message as ``eln-bot: message`` on stderr and return ``status``."""
    for message in messages:
        print(f"{PROG}: {printable(message)}", file=sys.stderr)
    return status


def printable(text: str) -> str:
    """Escape control and invisible characters so printed text cannot fool a terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def _status(code: object) -> int:
    """The exit status ``sys.exit(code)`` would give."""
    if code is None:
        return ExitCode.OK
    return code if isinstance(code, int) else ExitCode.FAILED


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the exit-time flush of what is left cannot fail again."""
    with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
