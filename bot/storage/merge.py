"""The knowledge the bot serves: the shipped file with the overlay applied.

Only the fields a moderator set are pinned, so a shipped upgrade shows through everywhere
else; conflicts an upgrade can create (an alias the shipped file now lists, a link to a
removed entry) are resolved so the merged file always loads.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from typing import Any

from bot.core.text import fold
from bot.storage.document import DOCUMENT_KEYS, FORMAT_VERSION, ordered, phrasing_keys, put
from bot.storage.overlay import Overlay

log = logging.getLogger(__name__)


def merge(shipped: Mapping[str, Any], overlay: Overlay) -> dict[str, Any]:
    """The knowledge document the bot serves: the shipped file with the overlay applied."""
    entries, patched = _merged_entries(shipped, overlay)
    _add_aliases(entries, overlay, patched)
    doc: dict[str, Any] = {"version": shipped.get("version", FORMAT_VERSION)}
    for key in DOCUMENT_KEYS:
        value = getattr(overlay, key)
        value = shipped.get(key) if value is None else value
        if value not in (None, "", {}):  # "" and {} mean none (an import can clear them)
            doc[key] = copy.deepcopy(value)
    doc["entries"] = entries
    return doc


def _merged_entries(shipped: Mapping[str, Any], overlay: Overlay) -> tuple[list[Any], set[str]]:
    """Shipped entries in shipped order (patched, replaced or hidden), then added ones.

    Also returns the ids of the shipped entries that were patched, whose aliases come next.
    """
    removed = set(overlay.removed)
    entries: list[Any] = []
    patched: set[str] = set()
    raw_entries = shipped.get("entries")
    for raw in raw_entries if isinstance(raw_entries, list) else []:
        eid = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(eid, str):
            entries.append(copy.deepcopy(raw))  # left for validation to report
        elif eid in overlay.added and eid not in removed:
            entries.append(ordered(overlay.added[eid]))
        elif eid not in removed:
            entries.append(_patched(raw, overlay.patches.get(eid), removed))
            patched.add(eid)
    shipped_ids = {e.get("id") for e in entries if isinstance(e, dict)}
    entries += [
        ordered(body)
        for eid, body in overlay.added.items()
        if eid not in removed and eid not in shipped_ids
    ]
    return entries, patched


def _patched(
    raw: Mapping[str, Any], patch: Mapping[str, Any] | None, removed: set[str]
) -> dict[str, Any]:
    """A shipped entry with a moderator patch (``add_alternates`` is applied later)."""
    entry = ordered(raw)
    for key, value in (patch or {}).items():
        if key != "add_alternates":
            put(entry, key, copy.deepcopy(value))
    related = entry.get("related")
    if "related" not in (patch or {}) and isinstance(related, list):
        kept = [r for r in related if not (isinstance(r, str) and r in removed)]
        if kept != related:
            put(entry, "related", kept or None)
    return ordered(entry)


def _add_aliases(entries: list[Any], overlay: Overlay, patched: set[str]) -> None:
    """Append each shipped entry's ``add_alternates`` unless an entry already has the phrasing.

    The shipped file may since have listed the phrasing itself (skip quietly) or given it to
    another entry (skip with a warning): either way the merged file stays loadable.
    """
    owner: dict[str, str] = {}
    for owner_id, key in phrasing_keys(entries):
        owner.setdefault(key, owner_id)
    for entry in entries:
        eid = str(entry.get("id")) if isinstance(entry, dict) else ""
        patch = overlay.patches.get(eid, {}) if eid in patched else {}
        extras = patch.get("add_alternates", [])
        if not extras or not isinstance(entry.get("alternates"), list):
            continue
        for phrase in extras:
            key = fold(phrase)
            other = owner.get(key)
            if other is None:
                owner[key] = eid
                entry["alternates"].append(phrase)
            elif other != eid:
                log.warning("alias %r of '%s' is now on entry '%s'; skipped", phrase, eid, other)
