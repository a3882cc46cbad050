"""ledger entry: activity department, trainee details, action owner, month reviews, uploads

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("department", sa.String(length=100), server_default="",
                                      nullable=False))
    with op.batch_alter_table("trainees", schema=None) as batch_op:
        batch_op.add_column(sa.Column("home_hospital", sa.String(length=200), server_default="",
                                      nullable=False))
        batch_op.add_column(sa.Column("county", sa.String(length=100), server_default="",
                                      nullable=False))
        batch_op.add_column(sa.Column("end_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("completed", sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    with op.batch_alter_table("follow_up_actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner", sa.String(length=100), server_default="",
                                      nullable=False))
    op.create_table(
        "month_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"],
                                name=op.f("fk_month_reviews_project_id_projects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_month_reviews")),
        sa.UniqueConstraint("project_id", "month", name=op.f("uq_month_reviews_project_id")),
    )
    with op.batch_alter_table("month_reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_month_reviews_project_id"), ["project_id"], unique=False)
    op.create_table(
        "ledger_uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"],
                                name=op.f("fk_ledger_uploads_project_id_projects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_uploads")),
        sa.UniqueConstraint("project_id", "kind", "fingerprint",
                            name=op.f("uq_ledger_uploads_project_id")),
    )
    with op.batch_alter_table("ledger_uploads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_uploads_project_id"), ["project_id"], unique=False)


def downgrade() -> None:
    op.drop_table("ledger_uploads")
    op.drop_table("month_reviews")
    with op.batch_alter_table("follow_up_actions", schema=None) as batch_op:
        batch_op.drop_column("owner")
    with op.batch_alter_table("trainees", schema=None) as batch_op:
        batch_op.drop_column("completed")
        batch_op.drop_column("end_date")
        batch_op.drop_column("county")
        batch_op.drop_column("home_hospital")
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_column("department")
