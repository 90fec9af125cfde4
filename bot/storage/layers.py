"""Which knowledge each place is served: the shipped file, global edits, a server's own.

A server's members get the shipped file with the operator's global edits and that
server's edits on top; direct messages get shipped + global. Servers without edits of
their own share the global knowledge (one matcher for all of them); a server with edits
gets its own, built on first use and kept in a bounded least-recently-used cache, so a
thousand edited servers cost a bounded amount of memory.

The operator's home server (``ELN_HOME_GUILD``) edits the global layer: a single-server
operator keeps today's behaviour, every edit reaching every place the bot answers.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import select

from bot.core.service import ReloadOutcome
from bot.storage.schema import GLOBAL, overlays
from bot.storage.store import KnowledgeStore, ServedKnowledge

log = logging.getLogger(__name__)
T = TypeVar("T")
CAPACITY = 64  # servers with edits whose matcher stays in memory


class ServedLayers:
    """The knowledge service for each server, over one root (global) store."""

    def __init__(
        self,
        root: KnowledgeStore,
        serve: Callable[[KnowledgeStore], ServedKnowledge],
        *,
        home_guild: int | None = None,
        capacity: int = CAPACITY,
    ) -> None:
        self.root = root
        self.home_guild = home_guild
        self.capacity = capacity
        self._serve = serve
        self.global_service = serve(root)
        self._cache: OrderedDict[str, ServedKnowledge] = OrderedDict()
        self._edited: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def load(self) -> None:
        """First load of the global knowledge (raising, as ``KnowledgeService.load``)."""
        self.global_service.load()
        self.refresh()

    def scope_of(self, guild_id: int | None) -> str:
        """Whose edits a place sees and makes: a server's own, or the global ones."""
        if guild_id is None or guild_id == self.home_guild:
            return GLOBAL
        return str(guild_id)

    def store_for(self, guild_id: int | None) -> KnowledgeStore:
        """The store moderators of this place change (the home server's is the global one)."""
        scope = self.scope_of(guild_id)
        cached = self._cache.get(scope)
        if cached is not None:
            return cached.store
        return self.root if scope == GLOBAL else self.root.layer(scope)

    def cached(self, guild_id: int | None) -> ServedKnowledge | None:
        """The service for this place if it needs no building (never blocks on a build)."""
        scope = self.scope_of(guild_id)
        if scope not in self._edited:
            return self.global_service
        with self._lock:
            service = self._cache.get(scope)
            if service is not None:
                self._cache.move_to_end(scope)
            return service

    def service_for(self, guild_id: int | None) -> ServedKnowledge:
        """The service for this place, building its matcher if needed (blocking: a thread)."""
        found = self.cached(guild_id)
        if found is not None:
            return found
        scope = self.scope_of(guild_id)
        service = self._serve(self.store_for(guild_id))
        service.load()
        with self._lock:
            self._cache[scope] = service
            self._cache.move_to_end(scope)
            while len(self._cache) > self.capacity:
                evicted, _ = self._cache.popitem(last=False)
                log.debug("dropped the matcher of %s from the cache", evicted)
        return service

    def change(self, guild_id: int | None, operation: Callable[[KnowledgeStore], T]) -> T:
        """Run a moderator operation on this place's layer and make it live when it returns."""
        if self.scope_of(guild_id) == GLOBAL:
            return self.global_service.change(operation, self.root)
        result = operation(self.store_for(guild_id))
        self.refresh()
        self.service_for(guild_id).reload()
        return result

    def refresh(self) -> None:
        """Learn which servers have edits of their own (one small query)."""
        with self.root.database.read() as conn:
            scopes = frozenset(str(s) for s in conn.execute(select(overlays.c.scope)).scalars())
        self._edited = scopes - {GLOBAL}
        with self._lock:
            for gone in [s for s in self._cache if s not in self._edited]:
                del self._cache[gone]

    def reload(self, *, force: bool = False) -> ReloadOutcome:
        """Reload the global knowledge and every cached server's; the global outcome."""
        outcome = self.global_service.reload(force=force)
        self.refresh()
        with self._lock:
            services = list(self._cache.values())
        for service in services:
            service.reload(force=force)
        return outcome
