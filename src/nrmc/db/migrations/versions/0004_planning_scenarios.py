"""planning scenarios: named, owned siting runs scoped by province

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "planning_scenarios",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("province_code", sa.String(length=6), nullable=False),
        sa.Column("specialty", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planning_scenarios")),
    )
    op.create_index(op.f("ix_planning_scenarios_owner"), "planning_scenarios", ["owner"])
    op.create_index(op.f("ix_planning_scenarios_province_code"), "planning_scenarios",
                    ["province_code"])


def downgrade() -> None:
    op.drop_index(op.f("ix_planning_scenarios_province_code"), table_name="planning_scenarios")
    op.drop_index(op.f("ix_planning_scenarios_owner"), table_name="planning_scenarios")
    op.drop_table("planning_scenarios")
