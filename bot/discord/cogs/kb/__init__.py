"""Moderator commands (/kb): editing, undo, import/export, unanswered questions, stats."""

from bot.discord.cogs.kb.cog import KBCog

__all__ = ["KBCog"]
