"""Looking after the database: a consistent backup, a check of what it holds, a summary.

``eln-bot db`` calls these. The check reads without writing (the shipped file is read
here, not through ``KnowledgeStore``, which keeps a copy of it in the database); only
``repair`` writes, and only what it can derive again: the stored edits, from the history.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, RowMapping, func, select, text

from bot.core.knowledge import KnowledgeError, Problem, iter_errors, parse_document, read_document
from bot.errors import StoreError
from bot.storage.changes import Change, replay
from bot.storage.database import BUSY_TIMEOUT_MS, Database
from bot.storage.files import fsync_dir
from bot.storage.legacy import imported
from bot.storage.merge import merge
from bot.storage.overlay import Overlay, differences, same_edits
from bot.storage.schema import (
    GLOBAL,
    SCHEMA_REVISION,
    changes,
    feedback,
    overlays,
    questions,
    unanswered_groups,
)
from bot.storage.store import KnowledgeStore, change_from_row

_CHECK_HINT = "; run `eln-bot db check`."


# --- backup -----------------------------------------------------------------------------


def backup_sqlite(source: Path, target: Path) -> int:
    """Copy a live SQLite database with SQLite's online backup; returns the bytes written.

    The copy is one consistent snapshot even while the bot writes, checked, and a single
    file (rollback journal, not WAL), so restoring it is copying it back. It replaces
    ``target`` atomically.
    """
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with _sqlite(f"{source.as_uri()}?mode=rw") as live, _sqlite(str(temporary)) as copy:
            live.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            live.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")
            verdict = copy.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            raise StoreError(f"The backup of {source} does not check out ({verdict}).")
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, target)
        fsync_dir(target.parent)
    except sqlite3.Error as exc:
        raise StoreError(f"The database {source} could not be backed up ({exc}).") from None
    finally:
        temporary.unlink(missing_ok=True)
    return target.stat().st_size


@contextlib.contextmanager
def _sqlite(name: str) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(name, uri=name.startswith("file:"))
    try:
        yield connection
    finally:
        connection.close()


# --- info -------------------------------------------------------------------------------


def describe(database: Database, *, retention_days: int) -> list[str]:
    """What the database is and holds, one ``name: value`` line each."""
    revision = database.revision()
    with database.read() as conn:
        lines = [
            f"database: {database.location.label} ({_engine(conn, database)})",
            f"schema: {_schema(revision)}",
        ]
        if revision == SCHEMA_REVISION:
            lines += [_edits_line(conn), _usage_line(conn, retention_days)]
    done = imported(database) if revision == SCHEMA_REVISION else None
    if done is not None:
        lines.append(
            f"imported: the files of an earlier release from {done.get('from')} at "
            f"{done.get('at')}; they were moved to {done.get('backup')}"
        )
    return lines


def _engine(conn: Connection, database: Database) -> str:
    if database.dialect == "sqlite":
        path = database.location.path
        size = f", {path.stat().st_size / 1024:,.0f} KB" if path is not None else ""
        return f"SQLite {sqlite3.sqlite_version}{size}"
    return f"PostgreSQL {conn.execute(text('SHOW server_version')).scalar()}"


def _schema(revision: str | None) -> str:
    if revision is None:
        return "none (no tables yet; the first start creates them)"
    if revision == SCHEMA_REVISION:
        return f"version {revision} (current)"
    if revision < SCHEMA_REVISION:
        return f"version {revision} (older: this release upgrades it when it starts)"
    return f"version {revision} (unknown to this release: written by a newer one?)"


def _edits_line(conn: Connection) -> str:
    query = select(changes.c.scope, func.count()).group_by(changes.c.scope)
    counts: dict[str, int] = {str(s): int(n) for s, n in conn.execute(query)}
    if not counts:
        return "edits: none yet"
    scopes = _in_order(counts)
    return "edits: " + ", ".join(f"{counts[s]} change(s) ({_scope_name(s)})" for s in scopes)


def _usage_line(conn: Connection, retention_days: int) -> str:
    q, g = questions, unanswered_groups
    kinds: dict[str, int] = {
        str(k): int(n) for k, n in conn.execute(select(q.c.kind, func.count()).group_by(q.c.kind))
    }
    oldest = conn.execute(select(func.min(q.c.at))).scalar()
    groups = conn.execute(select(func.count()).select_from(g)).scalar() or 0
    handled = conn.execute(select(func.count()).where(g.c.resolved_at.is_not(None))).scalar()
    votes = conn.execute(select(func.count()).select_from(feedback)).scalar() or 0
    answered, declined = int(kinds.get("answer", 0)), int(kinds.get("unanswered", 0))
    since = "" if oldest is None else f", the oldest from {_day(int(oldest))}"
    return (
        f"usage: {answered + declined} question(s) ({declined} declined), {groups} unanswered "
        f"group(s) ({handled or 0} resolved), {votes} vote(s){since}; kept {retention_days} days"
    )


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def _scope_name(scope: str) -> str:
    return "global" if scope == GLOBAL else f"server {scope}"


# --- check ------------------------------------------------------------------------------


@dataclass
class Report:
    """What ``check`` found: one line a problem, and what it looked at."""

    problems: list[str] = field(default_factory=list)
    changes: int = 0
    scopes: int = 0
    repairable: list[str] = field(default_factory=list)  # scopes whose edits can be rebuilt
    unreadable: int = 0  # damaged rows or pages: only a backup brings them back
    integrity: bool = False  # SQLite's own check ran

    @property
    def ok(self) -> bool:
        return not self.problems


def check(database: Database, shipped: Path) -> Report:
    """Every problem with the stored data, without writing anything."""
    report = Report()
    shipped_data = _shipped(shipped, report)
    try:
        _check_database(database, shipped_data, report)
    except StoreError as exc:  # so damaged that it cannot be read on
        report.problems.append(str(exc))
        report.unreadable += 1
    return report


def _check_database(database: Database, shipped: dict[str, Any] | None, report: Report) -> None:
    if database.dialect == "sqlite":
        with database.read() as conn:
            found = _integrity(conn)
        report.problems += found
        report.unreadable += len(found)
        report.integrity = True
    revision = database.revision()
    if revision != SCHEMA_REVISION:
        report.problems.append(f"schema: {_schema(revision)}; expected {SCHEMA_REVISION}")
        return
    with database.read() as conn:
        scopes = _scopes(conn)
        stored = {scope: _stored_edits(conn, scope, report) for scope in scopes}
        for scope in scopes:
            report.scopes += 1
            _check_history(conn, scope, stored[scope], report)
    if shipped is not None:
        _check_served(shipped, stored, report)


def repair(database: Database, shipped: Path, report: Report) -> list[str]:
    """Rebuild the stored edits of the scopes ``report`` found repairable; says what it did."""
    done = []
    for scope in report.repairable:
        store = KnowledgeStore(shipped, database, scope=scope)
        if store.rebuild():
            done.append(f"{_scope_name(scope)}: rebuilt the stored edits from the history")
    return done


def _integrity(conn: Connection) -> list[str]:
    rows = [str(r[0]) for r in conn.exec_driver_sql("PRAGMA integrity_check").all()]
    found = [f"integrity: {row}" for row in rows if row != "ok"]
    for table, rowid, parent, _ in conn.exec_driver_sql("PRAGMA foreign_key_check").all():
        found.append(f"integrity: {table} row {rowid} refers to a missing {parent} row")
    return found


def _shipped(path: Path, report: Report) -> dict[str, Any] | None:
    """The shipped document, or None (and a problem) when it does not load."""
    try:
        data, lines = read_document(path.read_text(encoding="utf-8"), str(path))
        parse_document(data, str(path), lines=lines)
    except (OSError, UnicodeDecodeError) as exc:
        report.problems.append(f"{path}: cannot read the shipped knowledge ({exc})")
        return None
    except KnowledgeError as exc:
        report.problems += [f"shipped knowledge: {p}" for p in _errors(exc)]
        return None
    return data if isinstance(data, dict) else None


def _scopes(conn: Connection) -> list[str]:
    found = {str(s) for s in conn.execute(select(changes.c.scope).distinct()).scalars()}
    found |= {str(s) for s in conn.execute(select(overlays.c.scope)).scalars()}
    return _in_order(found)


def _in_order(scopes: Iterable[str]) -> list[str]:
    """The global scope first (every server's layer stands on it), then servers by id."""
    return sorted(scopes, key=lambda s: (s != GLOBAL, s))


def _check_history(conn: Connection, scope: str, stored: Overlay | None, report: Report) -> None:
    """The scope's history reads, runs without gaps, undoes rightly and gives its edits."""
    name = _scope_name(scope)
    rows = conn.execute(
        select(changes).where(changes.c.scope == scope).order_by(changes.c.number)
    ).mappings()
    history, damaged = _decode(rows, name, report)
    report.changes += len(history) + len(damaged)
    report.unreadable += len(damaged)
    report.problems += [f"{name}: {p}" for p in _numbering(history, damaged)]
    report.problems += [f"{name}: {p}" for p in _undo_links(history, damaged)]
    if damaged:
        return
    replayed = replay(history)
    if stored is None or not same_edits(stored, replayed):
        if stored is not None:
            report.problems.append(
                f"{name}: the stored edits differ from the replay of the history "
                f"about {differences(stored, replayed)}"
            )
        report.repairable.append(scope)


def _check_served(
    shipped: dict[str, Any], stored: dict[str, Overlay | None], report: Report
) -> None:
    """Each layer validates as it is served: the global edits on the shipped file, a
    server's edits on top of those (a server may link to an entry added globally)."""
    global_edits = stored.get(GLOBAL, Overlay())
    if global_edits is None:  # damaged: already a problem, and every layer stands on it
        return
    base = merge(shipped, global_edits)
    for scope, edits in stored.items():  # the global scope first
        if edits is None:
            continue
        try:
            parse_document(base if scope == GLOBAL else merge(base, edits), "knowledge")
        except KnowledgeError as exc:
            name = _scope_name(scope)
            report.problems += [f"{name}: the merged knowledge: {p}" for p in _errors(exc)]
            if scope == GLOBAL:
                return  # every server's layer would repeat these


def _decode(rows: Any, name: str, report: Report) -> tuple[list[Change], set[int]]:
    """The rows that decode as changes, and the numbers of those that do not (problems)."""
    history: list[Change] = []
    damaged: set[int] = set()
    row: RowMapping
    for row in rows:
        try:
            history.append(change_from_row(row))
        except StoreError as exc:
            damaged.add(int(row["number"]))
            report.problems.append(f"{name}: {str(exc).replace(_CHECK_HINT, '.')}")
    return history, damaged


def _numbering(history: list[Change], damaged: set[int]) -> list[str]:
    """Numbers run 1, 2, 3...: a gap is a change lost (a damaged row counts as present)."""
    if damaged:
        return []
    found = []
    for expected, change in enumerate(history, 1):
        if change.id != expected:
            found.append(f"change #{expected} is missing (the history jumps to #{change.id})")
            break
    return found


def _undo_links(history: list[Change], damaged: set[int]) -> list[str]:
    """An undo names an earlier change and puts back exactly the state before it."""
    by_id = {c.id: c for c in history}
    found = []
    for change in history:
        if change.undoes in damaged:
            continue  # that row is the problem, already named
        if change.op == "undo" and change.undoes is None:
            found.append(f"change #{change.id} is an undo that does not say what it undoes")
        if change.undoes is None:
            continue
        if change.op != "undo":
            found.append(
                f"change #{change.id} is a {change.op} that says it undoes #{change.undoes}"
            )
        target = by_id.get(change.undoes)
        if target is None or target.id >= change.id:
            found.append(f"change #{change.id} undoes #{change.undoes}, which is not before it")
        elif change.before != target.after or change.after != target.before:
            found.append(f"change #{change.id} undoes #{target.id} but does not put back its state")
    return found


def _stored_edits(conn: Connection, scope: str, report: Report) -> Overlay | None:
    body = conn.execute(select(overlays.c.body).where(overlays.c.scope == scope)).scalar()
    if body is None:
        return Overlay()
    try:
        return Overlay.from_document(json.loads(body))
    except ValueError as exc:  # json.JSONDecodeError is one
        report.problems.append(f"{_scope_name(scope)}: the stored edits are damaged ({exc})")
        return None


def _errors(exc: KnowledgeError) -> list[Problem]:
    return list(iter_errors(exc.problems)) or list(exc.problems)
