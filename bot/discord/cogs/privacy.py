"""/privacy: what the bot keeps about the people who use it, and deleting it on request.

Anyone may use it, in a server or a DM: the records are about them, so the choice is theirs.
"""

from __future__ import annotations

import logging

from discord import app_commands
from discord.ext import commands

from bot.discord.client import Interaction, QABot
from bot.discord.cogs.kb.forms import Confirm
from bot.discord.replies import AnyInteraction, send_private

log = logging.getLogger(__name__)

FORGET_QUESTION = (
    "Delete everything I've stored about you, in every server and in DMs: the questions I "
    "couldn't answer, which answers you got, and your votes? This can't be undone."
)


def info_text(days: int, recording: bool) -> str:
    """What is stored, who sees it, for how long, and how to delete it."""
    here = "" if recording else "\nThis server has turned recording off: I store nothing here."
    return (
        "**What I store**, so moderators can improve the answers:\n"
        "• the questions I couldn't answer, as you typed them;\n"
        "• which answer I gave you (not your question's text);\n"
        "• your 👍/👎 votes;\n"
        "• with each: your user id, the server and channel ids, and when.\n"
        f"I keep them for {days} days. A server's moderators see its questions "
        "(`/kb unanswered`, `/kb stats`); questions you ask me in DMs are visible only to "
        "the bot's operator.\n"
        "`/privacy forget` deletes everything I've stored about you, everywhere. (If you edit "
        "answers as a moderator, the change history keeps your name as their author.)" + here
    )


class PrivacyCog(
    commands.GroupCog, group_name="privacy", group_description="What I store about you"
):
    def __init__(self, bot: QABot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="info", description="What I store, for how long, who sees it")
    async def info(self, interaction: Interaction) -> None:
        recording = self.bot.guild_settings.get(interaction.guild_id).record_usage
        await send_private(interaction, info_text(self.bot.settings.retention_days, recording))

    @app_commands.command(name="forget", description="Delete everything I've stored about you")
    async def forget(self, interaction: Interaction) -> None:
        user_id = interaction.user.id

        async def yes(inter: AnyInteraction) -> None:
            await inter.response.edit_message(content="Deleting…", view=None)
            gone = await self.bot.recorder.forget(user_id)
            log.info("forgot user %s: %d record(s)", user_id, gone)
            records = "record" if gone == 1 else "records"
            await inter.edit_original_response(
                content=f"Done: I deleted {gone} {records} about you."
            )

        confirm = Confirm(user_id, yes, label="Delete my data")
        await send_private(interaction, FORGET_QUESTION, view=self.bot.menus.track(confirm))
