"""Answering: mentions, DMs, answer channels, /ask with autocomplete, /recommendation, and
the "Ask the bot" message menu. Thin: the decisions are the matcher's."""

from __future__ import annotations

import logging
import re

import discord
from discord import app_commands
from discord.ext import commands

from bot.config import Rate
from bot.core.knowledge import Entry
from bot.core.matching import Match, Status
from bot.core.normalise import looks_like_question
from bot.core.text import MENTION, clip
from bot.discord import render
from bot.discord.client import Interaction, QABot
from bot.discord.ratelimit import SlidingWindow
from bot.discord.recording import Source
from bot.discord.replies import Reply, send_private, too_long
from bot.discord.views import answer
from bot.storage.store import ServedKnowledge

log = logging.getLogger(__name__)
STRICT_CONFIDENCE = 0.9  # unprompted answers in a server whose admins chose "strict"
QUIET_REPLY = Rate(1, 600.0)  # unprompted declines: one short reply per user per 10 minutes
#: A user or role mention; the id is captured so the bot can tell its own apart.


class AskCog(commands.Cog, name="Ask"):
    """Every way to ask. Owns the channel limit and the quiet replies, which only questions
    in messages meet; the per-user limit is the bot's, and every interaction passes it."""

    def __init__(self, bot: QABot) -> None:
        self.bot = bot
        self.channel_limit = SlidingWindow(bot.settings.channel_rate)
        self.quiet = SlidingWindow(QUIET_REPLY)
        self.menu = app_commands.ContextMenu(name="Ask the bot", callback=self.ask_menu)
        bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    async def reply(
        self, found: Match | Entry, source: Source, *, unprompted: bool = False
    ) -> Reply:
        """The one reply for what was found; unprompted replies can be dismissed."""
        return await answer(self.bot, found, source, dismissable=unprompted)

    async def match(self, text: str, source: Source, *, unprompted: bool = False) -> Match:
        """Match against the knowledge of the place the question came from."""
        served = await self.bot.served(source.guild.id if source.guild else None)
        return served.match(text, strict=unprompted)

    def rate_limited(self, user_id: int, channel_id: int) -> float:
        """0 when allowed, else the seconds to wait; the user's limit, then the channel's."""
        return self.bot.limit.wait(user_id) or self.channel_limit.hit(channel_id)

    # --- messages -------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        me = self.bot.user
        if message.author.bot or me is None or message.author.id == me.id:
            return
        direct = message.guild is None or mentions_me(message, me.id)
        unprompted = not direct and self._in_answer_channel(message)
        if not (direct or unprompted):
            return
        own_roles = tuple(r.id for r in message.role_mentions if r.tags and r.tags.bot_id == me.id)
        text = strip_mentions(message.content, me.id, own_roles)
        if unprompted and not looks_like_question(text):
            return
        reply = await self._message_reply(message, text, unprompted=unprompted)
        if reply is not None:
            await self._send(message, reply)

    async def _message_reply(
        self, message: discord.Message, text: str, *, unprompted: bool
    ) -> Reply | None:
        chosen = self.bot.guild_settings.get(message.guild.id if message.guild else None)
        if not text.strip():
            return Reply(
                embed=render.help_embed(
                    bool(chosen.answer_channels), retention_days=self.bot.settings.retention_days
                )
            )
        wait = self.rate_limited(message.author.id, message.channel.id)
        if wait:
            return None if unprompted else self._slow_down_once(message.author.id, wait)
        if refusal := too_long(text, self.bot.settings.max_question):
            if unprompted and self.quiet.hit(("long", message.author.id, message.channel.id)):
                return None
            return refusal
        match = await self.match(
            text, message, unprompted=unprompted and chosen.strictness != "relaxed"
        )
        if unprompted and match.status is Status.SMALLTALK:
            return None  # chatter in an answer channel is not for the bot
        if unprompted and chosen.strictness == "strict" and match.confidence < STRICT_CONFIDENCE:
            return None  # this server wants unprompted answers only when the bot is sure
        if (
            unprompted
            and match.entry is None
            and self.quiet.hit((message.author.id, message.channel.id))
        ):
            return None
        return await self.reply(match, message, unprompted=unprompted)

    def _slow_down_once(self, user_id: int, wait: float) -> Reply | None:
        if self.quiet.hit(("slow", user_id)):
            return None
        return Reply(content=render.slow_down(wait))

    def _in_answer_channel(self, message: discord.Message) -> bool:
        guild = message.guild.id if message.guild else None
        channels = self.bot.guild_settings.get(guild).answer_channels
        if not channels:
            return False
        parent = getattr(message.channel, "parent_id", None)
        return message.channel.id in channels or (parent is not None and parent in channels)

    async def _send(self, message: discord.Message, reply: Reply) -> None:
        try:
            await message.reply(mention_author=False, **reply.kwargs())
        except discord.Forbidden:
            log.warning(
                "missing permission to reply in guild=%s channel=%s",
                message.guild.id if message.guild else None,
                message.channel.id,
            )
        except discord.HTTPException as exc:
            log.warning(
                "reply failed in guild=%s channel=%s: %s %s",
                message.guild.id if message.guild else None,
                message.channel.id,
                exc.status,
                exc.text[:200],
            )

    # --- slash commands ---------------------------------------------------------------------

    @app_commands.command(name="ask", description="Ask about the ELN recommendations")
    @app_commands.describe(
        question="Your question; pick a suggestion or type your own",
        private="Only you see the answer",
    )
    async def ask(
        self,
        interaction: Interaction,
        question: app_commands.Range[str, 1, 1000],
        private: bool = False,
    ) -> None:
        # A suggestion picked from autocomplete carries the entry id.
        picked = (await self.bot.knowledge_in(interaction.guild_id)).get(question.strip())
        if picked is not None:
            reply = await self.reply(picked, interaction)
        else:
            reply = too_long(question, self.bot.settings.max_question) or await self.reply(
                await self.match(question, interaction), interaction
            )
        await interaction.response.send_message(
            ephemeral=private or reply.private, **reply.kwargs()
        )

    @ask.autocomplete("question")
    async def ask_autocomplete(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        try:
            return self.suggest(await self.bot.served(interaction.guild_id), current)
        except Exception:  # autocomplete must never fail the user's typing
            log.exception("autocomplete failed")
            return []

    def suggest(
        self, served: ServedKnowledge, current: str, limit: int = 25
    ) -> list[app_commands.Choice[str]]:
        """Entries ranked by the matcher; the canonical questions when nothing is typed yet."""
        snapshot = served.snapshot
        if current.strip():
            entries = [c.entry for c in snapshot.matcher.rank(current[:200], limit)]
        else:
            entries = list(snapshot.knowledge.entries[:limit])
        return [
            app_commands.Choice(name=clip(e.question, render.CHOICE_MAX), value=e.id)
            for e in entries
        ]

    @app_commands.command(
        name="recommendation", description="One of the seven urgent actions the experts proposed"
    )
    @app_commands.describe(number="Which action, 1 to 7")
    async def recommendation(
        self, interaction: Interaction, number: app_commands.Range[int, 1, 7]
    ) -> None:
        entry = (await self.bot.knowledge_in(interaction.guild_id)).by_action(number)
        if entry is None:
            await send_private(interaction, f"I have no action {number} in my knowledge.")
            return
        await interaction.response.send_message(**(await self.reply(entry, interaction)).kwargs())

    async def ask_menu(self, interaction: Interaction, message: discord.Message) -> None:
        """Message menu "Ask the bot": answer the selected message."""
        text = strip_mentions(message.content, self.bot.user.id if self.bot.user else 0)
        if not text.strip():
            await send_private(interaction, "That message has no text I can answer.")
            return
        reply = too_long(text, self.bot.settings.max_question) or await self.reply(
            await self.match(text, interaction), interaction
        )
        await interaction.response.send_message(ephemeral=reply.private, **reply.kwargs())


def mentions_me(message: discord.Message, me: int) -> bool:
    """The bot itself, or its own managed role (people often pick that by mistake)."""
    return (
        any(u.id == me for u in message.mentions)
        or any(int(m) == me for m in MENTION.findall(message.content))
        or any(r.tags is not None and r.tags.bot_id == me for r in message.role_mentions)
    )


def strip_mentions(text: str, me: int, roles: tuple[int, ...] = ()) -> str:
    """``text`` without mentions of the bot (or its ``roles``); other mentions stay."""

    def drop(m: re.Match[str]) -> str:
        return "" if int(m.group(1)) in (me, *roles) else m.group(0)

    return MENTION.sub(drop, text).strip()
