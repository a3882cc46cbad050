"""referral record: patient fields, reply note, the linked return, hospital initials

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 09:20:00

- referrals.patient_sex (GB/T 2261.1 code, "9" unknown) and age_band ("" not given);
- referrals.reply_note: the receiving hospital's note on accept / reject / return;
- referrals.returned_from_id: a down-referral made by "return to referrer" points at the
  referral it returns (one row per direction, so the KPIs count each once);
- hospitals.initials: pinyin initials of name_zh for the hospital picker, filled here for the
  rows already stored (the model fills new and renamed rows).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("referrals") as batch:
        batch.add_column(sa.Column("patient_sex", sa.String(length=1), nullable=False,
                                   server_default="9"))
        batch.add_column(sa.Column("age_band", sa.String(length=8), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("reply_note", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("returned_from_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_referrals_returned_from_id_referrals"), "referrals",
                                 ["returned_from_id"], ["id"])
        batch.create_index(op.f("ix_referrals_returned_from_id"), ["returned_from_id"],
                           unique=True)
    # Not a batch on SQLite: copying `hospitals` would drop a table that every slice references.
    # A column with a constant default is a plain ALTER TABLE there.
    op.add_column("hospitals", sa.Column("initials", sa.String(length=200), nullable=False,
                                         server_default=""))
    op.create_index(op.f("ix_hospitals_initials"), "hospitals", ["initials"])
    _fill_initials()


def _fill_initials() -> None:
    from nrmc.core.pinyin import initials

    bind = op.get_bind()
    hospitals = sa.table("hospitals", sa.column("code", sa.String), sa.column("name_zh", sa.String),
                         sa.column("initials", sa.String))
    rows = bind.execute(sa.select(hospitals.c.code, hospitals.c.name_zh)).all()
    updates = [{"c": code, "i": initials(name or "")} for code, name in rows]
    if updates:
        bind.execute(hospitals.update().where(hospitals.c.code == sa.bindparam("c"))
                     .values(initials=sa.bindparam("i")), updates)


def downgrade() -> None:
    op.drop_index(op.f("ix_hospitals_initials"), table_name="hospitals")
    if op.get_bind().dialect.name == "sqlite":  # SQLite 3.35+ drops a plain column in place
        op.execute("ALTER TABLE hospitals DROP COLUMN initials")
    else:
        op.drop_column("hospitals", "initials")
    with op.batch_alter_table("referrals") as batch:
        batch.drop_index(op.f("ix_referrals_returned_from_id"))
        batch.drop_constraint(op.f("fk_referrals_returned_from_id_referrals"), type_="foreignkey")
        batch.drop_column("returned_from_id")
        batch.drop_column("reply_note")
        batch.drop_column("age_band")
        batch.drop_column("patient_sex")
