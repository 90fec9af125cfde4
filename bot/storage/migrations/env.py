"""Alembic's entry point: migrate the connection ``bot.storage.database`` hands over.

The caller holds the database's write lock in an open transaction, so two processes that
start at once never both migrate; nothing here opens a connection of its own.
"""

from alembic import context

from bot.storage.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
