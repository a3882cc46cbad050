from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nrmc.core.errors import NotFound
from nrmc.planning.scenarios import compare, list_scenarios, load_scenario, save_scenario


def test_saved_runs_are_listed_oldest_first_and_reloaded(tmp_path):
    a = save_scenario(tmp_path, kind="site", name="a", inputs={"p_facilities": 2},
                      results={"objective": 10.0, "selected_codes": ["1", "2"]},
                      now=datetime(2026, 1, 1, tzinfo=UTC))
    b = save_scenario(tmp_path, kind="site", name="b", inputs={"p_facilities": 3},
                      results={"objective": 7.5, "selected_codes": ["2", "3", "4"]},
                      now=datetime(2026, 1, 2, tzinfo=UTC))
    assert [s.id for s in list_scenarios(tmp_path)] == [a.id, b.id]
    assert load_scenario(tmp_path, a.id) == a
    assert load_scenario(tmp_path, b.id[:15]).name == "b"  # unique prefix


def test_compare_reports_objective_change_and_site_differences(tmp_path):
    a = save_scenario(tmp_path, kind="site", inputs={"p_facilities": 2},
                      results={"objective": 10.0, "selected_codes": ["1", "2"]})
    b = save_scenario(tmp_path, kind="site", inputs={"p_facilities": 3},
                      results={"objective": 7.5, "selected_codes": ["2", "3", "4"]})
    rows = {r["field"]: r for r in compare(a, b)}
    assert rows["objective"]["difference"] == -2.5
    assert rows["p_facilities"]["difference"] == 1
    assert rows["sites only in a"]["difference"] == "1"
    assert rows["sites only in b"]["difference"] == "3;4"


def test_unknown_scenario_is_not_found(tmp_path):
    with pytest.raises(NotFound):
        load_scenario(tmp_path, "nope")
    assert list_scenarios(tmp_path / "missing") == []
