"""Rate limits, in memory: sliding windows per key, and the one limit per user that every
question, command, button and menu passes (``UserLimit``)."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Hashable

import discord

from bot.config import Rate
from bot.discord import render
from bot.discord.replies import AnyInteraction, send_private

log = logging.getLogger(__name__)
#: Interactions that pass unlimited: autocomplete runs on every keystroke and cannot carry a
#: message, and a modal submit completes the command that opened it (which was counted);
#: refusing it would throw away what the moderator typed.
UNLIMITED = frozenset({discord.InteractionType.autocomplete, discord.InteractionType.modal_submit})


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


class UserLimit:
    """How often one person may make the bot work, whatever they use: ``settings.user_rate``.

    Questions in messages ask ``wait``; every interaction (slash commands, the message menu,
    buttons, select menus) passes ``admit`` before its callback runs, from discord.py's
    interaction checks: the command tree's and the bot's buttons' and menus'.
    """

    def __init__(self, rate: Rate, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = SlidingWindow(rate, clock)

    def wait(self, user_id: int) -> float:
        """Count one use by ``user_id``: 0 when allowed, else the seconds until one is."""
        return self.window.hit(user_id)

    async def admit(self, interaction: AnyInteraction) -> bool:
        """True to go ahead. Otherwise nothing happens but a private note saying when to
        try again (no answer, no vote, no usage record)."""
        if interaction.type in UNLIMITED:
            return True
        wait = self.wait(interaction.user.id)
        if not wait:
            return True
        log.info(
            "user %s over the rate limit in guild %s channel %s; %.1f s to wait",
            interaction.user.id,
            interaction.guild_id,
            interaction.channel_id,
            wait,
        )
        try:
            await send_private(interaction, render.slow_down(wait))
        except discord.HTTPException as exc:
            log.warning("could not tell user %s to slow down: %s", interaction.user.id, exc)
        return False
