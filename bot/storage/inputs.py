"""Moderator input, checked before a change is planned: fields, entries, who, and text.

Text is stored verbatim (markdown, mentions, invisible characters are data); what is refused
is only what JSON and YAML cannot both hold exactly, with a message a moderator can act on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.core.knowledge import ID_PATTERN
from bot.errors import StoreError
from bot.storage.document import FIELD_ORDER, ordered

MAX_BY = 100
MAX_SUMMARY = 200


def storable(value: Any, name: str) -> Any:
    """A deep copy of ``value`` if JSON and YAML can both hold it exactly; else StoreError."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise StoreError(f"'{name}' contains characters that cannot be stored.") from None
        return value
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return [storable(v, name) for v in value]
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {k: storable(v, name) for k, v in value.items()}
    raise StoreError(f"'{name}' holds {type(value).__name__} data; use text, numbers or lists.")


def fields_input(fields: Any, *, allowed: frozenset[str]) -> dict[str, Any]:
    """Checked, storable copies of the fields given; unknown names are refused by name."""
    if not isinstance(fields, Mapping):
        raise StoreError("Fields must be given as a mapping of field name to value.")
    for name in fields:
        if name == "id" and "id" not in allowed:
            raise StoreError("The id cannot be changed; add a new entry and remove this one.")
        if name not in allowed:
            names = ", ".join(k for k in FIELD_ORDER if k in allowed)
            raise StoreError(f"Unknown field {name!r}; the fields are: {names}.")
    return {name: storable(value, name) for name, value in fields.items()}


def entry_input(entry: Any) -> dict[str, Any]:
    """A new entry's body in canonical order; the id must be one the bot can link to."""
    body = fields_input(entry, allowed=frozenset(FIELD_ORDER))
    eid = body.get("id")
    if not isinstance(eid, str) or not ID_PATTERN.match(eid):
        raise StoreError(
            "An entry needs an id of up to 64 lowercase letters, digits and hyphens "
            "(e.g. 'new-start')."
        )
    return ordered({k: v for k, v in body.items() if v is not None})


def by_input(by: Any) -> str:
    """Who makes the change, trimmed to fit the log."""
    if not isinstance(by, str) or not by.strip():
        raise StoreError("Say who makes the change.")
    return str(storable(by.strip()[:MAX_BY], "by"))
