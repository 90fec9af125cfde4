"""/settings: a server's admins choose how the bot behaves there.

Each change is stored for that server only (``GuildSettingsStore``, over the operator's
defaults from the environment), answered privately in one line, and posted to the server's
audit channel, so the other admins can see who changed what.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.checks import is_admin
from bot.discord.client import Interaction, QABot
from bot.discord.replies import AnyInteraction, send_private
from bot.storage.guild_settings import GuildSettings

log = logging.getLogger(__name__)

Strictness = Literal["relaxed", "normal", "strict"]
#: How sure the bot is before it answers unprompted, as an admin reads it.
STRICTNESS_TEXT: dict[str, str] = {
    "relaxed": "whenever I would answer a mention",
    "normal": "only when I'm more sure than I need to be for a mention",
    "strict": "only when I'm very sure",
}
INTENT_NOTE = (
    " The bot's operator must enable the Message Content intent before I can read the "
    "questions there; until then, members can mention me."
)


class ChannelOption(app_commands.Transformer):
    """A channel option of the given kinds, taken as Discord resolved it.

    Discord offers only those kinds in the picker, and the resolved channel needs no
    cache (``discord.TextChannel`` would fail for a channel the bot has not seen).
    """

    def __init__(self, *kinds: discord.ChannelType) -> None:
        super().__init__()
        self._kinds = list(kinds)

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        return self._kinds

    async def transform(self, interaction: AnyInteraction, value: Any, /) -> Any:
        return value


_TEXT = (discord.ChannelType.text, discord.ChannelType.news)
#: Where the bot can post (the audit channel).
Postable = app_commands.Transform[app_commands.AppCommandChannel, ChannelOption(*_TEXT)]
#: Where members ask: text channels, and forums (their posts are threads).
Askable = app_commands.Transform[
    app_commands.AppCommandChannel, ChannelOption(*_TEXT, discord.ChannelType.forum)
]


def _guild_id(interaction: AnyInteraction) -> int:
    if interaction.guild_id is None:  # guild_only and is_admin keep this from happening
        raise app_commands.NoPrivateMessage()
    return interaction.guild_id


def channel_list(ids: frozenset[int]) -> str:
    return ", ".join(f"<#{c}>" for c in sorted(ids)) or "none"


def answer_channels_here(guild: discord.Guild | None, chosen: GuildSettings) -> frozenset[int]:
    """The answer channels of this server. The operator's defaults are ids of every server's
    channels (ids are unique, so the others are inert here); an admin sees, and changes,
    only this server's."""
    if guild is None:
        return chosen.answer_channels
    return frozenset(c for c in chosen.answer_channels if guild.get_channel_or_thread(c))


def moderators_text(guild: discord.Guild | None, role: int | None) -> str:
    """Who the moderators are, as an admin reads it (a role id alone says nothing)."""
    if role is None:
        return "members with Manage Server"
    if guild is not None and guild.get_role(role) is None:  # the operator's, or deleted
        return "nobody yet: that role is not in this server; choose one with `moderator-role set`"
    return f"members with <@&{role}>"


def show_text(
    guild: discord.Guild | None, chosen: GuildSettings, mine: frozenset[str], content: bool
) -> str:
    """Every setting, marking those the operator's defaults decide."""

    def mark(key: str) -> str:
        return "" if key in mine else " *(default)*"

    channels = answer_channels_here(guild, chosen)
    lines = [
        "**Settings for this server**",
        f"• Answer channels: {channel_list(channels)}{mark('answer_channels')}",
        f"• Moderators (`/kb`): {moderators_text(guild, chosen.moderator_role)}"
        + mark("moderator_role"),
        "• Audit channel: "
        + (f"<#{chosen.audit_channel}>" if chosen.audit_channel else "none")
        + mark("audit_channel"),
        f"• Unprompted answers: {chosen.strictness}, {STRICTNESS_TEXT[chosen.strictness]}"
        + mark("strictness"),
        f"• Usage records: {'on' if chosen.record_usage else 'off'}{mark('record_usage')}",
    ]
    if channels and not content:
        lines.append("⚠️" + INTENT_NOTE)
    return "\n".join(lines)


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class SettingsCog(
    commands.GroupCog, group_name="settings", group_description="Admins: how I behave here"
):
    answer_channels = app_commands.Group(
        name="answer-channels", description="Channels where I answer without being mentioned"
    )
    moderator_role = app_commands.Group(
        name="moderator-role", description="Who may edit the answers with /kb"
    )
    audit_channel = app_commands.Group(
        name="audit-channel", description="Where I post every change made in this server"
    )
    usage = app_commands.Group(name="usage", description="Whether I record questions and votes")

    def __init__(self, bot: QABot) -> None:
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: AnyInteraction) -> bool:
        return is_admin(interaction)

    # --- shared plumbing ------------------------------------------------------------------

    def _current(self, interaction: AnyInteraction) -> GuildSettings:
        return self.bot.guild_settings.get(_guild_id(interaction))

    def _answer_channels(self, interaction: AnyInteraction) -> frozenset[int]:
        return answer_channels_here(interaction.guild, self._current(interaction))

    def _mine(self, interaction: AnyInteraction) -> frozenset[str]:
        return self.bot.guild_settings.chosen(_guild_id(interaction))

    async def _change(self, interaction: Interaction, key: str, value: Any, audit: str) -> bool:
        """Store one setting (off the loop) and announce it; whether the audit line arrived.

        A channel that stops being the audit channel hears so, as the new one does.
        """
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild_id = _guild_id(interaction)
        before = self._current(interaction).audit_channel
        await asyncio.to_thread(self.bot.guild_settings.set, guild_id, key, value)
        log.info("settings %s=%r in guild %s by %s", key, value, guild_id, interaction.user.id)
        line = f"⚙️ {interaction.user.mention} {audit}."
        posted = await self.bot.audit.post(line, guild_id)
        if before is not None and before != self._current(interaction).audit_channel:
            await self.bot.audit.send(before, line)
        return posted

    # --- answer channels ------------------------------------------------------------------

    @answer_channels.command(name="add", description="Answer questions here unprompted")
    @app_commands.describe(channel="A text or forum channel (its threads count too)")
    async def add_answer_channel(self, interaction: Interaction, channel: Askable) -> None:
        current = self._answer_channels(interaction)
        if channel.id in current:
            await send_private(interaction, f"<#{channel.id}> is already an answer channel.")
            return
        audit = f"added <#{channel.id}> to the answer channels"
        await self._change(interaction, "answer_channels", current | {channel.id}, audit)
        text = f"Done: I'll answer questions in <#{channel.id}> when I'm sure enough."
        if not self.bot.intents.message_content:
            text += INTENT_NOTE
        await send_private(interaction, text)

    @answer_channels.command(name="remove", description="Answer there only when mentioned")
    @app_commands.describe(channel="One of the answer channels")
    async def remove_answer_channel(self, interaction: Interaction, channel: Askable) -> None:
        current = self._answer_channels(interaction)
        if channel.id not in current:
            await send_private(interaction, f"<#{channel.id}> isn't an answer channel.")
            return
        audit = f"removed <#{channel.id}> from the answer channels"
        await self._change(interaction, "answer_channels", current - {channel.id}, audit)
        await send_private(interaction, f"Done: in <#{channel.id}> I'll answer only when asked.")

    @answer_channels.command(name="list", description="The channels where I answer unprompted")
    async def list_answer_channels(self, interaction: Interaction) -> None:
        channels = self._answer_channels(interaction)
        if not channels:
            text = "No answer channels: I answer when mentioned, in DMs and with `/ask`."
        else:
            default = "answer_channels" not in self._mine(interaction)
            text = f"Answer channels: {channel_list(channels)}"
            text += " (the operator's default)." if default else "."
        await send_private(interaction, text)

    # --- moderator role -------------------------------------------------------------------

    @moderator_role.command(name="set", description="Members with this role may use /kb")
    @app_commands.describe(role="The role you give to this server's moderators")
    async def set_moderator_role(self, interaction: Interaction, role: discord.Role) -> None:
        if role.is_default() or role.managed:
            await send_private(
                interaction, "Please pick a role you give to moderators, not @everyone or a bot's."
            )
            return
        audit = f"made <@&{role.id}> the moderator role (Manage Server alone no longer counts)"
        await self._change(interaction, "moderator_role", role.id, audit)
        await send_private(
            interaction,
            f"Done: members with <@&{role.id}> are this server's moderators. "
            "Manage Server alone no longer makes someone a moderator.",
        )

    @moderator_role.command(name="clear", description="Back to: members with Manage Server")
    async def clear_moderator_role(self, interaction: Interaction) -> None:
        if "moderator_role" not in self._mine(interaction):
            who = moderators_text(interaction.guild, self._current(interaction).moderator_role)
            await send_private(interaction, f"No moderator role is set here; moderators are {who}.")
            return
        await self._change(interaction, "moderator_role", None, "cleared the moderator role")
        who = moderators_text(interaction.guild, self._current(interaction).moderator_role)
        await send_private(interaction, f"Done: moderators here are now {who}.")

    # --- audit channel --------------------------------------------------------------------

    @audit_channel.command(name="set", description="Post every change made here in a channel")
    @app_commands.describe(channel="A channel your admins and moderators read")
    async def set_audit_channel(self, interaction: Interaction, channel: Postable) -> None:
        audit = f"made <#{channel.id}> the audit channel"
        if await self._change(interaction, "audit_channel", channel.id, audit):
            text = f"Done: I'll post every change made here in <#{channel.id}>."
        else:
            text = (
                f"Saved, but I couldn't post in <#{channel.id}>: "
                "please let me view it and send messages there."
            )
        await send_private(interaction, text)

    @audit_channel.command(name="clear", description="Stop posting changes in a channel")
    async def clear_audit_channel(self, interaction: Interaction) -> None:
        if "audit_channel" not in self._mine(interaction):
            await send_private(interaction, "No audit channel is set here.")
            return
        await self._change(interaction, "audit_channel", None, "turned off the audit channel")
        default = self._current(interaction).audit_channel
        where = f"in the operator's <#{default}> again" if default else "nowhere"
        await send_private(interaction, f"Done: changes made here are posted {where}.")

    # --- strictness and usage -------------------------------------------------------------

    @app_commands.command(
        name="strictness", description="How sure I must be to answer unprompted in answer channels"
    )
    @app_commands.describe(level="relaxed: as for a mention; normal: surer; strict: very sure")
    async def strictness(self, interaction: Interaction, level: Strictness) -> None:
        await self._change(interaction, "strictness", level, f"set the strictness to {level}")
        await send_private(
            interaction, f"Done: in answer channels I'll answer {STRICTNESS_TEXT[level]}."
        )

    @usage.command(name="on", description="Record questions and votes for /kb stats")
    async def usage_on(self, interaction: Interaction) -> None:
        await self._change(interaction, "record_usage", True, "turned usage records on")
        await send_private(
            interaction,
            "Done: I'll record questions and votes here for `/kb stats` and `/kb unanswered`.",
        )

    @usage.command(name="off", description="Stop recording questions and votes here")
    async def usage_off(self, interaction: Interaction) -> None:
        await self._change(interaction, "record_usage", False, "turned usage records off")
        days = self.bot.settings.retention_days
        await send_private(
            interaction,
            "Done: I'll no longer record questions or votes here. What's recorded stays up to "
            f"{days} days; anyone can delete theirs with `/privacy forget`.",
        )

    @app_commands.command(name="show", description="Every setting for this server")
    async def show(self, interaction: Interaction) -> None:
        text = show_text(
            interaction.guild,
            self._current(interaction),
            self._mine(interaction),
            self.bot.intents.message_content,
        )
        await send_private(interaction, text)
