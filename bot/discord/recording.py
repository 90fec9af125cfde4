"""Usage records for the moderators' statistics, written off the event loop.

One recorder per bot. Answers never wait for a record and never fail because of one: a full
disk or a lock timeout is logged, not raised. ``drain`` lets shutdown finish what was queued.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable

import discord

from bot.core.knowledge import Entry
from bot.core.matching import Match, Status
from bot.storage.usage import Insights

log = logging.getLogger(__name__)

#: Where a question came from: a message, or a command, button or menu.
Source = discord.Interaction[discord.Client] | discord.Message


def where(source: Source) -> str:
    """``guild=… channel=…`` for logs and records: enough to find it, no message text."""
    guild = source.guild.id if source.guild else None
    channel = source.channel_id if isinstance(source, discord.Interaction) else source.channel.id
    return f"guild={guild} channel={channel}"


class UsageRecorder:
    """Records answers, declined questions and votes into ``Insights``."""

    def __init__(self, insights: Insights) -> None:
        self.insights = insights
        self._pending: set[asyncio.Future[None]] = set()

    def record(self, found: Match | Entry, source: Source) -> None:
        """An answer (a confident match or a picked entry) or a question left unanswered."""
        at = where(source)
        entry = found if isinstance(found, Entry) else found.entry
        if entry is not None:
            log.info("answered entry=%s %s", entry.id, at)
            self._later(functools.partial(self.insights.record_answer, entry.id, at))
        elif isinstance(found, Match) and found.status is not Status.SMALLTALK:
            closest = [c.entry.id for c in found.candidates[:3]]
            log.info(
                "unanswered score=%.0f closest=%s %s", found.score, ",".join(closest) or "-", at
            )
            write = functools.partial(
                self.insights.record_unanswered, found.question, at, closest, found.score
            )
            self._later(write)

    async def feedback(
        self, entry_id: str, helpful: bool, interaction: discord.Interaction[discord.Client]
    ) -> None:
        """A vote; awaited, so the thanks the voter sees follows a stored vote."""
        log.info("feedback entry=%s helpful=%s %s", entry_id, helpful, where(interaction))
        message = interaction.message.id if interaction.message else None
        write = functools.partial(
            self.insights.record_feedback,
            entry_id,
            helpful,
            interaction.user.id,
            message_id=message,
        )
        await asyncio.to_thread(_safely, write)

    async def drain(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - a bound, not a wait
        """Let queued records finish (at shutdown), for at most ``timeout`` seconds."""
        if self._pending:
            await asyncio.wait(self._pending, timeout=timeout)

    def _later(self, write: Callable[[], None]) -> None:
        future = asyncio.ensure_future(asyncio.to_thread(_safely, write))
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)


def _safely(write: Callable[[], None]) -> None:
    try:
        write()
    except Exception:  # usage records must never break answering
        log.exception("could not record usage")
