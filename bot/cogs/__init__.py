"""The Discord layer: thin cogs that translate between interactions and the answering core."""

from bot.cogs.ask import AskCog
from bot.cogs.browse import BrowseCog
from bot.cogs.kb import KBCog

COGS = (AskCog, BrowseCog, KBCog)
