"""What the bot sends back, independent of where it goes, and the one way to say something
privately to whoever used a command, button or menu.

Nothing here knows the bot class, so the command tree, the cogs and the views all import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

import discord

from bot.core.text import clip
from bot.discord import render

NO_PINGS = discord.AllowedMentions.none()
#: An interaction as discord.py's UI callbacks declare it, for any client. Helpers that need
#: nothing of the bot take this; command callbacks take ``bot.discord.client.Interaction``.
AnyInteraction: TypeAlias = discord.Interaction[discord.Client]


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply for any surface. ``private`` says it is for the asker's eyes only (a decline
    or a refusal); surfaces that can answer ephemerally honour it, message replies cannot."""

    content: str | None = None
    embed: discord.Embed | None = None
    view: discord.ui.View | None = None
    private: bool = False

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``Message.reply`` or ``InteractionResponse.send_message``."""
        out: dict[str, Any] = {"allowed_mentions": NO_PINGS}
        if self.content is not None:
            out["content"] = self.content
        if self.embed is not None:
            out["embed"] = self.embed
        if self.view is not None:
            out["view"] = self.view
        return out


def too_long(text: str, limit: int) -> Reply | None:
    """The polite refusal for an over-long question (it is never matched), else None."""
    if len(text) <= limit:
        return None
    return Reply(content=render.TOO_LONG_TEXT.format(limit=limit), private=True)


async def send_private(
    interaction: AnyInteraction,
    text: str,
    *,
    view: discord.ui.View | None = None,
) -> None:
    """Say ``text`` to the user only, whether or not the interaction was answered already.

    Clipped to Discord's limit and pinging nobody. HTTP errors propagate, so a reply that
    cannot be delivered reaches the command tree's error boundary like any other failure.
    """
    text = clip(text, render.CONTENT_MAX)
    extra: dict[str, Any] = {} if view is None else {"view": view}
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_PINGS, **extra)
    else:
        await interaction.response.send_message(
            text, ephemeral=True, allowed_mentions=NO_PINGS, **extra
        )
