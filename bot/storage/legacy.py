"""The data directory of an earlier release, imported into the database once and whole.

On the first start of this release (``bot.storage.loading.open_database``) a data directory
still holding the files of ``bot.storage.datadir`` is imported in one transaction: the
history with its authors, times, before/after states and undo links (so ``undo`` and
``history`` behave as before), the current edits, the usage records (declined questions
regrouped as ``Insights`` groups them now, answers, votes, resolved groups). Then the files
move into ``pre-database-backup-YYYYMMDD-HHMMSS/`` beside them, and a meta row marks the
import, so running it again changes nothing. A crash before the commit leaves the files in
place and nothing imported; a crash after it, files that the next start moves away.

The history is the truth, and the current edits must equal its replay: an ``overlay.yaml``
that is damaged or disagrees is rebuilt from ``changes.jsonl``. When a line of
``changes.jsonl`` cannot be read but ``overlay.yaml`` is intact and agrees with every other
change, the readable changes are imported, the overlay is the current state, and the lost
change keeps its number as a row that restores the state recorded after it, so the history
stays contiguous and still replays to the current edits. What was skipped is named in the
one line the import logs. When neither file can say what the edits are, nothing is
imported and the error says which lines to fix.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, func, or_, select, text

from bot.errors import StoreError
from bot.storage.changes import Change, activity, replay
from bot.storage.database import Database
from bot.storage.datadir import (
    DATA_FILES,
    FEEDBACK_NAME,
    LOCK_FILES,
    LOG_NAME,
    OVERLAY_NAME,
    QUESTIONS_NAME,
    RESOLVED_NAME,
    read_lines,
    read_log,
    read_overlay,
)
from bot.storage.files import fsync_dir, utc_now
from bot.storage.overlay import Overlay, differences, document_fields, edited_ids, same_edits
from bot.storage.schema import GLOBAL, changes, feedback, overlays, unanswered_groups
from bot.storage.usage import Asked, Insights, normalise, similarity

log = logging.getLogger(__name__)

IMPORT_KEY = "legacy-import"  # meta row: when and from where the files were imported
BACKUP_PREFIX = "pre-database-backup-"
LOST_BY = "eln-bot (import of the earlier release's files)"
_IMPORT_LOCK = 0x454C4F  # pg_advisory_xact_lock key: one importer at a time
_GUILD = "guild="
_T = TypeVar("_T")


@dataclass
class History:
    """The changes to import, numbered 1..N without gaps, and the current edits."""

    changes: list[Change]
    overlay: Overlay
    notes: list[str]  # what was skipped or rebuilt, for the report


@dataclass
class Usage:
    """The usage records to import, in the order they were made."""

    asked: list[Asked]
    votes: list[dict[str, Any]]  # feedback rows: each person's latest vote on each entry
    resolved: list[tuple[datetime, str]]  # (when, normalised question) a group was handled
    notes: list[str]


# --- the whole import -------------------------------------------------------------------


def migrate(database: Database, data_dir: Path) -> str | None:
    """Import ``data_dir``'s files once; returns the line it logged, None if nothing was done.

    StoreError (nothing imported, the files untouched) when the files cannot be imported
    exactly, or when the database already holds a history of its own.
    """
    backup = _backup_folder(data_dir)
    line = _import_once(database, data_dir, backup) if imported(database) is None else None
    if line is None:
        _move_leftovers(data_dir, backup, imported(database) or {})
        return None
    moved = _move_files(data_dir, backup)
    line += f"; the old files are in {backup}{os.sep}" if moved else ""
    # A warning, so the command line shows it too: the operator's files have moved.
    log.warning("%s", line)
    return line


def _import_once(database: Database, data_dir: Path, backup: Path) -> str | None:
    """One transaction; None when another process imported the files first."""
    history, usage = plan_history(data_dir), plan_usage(data_dir)
    with database.write() as conn:
        if database.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _IMPORT_LOCK})
        if database.get_meta(IMPORT_KEY, conn) is not None:
            return None
        counts = _write(conn, database, history, usage)
        line = _report(data_dir, database, history, usage, counts)
        record = {"at": utc_now(), "from": str(data_dir), "backup": str(backup), "line": line}
        database.set_meta(IMPORT_KEY, json.dumps(record, ensure_ascii=False), conn)
    return line


def read_into(database: Database, data_dir: Path) -> None:
    """Import into a database that lives only as long as this process; the files stay.

    For commands that only read while the files are not imported yet: they show what the
    import will bring, and create and move nothing.
    """
    history, usage = plan_history(data_dir), plan_usage(data_dir)
    with database.write() as conn:
        _write(conn, database, history, usage)
    log.info("read the files of an earlier release in %s (imported at the next start)", data_dir)


def imported(database: Database) -> dict[str, Any] | None:
    """What the import recorded (``at``, ``from``, ``backup``, ``line``), None if none ran."""
    value = database.get_meta(IMPORT_KEY)
    return None if value is None else dict(json.loads(value))


def _write(conn: Connection, database: Database, history: History, usage: Usage) -> list[int]:
    """Everything, inside the caller's transaction; returns [groups, resolved groups]."""
    _refuse_a_second_history(conn, database, history)
    if history.changes:
        conn.execute(changes.insert(), [_change_row(c) for c in history.changes])
        _put_overlay(conn, history.overlay)
    groups_before = _count_groups(conn)
    recorder = Insights(database)
    recorder.insert_many(conn, usage.asked)
    if usage.votes:
        conn.execute(feedback.insert(), usage.votes)
    resolved = _resolve(conn, usage.resolved, recorder.threshold)
    return [_count_groups(conn) - groups_before, resolved]


def _refuse_a_second_history(conn: Connection, database: Database, history: History) -> None:
    if not history.changes:
        return
    count = conn.execute(
        select(func.count()).select_from(changes).where(changes.c.scope == GLOBAL)
    ).scalar()
    if count:
        raise StoreError(
            f"The database {database.location.label} already holds {count} change(s) and the "
            f"data directory holds the change log of an earlier release ({LOG_NAME}): "
            "move those files out of the data directory to keep the database as it is, or "
            "start from an empty database to import them. Nothing was changed."
        )


def _change_row(change: Change) -> dict[str, Any]:
    """A ``changes`` row as ``bot.storage.store`` writes it (read back by ``change_from_row``)."""
    record = change.to_record()
    record["number"] = record.pop("id")
    record["before"] = json.dumps(change.before, ensure_ascii=False)
    record["after"] = json.dumps(change.after, ensure_ascii=False)
    return {"scope": GLOBAL, **record}


def _put_overlay(conn: Connection, overlay: Overlay) -> None:
    values = {
        "last_change": overlay.last_change,
        "body": json.dumps(overlay.to_document(), ensure_ascii=False),
    }
    where = overlays.c.scope == GLOBAL
    if not conn.execute(overlays.update().where(where).values(**values)).rowcount:
        conn.execute(overlays.insert().values(scope=GLOBAL, **values))


def _count_groups(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(unanswered_groups)).scalar() or 0)


def _resolve(conn: Connection, resolved: Sequence[tuple[datetime, str]], threshold: float) -> int:
    """Mark handled the groups a moderator resolved; returns how many groups that marks.

    The earlier release hid the declined questions alike the resolved one and asked before
    it; a group now holds those questions, so the group is marked at that moment.
    """
    g = unanswered_groups
    groups = conn.execute(select(g.c.id, g.c.norm)).all()
    marked: set[int] = set()
    for at, norm in resolved:
        moment = _ms(at)
        for group_id, group_norm in groups:
            if group_norm == norm or similarity(group_norm, norm) >= threshold:
                later = or_(g.c.resolved_at.is_(None), g.c.resolved_at < moment)
                conn.execute(g.update().where(g.c.id == group_id, later).values(resolved_at=moment))
                marked.add(int(group_id))
    return len(marked)


# --- the history ------------------------------------------------------------------------


def plan_history(data_dir: Path) -> History:
    """The history and current edits to import; StoreError when they cannot be known."""
    readable = read_log(data_dir / LOG_NAME)
    notes = [f"{LOG_NAME} {line}" for line in readable.skipped]
    if readable.torn:
        notes.append(f"an incomplete last line of {LOG_NAME} (a write never acknowledged)")
    try:
        overlay, damage = read_overlay(data_dir / OVERLAY_NAME), None
    except StoreError as exc:
        overlay, damage = None, str(exc)
    known = readable.changes
    top = max([0, *(c.id for c in known), overlay.last_change if overlay else 0])
    missing = sorted(set(range(1, top + 1)) - {c.id for c in known})
    if not missing:
        return _from_history(known, overlay, damage, notes)
    result = _without_lost(known, missing, overlay, damage or f"there is no {OVERLAY_NAME}")
    if isinstance(result, str):
        raise StoreError(_cannot_import(data_dir, readable.skipped, missing, result))
    result.notes[:0] = notes
    return result


def _without_lost(
    known: list[Change], missing: list[int], overlay: Overlay | None, damage: str
) -> History | str:
    """Changes lost from the log, their effect taken from the overlay; or why it cannot be."""
    if overlay is None:
        return damage
    if overlay.last_change < missing[-1]:
        return f"{OVERLAY_NAME} was written before change #{missing[-1]}"
    current = _caught_up(overlay, known)
    history = _with_lost(known, missing, current)
    if not same_edits(replay(history), current):
        return f"{OVERLAY_NAME} disagrees with the rest of {LOG_NAME}"
    note = (
        f"{_numbers(missing)} kept as lost, with the state {OVERLAY_NAME} records after "
        f"{'it' if len(missing) == 1 else 'them'}; the current edits are {OVERLAY_NAME}'s"
    )
    return History(history, current, [note])


def _from_history(
    known: list[Change], overlay: Overlay | None, damage: str | None, notes: list[str]
) -> History:
    """A complete log: it decides; an overlay that disagrees with it is rebuilt."""
    replayed = replay(known)
    if overlay is None:
        if damage is not None:
            notes.append(f"{damage}: the current edits were rebuilt from {LOG_NAME}")
        return History(known, replayed, notes)
    current = _caught_up(overlay, known)
    if same_edits(current, replayed):
        return History(known, current, notes)
    notes.append(
        f"{OVERLAY_NAME} disagreed with {LOG_NAME} about {differences(current, replayed)}: "
        "the current edits were rebuilt from the history"
    )
    return History(known, replayed, notes)


def _cannot_import(data_dir: Path, skipped: list[str], missing: list[int], reason: str) -> str:
    lines = f"{LOG_NAME} {', '.join(skipped)} cannot be read" if skipped else ""
    lost = f"{LOG_NAME} lacks {_numbers(missing)}"
    return (
        f"Cannot import the files of an earlier release in {data_dir}: "
        f"{lines + ' and ' if lines else ''}{lost}, and {reason}, so the current edits cannot "
        "be known. Fix the damaged line by hand (one JSON object a line) or restore both "
        "files from a backup. Nothing was changed."
    )


def _with_lost(known: list[Change], missing: list[int], current: Overlay) -> list[Change]:
    """The history with a row for each lost number.

    The last of each run of lost numbers carries the difference between the state before
    the run and the state recorded after it (by the next changes' ``before``, else by the
    overlay); the others change nothing.
    """
    history = list(known)
    for first, last in _runs(missing):
        state = replay(sorted((c for c in history if c.id < first), key=_number))
        later = [c for c in known if c.id > last]
        before, after = _lost_effect(state, later, current)
        # when it happened is lost too: no earlier than the change before it
        earlier = [c.at for c in known if c.id < first]
        at = earlier[-1] if earlier else later[0].at if later else utc_now()
        for number in range(first, last + 1):
            effect = (before, after) if number == last else ({"entries": {}}, {"entries": {}})
            history.append(_lost(number, at, *effect, carried_by=last))
    return sorted(history, key=_number)


def _lost_effect(
    state: Overlay, later: list[Change], current: Overlay
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fragments from ``state`` to the state just before ``later`` began."""
    ids = edited_ids(state) | edited_ids(current) | {e for c in later for e in c.before["entries"]}
    before: dict[str, Any] = {"entries": {}}
    after: dict[str, Any] = {"entries": {}}
    for eid in sorted(ids):
        then = next((c.before["entries"][eid] for c in later if eid in c.before["entries"]), None)
        now = current.slot(eid) if then is None else then
        if now != state.slot(eid):
            before["entries"][eid], after["entries"][eid] = state.slot(eid), now
    was = document_fields(state)
    document = next((c.before["document"] for c in later if "document" in c.before), None)
    now_doc = document_fields(current) if document is None else document
    if now_doc != was:
        before["document"], after["document"] = was, now_doc
    return before, after


def _lost(
    number: int, at: str, before: dict[str, Any], after: dict[str, Any], *, carried_by: int
) -> Change:
    where = "its effect" if number == carried_by else f"any effect it had is in #{carried_by}"
    summary = f"lost when the files moved to the database ({LOG_NAME} had no readable record)"
    return Change(
        id=number,
        at=at,
        by=LOST_BY,
        op="import",
        entry=None,
        before=before,
        after=after,
        undoes=None,
        summary=f"{summary}; {where} is taken from the state recorded after it",
    )


def _caught_up(overlay: Overlay, known: list[Change]) -> Overlay:
    """The overlay with the changes written after it replayed, as the earlier release read it."""
    current = overlay.copy()
    for change in known:
        if change.id > current.last_change:
            current.apply(change.after)
            current.last_change = change.id
    return current


def _runs(numbers: list[int]) -> list[tuple[int, int]]:
    """Sorted numbers as (first, last) runs of consecutive ones."""
    runs: list[tuple[int, int]] = []
    for n in numbers:
        if runs and runs[-1][1] == n - 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    return runs


def _numbers(ids: list[int]) -> str:
    parts = [f"#{a}" if a == b else f"#{a}-#{b}" for a, b in _runs(ids)]
    return ("change " if len(ids) == 1 else "changes ") + ", ".join(parts)


def _number(change: Change) -> int:
    return change.id


# --- usage records ----------------------------------------------------------------------


def plan_usage(data_dir: Path) -> Usage:
    """Questions, votes and resolved groups, each file read to its last readable record."""
    notes: list[str] = []
    asked = _records(data_dir / QUESTIONS_NAME, _asked, notes)
    asked.sort(key=lambda a: a.at)  # stable: grouped in the order asked, as before
    votes = _latest(_records(data_dir / FEEDBACK_NAME, _vote, notes))
    server = _only_server(asked)
    for vote in votes:
        vote["guild_id"] = server
    resolved = _records(data_dir / RESOLVED_NAME, _resolved, notes)
    return Usage(asked, votes, resolved, notes)


def _only_server(asked: list[Asked]) -> int | None:
    """The server of the votes, which the earlier release did not record.

    Where every question came from one server (direct messages aside), the votes were cast
    there, and its ``/kb stats`` shows them; otherwise they stay with no server, counted
    in the operator's view (``eln-bot kb stats``) only.
    """
    servers = {a.guild_id for a in asked if a.guild_id is not None}
    return servers.pop() if len(servers) == 1 else None


def _records(
    path: Path, parse: Callable[[dict[str, Any]], _T | None], notes: list[str]
) -> list[_T]:
    lines = read_lines(path)
    parsed = [(n, parse(record)) for n, record in lines.records]
    bad = sorted(lines.unreadable + [n for n, value in parsed if value is None])
    if bad:
        shown = ", ".join(str(n) for n in bad[:10]) + (", ..." if len(bad) > 10 else "")
        notes.append(f"{path.name}: {len(bad)} unreadable line(s) ({shown})")
    if lines.torn:
        notes.append(f"an incomplete last line of {path.name}")
    return [value for _, value in parsed if value is not None]


def _asked(record: dict[str, Any]) -> Asked | None:
    at, where = _time(record.get("at")), record.get("where", "")
    if at is None or not isinstance(where, str):
        return None
    guild = _guild(where)
    entry, question = record.get("entry"), record.get("question")
    if record.get("kind") == "answer" and isinstance(entry, str):
        return Asked(at, where, entry, guild_id=guild)
    if record.get("kind") != "unanswered" or not isinstance(question, str):
        return None
    closest = record.get("closest")
    ids = tuple(str(c) for c in closest) if isinstance(closest, list) else ()
    score = record.get("score")
    value = float(score) if isinstance(score, int | float) and not isinstance(score, bool) else 0.0
    return Asked(at, where, None, question, ids, value, guild_id=guild)


def _vote(record: dict[str, Any]) -> dict[str, Any] | None:
    at, entry, helpful = _time(record.get("at")), record.get("entry"), record.get("helpful")
    user = record.get("user")
    if at is None or not isinstance(entry, str) or not isinstance(helpful, bool):
        return None
    if not _whole(user):
        return None
    # the message is not kept apart: a vote counts once per person per answer (message 0)
    row = {"at": _ms(at), "guild_id": None, "entry": entry, "user_id": user, "message_id": 0}
    return {**row, "helpful": helpful}


def _latest(votes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One vote per person per entry, as ``Insights`` keeps them: the latest, by time then
    by position (the earlier release kept one per message)."""
    latest: dict[tuple[Any, ...], dict[str, Any]] = {}
    for vote in sorted(votes, key=lambda v: int(v["at"])):
        latest[(vote["entry"], vote["user_id"])] = vote
    return list(latest.values())


def _resolved(record: dict[str, Any]) -> tuple[datetime, str] | None:
    at, norm = _time(record.get("at")), record.get("norm")
    return None if at is None or not isinstance(norm, str) else (at, normalise(norm))


def _guild(where: str) -> int | None:
    """The server in ``guild=123 channel=456`` (``guild=None`` in direct messages)."""
    for part in where.split():
        if part.startswith(_GUILD) and part[len(_GUILD) :].isdigit():
            return int(part[len(_GUILD) :])
    return None


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


# --- the report and the files -----------------------------------------------------------


def _report(
    data_dir: Path,
    database: Database,
    history: History,
    usage: Usage,
    counts: list[int],
) -> str:
    groups, resolved = counts
    undone = sum(1 for active in activity(history.changes).values() if not active)
    edited = len(edited_ids(history.overlay))
    declined = sum(1 for a in usage.asked if a.entry is None)
    line = (
        f"imported the files of an earlier release from {data_dir} into "
        f"{database.location.label}: {len(history.changes)} change(s) ({undone} undone), "
        f"current edits to {edited} entr{'y' if edited == 1 else 'ies'}; "
        f"{len(usage.asked)} question(s) ({declined} declined, in {groups} unanswered "
        f"group(s), {resolved} resolved), {len(usage.votes)} vote(s)"
    )
    notes = history.notes + usage.notes
    return line + (f"; skipped or rebuilt: {'; '.join(notes)}" if notes else "")


def _backup_folder(data_dir: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    folder, n = data_dir / f"{BACKUP_PREFIX}{stamp}", 2
    while folder.exists():
        folder, n = data_dir / f"{BACKUP_PREFIX}{stamp}-{n}", n + 1
    return folder


def _old_files(data_dir: Path) -> list[Path]:
    names = (*DATA_FILES, *LOCK_FILES)
    temps = [p for p in data_dir.glob(".*.tmp") if any(p.name[1:].startswith(n) for n in names)]
    return [data_dir / n for n in names if (data_dir / n).exists()] + temps


def _move_files(data_dir: Path, backup: Path) -> bool:
    """Move the imported files into ``backup``; a failure is logged (they are not read again).

    Returns whether there were files to move and all of them moved.
    """
    files = _old_files(data_dir)
    if not files:
        return False
    try:
        backup.mkdir()
        for path in files:
            os.replace(path, backup / path.name)
        fsync_dir(backup)
        fsync_dir(data_dir)
    except OSError as exc:
        log.warning(
            "the files in %s are imported, but could not be moved to %s (%s); "
            "they are not read again",
            data_dir,
            backup,
            exc.strerror or exc,
        )
        return False
    return True


def _move_leftovers(data_dir: Path, backup: Path, done: dict[str, Any]) -> None:
    """Files found again after their import (a crash before the move, or a copy put back)."""
    if _move_files(data_dir, backup):
        log.warning(
            "the files of an earlier release in %s were imported on %s already; "
            "moved the ones found again to %s without importing them",
            data_dir,
            done.get("at", "an earlier start"),
            backup,
        )
