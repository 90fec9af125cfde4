"""The database's tables, described once for SQLAlchemy Core and the Alembic migrations.

``changes`` is the source of truth: append-only, one row per moderator change, with the
overlay state of everything it touched before and after (see ``bot.storage.changes``).
``overlays`` is derived from it in the same transaction, so a reader never replays history.
Usage tables hold what statistics need; times are milliseconds since the epoch (UTC), so
window queries are plain indexed comparisons on every engine.

A scope is whose edits a row belongs to: ``global`` (the operator's), or a server's id.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

#: The newest migration; ``tests/storage`` checks it is Alembic's head.
SCHEMA_REVISION = "0001"
GLOBAL = "global"

metadata = MetaData()

changes = Table(
    "changes",
    metadata,
    Column("row", Integer, primary_key=True, autoincrement=True),
    Column("scope", String(32), nullable=False),
    Column("number", Integer, nullable=False),  # "#N" as history prints it, per scope
    Column("at", String(32), nullable=False),
    Column("by", String(100), nullable=False),
    Column("op", String(10), nullable=False),
    Column("entry", String(64)),
    Column("before", Text, nullable=False),  # JSON overlay fragments
    Column("after", Text, nullable=False),
    Column("undoes", Integer),
    Column("summary", String(200), nullable=False),
    UniqueConstraint("scope", "number", name="uq_changes_scope_number"),
)

overlays = Table(
    "overlays",
    metadata,
    Column("scope", String(32), primary_key=True),
    Column("last_change", Integer, nullable=False),
    Column("body", Text, nullable=False),  # JSON of Overlay.to_document()
)

unanswered_groups = Table(
    "unanswered_groups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("guild_id", BigInteger),  # None: direct messages and the command line
    Column("norm", Text, nullable=False),
    Column("key", String(16), nullable=False),
    Column("resolved_at", BigInteger),
    Index("ix_groups_norm", "guild_id", "norm"),
    Index("ix_groups_key", "key"),
)

group_tokens = Table(
    "group_tokens",
    metadata,
    Column(
        "group_id",
        Integer,
        ForeignKey("unanswered_groups.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("token", String(64), primary_key=True),
    Index("ix_group_tokens_token", "token"),
)

questions = Table(
    "questions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", BigInteger, nullable=False),
    Column("guild_id", BigInteger),
    Column("place", String(100), nullable=False),
    Column("user_id", BigInteger),
    Column("kind", String(10), nullable=False),  # answer | unanswered
    Column("entry", String(64)),
    Column("question", Text),  # declined questions only
    Column("closest", Text),  # JSON list of entry ids
    Column("score", Float),
    Column("group_id", Integer, ForeignKey("unanswered_groups.id", ondelete="SET NULL")),
    Index("ix_questions_kind_at", "kind", "at"),
    Index("ix_questions_group", "group_id", "at"),
    Index("ix_questions_user", "user_id"),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", BigInteger, nullable=False),
    Column("guild_id", BigInteger),
    Column("entry", String(64), nullable=False),
    Column("user_id", BigInteger, nullable=False),
    Column("message_id", BigInteger, nullable=False),  # 0: not tied to a message
    Column("helpful", Boolean, nullable=False),
    UniqueConstraint("entry", "user_id", "message_id", name="uq_feedback_vote"),
    Index("ix_feedback_at", "at"),
)

meta = Table(
    "meta",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("value", Text, nullable=False),
)

settings = Table(
    "settings",
    metadata,
    Column("guild_id", BigInteger, primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
