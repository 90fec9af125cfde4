"""The Discord bot: set-up, background tasks and the one error boundary for app commands.

The cogs translate between Discord and the answering core; this module wires them to
one KnowledgeService, keeps the heartbeat for health checks, and hot-reloads knowledge.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
import math
import signal
import time
import weakref
from typing import Any, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.config import Settings
from bot.core.knowledge import Entry, KnowledgeError
from bot.core.service import KnowledgeService, ReloadOutcome
from bot.discord import render
from bot.discord.endpoints import use_api_base
from bot.discord.ratelimit import SlidingWindow
from bot.discord.views import DYNAMIC_ITEMS
from bot.errors import BotError
from bot.health import Heartbeat, write_heartbeat
from bot.storage import KnowledgeStore
from bot.storage.usage import Insights

log = logging.getLogger(__name__)
ViewT = TypeVar("ViewT", bound=discord.ui.View)
HEARTBEAT_EVERY = 10.0
# Unknown interaction (token past its 3 s), Unknown Webhook (follow-up token past 15 min).
EXPIRED_INTERACTION = frozenset({10062, 10015})


class NotModerator(app_commands.CheckFailure):
    """Raised by the moderator check; the tree turns it into a short reply."""


class QATree(app_commands.CommandTree):
    """One place where command errors become short, friendly, private replies."""

    async def on_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        original = getattr(error, "original", error)
        if isinstance(error, NotModerator | app_commands.MissingPermissions):
            log.warning(
                "denied /%s to user %s in guild %s: not a moderator",
                interaction.command.qualified_name if interaction.command else "?",
                interaction.user.id,
                interaction.guild_id,
            )
            text = "Sorry, only moderators can use this command."
        elif isinstance(error, app_commands.NoPrivateMessage):
            text = "This command only works in a server."
        elif isinstance(original, BotError | KnowledgeError):
            text = str(original)
        elif isinstance(original, discord.NotFound) and original.code in EXPIRED_INTERACTION:
            # Answered too late (Discord allows 3 s, follow-ups 15 min): nothing to reply to.
            log.warning(
                "interaction for /%s expired before it was answered in guild %s channel %s: %s",
                interaction.command.qualified_name if interaction.command else "?",
                interaction.guild_id,
                interaction.channel_id,
                original.text,
            )
            return
        else:
            log.error(
                "command failed in guild %s channel %s",
                interaction.guild_id,
                interaction.channel_id,
                exc_info=original,
            )
            text = "Sorry, something went wrong on my side. Please try again."
        await send_private(interaction, render.clip(text, render.CONTENT_MAX))


async def send_private(interaction: discord.Interaction[Any], text: str) -> None:
    """Reply privately whether or not the interaction was already answered."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(
                text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
            )
        else:
            await interaction.response.send_message(
                text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
            )
    except discord.HTTPException:
        log.warning("could not send an error reply in channel %s", interaction.channel_id)


class _QAMixin:
    """Behaviour shared by the single-connection and the sharded bot."""

    settings: Settings
    service: KnowledgeService
    insights: Insights
    user_limit: SlidingWindow
    channel_limit: SlidingWindow
    _background: list[asyncio.Task[None]]
    _gateway_state: str

    def __init__(
        self, settings: Settings, service: KnowledgeService, insights: Insights, **options: Any
    ) -> None:
        self.settings = settings
        self.service = service
        self.insights = insights
        self.user_limit = SlidingWindow(settings.user_rate)
        self.channel_limit = SlidingWindow(settings.channel_rate)
        self._background = []
        self._pending: set[asyncio.Task[None]] = set()
        self._menus: weakref.WeakSet[discord.ui.View] = weakref.WeakSet()
        self._gateway_state = "starting"
        super().__init__(  # type: ignore[call-arg] - commands.Bot or AutoShardedBot
            command_prefix=commands.when_mentioned, help_command=None, tree_cls=QATree, **options
        )

    async def setup_hook(self) -> None:
        from bot.discord.cogs import COGS  # noqa: PLC0415 - cogs import the bot class

        bot: commands.Bot = self  # type: ignore[assignment]
        bot.add_dynamic_items(*DYNAMIC_ITEMS)
        for cog in COGS:
            await bot.add_cog(cog(self))
        await self._sync_commands()
        self._background.append(asyncio.create_task(self._watch_knowledge(), name="reload"))
        self._background.append(asyncio.create_task(self._heartbeat(), name="heartbeat"))

    def track(self, view: ViewT) -> ViewT:
        """Remember a menu with a timeout so close() can stop its timer."""
        self._menus.add(view)
        return view

    async def close(self) -> None:
        for view in list(self._menus):
            view.stop()
        for task in self._background:
            task.cancel()
        if self._pending:
            await asyncio.wait(self._pending, timeout=5)
        self._gateway_state = "stopping"
        await asyncio.to_thread(self._write_heartbeat)
        await super().close()  # type: ignore[misc]

    async def on_command_error(
        self, context: commands.Context[Any], exception: commands.CommandError, /
    ) -> None:
        """Mentions are questions, not text commands: "@bot how many…" is no missing command."""
        if isinstance(exception, commands.CommandNotFound):
            return
        await super().on_command_error(context, exception)  # type: ignore[misc]

    # --- gateway state for the health check ----------------------------------------------

    async def on_ready(self) -> None:
        bot: commands.Bot = self  # type: ignore[assignment]
        self._gateway_state = "connected"
        log.info("connected as %s to %d guild(s)", bot.user, len(bot.guilds))

    async def on_resumed(self) -> None:
        self._gateway_state = "connected"
        log.info("gateway session resumed")

    async def on_disconnect(self) -> None:
        self._gateway_state = "reconnecting"

    async def on_connect(self) -> None:
        if self._gateway_state == "reconnecting":
            self._gateway_state = "connected"

    def _write_heartbeat(self) -> None:
        bot: commands.Bot = self  # type: ignore[assignment]
        latency = bot.latency
        beat = Heartbeat(
            at=time.time(),
            state=self._gateway_state,
            latency_ms=latency * 1e3 if math.isfinite(latency) else None,
            guilds=len(bot.guilds),
        )
        try:
            write_heartbeat(self.settings.heartbeat_path, beat)
        except OSError as exc:
            log.warning("cannot write heartbeat %s: %s", self.settings.heartbeat_path, exc)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.to_thread(self._write_heartbeat)
            await asyncio.sleep(HEARTBEAT_EVERY)

    # --- knowledge --------------------------------------------------------------------------

    async def _watch_knowledge(self) -> None:
        """Poll for changed files and swap in valid knowledge within ``reload_interval``."""
        while True:
            await asyncio.sleep(self.settings.reload_interval)
            try:
                outcome = await asyncio.to_thread(self.service.reload)
            except Exception:  # the watcher must outlive any surprise
                log.exception("knowledge watcher failed; will retry")
                continue
            if outcome.swapped or outcome.rejected:
                await self.audit(reload_summary(outcome, self.service))

    async def audit(self, text: str) -> None:
        """Post to the audit channel, if one is configured; never raises."""
        channel_id = self.settings.audit_channel
        if channel_id is None:
            return
        bot: commands.Bot = self  # type: ignore[assignment]
        channel = bot.get_channel(channel_id) or bot.get_partial_messageable(channel_id)
        try:
            await channel.send(
                render.clip(text, render.CONTENT_MAX),  # type: ignore[union-attr]
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except discord.HTTPException as exc:
            log.warning("cannot post to audit channel %s: %s", channel_id, exc)

    # --- usage records (never allowed to break an answer) ---------------------------------

    def record_answer(
        self, entry: Entry, source: discord.Interaction[Any] | discord.Message
    ) -> None:
        where = _where(source)
        log.info("answered entry=%s %s", entry.id, where)
        self._record(self.insights.record_answer, entry.id, where)

    def record_unanswered(
        self,
        question: str,
        source: discord.Interaction[Any] | discord.Message,
        closest: list[str],
        score: float,
    ) -> None:
        where = _where(source)
        log.info("unanswered score=%.0f closest=%s %s", score, ",".join(closest) or "-", where)
        self._record(self.insights.record_unanswered, question, where, closest, score)

    async def record_feedback(
        self, entry_id: str, helpful: bool, interaction: discord.Interaction[Any]
    ) -> None:
        log.info("feedback entry=%s helpful=%s %s", entry_id, helpful, _where(interaction))
        record = functools.partial(
            self.insights.record_feedback,
            entry_id,
            helpful,
            interaction.user.id,
            message_id=interaction.message.id if interaction.message else None,
        )
        await asyncio.to_thread(_safely, record)

    def _record(self, fn: Any, *args: Any) -> None:
        """Write a usage record off the event loop; the answer never waits for it."""
        task = asyncio.get_running_loop().create_task(asyncio.to_thread(_safely, fn, *args))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    # --- command sync -------------------------------------------------------------------------

    async def _sync_commands(self) -> None:
        """Sync only when the declared commands changed (or as ELN_SYNC_COMMANDS says)."""
        bot: commands.Bot = self  # type: ignore[assignment]
        mode = self.settings.sync_commands
        if mode == "never":
            return
        guild = discord.Object(self.settings.guild_id) if self.settings.guild_id else None
        if guild is not None:
            bot.tree.copy_global_to(guild=guild)
        payload = [c.to_dict(bot.tree) for c in bot.tree.get_commands(guild=guild)]
        # Keyed by where the commands went too: a different API base is a different Discord.
        synced_to = {"api_base": self.settings.api_base, "commands": payload}
        digest = hashlib.sha256(json.dumps(synced_to, sort_keys=True).encode()).hexdigest()
        marker = (
            self.settings.data_dir
            / f"commands-{bot.application_id}-{guild.id if guild else 'global'}.sha256"
        )
        if mode == "auto" and _read(marker) == digest:
            log.info("slash commands unchanged; not syncing")
            return
        try:
            synced = await bot.tree.sync(guild=guild)
        except discord.HTTPException as exc:
            log.error("could not sync slash commands: %s", exc)
            return
        log.info(
            "synced %d slash command(s) %s",
            len(synced),
            f"to guild {guild.id}" if guild else "globally",
        )
        with contextlib.suppress(OSError):
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(digest, encoding="utf-8")


class QABot(_QAMixin, commands.Bot):
    """The bot on one gateway connection."""


class ShardedQABot(_QAMixin, commands.AutoShardedBot):
    """The bot on several shards (``ELN_SHARD_COUNT``), the way Discord scales bots."""

    async def on_shard_ready(self, shard_id: int) -> None:
        log.info("shard %d ready", shard_id)


def intents_for(settings: Settings) -> discord.Intents:
    """The least the bot needs; message content only when it reads answer channels."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = bool(settings.answer_channels)
    return intents


def create_bot(
    settings: Settings, service: KnowledgeService, insights: Insights, **options: Any
) -> QABot | ShardedQABot:
    """The bot for these settings: sharded when a shard count is configured."""
    options.setdefault("intents", intents_for(settings))
    options.setdefault("allowed_mentions", discord.AllowedMentions.none())
    options.setdefault("max_messages", 200)
    options.setdefault("chunk_guilds_at_startup", False)
    if settings.shard_count:
        options.setdefault("shard_count", settings.shard_count)
        if settings.shard_ids:
            options.setdefault("shard_ids", list(settings.shard_ids))
        return ShardedQABot(settings, service, insights, **options)
    return QABot(settings, service, insights, **options)


def build_services(settings: Settings) -> tuple[KnowledgeService, Insights]:
    """Load knowledge (raising KnowledgeError/StoreError) and open the usage records."""
    store = KnowledgeStore(settings.knowledge_path, settings.data_dir)
    service = KnowledgeService(store)
    service.load()
    return service, Insights(settings.data_dir)


def reload_summary(outcome: ReloadOutcome, service: KnowledgeService) -> str:
    if outcome.swapped:
        count = len(service.snapshot.knowledge.entries)
        return f"🔄 Knowledge reloaded from disk: {count} entries now served."
    lines = [str(p) for p in outcome.problems if p.severity == "error"][:10]
    detail = "\n".join(f"• {line}" for line in lines) or outcome.message
    return (
        "⚠️ A changed knowledge file was rejected; still serving the last good version.\n" + detail
    )


class _TokenFilter(logging.Filter):
    """Belt and braces: no log line may carry the token, whatever a library prints."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if self._token and self._token in record.getMessage():
            record.msg = record.getMessage().replace(self._token, "[token hidden]")
            record.args = ()
        return True


def run_bot(settings: Settings) -> int:
    """Run until SIGINT/SIGTERM; return the process exit code."""
    assert settings.token
    token_filter = _TokenFilter(settings.token)
    for handler in logging.getLogger().handlers:
        handler.addFilter(token_filter)
    use_api_base(settings.api_base)
    # The bot never joins voice: don't tell operators that voice libraries are missing.
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
    try:
        service, insights = build_services(settings)
    except KnowledgeError as exc:
        for problem in exc.problems:
            log.error("knowledge: %s", problem)
        log.error("cannot start: the knowledge has %d problem(s)", len(exc.problems))
        return 1
    except BotError as exc:
        log.error("cannot start: %s", exc)
        return 1
    bot = create_bot(settings, service, insights)
    return asyncio.run(_serve(bot, settings.token))


async def _serve(bot: commands.Bot, token: str) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    runner = asyncio.create_task(bot.start(token))
    stopper = asyncio.create_task(stop.wait())
    code = 0
    try:
        await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if runner.done():
            runner.result()
        else:
            log.info("shutting down")
    except discord.LoginFailure:
        log.error("Discord rejected the token (check DISCORD_TOKEN / DISCORD_TOKEN_FILE)")
        code = 2
    except discord.PrivilegedIntentsRequired:
        log.error(
            "Discord refused the privileged intents. Enable 'Message Content Intent' under "
            "Bot in the Developer Portal, or unset ELN_ANSWER_CHANNELS."
        )
        code = 3
    except (discord.GatewayNotFound, discord.ConnectionClosed, OSError) as exc:
        log.error("cannot reach Discord: %s", exc.__class__.__name__)
        code = 4
    finally:
        stopper.cancel()
        await bot.close()
        if not runner.done():
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await runner
    return code


def _where(source: discord.Interaction[Any] | discord.Message) -> str:
    guild = source.guild.id if source.guild else None
    channel = source.channel_id if isinstance(source, discord.Interaction) else source.channel.id
    return f"guild={guild} channel={channel}"


def _read(path: Any) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return None


def _safely(fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except Exception:  # usage records must never break answering
        log.exception("could not record usage")
