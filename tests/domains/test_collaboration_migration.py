"""Migration 0002 adds the operations tables and can be rolled back, on both backends."""

from sqlalchemy import inspect

from nrmc.db.migrate import current_revision, downgrade, upgrade

TABLES = {"experts", "expert_teams", "dispatches", "activities", "technologies", "trainees",
          "site_visits", "follow_up_actions", "referrals"}


def test_operations_tables_come_and_go_with_revision_0002(engine):
    assert TABLES <= set(inspect(engine).get_table_names())
    downgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    assert not TABLES & set(inspect(engine).get_table_names())
    upgrade(engine)
    assert TABLES <= set(inspect(engine).get_table_names())
