"""Modals and confirm buttons for moderators. They only collect input; the cog acts on it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.core.knowledge import Entry
from bot.discord.replies import AnyInteraction, send_private

MODAL_VALUE_MAX = 4_000
#: An entry's fields as the store takes them (``sources`` as title/url mappings).
Fields = dict[str, Any]
Submit = Callable[[AnyInteraction, Fields], Awaitable[None]]
OnYes = Callable[[AnyInteraction], Awaitable[None]]
Input = discord.ui.TextInput["EntryModal"]


def parse_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def parse_sources(text: str) -> list[dict[str, str]]:
    """``Title | https://url`` per line; a bare URL uses itself as the title."""
    sources = []
    for line in parse_lines(text):
        title, _, url = line.rpartition("|")
        url = url.strip()
        sources.append({"title": title.strip() or url, "url": url})
    return sources


def format_sources(entry: Entry) -> str:
    return "\n".join(f"{s.title} | {s.url}" for s in entry.sources)


def _prefill(text: str) -> str | None:
    return text if text and len(text) <= MODAL_VALUE_MAX else None


class EntryModal(discord.ui.Modal):
    """Add a new entry, or edit one (pre-filled). Sources: one ``Title | URL`` per line."""

    def __init__(
        self, on_submit: Submit, *, entry: Entry | None = None, question: str = ""
    ) -> None:
        editing = entry is not None
        super().__init__(title="Edit entry" if editing else "Add an entry", timeout=900)
        self._on_submit = on_submit
        self.entry_id: Input = discord.ui.TextInput(
            label="Entry id (lowercase-with-hyphens)",
            max_length=64,
            min_length=1,
            default=entry.id if entry else None,
            placeholder="e.g. vienna-document",
        )
        self.question: Input = discord.ui.TextInput(
            label="Question",
            max_length=256,
            default=entry.question if entry else question or None,
        )
        self.answer: Input = discord.ui.TextInput(
            label="Answer (mark quotes; max 1,200 characters)",
            style=discord.TextStyle.paragraph,
            max_length=1_200,
            default=entry.answer if entry else None,
        )
        alternates = "\n".join(entry.alternates) if entry else ""
        self.alternates: Input = discord.ui.TextInput(
            label="Other ways to ask (one per line)",
            style=discord.TextStyle.paragraph,
            required=not editing,
            max_length=MODAL_VALUE_MAX,
            default=_prefill(alternates),
        )
        self.sources: Input = discord.ui.TextInput(
            label="Sources (Title | https://… per line)",
            style=discord.TextStyle.paragraph,
            max_length=MODAL_VALUE_MAX,
            default=_prefill(format_sources(entry)) if entry else None,
        )
        items = [self.question, self.answer, self.alternates, self.sources]
        if not editing:
            items.insert(0, self.entry_id)
        for item in items:
            self.add_item(item)
        self._editing = entry

    async def on_submit(self, interaction: AnyInteraction) -> None:
        fields: Fields = {
            "question": self.question.value.strip(),
            "answer": self.answer.value.strip(),
            "sources": parse_sources(self.sources.value),
        }
        alternates = parse_lines(self.alternates.value)
        if self._editing is None:
            fields["id"] = self.entry_id.value.strip()
            fields["alternates"] = alternates
        elif self.alternates.value.strip() or self.alternates.default is not None:
            fields["alternates"] = alternates
        await self._on_submit(interaction, fields)


class Confirm(discord.ui.View):
    """Yes/No buttons for the moderator who asked; anyone else is turned away."""

    def __init__(
        self,
        owner: int,
        on_yes: OnYes,
        *,
        label: str = "Confirm",
    ) -> None:
        super().__init__(timeout=300)
        self.owner = owner
        self._on_yes = on_yes
        self.yes.label = label

    async def interaction_check(self, interaction: AnyInteraction) -> bool:
        if interaction.user.id != self.owner:
            await send_private(interaction, "Only the moderator who started this can confirm it.")
            return False
        return True

    @discord.ui.button(label="Confirm", style=discord.ButtonStyle.danger)
    async def yes(self, interaction: AnyInteraction, _: discord.ui.Button[Confirm]) -> None:
        self.stop()
        await self._on_yes(interaction)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def no(self, interaction: AnyInteraction, _: discord.ui.Button[Confirm]) -> None:
        self.stop()
        await interaction.response.edit_message(
            content="Cancelled; nothing changed.", embed=None, view=None
        )
