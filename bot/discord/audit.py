"""The audit channel: where moderator edits and knowledge reloads are announced."""

from __future__ import annotations

import logging

import discord

from bot.core.text import clip
from bot.discord import render
from bot.discord.replies import NO_PINGS

log = logging.getLogger(__name__)


class AuditChannel:
    """Posts to the configured channel (none: posts go nowhere). Posting never raises: an
    audit line that cannot be delivered must not undo or hide the change it reports."""

    def __init__(self, client: discord.Client, channel_id: int | None) -> None:
        self._client = client
        self.channel_id = channel_id

    async def post(self, text: str) -> None:
        if self.channel_id is None:
            return
        # A partial channel needs no cache: the bot may not have seen the channel yet.
        channel = self._client.get_partial_messageable(self.channel_id)
        try:
            await channel.send(clip(text, render.CONTENT_MAX), allowed_mentions=NO_PINGS)
        except discord.HTTPException as exc:
            log.warning("cannot post to audit channel %s: %s", self.channel_id, exc)
