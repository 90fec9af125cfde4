"""Who may use the moderator commands. Shared by the /kb cog (which checks) and the command
tree (which turns a refusal into a short private reply), so it depends on neither."""

from __future__ import annotations

import discord
from discord import app_commands


class NotModerator(app_commands.CheckFailure):
    """Raised by the moderator check; the tree turns it into a short reply."""


def is_moderator(interaction: discord.Interaction[discord.Client], role: str | None) -> bool:
    """The configured moderator ``role`` (id or name), else the Manage Server permission.

    Raises NotModerator rather than returning False, so the refusal is logged and answered
    in one place whatever command was denied.
    """
    roles = getattr(interaction.user, "roles", [])
    if role and any(str(r.id) == role or r.name == role for r in roles):
        return True
    if interaction.permissions.manage_guild:
        return True
    raise NotModerator("not a moderator")
