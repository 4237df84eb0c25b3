"""call intake: urges, first-contact resolution, transfers, the caller's tickets by phone

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("urge_count", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "first_contact", sa.Boolean(), server_default=sa.text("false"), nullable=False
            )
        )
        batch_op.add_column(sa.Column("transferred_to", sa.String(length=20), nullable=True))
        batch_op.create_index(
            "ix_tickets_contact_phone", ["contact_phone", "created_at"], unique=False
        )
        batch_op.create_index("ix_tickets_urged", ["urge_count", "created_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_urged")
        batch_op.drop_index("ix_tickets_contact_phone")
        batch_op.drop_column("transferred_to")
        batch_op.drop_column("first_contact")
        batch_op.drop_column("urge_count")
