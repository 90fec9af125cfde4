"""Audit channels: where moderator edits and knowledge reloads are announced.

Each server's changes go to that server's audit channel only; global changes (the home
server's, the command line's, a reloaded shipped file) to the operator's.
"""

from __future__ import annotations

import logging

import discord

from bot.core.text import clip
from bot.discord import render
from bot.discord.replies import NO_PINGS
from bot.storage.guild_settings import GuildSettingsStore

log = logging.getLogger(__name__)


class AuditChannel:
    """Posts to the audit channel of whoever's knowledge changed (none set: nowhere).
    Posting never raises: an audit line that cannot be delivered must not undo or hide
    the change it reports."""

    def __init__(self, client: discord.Client, settings: GuildSettingsStore) -> None:
        self._client = client
        self._settings = settings

    def channel_for(self, guild_id: int | None) -> int | None:
        """A server's own audit channel; for global changes (None), the operator's."""
        home = self._settings.home_guild
        return self._settings.get(home if guild_id is None else guild_id).audit_channel

    async def post(self, text: str, guild_id: int | None) -> bool:
        """Post to the audit channel of ``guild_id``; whether it was delivered (none set: no)."""
        channel_id = self.channel_for(guild_id)
        return channel_id is not None and await self.send(channel_id, text)

    async def send(self, channel_id: int, text: str) -> bool:
        """Post to one channel: for ``post``, and for the channel an admin just stopped using,
        which hears that it was turned off. False (and logged) when Discord refused it."""
        # A partial channel needs no cache: the bot may not have seen the channel yet.
        channel = self._client.get_partial_messageable(channel_id)
        try:
            await channel.send(clip(text, render.CONTENT_MAX), allowed_mentions=NO_PINGS)
        except discord.HTTPException as exc:
            log.warning("cannot post to audit channel %s: %s", channel_id, exc)
            return False
        return True
