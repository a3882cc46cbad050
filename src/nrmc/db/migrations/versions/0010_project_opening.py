"""project opening: the day a centre opened and where that came from

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 06:30:00

Rows are not rewritten (a data write would advance the store's revision): an existing project
with an empty source, a batch and an opening year is read as ``batch`` (its year came from the
batch: an estimate, flagged in evaluations) by ``projects.service.project_table``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("opened_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("opening_source", sa.String(length=16), nullable=False,
                                   server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("opening_source")
        batch.drop_column("opened_on")
