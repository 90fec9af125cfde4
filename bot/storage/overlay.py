"""The overlay: moderator state per entry (patch, added body, removed) plus document overrides.

An entry's state is a *slot*, ``{"patch": ..., "added": ..., "removed": ...}``; a log
record's ``before``/``after`` fragments hold slots, and the overlay file holds them all.
The shape checks here guard both, so a hand-edited or damaged file is refused by name
rather than half-applied.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.storage.document import DOCUMENT_KEYS, EDITABLE_FIELDS, FORMAT_VERSION, ordered, put

Slot = dict[str, Any]
PATCH_KEYS = EDITABLE_FIELDS | {"add_alternates"}
SLOT_KEYS = frozenset({"patch", "added", "removed"})
OVERLAY_KEYS = frozenset({"version", "last_change", "entries", "added", "removed", *DOCUMENT_KEYS})


@dataclass
class Overlay:
    """The folded log: per-entry patches, added bodies, removed ids, document overrides."""

    last_change: int = 0
    title: str | None = None
    synonyms: dict[str, Any] | None = None
    patches: dict[str, dict[str, Any]] = field(default_factory=dict)
    added: dict[str, dict[str, Any]] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)

    def copy(self) -> Overlay:
        return copy.deepcopy(self)

    def slot(self, entry_id: str) -> Slot:
        return {
            "patch": copy.deepcopy(self.patches.get(entry_id)),
            "added": copy.deepcopy(self.added.get(entry_id)),
            "removed": entry_id in self.removed,
        }

    def set_slot(self, entry_id: str, slot: Slot) -> None:
        """Set one entry's state; an added body keeps its place when it is replaced."""
        put(self.patches, entry_id, slot["patch"])
        put(self.added, entry_id, slot["added"])
        if slot["removed"] and entry_id not in self.removed:
            self.removed.append(entry_id)
        elif not slot["removed"] and entry_id in self.removed:
            self.removed.remove(entry_id)

    def fragment(self, ids: tuple[str, ...], document: bool) -> dict[str, Any]:
        """The state of ``ids`` (and the document fields) as a log record stores it."""
        result: dict[str, Any] = {"entries": {eid: self.slot(eid) for eid in ids}}
        if document:
            result["document"] = copy.deepcopy({"title": self.title, "synonyms": self.synonyms})
        return result

    def apply(self, fragment: Mapping[str, Any]) -> None:
        """Put the state a fragment records back (replaying a change or undoing one)."""
        for eid, slot in fragment["entries"].items():
            self.set_slot(eid, copy.deepcopy(slot))
        document = fragment.get("document")
        if document is not None:
            self.title = document["title"]
            self.synonyms = copy.deepcopy(document["synonyms"])

    def to_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"version": FORMAT_VERSION, "last_change": self.last_change}
        if self.title is not None:
            doc["title"] = self.title
        if self.synonyms is not None:
            doc["synonyms"] = self.synonyms
        doc["entries"] = self.patches
        doc["added"] = self.added
        doc["removed"] = self.removed
        return copy.deepcopy(doc)

    @classmethod
    def from_document(cls, data: Any) -> Overlay:
        """Check the shape of a loaded overlay file; ValueError names the problem."""
        if data is None:
            return cls()
        last = _check_header(data)
        check_document_fields(data)
        patches = _mapping(data, "entries")
        for eid, patch in patches.items():
            check_patch(eid, patch)
        added = _mapping(data, "added")
        for eid, body in added.items():
            check_body(eid, body)
        removed = data.get("removed") or []
        if not isinstance(removed, list) or not all(isinstance(r, str) for r in removed):
            raise ValueError("'removed' must be a list of ids")
        return cls(last, data.get("title"), data.get("synonyms"), patches, added, removed)


def same_edits(a: Overlay, b: Overlay) -> bool:
    """Whether two overlays serve the same knowledge: the order ids were removed in, and
    the order of the keys of a mapping, change nothing."""
    return _canonical(a) == _canonical(b)


def _canonical(overlay: Overlay) -> dict[str, Any]:
    document = overlay.to_document()
    document["removed"] = sorted(document["removed"])
    return document


def differences(a: Overlay, b: Overlay) -> str:
    """What two overlays disagree about, for a message: "'eln', 'new-start'"."""
    ids = sorted(e for e in edited_ids(a) | edited_ids(b) if a.slot(e) != b.slot(e))
    named = [f"'{e}'" for e in ids[:5]] + ([f"{len(ids) - 5} more"] if len(ids) > 5 else [])
    if document_fields(a) != document_fields(b):
        named.append("the title or synonyms")
    return ", ".join(named) or "the order of the entries"


def edited_ids(overlay: Overlay) -> set[str]:
    """Every entry the overlay patches, adds or removes."""
    return set(overlay.patches) | set(overlay.added) | set(overlay.removed)


def document_fields(overlay: Overlay) -> dict[str, Any]:
    """The document-wide fields as a change's fragment records them."""
    return {"title": overlay.title, "synonyms": overlay.synonyms}


# --- what moderator operations do to a slot ---------------------------------------------


def edited(slot: Slot, diff: Mapping[str, Any]) -> Slot:
    """An entry state with fields replaced: in the added body, or pinned in the patch."""
    if slot["added"] is not None:
        body = dict(slot["added"])
        for key, value in diff.items():
            put(body, key, value)
        slot["added"] = ordered(body)
        return slot
    patch = dict(slot["patch"] or {})
    patch.update(diff)
    if "alternates" in diff:
        patch.pop("add_alternates", None)  # the full list given replaces earlier aliases
    slot["patch"] = patch
    return slot


def aliased(slot: Slot, phrase: str) -> Slot:
    """An entry state with one more phrasing: in the added body, or as a patch's alias.

    A shipped entry gets ``add_alternates`` rather than a full list, so alternates a later
    shipped file adds still show through.
    """
    if slot["added"] is not None:
        alternates = slot["added"].get("alternates")
        base = alternates if isinstance(alternates, list) else []
        slot["added"] = {**slot["added"], "alternates": [*base, phrase]}
        slot["added"] = ordered(slot["added"])
    else:
        patch = dict(slot["patch"] or {})
        patch["add_alternates"] = [*patch.get("add_alternates", []), phrase]
        slot["patch"] = patch
    return slot


# --- shape checks, for the overlay file and log fragments alike -------------------------


def is_int(value: Any) -> bool:
    """A whole number, not a bool (JSON and YAML ``true`` are ints to ``isinstance``)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_slot(eid: Any, slot: Any) -> None:
    if not isinstance(slot, dict) or set(slot) != SLOT_KEYS:
        raise ValueError(f"entry {eid!r}: expected 'patch', 'added' and 'removed'")
    if not isinstance(slot["removed"], bool):
        raise ValueError(f"entry {eid!r}: 'removed' must be true or false")
    if slot["patch"] is not None:
        check_patch(eid, slot["patch"])
    if slot["added"] is not None:
        check_body(eid, slot["added"])


def check_patch(eid: Any, patch: Any) -> None:
    if not isinstance(eid, str) or not isinstance(patch, dict):
        raise ValueError(f"entry {eid!r}: a patch must be a mapping of fields")
    for key in patch:
        if key not in PATCH_KEYS:
            raise ValueError(f"entry '{eid}': unknown field {key!r}")
    extras = patch.get("add_alternates", [])
    if not isinstance(extras, list) or not all(isinstance(p, str) for p in extras):
        raise ValueError(f"entry '{eid}': 'add_alternates' must be a list of text")


def check_body(eid: Any, body: Any) -> None:
    if not isinstance(eid, str) or not isinstance(body, dict) or body.get("id") != eid:
        raise ValueError(f"added entry {eid!r} must be a mapping with id: {eid}")


def check_document_fields(data: Mapping[str, Any]) -> None:
    title, synonyms = data.get("title"), data.get("synonyms")
    if title is not None and not isinstance(title, str):
        raise ValueError("'title' must be text")
    if synonyms is not None and not isinstance(synonyms, dict):
        raise ValueError("'synonyms' must be a mapping")


def _check_header(data: Any) -> int:
    """Check the overlay file's top level; returns its ``last_change``."""
    if not isinstance(data, dict):
        raise ValueError("expected a mapping at the top level")
    unknown = [str(k) for k in data if k not in OVERLAY_KEYS]
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r}")
    if data.get("version", FORMAT_VERSION) != FORMAT_VERSION:
        raise ValueError(f"unsupported version {data.get('version')!r}")
    last = data.get("last_change", 0)
    if not is_int(last) or last < 0:
        raise ValueError("'last_change' must be a whole number")
    return int(last)


def _mapping(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise ValueError(f"'{key}' must be a mapping from entry id")
    return value
