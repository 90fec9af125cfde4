"""The ``eln-bot`` command: the bot's offline modes, checks, evaluation and the Discord runner.

Every failure a user can cause ends in one clear line (or one line per problem) and a
non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TextIO

from bot import __version__
from bot.cli import kb as kb_cli
from bot.config import Settings
from bot.core.evaluation import evaluate, format_report, load_labelled
from bot.core.knowledge import Knowledge, KnowledgeError, Problem
from bot.core.matching import Match, Matcher, Status
from bot.errors import BotError
from bot.storage.loading import load_effective, load_for_check

log = logging.getLogger(__name__)

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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        logging.basicConfig(
            level=getattr(logging, settings.log_level),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )
        handler: Callable[[argparse.Namespace, Settings], int] | None = getattr(
            args, "handler", None
        )
        if handler is not None:
            return handler(args, settings)
        if getattr(args, "func", None) is not None:  # kb sub-commands
            return int(args.func(args))
        if settings.token:
            return _run(args, settings)
        print(NO_TOKEN_HELP.format(version=__version__))
        return 0
    except KnowledgeError as exc:
        _print_problems(exc.problems, sys.stderr)
        return 1
    except BotError as exc:
        print(f"eln-bot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eln-bot",
        description="Answers questions about the ELN NATO-Russia risk-reduction recommendations.",
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
    ask.set_defaults(handler=_ask)

    console = sub.add_parser("console", help="ask questions interactively")
    console.add_argument("--knowledge", type=Path)
    console.set_defaults(handler=_console)

    check = sub.add_parser("check", help="validate a knowledge file (default: the merged view)")
    check.add_argument("path", nargs="?", type=Path)
    check.add_argument("--strict", action="store_true", help="treat warnings as errors")
    check.add_argument(
        "--confusable-error", action="store_true", help="fail when phrasings land elsewhere"
    )
    check.set_defaults(handler=_check)

    ev = sub.add_parser("eval", help="measure accuracy on a labelled question set")
    ev.add_argument("file", type=Path)
    ev.add_argument("--knowledge", type=Path)
    ev.add_argument("--quiet", action="store_true", help="summary only, no list of misses")
    ev.set_defaults(handler=_eval)

    export = sub.add_parser("export", help="print the merged knowledge as YAML")
    export.add_argument("--output", type=Path)
    export.set_defaults(handler=_export)

    health = sub.add_parser("health", help="exit 0 when the running bot's gateway is alive")
    health.add_argument("--max-age", type=float, default=120.0, help="seconds (default 120)")
    health.set_defaults(handler=_health)

    kb_cli.register(sub)
    return parser


# --- offline answering -------------------------------------------------------------------


def _matcher(args: argparse.Namespace, settings: Settings) -> Matcher:
    path: Path | None = getattr(args, "knowledge", None)
    knowledge, _ = load_effective(settings, path)
    return Matcher(knowledge)


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    matcher = _matcher(args, settings)
    question = " ".join(args.question).strip()
    if args.json:
        lines: Iterable[str] = [question] if question else sys.stdin
        for line in lines:
            if line.strip():
                print(
                    json.dumps(_as_json(matcher.match(line.strip(), strict=args.strict))),
                    flush=True,
                )
        return 0
    if not question:
        print(
            'eln-bot: give a question, e.g. eln-bot ask "What did the experts recommend?"',
            file=sys.stderr,
        )
        return 2
    if len(question) > settings.max_question:
        print(f"That question is over {settings.max_question} characters; please shorten it.")
        return 1
    result = matcher.match(question, strict=args.strict)
    print(render_text(result))
    if args.explain:
        print()
        print(explain(result))
    return 0 if result.status is Status.ANSWER else 1


def _as_json(result: Match) -> dict[str, object]:
    entry = result.entry
    return {
        "question": result.question,
        "id": entry.id if entry else None,
        "score": result.score,
        "suggestions": [e.id for e in result.suggestions],
        "answer": entry.answer if entry else None,
    }


def render_text(result: Match) -> str:
    """A plain-text answer for the terminal."""
    entry = result.entry
    if entry is not None:
        lines = [entry.question, "", entry.answer, "", "Sources:"]
        lines += [f"  - {s.title}: {s.url}" for s in entry.sources]
        lines.append(f"Confidence: {result.score:.0f}/100 (entry: {entry.id})")
        return "\n".join(lines)
    if result.suggestions:
        lines = ["I'm not sure what you mean. Did you mean:"]
        lines += [f"  - {e.question} ({e.id})" for e in result.suggestions]
        return "\n".join(lines)
    return (
        "Sorry, I don't know that one. I answer questions about the ELN's December 2020 "
        "recommendations on NATO-Russia military risk reduction, the NATO 2030 report and "
        'the treaties they discuss. Try: eln-bot ask "What are the seven urgent actions?"'
    )


def explain(result: Match) -> str:
    """Why the matcher decided what it did: the words it read, the phrasing, the runner-up."""
    words = ", ".join(
        f"{t.word}->{t.known_as}({t.similarity:.2f})"
        if t.known_as and t.known_as != t.word
        else f"{t.word}{'' if t.known_as else '?'} w={t.weight:.2f}"
        for t in result.tokens
    )
    lines = [
        f"normalised:  {result.normalised!r}",
        f"words:       {words}  (? = unknown word)",
        f"decision:    {result.status.value} at {result.score:.1f}",
    ]
    if result.item is not None:
        lines.append(f"item:        points at action {result.item}")
    for label, cand in zip(("best", "runner-up", "third"), result.candidates, strict=False):
        lines.append(f"{label + ':':<12} {cand.entry.id} {cand.score:.1f} via {cand.phrasing!r}")
    return "\n".join(lines)


def _console(args: argparse.Namespace, settings: Settings) -> int:
    matcher = _matcher(args, settings)
    print("Ask about the ELN recommendations (empty line or Ctrl-D to quit; '?' prefix explains).")
    while True:
        try:
            line = input("ask> ").strip()
        except EOFError:
            print()
            return 0
        if not line or line in {"quit", "exit"}:
            return 0
        show_why = line.startswith("?")
        result = matcher.match(line.lstrip("?").strip())
        print(render_text(result))
        if show_why:
            print(explain(result))
        print()


# --- checks, evaluation, export ----------------------------------------------------------


def _check(args: argparse.Namespace, settings: Settings) -> int:
    knowledge, problems, label = load_for_check(settings, args.path)
    confusions = Matcher(knowledge).confusable()
    warnings = [p for p in problems if p.severity == "warning"]
    _print_problems(warnings, sys.stdout)
    for c in confusions:
        print(
            f"{label}: entry '{c.entry_id}': confusable: phrasing {c.phrasing!r} "
            f"lands on '{c.landed_on}' ({c.score:.0f})"
        )
    failed = (args.strict and warnings) or (args.confusable_error and confusions)
    summary = _summary(knowledge, label, len(warnings), len(confusions))
    print(("FAILED: " if failed else "") + summary)
    return 1 if failed else 0


def _summary(knowledge: Knowledge, label: str, warnings: int, confusions: int) -> str:
    phrasings = sum(len(e.phrasings) for e in knowledge.entries)
    return (
        f"{label}: OK, {len(knowledge.entries)} entries, {phrasings} phrasings, "
        f"{len(knowledge.synonyms)} synonym groups; {warnings} warning(s), "
        f"{confusions} confusable phrasing(s)"
    )


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    matcher = _matcher(args, settings)
    labelled = load_labelled(args.file)
    report = evaluate(matcher, labelled)
    print(format_report(report, show_misses=not args.quiet))
    return 0


def _export(args: argparse.Namespace, settings: Settings) -> int:
    return kb_cli.export_to(settings, args.output)


def _health(args: argparse.Namespace, settings: Settings) -> int:
    from bot.health import check_heartbeat  # noqa: PLC0415 - keeps `ask` start-up lean

    ok, message = check_heartbeat(settings.heartbeat_path, args.max_age)
    print(message)
    return 0 if ok else 1


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.token:
        print("eln-bot: DISCORD_TOKEN is not set.\n", file=sys.stderr)
        print(NO_TOKEN_HELP.format(version=__version__), file=sys.stderr)
        return 2
    from bot.discord.bot import run_bot  # noqa: PLC0415 - discord.py loads only when the bot runs

    return run_bot(settings)


def _print_problems(problems: Iterable[Problem], stream: TextIO) -> None:
    items = list(problems)
    for p in items:
        print(str(p), file=stream)
    errors = sum(p.severity == "error" for p in items)
    if errors:
        print(f"{errors} problem(s) found; the knowledge was not loaded.", file=stream)


if __name__ == "__main__":
    raise SystemExit(main())
