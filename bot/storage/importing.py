"""Importing a whole knowledge file: what it would change, and the overlay that makes it so.

Entries the shipped file has become patches of only the fields that differ, and alternates
appended after the shipped ones become aliases, so a later shipped upgrade still shows
through everywhere the import did not change.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.knowledge import Problem
from bot.core.text import fold
from bot.errors import StoreError
from bot.storage.document import (
    DOCUMENT_KEYS,
    FIELD_ORDER,
    FORMAT_VERSION,
    entry_map,
    ordered,
    phrasings,
)
from bot.storage.merge import merge
from bot.storage.overlay import Overlay, Slot


@dataclass(frozen=True)
class ImportPlan:
    """What importing a file would change; ``apply_import`` refuses it if anything moved."""

    document: dict[str, Any]
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    document_changed: tuple[str, ...]
    warnings: tuple[Problem, ...]
    base_change: int

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed or self.document_changed)

    def summary(self) -> str:
        text = f"{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed"
        if self.document_changed:
            text += f"; {' and '.join(self.document_changed)} changed"
        return text


def make_plan(
    current: dict[str, Any],
    wanted: dict[str, Any],
    warnings: list[Problem],
    base_change: int,
) -> ImportPlan:
    """Compare the merged knowledge now with the normalised file to import."""
    old, new = entry_map(current), entry_map(wanted)
    return ImportPlan(
        document=wanted,
        added=tuple(i for i in new if i not in old),
        changed=tuple(i for i in new if i in old and new[i] != old[i]),
        removed=tuple(i for i in old if i not in new),
        document_changed=tuple(k for k in DOCUMENT_KEYS if wanted.get(k) != current.get(k)),
        warnings=tuple(warnings),
        base_change=base_change,
    )


def normalised(data: Mapping[str, Any]) -> dict[str, Any]:
    """An imported document reduced to what the bot serves: known fields, canonical order."""
    doc: dict[str, Any] = {"version": data.get("version", FORMAT_VERSION)}
    for key in DOCUMENT_KEYS:
        if data.get(key):
            doc[key] = copy.deepcopy(data[key])
    doc["entries"] = [ordered(e) for e in data["entries"]]
    return doc


def imported(shipped: Mapping[str, Any], current: Overlay, wanted: dict[str, Any]) -> Overlay:
    """An overlay under which the merged knowledge equals ``wanted``."""
    overlay = current.copy()
    new = entry_map(wanted)
    _set_entries(overlay, shipped, new)
    for eid in entry_map(merge(shipped, current)):
        if eid not in new:
            slot = overlay.slot(eid)
            slot["removed"] = True
            overlay.set_slot(eid, slot)
    for key, empty in (("title", ""), ("synonyms", {})):
        value: object = wanted.get(key) or empty
        same = value == (shipped.get(key) or empty)
        setattr(overlay, key, None if same else copy.deepcopy(value))
    result = entry_map(merge(shipped, overlay))
    wrong = [eid for eid in new if result.get(eid) != new[eid]]
    if wrong:  # a guard on the invariant above; it would be a bug in this package
        raise StoreError(f"The import cannot be represented for: {', '.join(wrong)}.")
    return overlay


def _set_entries(
    overlay: Overlay, shipped: Mapping[str, Any], new: dict[str, dict[str, Any]]
) -> None:
    """Each imported entry as a patch of its shipped version, or else as an added body."""
    shipped_map = entry_map(shipped)
    for eid, entry in new.items():
        base = shipped_map.get(eid)
        slot: Slot = {"patch": None, "added": entry, "removed": False}
        if base is not None:
            slot = {"patch": _patch_for(base, entry), "added": None, "removed": False}
        overlay.set_slot(eid, copy.deepcopy(slot))


def touched(old: Overlay, new: Overlay) -> tuple[str, ...]:
    """Ids whose state differs between two overlays."""
    ids = dict.fromkeys([*old.patches, *old.added, *old.removed])
    ids.update(dict.fromkeys([*new.patches, *new.added, *new.removed]))
    return tuple(eid for eid in ids if old.slot(eid) != new.slot(eid))


def _patch_for(shipped: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any] | None:
    """The fields of ``wanted`` that differ from the shipped entry (None clears a field)."""
    base = ordered(shipped)
    patch: dict[str, Any] = {}
    for key in FIELD_ORDER:
        if key == "id" or base.get(key) == wanted.get(key):
            continue
        extras = _extra_alternates(base, wanted) if key == "alternates" else None
        if extras:
            patch["add_alternates"] = extras
        else:
            patch[key] = copy.deepcopy(wanted.get(key))
    return patch or None


def _extra_alternates(base: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[str] | None:
    """Alternates appended after the shipped ones, kept as aliases so upgrades still merge."""
    old, new = base.get("alternates"), wanted.get("alternates")
    if not (isinstance(old, list) and isinstance(new, list) and len(new) > len(old)):
        return None
    keys = [fold(p) for p in phrasings(wanted)]
    if new[: len(old)] != old or len(set(keys)) != len(keys):
        return None
    return copy.deepcopy(new[len(old) :])
