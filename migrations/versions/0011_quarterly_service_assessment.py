"""The quarterly service assessment: its indicators (admin-editable weights and thresholds) and
the assessor's entries per quarter; the indexes the analysis reads date ranges by

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 01:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assessment_indicators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name_zh", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("comparison", sa.String(length=2), nullable=False),
        sa.Column("unit", sa.String(length=10), nullable=False),
        sa.Column("measure", sa.String(length=40), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "category IN ('platform','manual','after_sales')",
            name=op.f("ck_assessment_indicators_category"),
        ),
        sa.CheckConstraint(
            "comparison IN ('ge','le')", name=op.f("ck_assessment_indicators_comparison")
        ),
        sa.CheckConstraint("weight >= 0", name=op.f("ck_assessment_indicators_weight")),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["staff_users.id"],
            name=op.f("fk_assessment_indicators_updated_by_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_indicators")),
        sa.UniqueConstraint("code", name=op.f("uq_assessment_indicators_code")),
    )
    op.create_table(
        "assessment_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.String(length=6), nullable=False),
        sa.Column("indicator_code", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("entered_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entered_by_id"],
            ["staff_users.id"],
            name=op.f("fk_assessment_entries_entered_by_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_entries")),
        sa.UniqueConstraint("quarter", "indicator_code", name=op.f("uq_assessment_entry")),
    )

    # the analysis reads events, surveys and chat messages by date range
    op.create_index("ix_ticket_events_at", "ticket_events", ["at"])
    op.create_index("ix_surveys_sent_at", "surveys", ["sent_at"])
    op.create_index("ix_chat_messages_created_at", "chat_messages", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_chat_messages_created_at", table_name="chat_messages")
    op.drop_index("ix_surveys_sent_at", table_name="surveys")
    op.drop_index("ix_ticket_events_at", table_name="ticket_events")
    op.drop_table("assessment_entries")
    op.drop_table("assessment_indicators")
