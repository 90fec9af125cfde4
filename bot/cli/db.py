"""``eln-bot db ...``: back up, check and describe the database the bot keeps its data in.

``backup`` copies a live SQLite database consistently (PostgreSQL is backed up with
``pg_dump``, which it spells out); ``check`` reads everything and prints one line a
problem (``--repair`` rebuilds the stored edits from the history); ``info`` says which
database this is and what it holds. ``check`` and ``info`` write nothing and, with no
database yet, create none; with files of an earlier release still waiting, ``check``
checks what importing them would give. Exit status: 0 when done or sound, 1 when the
check finds problems or there is nothing to back up or check, 2 for a bad command line.
"""

from __future__ import annotations

import argparse
import shlex
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.boundary import UsageError, fail, printable
from bot.cli.kb import chosen_settings
from bot.errors import ExitCode, StoreError

if TYPE_CHECKING:  # SQLAlchemy loads when a db command runs, not for `ask`
    from bot.config import Settings
    from bot.storage.database import Database, Location
    from bot.storage.maintenance import Report

REPAIR_HINT = "`eln-bot db check --repair` rebuilds the stored edits from the history"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``db`` command and its sub-commands to the main CLI."""
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--data-dir", type=Path, help="data directory (default: ELN_DATA_DIR)")
    db = subparsers.add_parser(
        "db",
        help="back up, check or describe the database",
        description="The database of moderator edits and usage records (ELN_DATABASE_URL, "
        "else eln-bot.sqlite3 in the data directory).",
    )
    commands = db.add_subparsers(dest="db_command", metavar="COMMAND", required=True)
    backup = commands.add_parser(
        "backup", parents=[where], help="copy the database consistently, even while the bot runs"
    )
    backup.add_argument("file", type=Path, help="the copy to write (in a folder: a dated name)")
    backup.set_defaults(handler=_backup)
    check = commands.add_parser(
        "check", parents=[where], help="check the stored data; one line a problem"
    )
    check.add_argument(
        "--repair", action="store_true", help="rebuild the stored edits from the history"
    )
    check.add_argument("--knowledge", type=Path, help="shipped knowledge file (ELN_KNOWLEDGE)")
    check.set_defaults(handler=_check)
    info = commands.add_parser("info", parents=[where], help="which database, what it holds")
    info.set_defaults(handler=_info)


# --- backup -----------------------------------------------------------------------------


def _backup(args: argparse.Namespace, settings: Settings) -> int:
    from bot.storage.loading import location  # noqa: PLC0415 - see TYPE_CHECKING
    from bot.storage.maintenance import backup_sqlite  # noqa: PLC0415

    where = location(chosen_settings(args, settings))
    if where.path is None:
        return _pg_dump(where, args.file)
    if not where.exists():
        return fail([f"There is no database at {where.path} to back up."], ExitCode.FAILED)
    target = _target(args.file, where.path)
    size = backup_sqlite(where.path, target)
    print(f"backed up {where.path} to {target} ({size / 1024:,.0f} KB, checked)")
    return ExitCode.OK


def _target(file: Path, database: Path) -> Path:
    """The file to write: ``file``, or a dated name inside it when it is a folder."""
    if file.is_dir():
        file = file / f"eln-bot-{datetime.now(UTC):%Y%m%d-%H%M%S}.sqlite3"
    if file.absolute() == database.absolute():
        raise UsageError(f"{file} is the database itself; name another file")
    if not file.parent.is_dir():
        raise UsageError(f"{file}: the folder {file.parent} does not exist")
    return file


def _pg_dump(where: Location, file: Path) -> int:
    """PostgreSQL is backed up by its own tool: print its command line, password hidden."""
    from sqlalchemy.engine import make_url  # noqa: PLC0415 - see TYPE_CHECKING

    url = make_url(where.url)
    host = url.host or url.query.get("host")
    options = {
        "--host": host if isinstance(host, str) else None,
        "--port": url.port,
        "--username": url.username,
        "--dbname": url.database,
    }
    given = [f"{name}={value}" for name, value in options.items() if value]
    print(shlex.join(["pg_dump", "--format=custom", f"--file={file}", *given]))
    server = f"{url.database} on {host}" if host else str(url.database)
    return fail(
        [
            f"db backup copies SQLite databases; back up the PostgreSQL database {server} "
            "with the pg_dump command above (it asks for the password, or reads PGPASSWORD "
            "or ~/.pgpass), and restore it with pg_restore"
        ],
        ExitCode.FAILED,
    )


# --- check ------------------------------------------------------------------------------


def _check(args: argparse.Namespace, settings: Settings) -> int:
    from bot.storage.maintenance import check, repair  # noqa: PLC0415 - see TYPE_CHECKING

    chosen = chosen_settings(args, settings)
    database, label = _for_reading(chosen)
    shipped = args.knowledge or chosen.knowledge_path
    report = check(database, shipped)
    if args.repair and report.repairable:
        for done in repair(database, shipped, report):
            print(done)
        report = check(database, shipped)
    for problem in report.problems:
        print(printable(problem))
    print(_verdict(label, report))
    return ExitCode.OK if report.ok else ExitCode.FAILED


def _for_reading(settings: Settings) -> tuple[Database, str]:
    """The database as it is (no migration, no import), or the files waiting to be imported."""
    from bot.storage.database import Database  # noqa: PLC0415 - see TYPE_CHECKING
    from bot.storage.datadir import has_files  # noqa: PLC0415
    from bot.storage.loading import location, open_database  # noqa: PLC0415

    where = location(settings)
    if where.exists():
        return Database(where, migrate=False), where.label
    if has_files(settings.data_dir):
        waiting = f"{settings.data_dir} (files of an earlier release, not imported yet)"
        return open_database(settings, create=False), waiting
    raise StoreError(f"There is no database at {where.label}: nothing to check.")


def _verdict(label: str, report: Report) -> str:
    if not report.ok:
        hint = f"; {REPAIR_HINT}" if report.repairable else ""
        if report.unreadable:
            hint += (
                "; what is damaged comes back only from a backup (see README, Backup and restore)"
            )
        return f"{label}: FAILED, {len(report.problems)} problem(s){hint}"
    found = ["integrity ok"] if report.integrity else []
    if report.scopes:
        found.append(
            f"{report.changes} change(s) in {report.scopes} scope(s) replay to the stored edits"
        )
        found.append("the merged knowledge is valid")
    else:
        found.append("no edits yet")
    return f"{label}: OK, {', '.join(found)}"


# --- info -------------------------------------------------------------------------------


def _info(args: argparse.Namespace, settings: Settings) -> int:
    from bot.storage.database import Database  # noqa: PLC0415 - see TYPE_CHECKING
    from bot.storage.datadir import has_files  # noqa: PLC0415
    from bot.storage.legacy import imported  # noqa: PLC0415
    from bot.storage.loading import location  # noqa: PLC0415
    from bot.storage.maintenance import describe  # noqa: PLC0415

    chosen = chosen_settings(args, settings)
    where = location(chosen)
    print(f"data directory: {chosen.data_dir}")
    waiting = has_files(chosen.data_dir)
    if not where.exists():
        print(f"database: {where.label} (not created yet: the bot or the first change does)")
    else:
        database = Database(where, migrate=False)
        for line in describe(database, retention_days=chosen.retention_days):
            print(line)
        waiting = waiting and database.revision() is not None and imported(database) is None
    if waiting:
        print(
            "files: the data directory holds files of an earlier release, not imported yet; "
            "the next start of the bot, or the next change, imports them"
        )
    return ExitCode.OK
