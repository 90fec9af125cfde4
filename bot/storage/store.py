"""KnowledgeStore: every moderator operation, applied under the lock, validated, then logged.

Each operation plans its change against a fresh read of the files (another process may have
written), and ``_commit`` validates the merged result before anything is written: a change
either lands whole in the log and the overlay, or nothing is written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from bot.core.knowledge import (
    Knowledge,
    KnowledgeError,
    Problem,
    parse_document,
    read_document,
)
from bot.core.text import clip, fold
from bot.errors import NotFoundError, StoreError
from bot.storage.changes import Change, later_change, undo_target
from bot.storage.datadir import (
    LOCK_NAME,
    LOG_NAME,
    OVERLAY_NAME,
    read_log,
    read_overlay,
    write_overlay,
)
from bot.storage.document import EDITABLE_FIELDS, entry_map, phrasing_keys
from bot.storage.files import append_line, dump_yaml, hold, remove_stale_temps, repair_tail, utc_now
from bot.storage.importing import ImportPlan, imported, make_plan, normalised, touched
from bot.storage.inputs import MAX_SUMMARY, by_input, entry_input, fields_input, storable
from bot.storage.merge import merge
from bot.storage.overlay import Overlay, aliased, edited

log = logging.getLogger(__name__)
SHORT = 60  # characters of a phrasing quoted in a message


@dataclass
class _State:
    """What the files say right now: the overlay (with missing records replayed) and the log."""

    overlay: Overlay
    changes: list[Change]
    replayed: int

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


class KnowledgeStore:
    """The shipped knowledge plus moderator edits, shared safely by threads and processes.

    Every method is synchronous and may block on the lock or on fsync: call it from a
    worker thread (``asyncio.to_thread``) in async code.
    """

    def __init__(self, shipped_path: Path, data_dir: Path, *, lock_timeout: float = 30.0) -> None:
        self.shipped_path = Path(shipped_path)
        self.data_dir = Path(data_dir)
        self.overlay_path = self.data_dir / OVERLAY_NAME
        self.log_path = self.data_dir / LOG_NAME
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(self.data_dir / LOCK_NAME, timeout=lock_timeout)
        self._shipped_cache: tuple[tuple[int, int], dict[str, Any]] | None = None
        self.repair()

    # reading ----------------------------------------------------------------------------

    def signature(self) -> tuple[tuple[int, int] | None, ...]:
        """A cheap fingerprint of the three files: reload when it changes."""
        return tuple(_stat(p) for p in (self.shipped_path, self.overlay_path, self.log_path))

    def merged_document(self) -> dict[str, Any]:
        """The knowledge document with moderator edits applied, not yet validated."""
        with hold(self._lock):
            state = self._load()
        return self._merge(state)

    def knowledge(self) -> Knowledge:
        """The merged knowledge, validated; KnowledgeError lists every problem."""
        knowledge, warnings = parse_document(self.merged_document(), "knowledge")
        for problem in warnings:
            log.debug("%s", problem)
        return knowledge

    def history(self, entry_id: str | None = None, limit: int = 20) -> list[Change]:
        """The latest changes first, optionally only those touching one entry."""
        with hold(self._lock):
            changes = self._load().changes
        picked = [c for c in reversed(changes) if entry_id is None or c.touches(entry_id)]
        return picked[: max(limit, 0)]

    def export_yaml(self) -> str:
        """The merged knowledge as a YAML file that ``parse_text`` (and import) accepts."""
        return dump_yaml(self.merged_document())

    def repair(self) -> int:
        """Fold log records the overlay misses into it and tidy crash leftovers.

        Returns the number of records replayed. Called on open; harmless at any time.
        """
        with hold(self._lock):
            state = self._load(repair=True)
            if state.replayed:
                write_overlay(self.overlay_path, state.overlay)
                log.warning("replayed %d change(s) missing from %s", state.replayed, OVERLAY_NAME)
            remove_stale_temps(self.overlay_path)
        return state.replayed

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
            summary = f"added phrasing {clip(phrase, SHORT)!r} to '{entry_id}'"
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
        with hold(self._lock):
            state = self._load()
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
            overlay = imported(self._shipped(), state.overlay, plan.document)
            ids = touched(state.overlay, overlay)
            return _Plan(overlay, ids, True, None, f"imported: {plan.summary()}")

        return self._commit("import", by, build)

    # internals --------------------------------------------------------------------------

    def _commit(self, op: str, by: str, plan: Callable[[_State], _Plan]) -> Change:
        """Apply one change under the lock: validate, log, then fold into the overlay."""
        who = by_input(by)
        with hold(self._lock):
            state = self._load(repair=True)
            result = plan(state)
            before = state.overlay.fragment(result.ids, result.document)
            after = result.overlay.fragment(result.ids, result.document)
            if before == after:
                raise StoreError("Nothing to change.")
            # KnowledgeError when the merged result could not be served: nothing is written
            parse_document(merge(self._shipped(), result.overlay), "knowledge")
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
            append_line(self.log_path, change.to_record())
            result.overlay.last_change = change.id
            write_overlay(self.overlay_path, result.overlay)
        log.info("change #%d by %s: %s", change.id, who, change.summary)
        return change

    def _load(self, *, repair: bool = False) -> _State:
        """Read overlay and log (lock held); replay records the overlay has not folded in."""
        overlay = read_overlay(self.overlay_path)
        if repair:
            repair_tail(self.log_path)
        changes = read_log(self.log_path)
        missing = [c for c in changes if c.id > overlay.last_change]
        for change in missing:
            overlay.apply(change.after)
            overlay.last_change = change.id
        if changes and overlay.last_change > changes[-1].id:
            log.warning("%s is ahead of %s; was the log truncated?", OVERLAY_NAME, LOG_NAME)
        return _State(overlay, changes, len(missing))

    def _shipped(self) -> dict[str, Any]:
        """The shipped document, parsed once per version of the file (callers must not mutate)."""
        name = str(self.shipped_path)
        try:
            key = _version(self.shipped_path)
            cached = self._shipped_cache
            if cached is not None and cached[0] == key:
                return cached[1]
            text = self.shipped_path.read_bytes().decode("utf-8")
        except OSError as exc:
            raise KnowledgeError([Problem(f"cannot read the file: {exc.strerror}", name)]) from None
        except UnicodeDecodeError as exc:
            raise KnowledgeError([Problem(f"not UTF-8 text (byte {exc.start})", name)]) from None
        data, _ = read_document(text, name)
        if not isinstance(data, dict):
            raise KnowledgeError([Problem("expected a mapping at the top level", name)])
        self._shipped_cache = (key, data)
        return data

    def _merge(self, state: _State) -> dict[str, Any]:
        return merge(self._shipped(), state.overlay)

    def _entry(
        self, state: _State, entry_id: str, doc: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        entry = entry_map(doc if doc is not None else self._merge(state)).get(entry_id)
        if entry is None:
            raise NotFoundError(f"No entry with id '{entry_id}'.")
        return entry


def _version(path: Path) -> tuple[int, int]:
    """Modification time and size: a new version of a file changes one or the other."""
    stat = path.stat()
    return (stat.st_mtime_ns, stat.st_size)


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        return _version(path)
    except OSError:
        return None


def _edit_summary(entry_id: str, diff: Mapping[str, Any]) -> str:
    names = ", ".join(f"cleared {k}" if v is None else k for k, v in diff.items())
    return clip(f"edited '{entry_id}': {names}", MAX_SUMMARY)
