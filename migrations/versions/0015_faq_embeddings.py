"""FAQ vectors of the optional semantic model (knowledge.semantic): one row per FAQ, with the
model and the digest of the text it was computed from, so an edit or a new model is re-embedded.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "faq_embeddings",
        sa.Column("faq_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=60), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["faq_id"], ["faqs.id"], name=op.f("fk_faq_embeddings_faq_id_faqs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("faq_id", name=op.f("pk_faq_embeddings")),
    )


def downgrade() -> None:
    op.drop_table("faq_embeddings")
