"""The /kb unanswered view: pick a question people asked, then attach it or add an entry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import discord

from bot.core.knowledge import Knowledge
from bot.core.text import clip
from bot.discord import render
from bot.discord.replies import AnyInteraction, send_private
from bot.discord.views import Menu
from bot.storage.usage import UnansweredGroup

Attach = Callable[[AnyInteraction, UnansweredGroup, str], Awaitable[None]]
#: The view's two select menus (discord.py infers their type from this, not the callback).
Picker = discord.ui.Select["UnansweredView"]
AddNew = Callable[[AnyInteraction, UnansweredGroup], Awaitable[None]]


def unanswered_embed(groups: Sequence[UnansweredGroup]) -> discord.Embed:
    lines = [
        f"**{i}.** {render.plain(clip(g.example, 150))} — asked {g.count}×"
        + (f", closest: `{g.closest[0]}`" if g.closest else "")
        for i, g in enumerate(groups, 1)
    ]
    return discord.Embed(
        title="Questions I could not answer",
        description=clip("\n".join(lines) or "Nothing unanswered. 🎉", render.DESCRIPTION_MAX),
        colour=render.COLOUR_UNSURE,
    ).set_footer(text="Pick a question, then attach it to an entry or add a new one.")


class UnansweredView(Menu):
    """Step 1: choose a question. Step 2: choose an entry for it, or open the add form."""

    def __init__(
        self,
        owner: int,
        groups: Sequence[UnansweredGroup],
        knowledge: Knowledge,
        attach: Attach,
        add_new: AddNew,
    ) -> None:
        super().__init__(timeout=600)
        self.owner = owner
        self.groups = {g.key: g for g in groups}
        self.knowledge = knowledge
        self._attach = attach
        self._add_new = add_new
        self.chosen: UnansweredGroup | None = None
        self.pick.options = [
            discord.SelectOption(
                label=clip(g.example, render.OPTION_MAX),
                value=g.key,
                description=f"asked {g.count}×",
            )
            for g in list(groups)[:25]
        ]
        if not self.pick.options:
            self.remove_item(self.pick)
        self.remove_item(self.target)
        self.remove_item(self.add_entry)

    async def interaction_check(self, interaction: AnyInteraction, /) -> bool:
        if not await super().interaction_check(interaction):
            return False
        if interaction.user.id != self.owner:
            await send_private(interaction, "This list belongs to another moderator.")
            return False
        return True

    @discord.ui.select(cls=Picker, placeholder="Choose a question…", row=0)
    async def pick(
        self,
        interaction: AnyInteraction,
        select: discord.ui.Select[UnansweredView],
    ) -> None:
        self.chosen = self.groups.get(select.values[0])
        if self.chosen is None:
            await send_private(interaction, "That question is gone.")
            return
        self.target.options = self._entry_options(self.chosen)
        for item in (self.target, self.add_entry):
            if item not in self.children:
                self.add_item(item)
        question = render.plain(clip(self.chosen.example, 300))
        await interaction.response.edit_message(
            content=f"Attach **{question}** to an entry as a new phrasing, or add a new entry "
            "for it.",
            view=self,
        )

    def _entry_options(self, group: UnansweredGroup) -> list[discord.SelectOption]:
        """The closest entries first, then the rest, up to Discord's 25 options."""
        ordered = [*group.closest, *(e.id for e in self.knowledge.entries)]
        ids = [i for i in dict.fromkeys(ordered) if self.knowledge.get(i) is not None][:25]
        return [
            discord.SelectOption(
                label=clip(self.knowledge.by_id[i].question, render.OPTION_MAX),
                value=i,
                description=clip(i, render.OPTION_MAX),
            )
            for i in ids
        ]

    @discord.ui.select(cls=Picker, placeholder="…attach it to this entry", row=1)
    async def target(
        self,
        interaction: AnyInteraction,
        select: discord.ui.Select[UnansweredView],
    ) -> None:
        if self.chosen is not None:
            await self._attach(interaction, self.chosen, select.values[0])

    @discord.ui.button(label="Add a new entry for it", style=discord.ButtonStyle.primary, row=2)
    async def add_entry(
        self, interaction: AnyInteraction, _: discord.ui.Button[UnansweredView]
    ) -> None:
        if self.chosen is not None:
            await self._add_new(interaction, self.chosen)
