"""Slash-command sync: only when the declared commands changed (or as ELN_SYNC_COMMANDS says).

Discord rate-limits command registration, so each start compares a digest of what it would
send with a marker the last sync left in the database, and skips the PUT when nothing
changed. Processes sharing one database share the marker, so a second shard does not
sync again what the first just synced.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging

import discord
from discord import app_commands

from bot.config import Settings
from bot.errors import StoreError
from bot.storage.database import Database

log = logging.getLogger(__name__)


async def sync_commands(
    tree: app_commands.CommandTree[discord.Client],
    settings: Settings,
    application_id: int | None,
    database: Database,
) -> None:
    """Sync ``tree`` globally, or to ``settings.guild_id``; never raises for an HTTP error."""
    mode = settings.sync_commands
    if mode == "never":
        return
    guild = discord.Object(settings.guild_id) if settings.guild_id else None
    if guild is not None:
        tree.copy_global_to(guild=guild)
    digest = _digest(tree, guild, settings.api_base)
    where = f"to guild {guild.id}" if guild else "globally"
    marker = f"commands:{application_id}:{guild.id if guild else 'global'}"
    if mode == "auto" and await _read(database, marker) == digest:
        log.info("slash commands unchanged; not syncing")
        return
    try:
        synced = await tree.sync(guild=guild)
    except discord.HTTPException as exc:
        log.error("could not sync slash commands: %s", exc)
        return
    log.info("synced %d slash command(s) %s", len(synced), where)
    try:
        await asyncio.to_thread(database.set_meta, marker, digest)
    except StoreError as exc:
        log.warning("could not remember the command sync: %s", exc)


def _digest(
    tree: app_commands.CommandTree[discord.Client], guild: discord.Object | None, api_base: str
) -> str:
    """What a sync would send, keyed by where it goes: another API base is another Discord."""
    payload = [c.to_dict(tree) for c in tree.get_commands(guild=guild)]
    synced_to = {"api_base": api_base, "commands": payload}
    return hashlib.sha256(json.dumps(synced_to, sort_keys=True).encode()).hexdigest()


async def _read(database: Database, marker: str) -> str | None:
    try:
        return await asyncio.to_thread(database.get_meta, marker)
    except StoreError as exc:
        log.warning("could not read the last command sync: %s", exc)
        return None
