"""The knowledge document as the store handles it: field order, document keys, lookups.

Every module that builds, patches or compares entries goes through these, so an entry is
always copied and written in the one canonical field order.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

from bot.core.knowledge import KNOWN_FIELDS
from bot.core.text import fold

FORMAT_VERSION = 1
_ORDER = ("id", "question", "alternates", "answer", "passage", "sources", "tags", "related")
FIELD_ORDER = (*_ORDER, *sorted(KNOWN_FIELDS - set(_ORDER)))
EDITABLE_FIELDS = frozenset(FIELD_ORDER) - {"id"}
DOCUMENT_KEYS = ("title", "synonyms")


def ordered(entry: Mapping[str, Any]) -> dict[str, Any]:
    """Known fields only, in the canonical order, copied."""
    return {k: copy.deepcopy(entry[k]) for k in FIELD_ORDER if k in entry}


def put(target: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key``, or drop it when ``value`` is None (None means "not set" everywhere)."""
    if value is None:
        target.pop(key, None)
    else:
        target[key] = value


def entry_map(doc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The document's well-formed entries by id (malformed ones are left to validation)."""
    return {
        e["id"]: e
        for e in doc.get("entries", [])
        if isinstance(e, dict) and isinstance(e.get("id"), str)
    }


def phrasings(entry: Mapping[str, Any]) -> list[str]:
    """The question and the alternates: every text that matches the entry."""
    question = entry.get("question")
    alternates = entry.get("alternates")
    items = [question] + (alternates if isinstance(alternates, list) else [])
    return [p for p in items if isinstance(p, str)]


def phrasing_keys(entries: list[Any]) -> Iterator[tuple[str, str]]:
    """(entry id, folded phrasing) for every phrasing, first owner first."""
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            for phrase in phrasings(entry):
                yield entry["id"], fold(phrase)
