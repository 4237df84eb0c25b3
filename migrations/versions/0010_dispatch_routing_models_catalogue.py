"""Dispatch: the routing suggestion's trained models (tickets.routing), the versioned
dispatch catalogue (tickets.catalogue), co-handling departments (tickets.cohandling) and
dispatch disputes (tickets.disputes)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "routing_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("trained_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.Column("examples", sa.Integer(), nullable=False),
        sa.Column("departments", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_models")),
        sa.UniqueConstraint("token", name=op.f("uq_routing_models_token")),
    )
    op.create_table(
        "dispatch_catalogue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("lead_department_id", sa.Integer(), nullable=False),
        sa.Column("co_handler_ids", core.db.JSONType(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("changed_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_dispatch_catalogue_category_id_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["changed_by_id"],
            ["staff_users.id"],
            name=op.f("fk_dispatch_catalogue_changed_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["lead_department_id"],
            ["departments.id"],
            name=op.f("fk_dispatch_catalogue_lead_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatch_catalogue")),
        sa.UniqueConstraint(
            "category_id", "version", name="uq_dispatch_catalogue_category_version"
        ),
    )
    op.create_table(
        "ticket_co_handlers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("assigned_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("assigned_by_id", sa.Integer(), nullable=True),
        sa.Column("part", sa.Text(), nullable=True),
        sa.Column("part_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("part_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assigned_by_id"],
            ["staff_users.id"],
            name=op.f("fk_ticket_co_handlers_assigned_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_ticket_co_handlers_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["part_by_id"],
            ["staff_users.id"],
            name=op.f("fk_ticket_co_handlers_part_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_co_handlers_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_co_handlers")),
        sa.UniqueConstraint("ticket_id", "department_id", name="uq_ticket_co_handlers_department"),
    )
    op.create_index(
        "ix_ticket_co_handlers_department",
        "ticket_co_handlers",
        ["department_id", "part_at"],
        unique=False,
    )
    op.create_table(
        "ticket_disputes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("suggested_department_id", sa.Integer(), nullable=True),
        sa.Column("raised_by_id", sa.Integer(), nullable=True),
        sa.Column("raised_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("upheld", sa.Boolean(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("new_department_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["staff_users.id"],
            name=op.f("fk_ticket_disputes_decided_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_ticket_disputes_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["new_department_id"],
            ["departments.id"],
            name=op.f("fk_ticket_disputes_new_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["raised_by_id"],
            ["staff_users.id"],
            name=op.f("fk_ticket_disputes_raised_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["suggested_department_id"],
            ["departments.id"],
            name=op.f("fk_ticket_disputes_suggested_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_disputes_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_disputes")),
    )
    op.create_index(
        "ix_ticket_disputes_ticket", "ticket_disputes", ["ticket_id", "decided_at"], unique=False
    )
    op.create_index("ix_ticket_disputes_raised", "ticket_disputes", ["raised_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_ticket_disputes_raised", table_name="ticket_disputes")
    op.drop_index("ix_ticket_disputes_ticket", table_name="ticket_disputes")
    op.drop_table("ticket_disputes")
    op.drop_index("ix_ticket_co_handlers_department", table_name="ticket_co_handlers")
    op.drop_table("ticket_co_handlers")
    op.drop_table("dispatch_catalogue")
    op.drop_table("routing_models")
