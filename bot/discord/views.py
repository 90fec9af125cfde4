"""Buttons on the bot's answers. They are DynamicItems, so they keep working after a restart.

Each custom_id carries what the click needs (entry id, who asked), so no state is kept
between the answer and the click.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord

from bot.core.knowledge import Entry
from bot.core.matching import Match
from bot.discord import render

if TYPE_CHECKING:
    from bot.discord.bot import QABot

log = logging.getLogger(__name__)
NO_PINGS = discord.AllowedMentions.none()
GONE_TEXT = "That entry is no longer in my knowledge. Try `/ask` again."


def _bot(interaction: discord.Interaction[Any]) -> QABot:
    return interaction.client  # type: ignore[return-value]


class _Rebuilt:
    """discord.py rebuilds a clicked button from its custom_id; each class says how."""

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Button[Any],
        match: re.Match[str],
        /,
    ) -> Any:
        return cls.from_match(match, item)  # type: ignore[attr-defined]


class AnswerButton(
    _Rebuilt,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"eln:a:(?P<entry>[a-z0-9-]{1,64}):(?P<asker>\d{1,20})",
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
    def of(cls, entry: Entry, asker: int, *, primary: bool = False, row: int = 0) -> AnswerButton:
        return cls(entry.id, entry.question, asker, primary=primary, row=row)

    @classmethod
    def from_match(cls, match: re.Match[str], item: discord.ui.Button[Any]) -> AnswerButton:
        return cls(
            match["entry"], item.label or match["entry"], int(match["asker"]), row=item.row or 0
        )

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot = _bot(interaction)
        entry = bot.service.snapshot.knowledge.get(self.entry_id)
        if entry is None:
            await interaction.response.send_message(GONE_TEXT, ephemeral=True)
            return
        bot.record_answer(entry, interaction)
        embed = render.answer_embed(entry)
        message = interaction.message
        in_place = (
            message is not None
            and _is_suggestion_message(message)
            and interaction.user.id == self.asker
        )
        # Replacing an unprompted "did you mean" keeps its Dismiss button.
        view = answer_view(
            entry, interaction.user.id, bot, dismissable=in_place and _has_dismiss(message)
        )
        if in_place:
            await interaction.response.edit_message(
                content=None, embed=embed, view=view, allowed_mentions=NO_PINGS
            )
        else:
            await interaction.response.send_message(
                embed=embed, view=view, ephemeral=True, allowed_mentions=NO_PINGS
            )


class SourceButton(
    _Rebuilt,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"eln:s:(?P<entry>[a-z0-9-]{1,64})",
):
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
    def from_match(cls, match: re.Match[str], item: discord.ui.Button[Any]) -> SourceButton:
        return cls(match["entry"], row=item.row or 1)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        entry = _bot(interaction).service.snapshot.knowledge.get(self.entry_id)
        if entry is None:
            await interaction.response.send_message(GONE_TEXT, ephemeral=True)
            return
        await interaction.response.send_message(
            embed=render.passage_embed(entry), ephemeral=True, allowed_mentions=NO_PINGS
        )


class VoteButton(
    _Rebuilt,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"eln:v:(?P<entry>[a-z0-9-]{1,64}):(?P<vote>[01])",
):
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
    def from_match(cls, match: re.Match[str], item: discord.ui.Button[Any]) -> VoteButton:
        return cls(match["entry"], match["vote"] == "1", row=item.row or 1)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _bot(interaction).record_feedback(self.entry_id, self.helpful, interaction)
        text = (
            "Thanks, glad it helped!"
            if self.helpful
            else ("Thanks for telling us. The moderators review answers people found unhelpful.")
        )
        await interaction.response.send_message(text, ephemeral=True)


class DismissButton(
    _Rebuilt, discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"eln:d:(?P<asker>\d{1,20})"
):
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
    def from_match(cls, match: re.Match[str], item: discord.ui.Button[Any]) -> DismissButton:
        return cls(int(match["asker"]), row=item.row or 1)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        perms = getattr(interaction.permissions, "manage_messages", False)
        if interaction.user.id != self.asker and not perms:
            await interaction.response.send_message(
                "Only the person who asked can dismiss this.", ephemeral=True
            )
            return
        await interaction.response.defer()
        try:
            await interaction.delete_original_response()
        except discord.HTTPException:
            log.warning("could not delete dismissed reply in channel %s", interaction.channel_id)


DYNAMIC_ITEMS = (AnswerButton, SourceButton, VoteButton, DismissButton)


def _is_suggestion_message(message: discord.Message) -> bool:
    return any(e.title == render.UNSURE_TITLE for e in message.embeds)


def _has_dismiss(message: discord.Message | None) -> bool:
    rows = message.components if message is not None else []
    return any(
        str(getattr(child, "custom_id", "")).startswith("eln:d:")
        for row in rows
        for child in getattr(row, "children", ())
    )


def answer_view(
    entry: Entry, asker: int, bot: QABot, *, dismissable: bool = False
) -> discord.ui.View:
    """Related questions on the first row; source, feedback and dismiss on the second."""
    view = discord.ui.View(timeout=None)
    knowledge = bot.service.snapshot.knowledge
    related = [e for rid in entry.related if (e := knowledge.get(rid)) is not None]
    for rel in related[:4]:
        view.add_item(AnswerButton.of(rel, asker, row=0))
    view.add_item(SourceButton(entry.id))
    view.add_item(VoteButton(entry.id, True))
    view.add_item(VoteButton(entry.id, False))
    if dismissable:
        view.add_item(DismissButton(asker))
    return _unstored(view)


def suggestion_view(match: Match, asker: int, *, dismissable: bool = False) -> discord.ui.View:
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
