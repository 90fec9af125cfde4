"""Looking things up without a question: /topics, /sources, /help."""

from __future__ import annotations

from collections.abc import Sequence

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.knowledge import Entry, Knowledge
from bot.core.text import clip
from bot.discord import render
from bot.discord.client import Interaction, QABot
from bot.discord.replies import NO_PINGS, AnyInteraction, send_private
from bot.discord.views import Menu, answer

PAGE = 25  # a select menu holds 25 options


def page_of(entries: Sequence[Entry], page: int) -> list[Entry]:
    """One select menu's worth of entries."""
    return list(entries[page * PAGE : (page + 1) * PAGE])


class TopicView(Menu):
    """A tag menu, then a question menu for the chosen tag; private to whoever opened it."""

    def __init__(
        self, bot: QABot, knowledge: Knowledge, tag: str | None = None, page: int = 0
    ) -> None:
        super().__init__(timeout=300)
        self.bot = bot
        self.knowledge = knowledge  # the knowledge of the server it was opened in
        bot.menus.track(self)  # close() stops its timer
        self.add_item(TagSelect(knowledge, tag))
        if tag is not None:
            entries = knowledge.by_tag.get(tag, ())
            pages = max(1, -(-len(entries) // PAGE))
            page = min(page, pages - 1)
            chunk = page_of(entries, page)
            if chunk:
                self.add_item(QuestionSelect(chunk))
            if pages > 1:
                self.add_item(PageButton(tag, page - 1, "◀ Previous", disabled=page == 0))
                self.add_item(PageButton(tag, page + 1, "Next ▶", disabled=page >= pages - 1))


class TagSelect(discord.ui.Select[TopicView]):
    def __init__(self, knowledge: Knowledge, current: str | None) -> None:
        counts = {t: len(entries) for t, entries in knowledge.by_tag.items()}
        options = [
            discord.SelectOption(
                label=clip(t, render.OPTION_MAX),
                value=t[: render.OPTION_MAX],
                description=f"{n} question(s)",
                default=t == current,
            )
            for t, n in list(counts.items())[:PAGE]
        ]
        super().__init__(placeholder="Choose a topic…", options=options, row=0)

    async def callback(self, interaction: AnyInteraction) -> None:
        assert self.view is not None
        tag = self.values[0]
        view = self.view
        entries = view.knowledge.by_tag.get(tag, ())
        await interaction.response.edit_message(
            embed=render.topic_embed(tag, page_of(entries, 0)),
            view=TopicView(view.bot, view.knowledge, tag),
        )


class QuestionSelect(discord.ui.Select[TopicView]):
    def __init__(self, entries: list[Entry]) -> None:
        options = [
            discord.SelectOption(label=clip(e.question, render.OPTION_MAX), value=e.id)
            for e in entries
        ]
        super().__init__(placeholder="Choose a question…", options=options, row=1)

    async def callback(self, interaction: AnyInteraction) -> None:
        assert self.view is not None
        bot = self.view.bot
        entry = self.view.knowledge.get(self.values[0])
        if entry is None:
            await send_private(interaction, "That question was just removed.")
            return
        reply = await answer(bot, entry, interaction)
        await interaction.response.send_message(ephemeral=True, **reply.kwargs())


class PageButton(discord.ui.Button[TopicView]):
    def __init__(self, tag: str, page: int, text: str, *, disabled: bool) -> None:
        super().__init__(label=text, style=discord.ButtonStyle.secondary, disabled=disabled, row=2)
        self.tag = tag
        self.page = page

    async def callback(self, interaction: AnyInteraction) -> None:
        assert self.view is not None
        bot = self.view.bot
        knowledge = self.view.knowledge
        chunk = page_of(knowledge.by_tag.get(self.tag, ()), self.page)
        await interaction.response.edit_message(
            embed=render.topic_embed(self.tag, chunk),
            view=TopicView(bot, knowledge, self.tag, self.page),
        )


class BrowseCog(commands.Cog, name="Browse"):
    def __init__(self, bot: QABot) -> None:
        self.bot = bot

    @app_commands.command(name="topics", description="Browse the questions I can answer, by topic")
    @app_commands.describe(topic="Jump straight to a topic")
    async def topics(self, interaction: Interaction, topic: str | None = None) -> None:
        knowledge = await self.bot.knowledge_in(interaction.guild_id)
        if topic is not None and topic not in knowledge.tags:
            topic = None
        if topic is None:
            lines = [
                f"• **{render.plain(t)}** — {len(entries)} question(s)"
                for t, entries in knowledge.by_tag.items()
            ]
            embed = discord.Embed(
                title="Topics",
                colour=render.COLOUR_INFO,
                description=clip("\n".join(lines), render.DESCRIPTION_MAX),
            )
        else:
            embed = render.topic_embed(topic, page_of(knowledge.by_tag[topic], 0))
        await interaction.response.send_message(
            embed=embed, view=TopicView(self.bot, knowledge, topic), ephemeral=True
        )

    @topics.autocomplete("topic")
    async def topic_autocomplete(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        tags = (await self.bot.knowledge_in(interaction.guild_id)).tags
        wanted = current.casefold().strip()
        return [
            app_commands.Choice(name=t[:100], value=t[:100]) for t in tags if wanted in t.casefold()
        ][:25]

    @app_commands.command(name="sources", description="Where to read the original documents")
    async def sources(self, interaction: Interaction) -> None:
        await interaction.response.send_message(
            embed=render.sources_embed(await self.bot.knowledge_in(interaction.guild_id)),
            allowed_mentions=NO_PINGS,
        )

    @app_commands.command(name="help", description="What this bot answers and how to ask")
    async def help(self, interaction: Interaction) -> None:
        await interaction.response.send_message(
            embed=render.help_embed(
                bool(self.bot.guild_settings.get(interaction.guild_id).answer_channels),
                retention_days=self.bot.settings.retention_days,
            ),
            ephemeral=True,
        )
