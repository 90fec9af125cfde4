"""Moderator edits and usage records, in one database; pure Python, no Discord.

The shipped file (``knowledge/faq.yaml``) is never written: an upgrade of the bot replaces
it. What moderators change lives in the database (``bot.storage.database``: SQLite in the
data directory by default, PostgreSQL when ``ELN_DATABASE_URL`` names one), so it survives
that upgrade and every bot process sharing the database serves it.

The history (``changes``) is the source of truth: one row per change, append-only, holding
the overlay state of every entry it touched before and after, so any change can be
replayed or undone on its own. The overlay -- every edit folded together -- is derived
from it in the same transaction (``bot.storage.store``). Merging the overlay into the
shipped file (``bot.storage.merge``) pins only the fields a moderator set, so a new shipped
answer shows through wherever nobody edited it.

Text is stored verbatim: markdown, mentions, ``@everyone``, zero-width and right-to-left
characters are data.

The modules, one job each: ``database`` (engines, transactions, migrations), ``schema``,
``store`` (``KnowledgeStore``: every moderator operation), ``usage`` (``Insights``:
questions, votes, unanswered groups), ``loading`` (opening them from the settings),
``overlay``, ``merge``, ``changes`` (the history record and undo bookkeeping),
``importing``, ``inputs`` (checking moderator input), ``document`` (field order and
lookups), ``files`` (atomic files and YAML) and ``legacy`` (the file format of earlier
releases, imported once). Importing this package loads none of them, so ``eln-bot ask``
without edits never loads the database layer.
"""
