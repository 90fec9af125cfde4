"""The Discord layer's cogs: thin translators between interactions and the answering core.

``COGS`` is what ``bot.discord.bot.create_bot`` hands the bot to add at start-up.
"""

from collections.abc import Callable

from discord.ext import commands

from bot.discord.client import QABot
from bot.discord.cogs.ask import AskCog
from bot.discord.cogs.browse import BrowseCog
from bot.discord.cogs.kb import KBCog
from bot.discord.cogs.privacy import PrivacyCog
from bot.discord.cogs.settings import SettingsCog

COGS: tuple[Callable[[QABot], commands.Cog], ...] = (
    AskCog,
    BrowseCog,
    KBCog,
    SettingsCog,
    PrivacyCog,
)
