"""The first schema: changes, overlays, usage records, meta and settings.

Revision ID: 0001
Revises: none

A migration is a frozen record of what it did: later schema changes get a new file, and
this one never changes, even when ``bot/storage/schema.py`` moves on.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "changes",
        sa.Column("row", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(32), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("by", sa.String(100), nullable=False),
        sa.Column("op", sa.String(10), nullable=False),
        sa.Column("entry", sa.String(64)),
        sa.Column("before", sa.Text, nullable=False),
        sa.Column("after", sa.Text, nullable=False),
        sa.Column("undoes", sa.Integer),
        sa.Column("summary", sa.String(200), nullable=False),
        sa.UniqueConstraint("scope", "number", name="uq_changes_scope_number"),
    )
    op.create_table(
        "overlays",
        sa.Column("scope", sa.String(32), primary_key=True),
        sa.Column("last_change", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_table(
        "unanswered_groups",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("guild_id", sa.BigInteger),
        sa.Column("norm", sa.Text, nullable=False),
        sa.Column("key", sa.String(16), nullable=False),
        sa.Column("resolved_at", sa.BigInteger),
    )
    op.create_index("ix_groups_norm", "unanswered_groups", ["guild_id", "norm"])
    op.create_index("ix_groups_key", "unanswered_groups", ["key"])
    op.create_table(
        "group_tokens",
        sa.Column(
            "group_id",
            sa.Integer,
            sa.ForeignKey("unanswered_groups.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("token", sa.String(64), primary_key=True),
    )
    op.create_index("ix_group_tokens_token", "group_tokens", ["token"])
    op.create_table(
        "questions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("guild_id", sa.BigInteger),
        sa.Column("place", sa.String(100), nullable=False),
        sa.Column("user_id", sa.BigInteger),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("entry", sa.String(64)),
        sa.Column("question", sa.Text),
        sa.Column("closest", sa.Text),
        sa.Column("score", sa.Float),
        sa.Column(
            "group_id", sa.Integer, sa.ForeignKey("unanswered_groups.id", ondelete="SET NULL")
        ),
    )
    op.create_index("ix_questions_kind_at", "questions", ["kind", "at"])
    op.create_index("ix_questions_group", "questions", ["group_id", "at"])
    op.create_index("ix_questions_user", "questions", ["user_id"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("guild_id", sa.BigInteger),
        sa.Column("entry", sa.String(64), nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("message_id", sa.BigInteger, nullable=False),
        sa.Column("helpful", sa.Boolean, nullable=False),
        sa.UniqueConstraint("entry", "user_id", "message_id", name="uq_feedback_vote"),
    )
    op.create_index("ix_feedback_at", "feedback", ["at"])
    op.create_table(
        "meta",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "settings",
        sa.Column("guild_id", sa.BigInteger, primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "settings",
        "meta",
        "feedback",
        "questions",
        "group_tokens",
        "unanswered_groups",
        "overlays",
        "changes",
    ):
        op.drop_table(table)
