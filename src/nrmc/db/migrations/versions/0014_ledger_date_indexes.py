"""ledger date indexes: a project's activities and trainees by date

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 09:50:00

The programme dashboard asks for the newest ledger date of the projects in view and sums a
period's activities per project; with only the single-column project index, SQLite read every
row of every project (17 ms for the trainees of the 3 M-row demo, per request). With
(project_id, date) the newest date is one index probe per project. Indexes only: no row is
written, so the store's data revision does not move.
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_activities_project_id_occurred_on", "activities",
                    ["project_id", "occurred_on"])
    op.create_index("ix_trainees_project_id_trained_on", "trainees", ["project_id", "trained_on"])


def downgrade() -> None:
    op.drop_index("ix_trainees_project_id_trained_on", table_name="trainees")
    op.drop_index("ix_activities_project_id_occurred_on", table_name="activities")
