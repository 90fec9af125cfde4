"""The Discord layer: thin cogs that translate between interactions and the answering core."""

from bot.discord.cogs.ask import AskCog
from bot.discord.cogs.browse import BrowseCog
from bot.discord.cogs.kb import KBCog

COGS = (AskCog, BrowseCog, KBCog)
