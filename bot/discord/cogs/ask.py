"""Answering: mentions, DMs, answer channels, /ask with autocomplete, /recommendation, and
the "Ask the bot" message menu. Thin: the decisions are the matcher's."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.config import Rate
from bot.core.knowledge import Entry
from bot.core.matching import Match, Status
from bot.core.normalise import looks_like_question
from bot.discord import render
from bot.discord.ratelimit import SlidingWindow
from bot.discord.views import NO_PINGS, answer_view, suggestion_view

if TYPE_CHECKING:
    from bot.discord.bot import QABot

log = logging.getLogger(__name__)
QUIET_REPLY = Rate(1, 600.0)  # unprompted declines: one short reply per user per 10 minutes


@dataclass(frozen=True, slots=True)
class Reply:
    """What to send back, independent of where it goes."""

    content: str | None = None
    embed: discord.Embed | None = None
    view: discord.ui.View | None = None

    def kwargs(self) -> dict[str, Any]:
        out: dict[str, Any] = {"allowed_mentions": NO_PINGS}
        if self.content is not None:
            out["content"] = self.content
        if self.embed is not None:
            out["embed"] = self.embed
        if self.view is not None:
            out["view"] = self.view
        return out


class AskCog(commands.Cog, name="Ask"):
    def __init__(self, bot: QABot) -> None:
        self.bot = bot
        self.quiet = SlidingWindow(QUIET_REPLY)
        self.menu = app_commands.ContextMenu(name="Ask the bot", callback=self.ask_menu)
        bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    # --- building replies ---------------------------------------------------------------

    def reply_for(
        self,
        match: Match,
        asker: int,
        *,
        unprompted: bool = False,
        source: discord.Interaction[Any] | discord.Message,
    ) -> Reply:
        """The reply for a match, recording it for the moderators' statistics."""
        entry = match.entry
        if entry is not None:
            self.bot.record_answer(entry, source)
            return Reply(
                embed=render.answer_embed(entry, match.score),
                view=answer_view(entry, asker, self.bot, dismissable=unprompted),
            )
        closest = [c.entry.id for c in match.candidates[:3]]
        self.bot.record_unanswered(match.question, source, closest, match.score)
        if match.suggestions:
            return Reply(
                embed=render.unsure_embed(match),
                view=suggestion_view(match, asker, dismissable=unprompted),
            )
        return Reply(content=render.DECLINE_TEXT)

    def entry_reply(
        self, entry: Entry, asker: int, source: discord.Interaction[Any] | discord.Message
    ) -> Reply:
        self.bot.record_answer(entry, source)
        return Reply(embed=render.answer_embed(entry), view=answer_view(entry, asker, self.bot))

    def too_long(self, text: str) -> str | None:
        """The polite refusal for an over-long question (it is never matched), else None."""
        limit = self.bot.settings.max_question
        return render.TOO_LONG_TEXT.format(limit=limit) if len(text) > limit else None

    def rate_limited(self, user_id: int, channel_id: int | None) -> float:
        wait = self.bot.user_limit.hit(user_id)
        if not wait and channel_id is not None:
            wait = self.bot.channel_limit.hit(channel_id)
        return wait

    # --- messages -------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        me = self.bot.user
        if message.author.bot or me is None or message.author.id == me.id:
            return
        direct = message.guild is None or _mentions(message, me.id)
        unprompted = not direct and self._in_answer_channel(message)
        if not (direct or unprompted):
            return
        own_roles = tuple(r.id for r in message.role_mentions if r.tags and r.tags.bot_id == me.id)
        text = _strip_mentions(message.content, me.id, own_roles)
        if unprompted and not looks_like_question(text):
            return
        reply = self._message_reply(message, text, unprompted=unprompted)
        if reply is not None:
            await self._send(message, reply)

    def _message_reply(
        self, message: discord.Message, text: str, *, unprompted: bool
    ) -> Reply | None:
        if not text.strip():
            return Reply(embed=render.help_embed(bool(self.bot.settings.answer_channels)))
        wait = self.rate_limited(message.author.id, message.channel.id)
        if wait:
            return None if unprompted else self._slow_down_once(message.author.id, wait)
        if refusal := self.too_long(text):
            if unprompted and self.quiet.hit(("long", message.author.id, message.channel.id)):
                return None
            return Reply(content=refusal)
        match = self.bot.service.match(text, strict=unprompted)
        if (
            unprompted
            and match.entry is None
            and self.quiet.hit((message.author.id, message.channel.id))
        ):
            return None
        return self.reply_for(match, message.author.id, unprompted=unprompted, source=message)

    def _slow_down_once(self, user_id: int, wait: float) -> Reply | None:
        if self.quiet.hit(("slow", user_id)):
            return None
        return Reply(content=render.slow_down(wait))

    def _in_answer_channel(self, message: discord.Message) -> bool:
        channels = self.bot.settings.answer_channels
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
        interaction: discord.Interaction[Any],
        question: app_commands.Range[str, 1, 1000],
        private: bool = False,
    ) -> None:
        wait = self.rate_limited(interaction.user.id, None)
        if wait:
            await self._private(interaction, render.slow_down(wait))
            return
        entry = self.bot.service.snapshot.knowledge.get(question.strip())
        if entry is not None:  # a suggestion picked from autocomplete carries the entry id
            reply = self.entry_reply(entry, interaction.user.id, interaction)
        elif refusal := self.too_long(question):
            reply = Reply(content=refusal)
            private = True
        else:
            match = self.bot.service.match(question)
            reply = self.reply_for(match, interaction.user.id, source=interaction)
            private = private or match.status is Status.DECLINE
        await interaction.response.send_message(ephemeral=private, **reply.kwargs())

    @ask.autocomplete("question")
    async def ask_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        try:
            return self.suggest(current)
        except Exception:  # autocomplete must never fail the user's typing
            log.exception("autocomplete failed")
            return []

    def suggest(self, current: str, limit: int = 25) -> list[app_commands.Choice[str]]:
        """Entries ranked by the matcher; the canonical questions when nothing is typed yet."""
        snapshot = self.bot.service.snapshot
        if current.strip():
            entries = [c.entry for c in snapshot.matcher.rank(current[:200], limit)]
        else:
            entries = list(snapshot.knowledge.entries[:limit])
        return [
            app_commands.Choice(name=render.clip(e.question, render.CHOICE_MAX), value=e.id)
            for e in entries
        ]

    @app_commands.command(
        name="recommendation", description="One of the seven urgent actions the experts proposed"
    )
    @app_commands.describe(number="Which action, 1 to 7")
    async def recommendation(
        self, interaction: discord.Interaction[Any], number: app_commands.Range[int, 1, 7]
    ) -> None:
        entry = self.bot.service.snapshot.knowledge.by_action(number)
        if entry is None:
            await self._private(interaction, f"I have no action {number} in my knowledge.")
            return
        reply = self.entry_reply(entry, interaction.user.id, interaction)
        await interaction.response.send_message(**reply.kwargs())

    async def ask_menu(
        self, interaction: discord.Interaction[Any], message: discord.Message
    ) -> None:
        """Message menu "Ask the bot": answer the selected message."""
        text = _strip_mentions(message.content, self.bot.user.id if self.bot.user else 0)
        if not text.strip():
            await self._private(interaction, "That message has no text I can answer.")
            return
        if refusal := self.too_long(text):
            await self._private(interaction, refusal)
            return
        match = self.bot.service.match(text)
        reply = self.reply_for(match, interaction.user.id, source=interaction)
        await interaction.response.send_message(
            ephemeral=match.status is Status.DECLINE, **reply.kwargs()
        )

    async def _private(self, interaction: discord.Interaction[Any], text: str) -> None:
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)


_MENTION = re.compile(r"<@[!&]?(\d{5,25})>")


def _mentions(message: discord.Message, me: int) -> bool:
    """The bot itself, or its own managed role (people often pick that by mistake)."""
    return (
        any(u.id == me for u in message.mentions)
        or any(int(m) == me for m in _MENTION.findall(message.content))
        or any(r.tags is not None and r.tags.bot_id == me for r in message.role_mentions)
    )


def _strip_mentions(text: str, me: int, roles: tuple[int, ...] = ()) -> str:
    def drop(m: re.Match[str]) -> str:
        return "" if int(m.group(1)) in (me, *roles) else m.group(0)

    return _MENTION.sub(drop, text).strip()
