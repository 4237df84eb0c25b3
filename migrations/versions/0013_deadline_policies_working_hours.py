"""Deadline policies (时限规则) with working hours: the policies table, and on tickets the
business-request flag (企业诉求), the policy a ticket was dispatched under and the exact moments
of deadlines that end at a working hour

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 02:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deadline_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("business_only", sa.Boolean(), nullable=False),
        sa.Column("category_ids", core.db.JSONType(), nullable=False),
        sa.Column("review_hours", sa.Integer(), nullable=True),
        sa.Column("review_days", sa.Integer(), nullable=True),
        sa.Column("total_days", core.db.JSONType(), nullable=False),
        sa.Column("default_total_days", sa.Integer(), nullable=False),
        sa.Column("working_hours", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("deactivated_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(review_hours IS NULL) <> (review_days IS NULL)",
            name=op.f("ck_deadline_policies_review_hours_or_days"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["staff_users.id"],
            name=op.f("fk_deadline_policies_created_by_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadline_policies")),
        sa.UniqueConstraint("code", name=op.f("uq_deadline_policies_code")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "business_request", sa.Boolean(), server_default=sa.text("false"), nullable=False
            )
        )
        batch_op.add_column(sa.Column("deadline_policy_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("review_due_at", core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("handling_due_at", core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("due_at", core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_tickets_deadline_policy_id_deadline_policies"),
            "deadline_policies",
            ["deadline_policy_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_tickets_deadline_policy_id_deadline_policies"), type_="foreignkey"
        )
        batch_op.drop_column("due_at")
        batch_op.drop_column("handling_due_at")
        batch_op.drop_column("review_due_at")
        batch_op.drop_column("deadline_policy_id")
        batch_op.drop_column("business_request")
    op.drop_table("deadline_policies")
