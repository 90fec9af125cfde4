"""KnowledgeStore: every moderator operation, planned, validated and committed in one transaction.

Each operation plans its change against the database as it is inside the write transaction
(another process may have written), and ``_commit`` validates the merged result before
anything is written: a change lands whole -- its history row and the overlay derived from
it -- or not at all, and it is acknowledged only after the commit.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, RowMapping, func, select

from bot.core.knowledge import (
    Knowledge,
    KnowledgeError,
    Problem,
    parse_document,
    read_document,
)
from bot.core.service import KnowledgeService
from bot.core.text import clip, fold
from bot.errors import NotFoundError, StoreError
from bot.storage.changes import Change, activity, later_change, replay, undo_target
from bot.storage.database import Database
from bot.storage.document import EDITABLE_FIELDS, entry_map, phrasing_keys
from bot.storage.files import dump_yaml, utc_now
from bot.storage.importing import ImportPlan, imported, make_plan, normalised, touched
from bot.storage.inputs import MAX_SUMMARY, by_input, entry_input, fields_input, storable
from bot.storage.merge import merge
from bot.storage.overlay import Overlay, aliased, edited
from bot.storage.schema import GLOBAL, changes, overlays

log = logging.getLogger(__name__)
SHORT = 60  # characters of a phrasing quoted in a message
LAST_GOOD = "shipped:last-good"  # meta key: the last shipped file that validated


@dataclass
class _State:
    """What the database says right now: the overlay and the history of this scope."""

    overlay: Overlay
    changes: list[Change]

    @property
    def last_id(self) -> int:
        return max(self.changes[-1].id if self.changes else 0, self.overlay.last_change)


@dataclass
class _Plan:
    """An operation's intended result, which ``_commit`` checks and records."""

    overlay: Overlay
    ids: tuple[str, ...]
    document: bool
    entry: str | None
    summary: str
    undoes: int | None = None


@dataclass(frozen=True, slots=True)
class _Shipped:
    digest: str
    data: dict[str, Any]


class KnowledgeStore:
    """The shipped knowledge plus moderator edits, shared safely by threads and processes.

    Every method is synchronous and may block on the database: call it from a worker
    thread (``asyncio.to_thread``) in async code.
    """

    def __init__(
        self,
        shipped_path: Path,
        database: Database,
        *,
        scope: str = GLOBAL,
        parent: KnowledgeStore | None = None,
    ) -> None:
        self.shipped_path = Path(shipped_path)
        self.database = database
        self.scope = scope
        self.parent = parent  # a server's layer sits on the global one
        self._shipped_cache: _Shipped | None = None
        self._pinned: _Shipped | None = None
        self._unreadable = KnowledgeError([])
        self._latest_digest: str | None = None  # of the last read of the shipped file

    # reading ----------------------------------------------------------------------------

    def signature(self) -> tuple[str, int]:
        """Changes with any change of the shipped file's content or of this layer's edits
        (a server's layer includes the global one beneath it)."""
        query = select(func.max(changes.c.row)).where(changes.c.scope.in_(self.scopes))
        with self.database.read() as conn:
            latest = conn.execute(query).scalar()
        return (self._shipped_digest(), int(latest or 0))

    def _shipped_digest(self) -> str:
        """The shipped file's digest: read by the root store; a server's layer takes the
        root's latest reading (the watcher reloads the global knowledge first each tick),
        so the file is read once a tick, not once per server in the cache."""
        root = self._root()
        if self.parent is not None and root._latest_digest is not None:
            return root._latest_digest
        return root._read_shipped()[1]

    @property
    def scopes(self) -> tuple[str, ...]:
        """This layer's scope and those beneath it, the global one last."""
        return (self.scope, *(self.parent.scopes if self.parent else ()))

    def layer(self, scope: str) -> KnowledgeStore:
        """The store of a layer on top of this one (a server's edits over the global ones)."""
        return KnowledgeStore(self.shipped_path, self.database, scope=scope, parent=self)

    def merged_document(self) -> dict[str, Any]:
        """The knowledge document with moderator edits applied, not yet validated."""
        with self.database.read() as conn:
            overlay = _read_overlay(conn, self.scope)
            if overlay.last_change < _latest_number(conn, self.scope):
                overlay = _caught_up(overlay, _read_changes(conn, self.scope), self.scope)
        return merge(self._base(), overlay)

    def knowledge(self) -> Knowledge:
        """The merged knowledge, validated; KnowledgeError lists every problem."""
        knowledge, warnings = parse_document(self.merged_document(), "knowledge")
        for problem in warnings:
            log.debug("%s", problem)
        return knowledge

    def history(self, entry_id: str | None = None, limit: int = 20) -> list[Change]:
        """The latest changes first, optionally only those touching one entry."""
        with self.database.read() as conn:
            history = _read_changes(conn, self.scope)
        picked = [c for c in reversed(history) if entry_id is None or c.touches(entry_id)]
        return picked[: max(limit, 0)]

    def active(self) -> dict[int, bool]:
        """Which changes are still in effect (history marks the undone ones)."""
        with self.database.read() as conn:
            return activity(_read_changes(conn, self.scope))

    def replayed(self) -> Overlay:
        """The overlay rebuilt from the history alone, as ``db check`` compares it."""
        with self.database.read() as conn:
            return replay(_read_changes(conn, self.scope))

    def rebuild(self) -> bool:
        """Derive the stored overlay from the history again; returns whether it differed."""
        with self.database.write() as conn:
            history = _read_changes(conn, self.scope)
            overlay = replay(history)
            try:
                stored: Overlay | None = _read_overlay(conn, self.scope)
            except StoreError:
                stored = None
            if stored == overlay:
                return False
            _write_overlay(conn, self.scope, overlay)
        log.warning("rebuilt the edits of %s from %d change(s)", self.scope, len(history))
        return True

    def export_yaml(self) -> str:
        """The merged knowledge as a YAML file that ``parse_text`` (and import) accepts."""
        return dump_yaml(self.merged_document())

    # changing ---------------------------------------------------------------------------

    def add(self, entry: Mapping[str, Any], by: str) -> Change:
        """Add a new entry (or bring back a removed id with new content)."""
        body = entry_input(entry)
        eid = body["id"]

        def plan(state: _State) -> _Plan:
            if eid in entry_map(self._merge(state)):
                raise StoreError(f"An entry with id '{eid}' already exists; edit it instead.")
            overlay = state.overlay.copy()
            overlay.set_slot(eid, {"patch": None, "added": body, "removed": False})
            return _Plan(overlay, (eid,), False, eid, f"added '{eid}'")

        return self._commit("add", by, plan)

    def edit(self, entry_id: str, fields: Mapping[str, Any], by: str) -> Change:
        """Replace the given fields (a value of None clears an optional field)."""
        wanted = fields_input(fields, allowed=EDITABLE_FIELDS)
        if not wanted:
            raise StoreError("Say which fields to change.")

        def plan(state: _State) -> _Plan:
            current = self._entry(state, entry_id)
            diff = {k: v for k, v in wanted.items() if current.get(k) != v}
            if not diff:
                raise StoreError(f"Nothing to change: '{entry_id}' already has those values.")
            overlay = state.overlay.copy()
            overlay.set_slot(entry_id, edited(overlay.slot(entry_id), diff))
            return _Plan(overlay, (entry_id,), False, entry_id, _edit_summary(entry_id, diff))

        return self._commit("edit", by, plan)

    def alias(self, entry_id: str, phrase: str, by: str) -> Change:
        """Add a phrasing to an entry; refused when any entry already has it."""
        if not isinstance(phrase, str):
            raise StoreError("The phrasing must be text.")
        phrase = storable(phrase, "phrasing")
        key = fold(phrase)
        if not key:
            raise StoreError("The phrasing needs at least one letter or digit.")

        def plan(state: _State) -> _Plan:
            doc = self._merge(state)
            self._entry(state, entry_id, doc)
            owner = next((eid for eid, k in phrasing_keys(doc["entries"]) if k == key), None)
            if owner is not None:
                raise StoreError(f"The phrasing {clip(phrase, SHORT)!r} is already on '{owner}'.")
            overlay = state.overlay.copy()
            overlay.set_slot(entry_id, aliased(overlay.slot(entry_id), phrase))
            # repr() spells out invisible characters (\u200b is six), so clip the result too:
            # PostgreSQL enforces the column's 200 characters, SQLite would not notice
            summary = clip(f"added phrasing {clip(phrase, SHORT)!r} to '{entry_id}'", MAX_SUMMARY)
            return _Plan(overlay, (entry_id,), False, entry_id, summary)

        return self._commit("alias", by, plan)

    def remove(self, entry_id: str, by: str) -> Change:
        """Hide an entry; its content stays in the overlay so undo brings it back."""

        def plan(state: _State) -> _Plan:
            self._entry(state, entry_id)
            overlay = state.overlay.copy()
            slot = overlay.slot(entry_id)
            slot["removed"] = True
            overlay.set_slot(entry_id, slot)
            return _Plan(overlay, (entry_id,), False, entry_id, f"removed '{entry_id}'")

        return self._commit("remove", by, plan)

    def undo(self, by: str, change_id: int | None = None) -> Change:
        """Restore the state before a change (default: the latest one still in effect).

        Undoing an undo redoes. A change whose entries were changed again later is refused
        until those later changes are undone, so an undo never discards other edits.
        """

        def plan(state: _State) -> _Plan:
            target = undo_target(state.changes, change_id)
            ids = tuple(target.after["entries"])
            document = "document" in target.after
            if state.overlay.fragment(ids, document) != target.after:
                later = later_change(state.changes, target)
                raise StoreError(
                    f"Change #{target.id} cannot be undone: change #{later} changed the same "
                    "entries since; undo that first."
                )
            overlay = state.overlay.copy()
            overlay.apply(target.before)
            summary = clip(f"undid #{target.id}: {target.summary}", MAX_SUMMARY)
            if target.op == "undo":
                summary = f"undid #{target.id}, redoing #{target.undoes}"
            return _Plan(overlay, ids, document, target.entry, summary, undoes=target.id)

        return self._commit("undo", by, plan)

    def plan_import(self, yaml_text: str, file: str = "import") -> ImportPlan:
        """Check a whole knowledge file like ``eln-bot check`` and say what it would change.

        Writes nothing; KnowledgeError lists every problem of an invalid file.
        """
        data, lines = read_document(yaml_text, file)
        _, warnings = parse_document(data, file, lines=lines)
        wanted = normalised(data)
        with self.database.read() as conn:
            history = _read_changes(conn, self.scope)
            overlay = _caught_up(_read_overlay(conn, self.scope), history, self.scope)
            state = _State(overlay, history)
        return make_plan(self._merge(state), wanted, warnings, state.last_id)

    def apply_import(self, plan: ImportPlan, by: str) -> Change:
        """Make the merged knowledge equal the planned file (entry order aside)."""
        if plan.empty:
            raise StoreError("The import changes nothing.")

        def build(state: _State) -> _Plan:
            if state.last_id != plan.base_change:
                raise StoreError(
                    f"The knowledge changed (change #{state.last_id}) since this import was "
                    "planned; plan it again."
                )
            overlay = imported(self._base(), state.overlay, plan.document)
            ids = touched(state.overlay, overlay)
            return _Plan(overlay, ids, True, None, f"imported: {plan.summary()}")

        return self._commit("import", by, build)

    # internals --------------------------------------------------------------------------

    def _commit(self, op: str, by: str, plan: Callable[[_State], _Plan]) -> Change:
        """Apply one change in one write transaction: validate, record, derive the overlay."""
        who = by_input(by)
        shipped = self._base()
        with self.database.write() as conn:
            state = self._load(conn)
            result = plan(state)
            before = state.overlay.fragment(result.ids, result.document)
            after = result.overlay.fragment(result.ids, result.document)
            if before == after:
                raise StoreError("Nothing to change.")
            # KnowledgeError when the merged result could not be served: nothing is written
            parse_document(merge(shipped, result.overlay), "knowledge")
            change = Change(
                id=state.last_id + 1,
                at=utc_now(),
                by=who,
                op=op,
                entry=result.entry,
                before=before,
                after=after,
                undoes=result.undoes,
                summary=result.summary,
            )
            conn.execute(changes.insert().values(scope=self.scope, **_change_row(change)))
            result.overlay.last_change = change.id
            _write_overlay(conn, self.scope, result.overlay)
        log.info("change #%d by %s: %s", change.id, who, change.summary)
        return change

    def _load(self, conn: Connection) -> _State:
        """The overlay (locked for this transaction where the engine can) and the history."""
        overlay = _read_overlay(conn, self.scope, lock=True)
        history = _read_changes(conn, self.scope)
        return _State(_caught_up(overlay, history, self.scope), history)

    def _shipped(self) -> _Shipped:
        """The shipped document, parsed and validated once per content.

        A version that validates becomes the last good copy kept in the database. While
        ``serve_last_good`` has pinned that copy, it stands in for the file until the file
        changes again.
        """
        raw, digest = self._read_shipped()
        for known in (self._shipped_cache, self._pinned):
            if known is not None and known.digest == digest:
                return known
        if raw is None:
            raise self._unreadable
        data = _validated_shipped(raw, str(self.shipped_path))
        self._pinned = None
        self._keep_good_copy(digest, raw)
        self._shipped_cache = _Shipped(digest, data)
        return self._shipped_cache

    def serve_last_good(self, error: KnowledgeError) -> str:
        """Serve the last shipped file that validated, while this one stays broken.

        For a start with a broken shipped file (a reload keeps what it serves instead).
        Returns why, for the operator; raises ``error`` when there is no good copy.
        """
        stored = self.database.get_meta(LAST_GOOD)
        if stored is None:
            raise error
        good = json.loads(stored)
        data = _validated_shipped(good["text"].encode("utf-8"), "the last good shipped copy")
        _, digest = self._read_shipped()
        reason = f"{self.shipped_path} is not usable ({error}); serving the last good copy"
        self._pinned = _Shipped(digest, data)
        log.warning("%s", reason)
        return reason

    def _read_shipped(self) -> tuple[bytes | None, str]:
        """The file's bytes and their digest; None and a fixed digest when unreadable."""
        try:
            raw = self.shipped_path.read_bytes()
        except OSError as exc:
            name = str(self.shipped_path)
            problem = Problem(f"cannot read the file: {exc.strerror}", name)
            self._unreadable = KnowledgeError([problem])
            self._latest_digest = "unreadable"
            return None, "unreadable"
        self._latest_digest = _digest(raw)
        return raw, self._latest_digest

    def _keep_good_copy(self, digest: str, raw: bytes) -> None:
        """Remember a shipped file that validated; best effort (a read-only database is fine)."""
        try:
            stored = self.database.get_meta(LAST_GOOD)
            if stored is None or json.loads(stored)["digest"] != digest:
                good = json.dumps({"digest": digest, "text": raw.decode("utf-8")})
                self.database.set_meta(LAST_GOOD, good)
        except StoreError as exc:
            log.warning("could not keep a copy of the shipped knowledge: %s", exc)

    def _merge(self, state: _State) -> dict[str, Any]:
        return merge(self._base(), state.overlay)

    def _base(self) -> dict[str, Any]:
        """What this layer's edits apply to: the shipped file, or the layer beneath."""
        return self._shipped().data if self.parent is None else self.parent.merged_document()

    def _root(self) -> KnowledgeStore:
        return self if self.parent is None else self.parent._root()

    def _entry(
        self, state: _State, entry_id: str, doc: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        entry = entry_map(doc if doc is not None else self._merge(state)).get(entry_id)
        if entry is None:
            raise NotFoundError(f"No entry with id '{entry_id}'.")
        return entry


#: The knowledge service over the moderators' store: what the bot and the CLI serve.
ServedKnowledge = KnowledgeService[KnowledgeStore]


def _digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _validated_shipped(raw: bytes, name: str) -> dict[str, Any]:
    """A shipped file's document, checked like ``eln-bot check`` checks it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise KnowledgeError([Problem(f"not UTF-8 text (byte {exc.start})", name)]) from None
    data, lines = read_document(text, name)
    if not isinstance(data, dict):
        raise KnowledgeError([Problem("expected a mapping at the top level", name)])
    parse_document(data, name, lines=lines)
    return data


def _read_overlay(conn: Connection, scope: str, *, lock: bool = False) -> Overlay:
    query = select(overlays.c.body).where(overlays.c.scope == scope)
    if lock:
        if conn.dialect.name == "postgresql":
            _ensure_overlay_row(conn, scope)
        query = query.with_for_update()
    body = conn.execute(query).scalar()
    if body is None:
        return Overlay()
    try:
        return Overlay.from_document(json.loads(body))
    except ValueError as exc:
        message = f"The stored edits of {scope} are damaged ({exc}); run `eln-bot db check`."
        raise StoreError(message) from None


def _latest_number(conn: Connection, scope: str) -> int:
    query = select(func.max(changes.c.number)).where(changes.c.scope == scope)
    return int(conn.execute(query).scalar() or 0)


def _caught_up(overlay: Overlay, history: list[Change], scope: str) -> Overlay:
    """The stored overlay, or the history replayed when the overlay is missing or behind it.

    The two are written in one transaction, so they only disagree after damage: a row
    deleted by hand, an older backup of one table restored. The history is the truth; a
    change planned on a stale overlay would otherwise write an overlay that drops every
    change it missed (``rebuild`` stores the replay for good).
    """
    latest = history[-1].id if history else 0
    if overlay.last_change >= latest:
        return overlay
    log.warning(
        "the stored edits of %s stop at change #%d, the history at #%d: replaying the history",
        scope,
        overlay.last_change,
        latest,
    )
    return replay(history)


def _ensure_overlay_row(conn: Connection, scope: str) -> None:
    """PostgreSQL locks rows, not gaps: make the row exist so every writer waits on it."""
    from sqlalchemy.dialects.postgresql import insert  # noqa: PLC0415 - PostgreSQL only

    empty = json.dumps(Overlay().to_document())
    conn.execute(
        insert(overlays)
        .values(scope=scope, last_change=0, body=empty)
        .on_conflict_do_nothing(index_elements=["scope"])
    )


def _write_overlay(conn: Connection, scope: str, overlay: Overlay) -> None:
    body = json.dumps(overlay.to_document(), ensure_ascii=False)
    values = {"last_change": overlay.last_change, "body": body}
    updated = conn.execute(overlays.update().where(overlays.c.scope == scope).values(**values))
    if not updated.rowcount:
        conn.execute(overlays.insert().values(scope=scope, **values))


def _read_changes(conn: Connection, scope: str) -> list[Change]:
    rows = conn.execute(
        select(changes).where(changes.c.scope == scope).order_by(changes.c.number)
    ).mappings()
    return [change_from_row(row) for row in rows]


def change_from_row(row: RowMapping) -> Change:
    """A history row as a Change; a damaged row is a StoreError naming it."""
    record = {
        "id": row["number"],
        "at": row["at"],
        "by": row["by"],
        "op": row["op"],
        "entry": row["entry"],
        "undoes": row["undoes"],
        "summary": row["summary"],
    }
    try:
        record["before"] = json.loads(row["before"])
        record["after"] = json.loads(row["after"])
        return Change.from_record(record)
    except (TypeError, ValueError) as exc:
        message = f"Change #{row['number']} is damaged ({exc}); run `eln-bot db check`."
        raise StoreError(message) from None


def _change_row(change: Change) -> dict[str, Any]:
    record = change.to_record()
    record["number"] = record.pop("id")
    record["before"] = json.dumps(change.before, ensure_ascii=False)
    record["after"] = json.dumps(change.after, ensure_ascii=False)
    return record


def _edit_summary(entry_id: str, diff: Mapping[str, Any]) -> str:
    names = ", ".join(f"cleared {k}" if v is None else k for k, v in diff.items())
    return clip(f"edited '{entry_id}': {names}", MAX_SUMMARY)
