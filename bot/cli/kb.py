"""``eln-bot kb ...``: the operators' command line over the knowledge store and insights.

It calls the same ``KnowledgeStore`` methods as the moderator slash commands, so a change
made here is validated, logged and undoable exactly like one made in Discord, and is safe to
run while the bot is up (the store serialises writers across processes).

Exit status (``bot.errors.ExitCode``, the table every command shares): OK once the change is
on disk (or the report is printed); FAILED when the store refuses the change (invalid result,
unknown id, nothing to undo...); USAGE when the input itself is unusable (unreadable or
malformed file, missing options, bad settings). Errors are one line per problem on stderr,
never a traceback (``bot.cli.boundary``).

Text from moderators and users is printed with control and invisible characters escaped, so
a question containing terminal escape codes or right-to-left overrides cannot disguise
itself on an operator's terminal. ``export`` writes YAML, which escapes them itself.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli.boundary import UsageError, printable
from bot.core.knowledge import KnowledgeError, read_document
from bot.errors import ExitCode

if TYPE_CHECKING:  # the store and insights load when a kb command runs, not for `ask`
    from bot.config import Settings
    from bot.storage.changes import Change
    from bot.storage.store import KnowledgeStore
    from bot.storage.usage import Insights

CLEARABLE = ("passage", "tags", "related", "action")
Handler = Callable[[argparse.Namespace, "Settings"], int]


# --- argument parsing ---------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``kb`` command and its sub-commands to the main CLI."""
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--data-dir", type=Path, help="data directory (default: ELN_DATA_DIR)")
    knowledge = argparse.ArgumentParser(add_help=False, parents=[where])
    knowledge.add_argument("--knowledge", type=Path, help="shipped knowledge file (ELN_KNOWLEDGE)")
    writer = argparse.ArgumentParser(add_help=False, parents=[knowledge])
    writer.add_argument("--by", help="who makes the change (default: $USER, else 'cli')")
    kb = subparsers.add_parser(
        "kb",
        help="view and change the knowledge (moderator edits)",
        description="Moderator edits, kept in the database on top of the shipped file.",
    )
    commands = kb.add_subparsers(dest="kb_command", metavar="COMMAND", required=True)

    def command(
        name: str, handler: Handler, help_text: str, parent: argparse.ArgumentParser = writer
    ) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = commands.add_parser(
            name, parents=[parent], help=help_text, description=help_text
        )
        parser.set_defaults(handler=handler)
        return parser

    _entry_options(command("add", _add, "add an entry from a YAML file and/or options"), add=True)
    edit = command("edit", _edit, "change fields of an entry")
    edit.add_argument("id", help="entry id")
    _entry_options(edit, add=False)
    alias = command("alias", _alias, "add a phrasing to an entry")
    alias.add_argument("id", help="entry id")
    alias.add_argument("phrase", help="the new phrasing (quote it)")
    command("remove", _remove, "remove an entry (undo brings it back)").add_argument("id")
    history = command("history", _history, "list recent changes, newest first", knowledge)
    history.add_argument("id", nargs="?", help="only changes to this entry")
    history.add_argument("--limit", type=_positive, default=20)
    undo = command("undo", _undo, "undo the latest change still in effect, or the one given")
    undo.add_argument("change", nargs="?", type=change_number, help="#N or N, as history shows")
    exporting = command("export", export, "print the merged knowledge as YAML", knowledge)
    exporting.add_argument("--output", type=Path, help="write to this file instead of stdout")
    imp = command("import", _import, "replace the knowledge with a YAML file (shows the plan)")
    imp.add_argument("file", type=Path, help="a knowledge file ('-' for stdin)")
    imp.add_argument("--yes", action="store_true", help="apply the plan")
    unanswered = command("unanswered", _unanswered, "questions the bot could not answer", where)
    unanswered.add_argument("--limit", type=_positive, default=10)
    unanswered.add_argument("--days", type=_positive, help="only the last N days")
    resolve = command("resolve", _resolve, "mark a group of unanswered questions handled", where)
    resolve.add_argument("key", help="group key (see unanswered)")
    stats = command("stats", _stats, "answer statistics and feedback", where)
    stats.add_argument("--days", type=_positive, help="only the last N days")
    stats.add_argument("--top", type=_positive, default=5)


def _entry_options(parser: argparse.ArgumentParser, *, add: bool) -> None:
    fields_help = "YAML file with the entry" if add else "YAML file with the fields to change"
    parser.add_argument("--file", type=Path, help=f"{fields_help} ('-' for stdin)")
    if add:
        parser.add_argument("--id", dest="entry_id", help="entry id, e.g. new-start")
        parser.add_argument("--alternate", action="append", help="a phrasing (repeatable)")
    else:
        parser.add_argument("--alternates-file", type=Path, help="all phrasings: one a line")
        parser.add_argument("--clear", action="append", choices=CLEARABLE, help="drop a field")
    parser.add_argument("--question")
    parser.add_argument("--answer")
    parser.add_argument("--passage", help="quoted passage from the source")
    parser.add_argument("--source-title", action="append", help="repeatable; pairs with urls")
    parser.add_argument("--source-url", action="append", help="repeatable; pairs with titles")
    parser.add_argument("--tag", action="append", help="repeatable")
    parser.add_argument("--related", action="append", help="related entry id (repeatable)")
    parser.add_argument("--action", type=_positive, help="urgent action number")


def change_number(text: str) -> int:
    """A change as ``kb history`` prints it, ``#7``, or as a plain ``7``."""
    return _positive(text.removeprefix("#"))


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


# --- running -----------------------------------------------------------------------------


def _store(args: argparse.Namespace, settings: Settings, *, write: bool) -> KnowledgeStore:
    """The store the options name; a read-only command creates no database."""
    from bot.storage.loading import open_database, open_store  # noqa: PLC0415 - see above

    chosen = chosen_settings(args, settings)
    database = open_database(chosen, create=write)
    return open_store(chosen, database, knowledge=getattr(args, "knowledge", None))


def chosen_settings(args: argparse.Namespace, settings: Settings) -> Settings:
    """``--data-dir`` where given, else ELN_DATA_DIR (``eln-bot export`` has no options)."""
    data_dir = getattr(args, "data_dir", None)
    return settings if data_dir is None else dataclasses.replace(settings, data_dir=data_dir)


def _by(args: argparse.Namespace) -> str:
    return str(args.by or os.environ.get("USER") or "cli")


def _saved(store: KnowledgeStore, change: Change) -> int:
    where = store.database.location.label
    print(f"change #{change.id} saved: {printable(change.summary)} (in {where})")
    return ExitCode.OK


# --- store commands ----------------------------------------------------------------------


def _add(args: argparse.Namespace, settings: Settings) -> int:
    entry = _mapping_file(args.file) if args.file else {}
    entry.update(_option_fields(args))
    if args.entry_id is not None:
        entry["id"] = args.entry_id
    if args.alternate:
        entry["alternates"] = args.alternate
    if not entry:
        raise UsageError("give --file ENTRY.yaml or --id, --question, --answer, ...")
    store = _store(args, settings, write=True)
    return _saved(store, store.add(entry, _by(args)))


def _edit(args: argparse.Namespace, settings: Settings) -> int:
    fields = _mapping_file(args.file) if args.file else {}
    fields.update(_option_fields(args))
    if args.alternates_file:
        fields["alternates"] = _lines_file(args.alternates_file)
    fields.update(dict.fromkeys(args.clear or ()))
    if not fields:
        raise UsageError("nothing to change: give a field option such as --answer")
    store = _store(args, settings, write=True)
    return _saved(store, store.edit(args.id, fields, _by(args)))


def _alias(args: argparse.Namespace, settings: Settings) -> int:
    store = _store(args, settings, write=True)
    return _saved(store, store.alias(args.id, args.phrase, _by(args)))


def _remove(args: argparse.Namespace, settings: Settings) -> int:
    store = _store(args, settings, write=True)
    return _saved(store, store.remove(args.id, _by(args)))


def _undo(args: argparse.Namespace, settings: Settings) -> int:
    store = _store(args, settings, write=True)
    return _saved(store, store.undo(_by(args), args.change))


def _history(args: argparse.Namespace, settings: Settings) -> int:
    store = _store(args, settings, write=False)
    changes, active = store.history(args.id, args.limit), store.active()
    if not changes:
        print(f"No changes to '{printable(args.id)}'." if args.id else "No changes yet.")
    for change in changes:
        undone = "" if active.get(change.id, True) else "  (undone)"
        print(
            f"#{change.id}  {change.at}  {printable(change.by)}  "
            f"{printable(change.summary)}{undone}"
        )
    return ExitCode.OK


def export(args: argparse.Namespace, settings: Settings) -> int:
    """``eln-bot export`` and ``eln-bot kb export``: the merged knowledge as YAML."""
    return _write_export(_store(args, settings, write=False), args.output)


def _write_export(store: KnowledgeStore, output: Path | None) -> int:
    from bot.storage.files import write_atomic  # noqa: PLC0415 - see TYPE_CHECKING above

    text = store.export_yaml()
    if output is None:
        sys.stdout.write(text)
        return ExitCode.OK
    try:
        write_atomic(output, text.encode("utf-8"))
    except OSError as exc:
        raise UsageError(f"{output}: cannot write the file ({exc.strerror})") from None
    print(f"wrote {output}", file=sys.stderr)
    return ExitCode.OK


def _import(args: argparse.Namespace, settings: Settings) -> int:
    store = _store(args, settings, write=bool(args.yes))
    name = "<stdin>" if str(args.file) == "-" else str(args.file)
    plan = store.plan_import(_read_text(args.file), name)
    for warning in plan.warnings:
        print(printable(str(warning)), file=sys.stderr)
    if plan.empty:
        print("Nothing to import: the file matches the current knowledge.")
        return ExitCode.OK
    print(f"import {name}: {plan.summary()}")
    for mark, ids in (("+", plan.added), ("~", plan.changed), ("-", plan.removed)):
        for eid in ids:
            print(f"  {mark} {eid}")
    if not args.yes:
        print("Nothing written; run again with --yes to apply.")
        return ExitCode.OK
    return _saved(store, store.apply_import(plan, _by(args)))


def _option_fields(args: argparse.Namespace) -> dict[str, Any]:
    fields = {
        key: value
        for key in ("question", "answer", "passage", "action")
        if (value := getattr(args, key)) is not None
    }
    if args.tag:
        fields["tags"] = args.tag
    if args.related:
        fields["related"] = args.related
    titles, urls = args.source_title or [], args.source_url or []
    if len(titles) != len(urls):
        raise UsageError("give one --source-url for each --source-title")
    if titles:
        fields["sources"] = [{"title": t, "url": u} for t, u in zip(titles, urls, strict=True)]
    return fields


def _read_text(path: Path) -> str:
    try:
        raw = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
        return raw.decode("utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the file ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def _mapping_file(path: Path) -> dict[str, Any]:
    """A YAML file holding one mapping (an entry, or the fields to change)."""
    try:
        data, _ = read_document(_read_text(path), str(path))
    except KnowledgeError as exc:
        raise UsageError(*(str(p) for p in exc.problems)) from None
    if not isinstance(data, dict):
        kind = "nothing" if data is None else type(data).__name__
        raise UsageError(f"{path}: expected a mapping of fields (id, question, ...), found {kind}")
    return data


def _lines_file(path: Path) -> list[str]:
    """Phrasings, one a line (blank lines skipped), or a YAML list in a .yaml/.yml file."""
    text = _read_text(path)
    if path.suffix.lower() not in (".yaml", ".yml"):
        return [line.strip() for line in text.splitlines() if line.strip()]
    try:
        data, _ = read_document(text, str(path))
    except KnowledgeError as exc:
        raise UsageError(*(str(p) for p in exc.problems)) from None
    if not isinstance(data, list) or not all(isinstance(p, str) for p in data):
        raise UsageError(f"{path}: expected a YAML list of phrasings")
    return data


# --- insights commands -------------------------------------------------------------------


def _insights(args: argparse.Namespace, settings: Settings, *, write: bool) -> Insights:
    from bot.storage.loading import open_database, open_insights  # noqa: PLC0415 - see above

    chosen = chosen_settings(args, settings)
    return open_insights(chosen, open_database(chosen, create=write))


def _since(days: int | None) -> datetime | None:
    return None if days is None else datetime.now(UTC) - timedelta(days=days)


def _unanswered(args: argparse.Namespace, settings: Settings) -> int:
    groups = _insights(args, settings, write=False).unanswered(args.limit, _since(args.days))
    if not groups:
        print("No unanswered questions.")
    for group in groups:
        closest = f"  closest: {', '.join(group.closest)}" if group.closest else ""
        print(
            f"{group.count:>4}x  [{group.key}]  {printable(group.example)}"
            f"  (last {group.last_seen:%Y-%m-%d}){closest}"
        )
    return ExitCode.OK


def _resolve(args: argparse.Namespace, settings: Settings) -> int:
    group = _insights(args, settings, write=True).resolve(args.key)
    print(f"resolved [{group.key}]: {group.count} question(s) like {printable(group.example)!r}")
    return ExitCode.OK


def _stats(args: argparse.Namespace, settings: Settings) -> int:
    stats = _insights(args, settings, write=False).stats(_since(args.days), top=args.top)
    period = f"last {args.days} day(s)" if args.days else "all time"
    print(f"{period}: {stats.questions} question(s), {stats.answered} answered, ", end="")
    print(f"{stats.declined} declined ({stats.decline_rate:.0%})")
    print("most asked:" if stats.most_asked else "most asked: none")
    for entry, count in stats.most_asked:
        print(f"  {count:>4}  {printable(entry)}")
    print("least helpful:" if stats.least_helpful else "least helpful: none")
    for votes in stats.least_helpful:
        print(f"  {votes.unhelpful:>4} of {votes.total} unhelpful  {printable(votes.entry)}")
    return ExitCode.OK
