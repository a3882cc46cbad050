"""The one specialty demand: population × national rate × age when no discharges are loaded,
and every answer names its source, year and population vintage."""

from __future__ import annotations

import pandas as pd
import pytest

from nrmc.domains.planning import demand as dm
from nrmc.planning.errors import InvalidInput


def _units(**extra):
    return pd.DataFrame({"code": ["620102", "620902"], "population": [1_000_000, 1_000_000],
                         "population_estimated": [0, 1], **extra})


def test_population_demand_is_population_times_the_national_specialty_rate():
    d = dm.specialty_demand(units=_units(), specialty="oncology")
    expected = 1_000_000 * dm.NATIONAL_RATE * dm.specialty_share("oncology")
    assert d.weights.tolist() == pytest.approx([expected, expected])
    assert d.source == "population" and d.estimated and not d.age_adjusted
    assert "census 2020" in d.note_en and "not age-adjusted" in d.note_en
    assert d.population_vintage.endswith("some units estimated")


def test_comprehensive_is_all_discharges():
    d = dm.specialty_demand(units=_units(), specialty="comprehensive")
    assert d.weights[0] == pytest.approx(1_000_000 * dm.NATIONAL_RATE)


def test_an_older_county_needs_more_cardiology_and_less_paediatrics():
    units = _units(share_65_plus_pct=[25.0, 8.0])
    cardio = dm.specialty_demand(units=units, specialty="cardiovascular")
    children = dm.specialty_demand(units=units, specialty="pediatrics")
    assert cardio.age_adjusted and "65+" in cardio.note_en
    assert cardio.weights[0] > cardio.weights[1]
    assert children.weights[0] < children.weights[1]


def test_at_the_national_age_share_the_age_factor_is_one():
    units = _units(share_65_plus=[dm.NATIONAL_65_SHARE] * 2)
    flat = dm.specialty_demand(units=_units(), specialty="neurology")
    aged = dm.specialty_demand(units=units, specialty="neurology")
    assert aged.weights.tolist() == pytest.approx(flat.weights.tolist())


def test_unknown_specialty_is_refused_by_name():
    with pytest.raises(InvalidInput, match="unknown specialty 'cardiology'"):
        dm.specialty_demand(units=_units(), specialty="cardiology")


def test_asking_for_flows_without_a_dataset_is_a_clear_error(tmp_path):
    flows = dm.FlowsInput(tmp_path / "flows", pd.DataFrame())
    with pytest.raises(InvalidInput, match="no patient-flows dataset"):
        dm.specialty_demand(units=_units(), specialty="oncology", flows=flows, prefer="flows")
    fallback = dm.specialty_demand(units=_units(), specialty="oncology", flows=flows)
    assert fallback.source == "population"
