"""``eln-bot console``: ask question after question at a prompt.

At a terminal the prompt has line editing and history (stdlib ``readline``), kept between
sessions in ``$XDG_STATE_HOME/eln-bot/console-history`` (``~/.local/state/...`` by default).
Without readline, or without a writable history file, the console still works, just plainer.
The console's own words (``help``, ``quit``, ``exit``) are handled here, never matched against
the knowledge: typing ``help`` must not answer with the bot's Discord "about" entry.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from bot.cli.ask import EXAMPLE, explain, matcher_for, render_text, too_long
from bot.config import Settings
from bot.core.matching import Matcher
from bot.core.surface import CONSOLE
from bot.errors import ExitCode

PROMPT = "ask> "
HISTORY_LENGTH = 1000
CONSOLE_HINT = f'Try asking "{EXAMPLE}", or type help.'
QUIT_WORDS = frozenset({"quit", "exit"})
HELP_WORDS = frozenset({"help", "?"})
HELP = f"""\
Type a question and press Enter for the answer and its sources, e.g. {EXAMPLE}

  ?QUESTION    answer, and show how the answer was chosen
  help         show this list
  quit, exit   leave (Ctrl-D does too)"""


@dataclass(frozen=True, slots=True)
class LineEditing:
    """readline, set up for this session; ``save`` writes the history back (best effort)."""

    readline: ModuleType  # GNU readline or libedit
    history: Path | None

    def save(self) -> None:
        if self.history is None:
            return
        with contextlib.suppress(OSError):
            self.history.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.history.touch(mode=0o600)  # questions may be private: only for this user
            self.readline.write_history_file(str(self.history))

    def describe(self) -> str:
        where = f" (history: {self.history})" if self.history else ""
        return f"Arrow keys edit the line and recall earlier questions{where}."


def console(args: argparse.Namespace, settings: Settings) -> int:
    """Answer each line until quit, exit or end of input; OK however it ends."""
    matcher = matcher_for(args, settings)
    interactive = sys.stdin.isatty()
    editing = enable_line_editing(history_file(os.environ)) if interactive else None
    print("Ask about the ELN recommendations. Type help for commands, quit or Ctrl-D to leave.")
    if interactive:
        print(editing.describe() if editing else "(No line editing: Python lacks readline.)")
    try:
        _loop(lambda line: respond(line, matcher, settings), interactive)
    finally:
        if editing is not None:
            editing.save()
    return ExitCode.OK


def _loop(reply: Callable[[str], str | None], interactive: bool) -> None:
    """Read, reply, repeat. At a terminal Ctrl-C drops the line being typed, as in a shell."""
    while True:
        try:
            line = input(PROMPT)
        except EOFError:
            print()
            return
        except KeyboardInterrupt:
            if not interactive:
                raise
            print()
            continue
        answer = reply(line)
        if answer is None:
            return
        if answer:
            print(answer)
            print()


def respond(line: str, matcher: Matcher, settings: Settings) -> str | None:
    """The console's reply to one line: None to leave, "" for nothing to say."""
    text = line.strip()
    word = text.lower()
    if word in QUIT_WORDS:
        return None
    if word in HELP_WORDS:
        return HELP
    show_why = text.startswith("?")
    question = text.lstrip("?").strip()
    if not question:
        return ""
    if refusal := too_long(question, settings):
        return refusal
    result = matcher.match(question)
    reply = render_text(result, hint=CONSOLE_HINT, surface=CONSOLE)
    return f"{reply}\n{explain(result)}" if show_why else reply


def history_file(env: Mapping[str, str]) -> Path | None:
    """Where the history lives: the XDG state directory, the usual place for it."""
    state = env.get("XDG_STATE_HOME")
    if state and Path(state).is_absolute():
        return Path(state) / "eln-bot" / "console-history"
    try:
        return Path.home() / ".local" / "state" / "eln-bot" / "console-history"
    except RuntimeError:  # no home directory to be found
        return None


def enable_line_editing(history: Path | None) -> LineEditing | None:
    """Turn on readline for ``input()`` and load the history; None where readline is missing."""
    try:
        import readline  # noqa: PLC0415 - only at a terminal; absent on some platforms
    except ImportError:
        return None
    readline.set_history_length(HISTORY_LENGTH)
    if history is not None:
        with contextlib.suppress(OSError):
            readline.read_history_file(str(history))
    return LineEditing(readline, history)
