"""Who may use the moderator commands. Shared by the /kb cog (which checks) and the command
tree (which turns a refusal into a short private reply), so it depends on neither."""

from __future__ import annotations

import discord
from discord import app_commands


class NotModerator(app_commands.CheckFailure):
    """Raised by the moderator check; the tree turns it into a short reply."""


def is_moderator(interaction: discord.Interaction[discord.Client], role: int | None) -> bool:
    """Holding the server's moderator ``role`` (by id); Manage Server only where none is set.

    A role is matched by id and only within the server the command came from, so a role
    named like another server's moderator role, or any role in another server, gives
    nothing. Raises NotModerator rather than returning False, so the refusal is logged and
    answered in one place whatever command was denied.
    """
    if interaction.guild is None:
        raise NotModerator("not in a server")
    roles = getattr(interaction.user, "roles", [])
    if role is not None and any(r.id == role for r in roles):
        return True
    if role is None and interaction.permissions.manage_guild:
        return True
    raise NotModerator("not a moderator")


class NotAdmin(NotModerator):
    """Raised by the admin check: the reply names who may change a server's settings."""


def is_admin(interaction: discord.Interaction[discord.Client]) -> bool:
    """The server's admins (Manage Server): they choose its settings and moderator role."""
    if interaction.guild is not None and interaction.permissions.manage_guild:
        return True
    raise NotAdmin("not a server admin")
