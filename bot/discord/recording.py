"""Usage records for the moderators' statistics, written off the event loop in batches.

One recorder per bot. Answers never wait for a record and never fail because of one: a full
disk or a busy database is logged, not raised. Records are gathered for a moment and stored
in one transaction from a worker thread, so a busy server costs one commit per batch, not
one per question. ``drain`` lets shutdown finish what was queued.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

import discord

from bot.core.knowledge import Entry
from bot.core.matching import Match, Status
from bot.storage.guild_settings import GuildSettingsStore
from bot.storage.usage import Asked, Insights

log = logging.getLogger(__name__)
BATCH_DELAY = 0.25  # seconds a record may wait for others to share its transaction
BATCH_SIZE = 200
PRUNE_EVERY = 3600.0  # seconds between deletions of records past the retention period

#: Where a question came from: a message, or a command, button or menu.
Source = discord.Interaction[discord.Client] | discord.Message


def where(source: Source) -> str:
    """``guild=… channel=…`` for logs and records: enough to find it, no message text."""
    guild = source.guild.id if source.guild else None
    channel = source.channel_id if isinstance(source, discord.Interaction) else source.channel.id
    return f"guild={guild} channel={channel}"


def _ids(source: Source) -> tuple[int | None, int | None]:
    """The server (None in DMs) and the person a record is about."""
    user = source.user if isinstance(source, discord.Interaction) else source.author
    return (source.guild.id if source.guild else None), user.id


class UsageRecorder:
    """Records answers, declined questions and votes into ``Insights``."""

    def __init__(self, insights: Insights, settings: GuildSettingsStore) -> None:
        self.insights = insights
        self.settings = settings
        self._pending: set[asyncio.Future[None]] = set()
        self._queue: list[Asked] = []
        self._flush_at: asyncio.TimerHandle | None = None
        self._pruned = time.monotonic()

    def record(self, found: Match | Entry, source: Source) -> None:
        """An answer (a confident match or a picked entry) or a question left unanswered."""
        at = where(source)
        guild_id, user_id = _ids(source)
        if not self.settings.get(guild_id).record_usage:
            return
        now = datetime.now(UTC)
        entry = found if isinstance(found, Entry) else found.entry
        if entry is not None:
            log.info("answered entry=%s %s", entry.id, at)
            self._add(Asked(now, at, entry.id, guild_id=guild_id, user_id=user_id))
        elif isinstance(found, Match) and found.status is not Status.SMALLTALK:
            closest = tuple(c.entry.id for c in found.candidates[:3])
            log.info(
                "unanswered score=%.0f closest=%s %s", found.score, ",".join(closest) or "-", at
            )
            declined = Asked(now, at, None, found.question, closest, found.score, guild_id, user_id)
            self._add(declined)

    async def feedback(
        self, entry_id: str, helpful: bool, interaction: discord.Interaction[discord.Client]
    ) -> None:
        """A vote; awaited, so the thanks the voter sees follows a stored vote."""
        if not self.settings.get(interaction.guild_id).record_usage:
            return
        log.info("feedback entry=%s helpful=%s %s", entry_id, helpful, where(interaction))
        message = interaction.message.id if interaction.message else None
        write = functools.partial(
            self.insights.record_feedback,
            entry_id,
            helpful,
            interaction.user.id,
            message_id=message,
            guild_id=interaction.guild.id if interaction.guild else None,
        )
        await asyncio.to_thread(_safely, write)

    async def forget(self, user_id: int, timeout: float = 5.0) -> int:  # noqa: ASYNC109
        """Delete everything recorded about one person (``/privacy forget``); how many rows.

        Their records still queued are dropped, and batches being written are waited for
        (up to ``timeout``), so nothing of theirs lands after the deletion.
        """
        self._queue = [r for r in self._queue if r.user_id != user_id]
        if self._pending:
            await asyncio.wait(self._pending, timeout=timeout)
        return await asyncio.to_thread(self.insights.forget, user_id)

    async def drain(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - a bound, not a wait
        """Store what is queued and let writes finish (at shutdown), for at most ``timeout``."""
        self._flush()
        if self._pending:
            await asyncio.wait(self._pending, timeout=timeout)

    def _add(self, record: Asked) -> None:
        self._queue.append(record)
        if len(self._queue) >= BATCH_SIZE:
            self._flush()
        elif self._flush_at is None:
            self._flush_at = asyncio.get_running_loop().call_later(BATCH_DELAY, self._flush)

    def _flush(self) -> None:
        if self._flush_at is not None:
            self._flush_at.cancel()
            self._flush_at = None
        batch, self._queue = self._queue, []
        if batch:
            self._later(functools.partial(self.insights.record_many, batch))
        if time.monotonic() - self._pruned > PRUNE_EVERY:
            self._pruned = time.monotonic()
            self._later(self.insights.prune)

    def _later(self, write: Callable[[], object]) -> None:
        future = asyncio.ensure_future(asyncio.to_thread(_safely, write))
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)


def _safely(write: Callable[[], object]) -> None:
    try:
        write()
    except Exception:  # usage records must never break answering
        log.exception("could not record usage")
