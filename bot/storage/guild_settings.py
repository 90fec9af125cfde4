"""Each server's own settings, set by its admins with ``/settings``; the environment's
values (``ELN_ANSWER_CHANNELS``, ``ELN_MODERATOR_ROLE``, ``ELN_AUDIT_CHANNEL``) are the
defaults, so a single-server operator changes nothing.

Answering reads settings on every message, so they are held in memory: one small query
refreshes them all (the bot's watcher runs it every second, so a change made through
another process is seen within that), and a change made here is seen at once.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select

from bot.errors import StoreError
from bot.storage.database import Database
from bot.storage.schema import settings as table

STRICTNESS = ("relaxed", "normal", "strict")


@dataclass(frozen=True, slots=True)
class GuildSettings:
    """What a server's admins chose (or the operator's defaults where they chose nothing)."""

    answer_channels: frozenset[int] = frozenset()
    moderator_role: int | None = None
    audit_channel: int | None = None
    strictness: str = "normal"  # how sure the bot must be to answer unprompted
    record_usage: bool = True


KEYS = frozenset(f.name for f in dataclasses.fields(GuildSettings))


class GuildSettingsStore:
    """Per-server settings in the database, with the operator's defaults beneath."""

    def __init__(
        self, database: Database, defaults: GuildSettings, *, home_guild: int | None = None
    ) -> None:
        self.database = database
        self.defaults = defaults
        self.home_guild = home_guild
        self._values: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def get(self, guild_id: int | None) -> GuildSettings:
        """A server's settings (direct messages get the defaults). Never blocks.

        The operator's audit channel is a channel of the home server: other servers' changes
        are never posted there, so it is their default only for the home server itself.
        """
        base = self.defaults
        if guild_id is None:
            return base
        if guild_id != self.home_guild:
            base = dataclasses.replace(base, audit_channel=None)
        with self._lock:
            chosen = self._values.get(guild_id)
        return dataclasses.replace(base, **chosen) if chosen else base

    def chosen(self, guild_id: int) -> frozenset[str]:
        """The settings a server's admins chose, so ``/settings show`` can tell them from
        the operator's defaults. Never blocks."""
        with self._lock:
            return frozenset(self._values.get(guild_id, {}))

    def set(self, guild_id: int, key: str, value: Any) -> GuildSettings:
        """Store one setting (None goes back to the default); returns the new settings."""
        if key not in KEYS:
            raise StoreError(f"Unknown setting {key!r}.")
        where = and_(table.c.guild_id == guild_id, table.c.key == key)
        with self.database.write() as conn:
            conn.execute(table.delete().where(where))
            if value is not None:
                encoded = json.dumps(_encode(value))
                conn.execute(table.insert().values(guild_id=guild_id, key=key, value=encoded))
        with self._lock:
            chosen = self._values.setdefault(guild_id, {})
            if value is None:
                chosen.pop(key, None)
            else:
                chosen[key] = value
        return self.get(guild_id)

    def refresh(self) -> None:
        """Read every server's settings again (blocking: run it in a thread)."""
        fresh: dict[int, dict[str, Any]] = {}
        with self.database.read() as conn:
            for guild_id, key, raw in conn.execute(
                select(table.c.guild_id, table.c.key, table.c.value)
            ):
                if key in KEYS:
                    fresh.setdefault(int(guild_id), {})[key] = _decode(key, json.loads(raw))
        with self._lock:
            self._values = fresh

    def forget(self, guild_id: int) -> None:
        """Drop every setting of a server (the bot left it, or its admins reset them)."""
        with self.database.write() as conn:
            conn.execute(table.delete().where(table.c.guild_id == guild_id))
        with self._lock:
            self._values.pop(guild_id, None)


def _encode(value: Any) -> Any:
    return sorted(value) if isinstance(value, frozenset | set) else value


def _decode(key: str, value: Any) -> Any:
    return frozenset(int(v) for v in value) if key == "answer_channels" else value
