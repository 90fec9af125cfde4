"""The knowledge being served right now, and the only way it changes: a validated swap.

Pure Python, no Discord. A reload that fails validation never replaces the last good
knowledge; it reports the problems once per bad version instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from bot.core.decision import DecisionModel
from bot.core.knowledge import Knowledge, KnowledgeError, Problem
from bot.core.matching import DEFAULT_THRESHOLDS, Match, Matcher, Thresholds
from bot.errors import StoreError

log = logging.getLogger(__name__)
T = TypeVar("T")


class KnowledgeSource(Protocol):
    """Where the served knowledge comes from (the storage layer's store, or a plain file).

    The core depends on this shape, not on the storage, so it stays free of it.
    """

    def signature(self) -> Any:
        """Changes whenever the knowledge would; cheap to compute."""
        ...

    def knowledge(self) -> Knowledge:
        """The knowledge as it is now; raises KnowledgeError or StoreError."""
        ...


SourceT = TypeVar("SourceT", bound=KnowledgeSource)


@dataclass(frozen=True)
class Snapshot:
    knowledge: Knowledge
    matcher: Matcher
    signature: Any
    loaded_at: float


@dataclass(frozen=True)
class ReloadOutcome:
    """What a reload did: swapped in a new version, found nothing new, or rejected one."""

    swapped: bool
    problems: tuple[Problem, ...] = ()
    message: str = ""

    @property
    def rejected(self) -> bool:
        return bool(self.problems) or bool(self.message)


class KnowledgeService(Generic[SourceT]):
    """The knowledge being served, swapped only for a version that validates."""

    def __init__(
        self,
        store: SourceT,
        thresholds: Thresholds = DEFAULT_THRESHOLDS,
        model: DecisionModel | None = None,
    ) -> None:
        self.store = store
        self.thresholds = thresholds
        self.model = model
        self._snapshot: Snapshot | None = None
        self._rejected_signature: Any = None
        self._lock = threading.Lock()

    @property
    def snapshot(self) -> Snapshot:
        if self._snapshot is None:
            raise RuntimeError("knowledge not loaded yet; call load() first")
        return self._snapshot

    def load(self) -> Snapshot:
        """First load: raises KnowledgeError/StoreError, since there is nothing to fall back to."""
        with self._lock:
            self._snapshot = self._build()
            return self._snapshot

    def match(self, question: str, *, strict: bool = False) -> Match:
        return self.snapshot.matcher.match(question, strict=strict)

    def reload(self, *, force: bool = False) -> ReloadOutcome:
        """Swap in the knowledge on disk if it changed and validates; never raises for bad files."""
        with self._lock:
            return self._reload(force=force)

    def change(self, operation: Callable[..., T], *args: Any) -> T:
        """Run a store change and make it live under one lock, so the file watcher never
        mistakes a moderator's edit for an outside one (and reports it twice)."""
        with self._lock:
            result = operation(*args)
            self._reload(force=False)
            return result

    def _reload(self, *, force: bool) -> ReloadOutcome:
        signature = self.store.signature()
        current = self._snapshot.signature if self._snapshot else None
        if not force and signature in (current, self._rejected_signature):
            return ReloadOutcome(swapped=False)
        try:
            fresh = self._build(signature)
        except (KnowledgeError, StoreError) as exc:
            self._rejected_signature = signature
            log.error("knowledge reload rejected, still serving the last good version: %s", exc)
            problems = tuple(exc.problems) if isinstance(exc, KnowledgeError) else ()
            return ReloadOutcome(swapped=False, problems=problems, message=str(exc))
        self._snapshot = fresh
        self._rejected_signature = None
        log.info("knowledge reloaded: %d entries", len(fresh.knowledge.entries))
        return ReloadOutcome(swapped=True)

    def _build(self, signature: Any = None) -> Snapshot:
        signature = self.store.signature() if signature is None else signature
        knowledge = self.store.knowledge()
        return Snapshot(
            knowledge, Matcher(knowledge, self.thresholds, self.model), signature, time.time()
        )
