"""Answers as Discord messages: the one reply function, and the buttons on answers.

``reply_for`` turns what was found (a match, or an entry someone picked) into the reply
every surface sends: mentions, DMs, answer channels, /ask, /recommendation, the message
menu, these buttons and the topic browser. ``answer`` is the same plus the usage record,
and is what the surfaces call.

The buttons are DynamicItems, so they keep working after a restart: each custom_id carries
what the click needs (entry id, who asked), and no state is kept between answer and click.
They live here with ``reply_for`` because each needs the other: an answer carries buttons,
and clicking one answers.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Self

import discord

from bot.core import smalltalk
from bot.core.knowledge import Entry, Knowledge
from bot.core.matching import Match, Status
from bot.discord import render
from bot.discord.client import QABot, bot_of
from bot.discord.recording import Source
from bot.discord.replies import NO_PINGS, AnyInteraction, Reply, send_private

log = logging.getLogger(__name__)
GONE_TEXT = "That entry is no longer in my knowledge. Try `/ask` again."
ButtonItem = discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]]


# --- the one reply function ---------------------------------------------------------------


def reply_for(
    found: Match | Entry, asker: int, knowledge: Knowledge, *, dismissable: bool = False
) -> Reply:
    """The reply for a match or a picked entry, the same on every surface.

    An answer is an embed with its buttons (with the matcher's confidence when it was
    matched); an unsure match offers its suggestions as buttons; anything else is the
    polite decline, meant for the asker only. ``dismissable`` adds a Dismiss button, for
    replies nobody asked for directly (answer channels).
    """
    if isinstance(found, Entry):
        return _answer(
            found,
            confidence=None,
            sibling=None,
            asker=asker,
            knowledge=knowledge,
            dismissable=dismissable,
        )
    if found.smalltalk is not None:
        return Reply(content=smalltalk.reply(found.smalltalk, render.SMALLTALK_HINT))
    if found.entry is not None:
        return _answer(
            found.entry,
            confidence=found.confidence,
            sibling=found.sibling,
            asker=asker,
            knowledge=knowledge,
            dismissable=dismissable,
        )
    if found.out_of_range is not None:
        return Reply(content=render.OUT_OF_RANGE_TEXT.format(count=found.item_count))
    if found.suggestions:
        return Reply(
            embed=render.unsure_embed(found),
            view=suggestion_view(found, asker, dismissable=dismissable),
        )
    return Reply(content=render.DECLINE_TEXT, private=found.status is Status.DECLINE)


async def answer(
    bot: QABot, found: Match | Entry, source: Source, *, dismissable: bool = False
) -> Reply:
    """``reply_for`` for whoever is behind ``source``, recorded for the moderators' stats;
    its buttons link within the knowledge of the server it came from."""
    bot.recorder.record(found, source)
    asker = source.user.id if isinstance(source, discord.Interaction) else source.author.id
    knowledge = await bot.knowledge_in(source.guild.id if source.guild else None)
    return reply_for(found, asker, knowledge, dismissable=dismissable)


def _answer(
    entry: Entry,
    *,
    confidence: float | None,
    sibling: Entry | None,
    asker: int,
    knowledge: Knowledge,
    dismissable: bool,
) -> Reply:
    return Reply(
        embed=render.answer_embed(entry, confidence),
        view=answer_view(entry, asker, knowledge, dismissable=dismissable, sibling=sibling),
    )


# --- the per-user limit, for every button and menu -------------------------------------------


async def admitted(interaction: AnyInteraction) -> bool:
    """The bot's one per-user limit (``UserLimit.admit``), where discord.py asks whether an
    interaction may run: the command tree, and the bot's buttons and menus below. Nothing
    else happens to an interaction over the limit."""
    return await bot_of(interaction).limit.admit(interaction)


class Limited:
    """Mixed into the bot's buttons: a click passes the per-user limit before its callback."""

    async def interaction_check(self, interaction: AnyInteraction, /) -> bool:
        return await admitted(interaction)


class Menu(discord.ui.View):
    """A menu with a timeout (topic browser, confirmations, the unanswered list): a choice or
    click passes the per-user limit first. Subclasses that also check who may use it call
    ``super().interaction_check`` first."""

    async def interaction_check(self, interaction: AnyInteraction, /) -> bool:
        return await admitted(interaction)


# --- the buttons ----------------------------------------------------------------------------


class AnswerButton(
    Limited, ButtonItem, template=r"eln:a:(?P<entry>[a-z0-9-]{1,64}):(?P<asker>\d{1,20})"
):
    """Show an entry's answer: "did you mean" choices and related questions."""

    def __init__(
        self, entry_id: str, text: str, asker: int, *, primary: bool = False, row: int = 0
    ) -> None:
        self.entry_id = entry_id
        self.asker = asker
        super().__init__(
            discord.ui.Button(
                label=render.label(text),
                style=discord.ButtonStyle.primary if primary else discord.ButtonStyle.secondary,
                custom_id=f"eln:a:{entry_id}:{asker}",
                row=row,
            )
        )

    @classmethod
    def of(cls, entry: Entry, asker: int, *, primary: bool = False, row: int = 0) -> Self:
        return cls(entry.id, entry.question, asker, primary=primary, row=row)

    @classmethod
    async def from_custom_id(
        cls,
        interaction: AnyInteraction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        label = getattr(item, "label", None) or match["entry"]
        return cls(match["entry"], label, int(match["asker"]), row=item.row or 0)

    async def callback(self, interaction: AnyInteraction) -> None:
        bot = bot_of(interaction)
        entry = (await bot.knowledge_in(interaction.guild_id)).get(self.entry_id)
        if entry is None:
            await send_private(interaction, GONE_TEXT)
            return
        message = interaction.message
        # The asker's own "did you mean" is replaced in place, keeping its Dismiss button.
        in_place = (
            message is not None and _is_suggestion(message) and interaction.user.id == self.asker
        )
        dismissable = in_place and message is not None and _has_dismiss(message)
        reply = await answer(bot, entry, interaction, dismissable=dismissable)
        if in_place:
            await interaction.response.edit_message(
                content=None, embed=reply.embed, view=reply.view, allowed_mentions=NO_PINGS
            )
        else:
            await interaction.response.send_message(ephemeral=True, **reply.kwargs())


class SourceButton(Limited, ButtonItem, template=r"eln:s:(?P<entry>[a-z0-9-]{1,64})"):
    """Quote the passage of the source document an answer rests on."""

    def __init__(self, entry_id: str, row: int = 1) -> None:
        self.entry_id = entry_id
        super().__init__(
            discord.ui.Button(
                label="Show source",
                style=discord.ButtonStyle.secondary,
                custom_id=f"eln:s:{entry_id}",
                row=row,
                emoji="📄",
            )
        )

    @classmethod
    async def from_custom_id(
        cls,
        interaction: AnyInteraction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        return cls(match["entry"], row=item.row or 1)

    async def callback(self, interaction: AnyInteraction) -> None:
        knowledge = await bot_of(interaction).knowledge_in(interaction.guild_id)
        entry = knowledge.get(self.entry_id)
        if entry is None:
            await send_private(interaction, GONE_TEXT)
            return
        await interaction.response.send_message(
            embed=render.passage_embed(entry), ephemeral=True, allowed_mentions=NO_PINGS
        )


class VoteButton(Limited, ButtonItem, template=r"eln:v:(?P<entry>[a-z0-9-]{1,64}):(?P<vote>[01])"):
    """Helpful / not helpful feedback on an answer."""

    def __init__(self, entry_id: str, helpful: bool, row: int = 1) -> None:
        self.entry_id = entry_id
        self.helpful = helpful
        super().__init__(
            discord.ui.Button(
                emoji="👍" if helpful else "👎",
                style=discord.ButtonStyle.secondary,
                custom_id=f"eln:v:{entry_id}:{int(helpful)}",
                row=row,
            )
        )

    @classmethod
    async def from_custom_id(
        cls,
        interaction: AnyInteraction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        return cls(match["entry"], match["vote"] == "1", row=item.row or 1)

    async def callback(self, interaction: AnyInteraction) -> None:
        await bot_of(interaction).recorder.feedback(self.entry_id, self.helpful, interaction)
        text = (
            "Thanks, glad it helped!"
            if self.helpful
            else "Thanks for telling us. The moderators review answers people found unhelpful."
        )
        await send_private(interaction, text)


class DismissButton(Limited, ButtonItem, template=r"eln:d:(?P<asker>\d{1,20})"):
    """Lets the asker (or anyone who can manage messages) remove an unprompted reply."""

    def __init__(self, asker: int, row: int = 1) -> None:
        self.asker = asker
        super().__init__(
            discord.ui.Button(
                label="Dismiss",
                style=discord.ButtonStyle.danger,
                custom_id=f"eln:d:{asker}",
                row=row,
            )
        )

    @classmethod
    async def from_custom_id(
        cls,
        interaction: AnyInteraction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        return cls(int(match["asker"]), row=item.row or 1)

    async def callback(self, interaction: AnyInteraction) -> None:
        if interaction.user.id != self.asker and not interaction.permissions.manage_messages:
            await send_private(interaction, "Only the person who asked can dismiss this.")
            return
        await interaction.response.defer()
        try:
            await interaction.delete_original_response()
        except discord.HTTPException:
            log.warning("could not delete dismissed reply in channel %s", interaction.channel_id)


#: Registered once on the bot; they route clicks on any message by custom_id.
DYNAMIC_ITEMS = (AnswerButton, SourceButton, VoteButton, DismissButton)


def _is_suggestion(message: discord.Message) -> bool:
    return any(e.title == render.UNSURE_TITLE for e in message.embeds)


def _has_dismiss(message: discord.Message) -> bool:
    return any(
        str(getattr(child, "custom_id", "")).startswith("eln:d:")
        for row in message.components
        for child in getattr(row, "children", ())
    )


# --- the views they sit in ------------------------------------------------------------------


def answer_view(
    entry: Entry,
    asker: int,
    knowledge: Knowledge,
    *,
    dismissable: bool = False,
    sibling: Entry | None = None,
) -> discord.ui.View:
    """Related questions on the first row (a close sibling the question may have meant
    first); source, feedback and dismiss on the second."""
    view = discord.ui.View(timeout=None)
    ids = dict.fromkeys([*([sibling.id] if sibling else []), *entry.related])
    related = [e for rid in ids if (e := knowledge.get(rid)) is not None]
    for rel in related[:4]:
        view.add_item(AnswerButton.of(rel, asker, row=0))
    view.add_item(SourceButton(entry.id))
    view.add_item(VoteButton(entry.id, True))
    view.add_item(VoteButton(entry.id, False))
    if dismissable:
        view.add_item(DismissButton(asker))
    return _unstored(view)


def suggestion_view(match: Match, asker: int, *, dismissable: bool = False) -> discord.ui.View:
    """One button per suggestion, the likeliest first and highlighted."""
    view = discord.ui.View(timeout=None)
    for i, entry in enumerate(match.suggestions):
        view.add_item(AnswerButton.of(entry, asker, primary=i == 0, row=0))
    if dismissable:
        view.add_item(DismissButton(asker))
    return _unstored(view)


def _unstored(view: discord.ui.View) -> discord.ui.View:
    """A view discord.py sends but does not keep: its buttons are the DynamicItems the bot
    registered once (``DYNAMIC_ITEMS``), which route clicks on any message by custom_id.

    Kept, it does harm: discord.py gives a view sent ephemerally a 15-minute timeout, and
    when that expires ``ViewStore.remove_view`` unregisters the view's dynamic item classes,
    so the buttons on every answer stop working until the next answer is sent; the timer
    task also outlives ``bot.close()``. A stopped view is never stored.
    """
    view.stop()
    return view
