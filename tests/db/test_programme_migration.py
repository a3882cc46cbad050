"""Migration 0016 adds the programme office's tables and can be rolled back, on both backends."""

from sqlalchemy import inspect

from nrmc.db.migrate import current_revision, downgrade, upgrade

TABLES = {"programme_targets", "milestones", "gaps", "technology_gaps", "trusteeships",
          "trusteeship_reports"}


def test_programme_tables_come_and_go_with_revision_0016(engine):
    assert TABLES <= set(inspect(engine).get_table_names())
    downgrade(engine, "0003")
    assert current_revision(engine) == "0003"
    assert not TABLES & set(inspect(engine).get_table_names())
    upgrade(engine)
    assert TABLES <= set(inspect(engine).get_table_names())
