"""The bot class: one ``AutoShardedBot`` for one connection or many shards.

It owns its parts and wires them to gateway events; each part does one job elsewhere:
``GatewayState`` (what health reports), ``HeartbeatJob`` and ``KnowledgeWatcher``
(background loops), ``UsageRecorder`` (statistics), ``AuditChannel``, ``OpenMenus``,
``UserLimit`` (how often one person may use it) and ``sync_commands``. The cogs are
handed in by whoever builds the bot (``bot.discord.bot``), so this module imports none of
them and they can import it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import discord
from discord.ext import commands

from bot.config import Settings
from bot.core.service import ReloadOutcome
from bot.discord import render
from bot.discord.audit import AuditChannel
from bot.discord.gateway import GatewayState
from bot.discord.jobs import HeartbeatJob, KnowledgeWatcher
from bot.discord.menus import OpenMenus
from bot.discord.ratelimit import UserLimit
from bot.discord.recording import UsageRecorder
from bot.discord.sync import sync_commands
from bot.storage import ServedKnowledge
from bot.storage.usage import Insights

log = logging.getLogger(__name__)


class QABot(commands.AutoShardedBot):
    """The ELN Q&A bot. ``shard_count=1`` (the default) is one plain gateway connection."""

    def __init__(
        self,
        settings: Settings,
        service: ServedKnowledge,
        insights: Insights,
        *,
        cogs: Sequence[Callable[[QABot], commands.Cog]] = (),
        **options: Any,
    ) -> None:
        options.setdefault("shard_count", 1)
        super().__init__(command_prefix=commands.when_mentioned, help_command=None, **options)
        self.settings = settings
        self.service = service
        self.recorder = UsageRecorder(insights)
        self.gateway = GatewayState()
        self.audit = AuditChannel(self, settings.audit_channel)
        self.menus = OpenMenus()
        self.limit = UserLimit(settings.user_rate)
        self.heartbeat = HeartbeatJob(settings.heartbeat_path, self, self.gateway)
        self.watcher = KnowledgeWatcher(service, settings.reload_interval, self._reloaded)
        self._cogs = tuple(cogs)

    @property
    def insights(self) -> Insights:
        return self.recorder.insights

    async def setup_hook(self) -> None:
        for cog in self._cogs:
            await self.add_cog(cog(self))
        await sync_commands(self.tree, self.settings, self.application_id)
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

    async def on_message(self, message: discord.Message, /) -> None:
        """No text commands: a mention is a question, and the Ask cog answers it."""

    async def _reloaded(self, outcome: ReloadOutcome) -> None:
        entries = len(self.service.snapshot.knowledge.entries)
        await self.audit.post(render.reload_summary(outcome, entries))

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
