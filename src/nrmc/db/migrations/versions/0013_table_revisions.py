"""table revisions: a counter per table, so a write invalidates only the answers that read it

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-02 09:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "table_revisions",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_table_revisions")),
    )


def downgrade() -> None:
    op.drop_table("table_revisions")
