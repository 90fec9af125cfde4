"""Build the bot and run it: the command tree (the one error boundary for app commands),
the intents, the services, and ``eln-bot run`` itself with its exit codes.

Nothing imports this module but the CLI and the tests; the cogs import ``bot.discord.client``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket

from bot.config import Settings
from bot.core.decision import model_beside
from bot.core.knowledge import KnowledgeError
from bot.core.matching import Thresholds
from bot.discord.checks import NotAdmin, NotModerator
from bot.discord.client import QABot
from bot.discord.cogs import COGS
from bot.discord.endpoints import use_api_base
from bot.discord.replies import send_private
from bot.discord.views import DYNAMIC_ITEMS, admitted
from bot.errors import BotError, ExitCode
from bot.storage.loading import Services, open_services

log = logging.getLogger(__name__)
# Unknown interaction (token past its 3 s), Unknown Webhook (follow-up token past 15 min).
EXPIRED_INTERACTION = frozenset({10062, 10015})
#: Give up when no gateway session is up this long after start (the run exits within 30 s).
CONNECT_WITHIN = 25.0


class QATree(app_commands.CommandTree[discord.Client]):
    """One place where command errors become short, friendly, private replies, and where
    every command meets the per-user limit before it runs."""

    async def interaction_check(self, interaction: discord.Interaction[discord.Client], /) -> bool:
        """Over the limit, the user is told when to try again and the command does not run
        (autocomplete is never limited; buttons and menus pass the same limit in views.py)."""
        return await admitted(interaction)

    async def on_error(
        self, interaction: discord.Interaction[discord.Client], error: app_commands.AppCommandError
    ) -> None:
        text = _error_text(interaction, error)
        if text is None:
            return
        try:
            await send_private(interaction, text)
        except discord.HTTPException:
            log.warning("could not send an error reply in channel %s", interaction.channel_id)


def _error_text(
    interaction: discord.Interaction[discord.Client], error: app_commands.AppCommandError
) -> str | None:
    """What to tell the user (None: nobody to tell), logging what operators need."""
    original = getattr(error, "original", error)
    command = interaction.command.qualified_name if interaction.command else "?"
    if isinstance(error, NotModerator | app_commands.MissingPermissions):
        admin = isinstance(error, NotAdmin)
        log.warning(
            "denied /%s to user %s in guild %s: %s",
            command,
            interaction.user.id,
            interaction.guild_id,
            "not a server admin" if admin else "not a moderator",
        )
        if admin:
            return "Sorry, only this server's admins (Manage Server) can change its settings."
        return "Sorry, only moderators can use this command."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works in a server."
    if isinstance(original, BotError):
        return str(original)
    if isinstance(original, discord.NotFound) and original.code in EXPIRED_INTERACTION:
        # Answered too late (Discord allows 3 s, follow-ups 15 min): nothing to reply to.
        log.warning(
            "interaction for /%s expired before it was answered in guild %s channel %s: %s",
            command,
            interaction.guild_id,
            interaction.channel_id,
            original.text,
        )
        return None
    log.error(
        "command failed in guild %s channel %s",
        interaction.guild_id,
        interaction.channel_id,
        exc_info=original,
    )
    return "Sorry, something went wrong on my side. Please try again."


def intents_for(settings: Settings) -> discord.Intents:
    """The least the bot needs; message content only when it reads answer channels."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = bool(settings.answer_channels)
    return intents


def create_bot(settings: Settings, services: Services, **options: Any) -> QABot:
    """The bot for these settings: one connection, or ``ELN_SHARD_COUNT`` shards."""
    options.setdefault("intents", intents_for(settings))
    options.setdefault("allowed_mentions", discord.AllowedMentions.none())
    options.setdefault("max_messages", 200)
    options.setdefault("chunk_guilds_at_startup", False)
    options.setdefault("tree_cls", QATree)
    options.setdefault("shard_count", settings.shard_count or 1)
    if settings.shard_ids:
        options.setdefault("shard_ids", list(settings.shard_ids))
    bot = QABot(settings, services, cogs=COGS, **options)
    bot.add_dynamic_items(*DYNAMIC_ITEMS)
    return bot


def build_services(settings: Settings, *, thresholds: Thresholds | None = None) -> Services:
    """Load knowledge (raising KnowledgeError/StoreError) and open the usage records."""
    model = model_beside(settings.knowledge_path)
    return open_services(settings, model=model, thresholds=thresholds)


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
    """Run until SIGINT/SIGTERM; return the process exit code (an ``ExitCode``)."""
    assert settings.token
    token_filter = _TokenFilter(settings.token)
    for handler in logging.getLogger().handlers:
        handler.addFilter(token_filter)
    use_api_base(settings.api_base)
    # The bot never joins voice: don't tell operators that voice libraries are missing.
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
    try:
        services = build_services(settings)
    except KnowledgeError as exc:
        for problem in exc.problems:
            log.error("knowledge: %s", problem)
        log.error("cannot start: the knowledge has %d problem(s)", len(exc.problems))
        return ExitCode.FAILED
    except BotError as exc:
        log.error("cannot start: %s", exc)
        return ExitCode.FAILED
    bot = create_bot(settings, services)
    return asyncio.run(serve(bot, settings.token))


async def serve(bot: QABot, token: str, *, connect_within: float = CONNECT_WITHIN) -> int:
    """Run ``bot`` until a signal or a fatal error; the exit code says which.

    A start that has no gateway session within ``connect_within`` seconds gives up:
    discord.py would otherwise wait minutes on a black-holed address, silently.
    """
    stop = asyncio.Event()
    _on_signals(stop.set)
    await bot.heartbeat.beat()  # "starting", before the first request can hang
    runner = asyncio.create_task(bot.start(token), name="eln-bot:start")
    stopper = asyncio.create_task(stop.wait(), name="eln-bot:signals")
    code = ExitCode.FAILED  # unless _outcome says otherwise
    try:
        code = await _outcome(bot, runner, stopper, connect_within)
    finally:
        stopper.cancel()
        if code is not ExitCode.OK:
            bot.gateway.failed()
        await bot.close()
        if not runner.done():
            runner.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await runner
    return int(code)


async def _outcome(
    bot: QABot,
    runner: asyncio.Task[None],
    stopper: asyncio.Task[bool],
    connect_within: float,
) -> ExitCode:
    """Wait for the run to end (or to miss its start-up deadline) and say why it ended."""
    connected = asyncio.ensure_future(bot.gateway.reached.wait())
    try:
        await asyncio.wait(
            {runner, stopper, connected}, timeout=connect_within, return_when="FIRST_COMPLETED"
        )
        if not (runner.done() or stopper.done() or connected.done()):
            log.error(
                "cannot reach Discord at %s within %g s; giving up (check the network, a "
                "firewall or proxy, and DISCORD_API_BASE)",
                _host(bot),
                connect_within,
            )
            return ExitCode.UNREACHABLE
        await asyncio.wait({runner, stopper}, return_when="FIRST_COMPLETED")
        if not runner.done():
            log.info("shutting down")
            return ExitCode.OK
        runner.result()
        return ExitCode.OK
    except discord.LoginFailure:
        log.error("Discord rejected the token (check DISCORD_TOKEN / DISCORD_TOKEN_FILE)")
        return ExitCode.TOKEN_REJECTED
    except discord.PrivilegedIntentsRequired:
        log.error(
            "Discord refused the privileged intents. Enable 'Message Content Intent' under "
            "Bot in the Developer Portal, or unset ELN_ANSWER_CHANNELS."
        )
        return ExitCode.INTENTS_REFUSED
    except (discord.GatewayNotFound, discord.ConnectionClosed, OSError) as exc:
        log.error("cannot reach Discord at %s: %s", _host(bot), exc.__class__.__name__)
        return ExitCode.UNREACHABLE
    finally:
        connected.cancel()


def _host(bot: QABot) -> str:
    """The host that did not answer: the API until login worked, then the gateway."""
    if bot.user is None:
        url = yarl.URL(discord.http.Route.BASE)
    else:
        url = DiscordWebSocket.DEFAULT_GATEWAY
    return url.host or str(url)


def _on_signals(handler: Callable[[], object]) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, handler)
