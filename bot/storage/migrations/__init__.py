"""Alembic migrations for the bot's database; ``bot.storage.database`` runs them at start."""
