"""census population: per-county census figure, method, urban/rural and 65+ share on regions

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 06:00:00

Columns only; the figures themselves are reference data that `nrmc db upgrade` loads from the
shipped regions.csv (nrmc.domains.regions.service.seed), on new and existing stores alike.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COLUMNS = (
    sa.Column("population_method", sa.String(length=96), nullable=False, server_default=""),
    sa.Column("population_census", sa.Integer(), nullable=True),
    sa.Column("urban", sa.Integer(), nullable=True),
    sa.Column("rural", sa.Integer(), nullable=True),
    sa.Column("share_65_plus", sa.Float(), nullable=True),
    sa.Column("coords_from", sa.String(length=32), nullable=False, server_default=""),
)


def upgrade() -> None:
    # Plain ADD COLUMN (nullable or defaulted) works on both backends without copying the table.
    for column in COLUMNS:
        op.add_column("regions", column.copy())


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite ≥ 3.35): a batch copy of `regions` would trip the foreign keys
    # that hospitals, projects and alliances hold on it.
    for column in reversed(COLUMNS):
        op.drop_column("regions", column.name)
