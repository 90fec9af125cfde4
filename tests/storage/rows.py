"""Reading the moderator tables directly, as ``eln-bot db check`` or an operator would."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from bot.storage.database import Database
from bot.storage.overlay import Overlay
from bot.storage.schema import GLOBAL, changes, overlays


def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the history and the derived edits, to prove a refusal wrote nothing."""
    with database.read() as conn:
        return {
            "changes": [tuple(r) for r in conn.execute(select(changes).order_by(changes.c.row))],
            "overlays": [
                tuple(r) for r in conn.execute(select(overlays).order_by(overlays.c.scope))
            ],
        }


def history_rows(database: Database, scope: str = GLOBAL) -> list[dict[str, Any]]:
    """The history as stored, oldest first, with the JSON columns decoded."""
    with database.read() as conn:
        rows = conn.execute(
            select(changes).where(changes.c.scope == scope).order_by(changes.c.number)
        ).mappings()
        return [
            {**row, "before": json.loads(row["before"]), "after": json.loads(row["after"])}
            for row in rows
        ]


def stored_overlay(database: Database, scope: str = GLOBAL) -> Overlay:
    """The derived edits as stored (none yet: the empty overlay)."""
    with database.read() as conn:
        body = conn.execute(select(overlays.c.body).where(overlays.c.scope == scope)).scalar()
    return Overlay() if body is None else Overlay.from_document(json.loads(body))
