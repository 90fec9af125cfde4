"""Sliding-window rate limits per user and per channel, in memory and pure Python."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable

from bot.config import Rate


class SlidingWindow:
    """Allow at most ``rate.count`` hits per ``rate.per`` seconds for each key."""

    def __init__(
        self, rate: Rate, clock: Callable[[], float] = time.monotonic, max_keys: int = 50_000
    ) -> None:
        self.rate = rate
        self._clock = clock
        self._hits: dict[Hashable, deque[float]] = {}
        self._max_keys = max_keys

    def hit(self, key: Hashable) -> float:
        """Record a hit; return 0 when allowed, else the seconds until one would be."""
        now = self._clock()
        window = self._hits.get(key)
        if window is None:
            if len(self._hits) >= self._max_keys:
                self._prune(now)
            window = self._hits[key] = deque()
        while window and now - window[0] >= self.rate.per:
            window.popleft()
        if len(window) >= self.rate.count:
            return max(self.rate.per - (now - window[0]), 0.001)
        window.append(now)
        return 0.0

    def _prune(self, now: float) -> None:
        """Forget keys with no recent hits so memory stays bounded on a busy server."""
        stale = [k for k, w in self._hits.items() if not w or now - w[-1] >= self.rate.per]
        for key in stale:
            del self._hits[key]
        while len(self._hits) >= self._max_keys:
            del self._hits[next(iter(self._hits))]
