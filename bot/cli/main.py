"""The ``eln-bot`` command: the bot's offline modes, checks, evaluation and the Discord runner.

Every command behaves like a Unix tool: one exit-code table (``bot.errors.ExitCode``, in the
README under "Exit codes"), failures as one line per problem on stderr, a closed output pipe
ends the command quietly, and the settings are read once, before any command runs.

Each command's module is imported only when that command runs (``Lazy``), so ``eln-bot ask``
starts without loading the store's writers, the evaluation or discord.py.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot import __version__
from bot.cli import db as db_cli
from bot.cli import kb as kb_cli
from bot.cli.boundary import guarded, process_boundary
from bot.config import Settings
from bot.errors import ExitCode

NO_TOKEN_HELP = """\
eln-qa-bot {version}: answers questions about the ELN's December 2020 recommendations on
NATO-Russia military risk reduction.

No DISCORD_TOKEN is set, so the Discord bot is not started. You can:

  eln-bot ask "What did the experts recommend?"   answer one question offline
  eln-bot ask --json < questions.txt              one JSON answer per line
  eln-bot console                                 ask questions interactively
  eln-bot check                                   validate the knowledge file
  eln-bot eval tests/data/dev_set.yaml            measure accuracy on a labelled set

To run the Discord bot, set DISCORD_TOKEN (or DISCORD_TOKEN_FILE) and run `eln-bot run`.
See README.md, "Run it on your server".
"""


@dataclass(frozen=True, slots=True)
class Lazy:
    """A command handler, ``module:function(args, settings) -> int``, imported when it runs."""

    module: str
    function: str

    def __call__(self, args: argparse.Namespace, settings: Settings) -> int:
        handler = getattr(importlib.import_module(self.module), self.function)
        return int(handler(args, settings))


def main(argv: Sequence[str] | None = None) -> int:
    """The process entry point (``eln-bot``, ``python -m bot``): returns the exit status."""
    return process_boundary(lambda: run(argv))


def run(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (argparse exits 2 on a usage error) and run the command it names."""
    args = build_parser().parse_args(argv)
    return guarded(lambda: _dispatch(args))


def _dispatch(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    handler = getattr(args, "handler", None) or _default
    # A command prints its own one-line result; the operator's INFO log is for the bot.
    quiet = handler is not _run and settings.log_level != "DEBUG"
    logging.basicConfig(
        level=logging.WARNING if quiet else getattr(logging, settings.log_level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    return int(handler(args, settings))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eln-bot",
        description="Answers questions about the ELN NATO-Russia risk-reduction recommendations.",
        epilog="Exit status: 0 ok, 1 no answer or check failed, 2 usage or settings; "
        "see README.md, 'Exit codes'.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    run = sub.add_parser("run", help="run the Discord bot (needs DISCORD_TOKEN)")
    run.set_defaults(handler=_run)

    ask = sub.add_parser("ask", help="answer a question offline")
    ask.add_argument("question", nargs="*", help="the question (omit with --json to read stdin)")
    ask.add_argument("--json", action="store_true", help="one JSON object per line")
    ask.add_argument("--explain", action="store_true", help="show how the answer was chosen")
    ask.add_argument("--strict", action="store_true", help="use the answer-channel threshold")
    ask.add_argument("--knowledge", type=Path, help="knowledge file (default: the bundled one)")
    ask.set_defaults(handler=Lazy("bot.cli.ask", "ask"))

    console = sub.add_parser("console", help="ask questions interactively (type help there)")
    console.add_argument("--knowledge", type=Path)
    console.set_defaults(handler=Lazy("bot.cli.console", "console"))

    check = sub.add_parser("check", help="validate a knowledge file (default: the merged view)")
    check.add_argument("path", nargs="?", type=Path)
    check.add_argument("--strict", action="store_true", help="treat warnings as errors")
    check.add_argument(
        "--confusable-error", action="store_true", help="fail when phrasings land elsewhere"
    )
    check.set_defaults(handler=Lazy("bot.cli.checks", "check"))

    ev = sub.add_parser("eval", help="measure accuracy on a labelled question set")
    ev.add_argument("file", type=Path, help="YAML with in_scope and out_of_scope lists")
    ev.add_argument("--knowledge", type=Path)
    ev.add_argument("--quiet", action="store_true", help="summary only, no list of misses")
    ev.set_defaults(handler=Lazy("bot.cli.checks", "evaluate_set"))

    cal = sub.add_parser(
        "calibrate", help="refit the answer/decline model on labelled question sets"
    )
    cal.add_argument("files", nargs="+", type=Path, help="labelled sets (YAML), as for eval")
    cal.add_argument("--knowledge", type=Path, help="knowledge file (default: the bundled one)")
    cal.add_argument(
        "--output", type=Path, help="where to write (default: decision.json beside the knowledge)"
    )
    cal.set_defaults(handler=Lazy("bot.cli.checks", "calibrate"))

    export = sub.add_parser("export", help="print the merged knowledge as YAML")
    export.add_argument("--output", type=Path)
    export.set_defaults(handler=Lazy("bot.cli.kb", "export"))

    health = sub.add_parser("health", help="exit 0 when the running bot's gateway is alive")
    health.add_argument("--max-age", type=_seconds, default=120.0, help="seconds (default 120)")
    health.set_defaults(handler=_health)

    kb_cli.register(sub)
    db_cli.register(sub)
    return parser


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {text!r}")
    return value


def _default(args: argparse.Namespace, settings: Settings) -> int:
    """``eln-bot`` alone: run the bot when a token is set, else say what can be done offline."""
    if settings.token:
        return _run(args, settings)
    print(NO_TOKEN_HELP.format(version=__version__))
    return ExitCode.OK


def _health(args: argparse.Namespace, settings: Settings) -> int:
    from bot.health import check_heartbeat  # noqa: PLC0415 - keeps `ask` start-up lean

    ok, message = check_heartbeat(settings.heartbeat_path, args.max_age)
    print(message)
    return ExitCode.OK if ok else ExitCode.FAILED


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.token:
        print("eln-bot: DISCORD_TOKEN is not set.\n", file=sys.stderr)
        print(NO_TOKEN_HELP.format(version=__version__), file=sys.stderr)
        return ExitCode.USAGE
    from bot.discord.bot import run_bot  # noqa: PLC0415 - discord.py loads only when the bot runs

    return run_bot(settings)


if __name__ == "__main__":
    raise SystemExit(main())
