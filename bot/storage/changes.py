"""The change log's record, its validation, and which changes an undo may still target.

A record carries the overlay state of everything it touched before and after, so it can be
replayed or undone without knowing anything else; see ``bot.storage`` for the line format.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from bot.errors import NotFoundError, StoreError
from bot.storage.document import DOCUMENT_KEYS
from bot.storage.overlay import Overlay, check_document_fields, check_slot, is_int

OPS = frozenset({"add", "edit", "alias", "remove", "undo", "import"})


@dataclass(frozen=True, slots=True)
class Change:
    """One line of the change log; ``before``/``after`` are overlay fragments."""

    id: int
    at: str
    by: str
    op: str
    entry: str | None
    before: dict[str, Any]
    after: dict[str, Any]
    undoes: int | None
    summary: str

    def touches(self, entry_id: str) -> bool:
        return entry_id == self.entry or entry_id in self.after.get("entries", {})

    def to_record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "by": self.by,
            "op": self.op,
            "entry": self.entry,
            "before": self.before,
            "after": self.after,
            "undoes": self.undoes,
            "summary": self.summary,
        }

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> Change:
        """Rebuild a change from its log line; ValueError says what is malformed."""
        try:
            change = cls(**{f.name: data[f.name] for f in fields(cls)})
        except KeyError as exc:
            raise ValueError(f"missing field {exc.args[0]!r}") from None
        ok = (
            is_int(change.id)
            and change.op in OPS
            and all(isinstance(v, str) for v in (change.at, change.by, change.summary))
            and (change.entry is None or isinstance(change.entry, str))
            and (change.undoes is None or is_int(change.undoes))
        )
        if not ok:
            raise ValueError("a field has the wrong type")
        _check_fragment(change.before)
        _check_fragment(change.after)
        return change


def _check_fragment(fragment: Any) -> None:
    if not isinstance(fragment, dict) or not isinstance(fragment.get("entries"), dict):
        raise ValueError("'before'/'after' must hold an 'entries' mapping")
    for eid, slot in fragment["entries"].items():
        check_slot(eid, slot)
    document = fragment.get("document")
    if document is not None:
        if not isinstance(document, dict) or set(document) != set(DOCUMENT_KEYS):
            raise ValueError("'document' must hold 'title' and 'synonyms'")
        check_document_fields(document)


def replay(history: Iterable[Change]) -> Overlay:
    """The overlay a history folds into: every change's ``after``, in order."""
    overlay = Overlay()
    for change in history:
        overlay.apply(change.after)
        overlay.last_change = change.id
    return overlay


# --- undo -------------------------------------------------------------------------------


def undo_target(changes: list[Change], change_id: int | None) -> Change:
    """The change to undo: the one named, else the latest still in effect."""
    active = activity(changes)
    if change_id is None:
        latest = next((c for c in reversed(changes) if c.op != "undo" and active[c.id]), None)
        if latest is None:
            raise StoreError("Nothing to undo.")
        return latest
    target = next((c for c in changes if c.id == change_id), None)
    if target is None:
        raise NotFoundError(f"No change #{change_id}.")
    if not active[target.id]:
        raise StoreError(f"Change #{change_id} is already undone.")
    return target


def activity(changes: list[Change]) -> dict[int, bool]:
    """Which changes are in effect: an undo switches its target off, undoing it back on."""
    active: dict[int, bool] = {}
    by_id: dict[int, Change] = {}
    for change in changes:
        by_id[change.id] = change
        active[change.id] = True
        target, value = change.undoes, False
        while target is not None and target in by_id:
            active[target] = value
            target, value = by_id[target].undoes, not value
    return active


def later_change(changes: list[Change], target: Change) -> int:
    """The latest change after ``target`` that touched one of its entries."""
    ids = set(target.after["entries"])
    document = "document" in target.after
    for change in reversed(changes):
        touched = ids & set(change.after["entries"]) or (document and "document" in change.after)
        if change.id > target.id and touched:
            return change.id
    return changes[-1].id
