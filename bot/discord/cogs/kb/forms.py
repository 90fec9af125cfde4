"""Modals and confirm buttons for moderators. They only collect input; the cog acts on it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.core.knowledge import DEFAULT_LIMITS as LIMITS
from bot.core.knowledge import Entry
from bot.core.text import clip
from bot.discord.replies import AnyInteraction, send_private
from bot.discord.views import Menu

MODAL_VALUE_MAX = 4_000  # the most a text input holds
KEEP_PLACEHOLDER = "Too long to show here; leave empty to keep it as it is"
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


def whole(text: str, max_length: int) -> str | None:
    """``text`` if it fits a field whole, else None: a list cut short would lose lines."""
    return text if text and len(text) <= max_length else None


def text_field(
    label: str,
    max_length: int,
    default: str | None = None,
    *,
    paragraph: bool = False,
    required: bool = True,
    placeholder: str | None = None,
) -> Input:
    """A text input whose pre-filled value fits its ``max_length`` (Discord refuses more)."""
    return discord.ui.TextInput(
        label=label,
        style=discord.TextStyle.paragraph if paragraph else discord.TextStyle.short,
        max_length=max_length,
        required=required,
        default=clip(default, max_length) if default else None,
        placeholder=placeholder,
    )


class EntryModal(discord.ui.Modal):
    """Add a new entry, or edit one (pre-filled). Sources: one ``Title | URL`` per line.

    ``question`` pre-fills a new entry's question (a member's, from /kb unanswered), on one
    line and clipped to the field. When editing, a list too long to pre-fill whole is left
    empty, and left empty it stays as it is.
    """

    def __init__(
        self, on_submit: Submit, *, entry: Entry | None = None, question: str = ""
    ) -> None:
        editing = entry is not None
        super().__init__(title="Edit entry" if editing else "Add an entry", timeout=900)
        self._on_submit = on_submit
        self._editing = entry
        self.entry_id = text_field(
            "Entry id (lowercase-with-hyphens)", 64, placeholder="e.g. vienna-document"
        )
        self.question = text_field(
            "Question", LIMITS.max_question, entry.question if entry else " ".join(question.split())
        )
        self.answer = text_field(
            f"Answer (mark quotes; max {LIMITS.max_answer:,} characters)",
            LIMITS.max_answer,
            entry.answer if entry else None,
            paragraph=True,
        )
        self.alternates = self._list_field(
            "Other ways to ask (one per line)", "\n".join(entry.alternates) if entry else None
        )
        self.sources = self._list_field(
            "Sources (Title | https://… per line)", format_sources(entry) if entry else None
        )
        items = [self.question, self.answer, self.alternates, self.sources]
        if not editing:
            items.insert(0, self.entry_id)
        for item in items:
            self.add_item(item)

    def _list_field(self, label: str, current: str | None) -> Input:
        """One item per line; when editing, pre-filled whole or else left out of the change."""
        default = whole(current or "", MODAL_VALUE_MAX)
        kept = self._editing is not None and default is None
        return text_field(
            label,
            MODAL_VALUE_MAX,
            default,
            paragraph=True,
            required=self._editing is None,
            placeholder=KEEP_PLACEHOLDER if kept else None,
        )

    def _changed(self, field: Input) -> bool:
        """A list field the moderator filled in, or one that was pre-filled (and edited)."""
        return self._editing is None or bool(field.value.strip()) or field.default is not None

    async def on_submit(self, interaction: AnyInteraction) -> None:
        fields: Fields = {
            "question": self.question.value.strip(),
            "answer": self.answer.value.strip(),
        }
        if self._editing is None:
            fields["id"] = self.entry_id.value.strip()
        if self._changed(self.alternates):
            fields["alternates"] = parse_lines(self.alternates.value)
        if self._changed(self.sources):
            fields["sources"] = parse_sources(self.sources.value)
        await self._on_submit(interaction, fields)


class Confirm(Menu):
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

    async def interaction_check(self, interaction: AnyInteraction, /) -> bool:
        if not await super().interaction_check(interaction):
            return False
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
