"""The bot class: one ``AutoShardedBot`` for one connection or many shards.

It owns its parts and wires them to gateway events; each part does one job elsewhere:
``GatewayState`` (what health reports), ``HeartbeatJob`` and ``KnowledgeWatcher``
(background loops), ``UsageRecorder`` (statistics), ``AuditChannel``, ``OpenMenus``,
``UserLimit`` (how often one person may use it) and ``sync_commands``. The cogs are
handed in by whoever builds the bot (``bot.discord.bot``), so this module imports none of
them and they can import it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import discord
from discord.ext import commands

from bot.config import Settings
from bot.core.knowledge import Knowledge
from bot.core.service import ReloadOutcome
from bot.discord import render
from bot.discord.audit import AuditChannel
from bot.discord.gateway import GatewayState
from bot.discord.jobs import HeartbeatJob, KnowledgeWatcher
from bot.discord.menus import OpenMenus
from bot.discord.ratelimit import UserLimit
from bot.discord.recording import UsageRecorder
from bot.discord.sync import sync_commands
from bot.errors import StoreError
from bot.storage.changes import Change
from bot.storage.loading import Services
from bot.storage.store import ServedKnowledge
from bot.storage.usage import Insights

log = logging.getLogger(__name__)


class QABot(commands.AutoShardedBot):
    """The ELN Q&A bot. ``shard_count=1`` (the default) is one plain gateway connection."""

    def __init__(
        self,
        settings: Settings,
        services: Services,
        *,
        cogs: Sequence[Callable[[QABot], commands.Cog]] = (),
        **options: Any,
    ) -> None:
        options.setdefault("shard_count", 1)
        super().__init__(command_prefix=commands.when_mentioned, help_command=None, **options)
        self.settings = settings
        self.layers = services.layers
        self.guild_settings = services.guild_settings
        self.recorder = UsageRecorder(services.insights, services.guild_settings)
        self.gateway = GatewayState()
        self.audit = AuditChannel(self, services.guild_settings)
        self.menus = OpenMenus()
        self.limit = UserLimit(settings.user_rate)
        self.heartbeat = HeartbeatJob(settings.heartbeat_path, self, self.gateway)
        self.watcher = KnowledgeWatcher(
            services.layers, services.guild_settings, settings.reload_interval, self._reloaded
        )
        self._cogs = tuple(cogs)
        self._announced: int | None = None  # the latest global change reported

    @property
    def insights(self) -> Insights:
        return self.recorder.insights

    @property
    def service(self) -> ServedKnowledge:
        """The global knowledge: direct messages, and every server without edits."""
        return self.layers.global_service

    async def served(self, guild_id: int | None) -> ServedKnowledge:
        """The knowledge a place is served; a server's own is built in a thread if needed."""
        found = self.layers.cached(guild_id)
        if found is None:
            found = await asyncio.to_thread(self.layers.service_for, guild_id)
        return found

    async def knowledge_in(self, guild_id: int | None) -> Knowledge:
        return (await self.served(guild_id)).snapshot.knowledge

    async def setup_hook(self) -> None:
        await self._find_home()
        await self._changes_from_outside()  # what is already in the history is not news
        for cog in self._cogs:
            await self.add_cog(cog(self))
        await sync_commands(self.tree, self.settings, self.application_id, self.insights.database)
        self.watcher.start()
        self.heartbeat.start()

    async def close(self) -> None:
        """Stop menus and jobs, finish queued usage records, write the last heartbeat.

        discord.py also calls this itself before raising a fatal error; the runner then
        marks the gateway failed and calls it again, which rewrites the heartbeat.
        """
        self.gateway.stopping()
        self.menus.close_all()
        await self.watcher.stop()
        await self.recorder.drain()
        await self.heartbeat.stop()
        await super().close()

    async def _find_home(self) -> None:
        """Without ELN_HOME_GUILD, the server of ELN_AUDIT_CHANNEL is the operator's home:
        a single-server operator's moderators keep editing for everyone, as before."""
        channel_id = self.settings.audit_channel
        if self.layers.home_guild is not None or channel_id is None:
            return
        try:
            channel = await self.fetch_channel(channel_id)
        except discord.HTTPException as exc:
            log.warning("cannot see audit channel %s to find the home server: %s", channel_id, exc)
            return
        guild = getattr(channel, "guild", None)
        if guild is not None:
            self.layers.home_guild = self.guild_settings.home_guild = guild.id
            log.info("home server %s (the audit channel's): its edits are global", guild.id)

    async def on_message(self, message: discord.Message, /) -> None:
        """No text commands: a mention is a question, and the Ask cog answers it."""

    async def _reloaded(self, outcome: ReloadOutcome) -> None:
        """Report a reload; global edits saved elsewhere (the command line, another
        process) are named one by one, with who made them, not as a bare reload."""
        outside = await self._changes_from_outside() if outcome.swapped else []
        for change in outside:
            line = f"📝 {render.plain(change.by)} {render.plain(change.summary)}"
            await self.audit.post(f"{line} (change #{change.id}, made outside Discord)", None)
        if not outside:
            entries = len(self.service.snapshot.knowledge.entries)
            await self.audit.post(render.reload_summary(outcome, entries), None)

    def announced(self, change_id: int) -> None:
        """A global change this bot has reported itself (the /kb cog), not to repeat."""
        self._announced = max(self._announced or 0, change_id)

    async def _changes_from_outside(self) -> list[Change]:
        try:
            latest = await asyncio.to_thread(self.layers.root.history, None, 20)
        except StoreError as exc:
            log.warning("cannot read the history for the audit channel: %s", exc)
            return []
        if self._announced is None:  # first look: what was there before is not news
            self._announced = latest[0].id if latest else 0
            return []
        fresh = [c for c in reversed(latest) if c.id > self._announced]
        if fresh:
            self._announced = fresh[-1].id
        return fresh

    # --- gateway state for the health check ----------------------------------------------

    async def on_ready(self) -> None:
        self.gateway.ready()
        log.info("connected as %s to %d guild(s)", self.user, len(self.guilds))

    async def on_resumed(self) -> None:
        self.gateway.ready()
        log.info("gateway session resumed")

    async def on_disconnect(self) -> None:
        self.gateway.dropped()

    async def on_connect(self) -> None:
        self.gateway.session_up()

    async def on_shard_ready(self, shard_id: int) -> None:
        if (self.shard_count or 1) > 1:
            log.info("shard %d ready", shard_id)


#: What the bot's command callbacks receive: ``interaction.client`` is the bot.
Interaction: TypeAlias = discord.Interaction[QABot]


def bot_of(interaction: discord.Interaction[discord.Client]) -> QABot:
    """The bot behind an interaction that discord.py types for any client.

    discord.py declares the UI callbacks a button or modal overrides (``callback``,
    ``interaction_check``, ``on_submit``) for any client, so an override cannot take
    ``Interaction``. The few that need the bot and do not hold it ask here, which checks
    rather than casts.
    """
    client = interaction.client
    if not isinstance(client, QABot):
        raise TypeError(f"interaction for {type(client).__name__}, not the QABot")
    return client
