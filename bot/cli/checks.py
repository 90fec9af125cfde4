"""``eln-bot check`` and ``eln-bot eval``: is the knowledge sound, and how well does it answer?"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from bot.cli.ask import matcher_for
from bot.cli.boundary import UsageError, printable
from bot.config import Settings
from bot.core.evaluation import evaluate, format_report, load_labelled
from bot.core.knowledge import Knowledge
from bot.core.matching import Matcher
from bot.errors import BotError, ExitCode
from bot.storage.loading import load_for_check

LABELLED_KEYS = ("in_scope", "out_of_scope")  # required
OPTIONAL_KEYS = ("smalltalk",)  # accepted; questions the bot should meet with small talk
KEYS_HELP = (
    "in_scope (questions and the ids that answer them) and out_of_scope (questions to decline)"
)


def check(args: argparse.Namespace, settings: Settings) -> int:
    """OK when the knowledge loads; FAILED on errors, or warnings/confusions when asked to."""
    knowledge, problems, label = load_for_check(settings, args.path)
    confusions = Matcher(knowledge).confusable()
    warnings = [p for p in problems if p.severity == "warning"]
    for warning in warnings:
        print(printable(str(warning)))
    for c in confusions:
        print(
            f"{label}: entry '{c.entry_id}': confusable: phrasing {c.phrasing!r} "
            f"lands on '{c.landed_on}' ({c.score:.0f})"
        )
    failed = (args.strict and warnings) or (args.confusable_error and confusions)
    summary = _summary(knowledge, label, len(warnings), len(confusions))
    print(("FAILED: " if failed else "") + summary)
    return ExitCode.FAILED if failed else ExitCode.OK


def _summary(knowledge: Knowledge, label: str, warnings: int, confusions: int) -> str:
    phrasings = sum(len(e.phrasings) for e in knowledge.entries)
    return (
        f"{label}: OK, {len(knowledge.entries)} entries, {phrasings} phrasings, "
        f"{len(knowledge.synonyms)} synonym groups; {warnings} warning(s), "
        f"{confusions} confusable phrasing(s)"
    )


def evaluate_set(args: argparse.Namespace, settings: Settings) -> int:
    """Print the report: OK once printed; USAGE when the file is not a labelled set."""
    check_labelled(args.file)
    try:
        labelled = load_labelled(args.file)
    except BotError as exc:  # check_labelled should have caught it; still one line
        raise UsageError(str(exc).splitlines()[0]) from None
    report = evaluate(matcher_for(args, settings), labelled)
    print(format_report(report, show_misses=not args.quiet))
    return ExitCode.OK


def check_labelled(path: Path) -> None:
    """Raise UsageError, in one line, unless ``path`` holds a labelled set worth scoring.

    Without this a file lacking the keys scored "0.0% (0/0)" and exited 0, and bad YAML
    dumped the parser's multi-line message.
    """
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a mapping with {KEYS_HELP}, found {_kind(data)}")
    if missing := [k for k in LABELLED_KEYS if k not in data]:
        raise UsageError(f"{path}: missing {' and '.join(missing)}; a labelled set has {KEYS_HELP}")
    if unknown := sorted(str(k) for k in data if k not in LABELLED_KEYS + OPTIONAL_KEYS):
        raise UsageError(f"{path}: unknown key(s) {', '.join(unknown)}; expected {KEYS_HELP}")
    for key in LABELLED_KEYS + OPTIONAL_KEYS:
        _check_items(path, key, data.get(key, []))
    if not data["in_scope"] and not data["out_of_scope"]:
        raise UsageError(f"{path}: no questions in in_scope or out_of_scope")


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the file ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UsageError(f"{where}: not valid YAML ({problem})") from None


def _check_items(path: Path, key: str, items: Any) -> None:
    if not isinstance(items, list):
        raise UsageError(f"{path}: {key} must be a list, found {_kind(items)}")
    for number, item in enumerate(items, start=1):
        if key != "in_scope" and not isinstance(item, str):
            raise UsageError(f"{path}: {key} item {number} must be a question (text)")
        if key == "in_scope" and not _is_labelled(item):
            raise UsageError(
                f"{path}: in_scope item {number} needs q (the question) and ids "
                "(the entry ids that answer it)"
            )


def _is_labelled(item: Any) -> bool:
    if not isinstance(item, dict) or not isinstance(item.get("q"), str):
        return False
    ids = item.get("ids")
    ids = [ids] if isinstance(ids, str) else ids
    return isinstance(ids, list) and bool(ids) and all(isinstance(i, str) for i in ids)


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__
