from nrmc.core.privacy import suppress_outflow_row

ROW = {"region": "620921", "region_name": "金塔县", "year": 2023, "specialty": None,
       "discharges": 500, "treated_outside": 40, "outflow_rate": 0.08,
       "top_destination": "110000", "top_destination_share": 0.5}


def test_large_cells_are_published_unchanged():
    out = suppress_outflow_row(ROW)
    assert out == {**ROW, "suppressed": False}


def test_a_small_outside_count_is_withheld_with_the_rate_that_would_reveal_it():
    out = suppress_outflow_row({**ROW, "treated_outside": 3, "outflow_rate": 0.006})
    assert out["suppressed"] and out["discharges"] == 500
    assert out["treated_outside"] is None and out["outflow_rate"] is None
    assert out["top_destination"] is None and out["top_destination_share"] is None


def test_a_small_denominator_withholds_everything():
    out = suppress_outflow_row({**ROW, "discharges": 7, "treated_outside": 7, "outflow_rate": 1.0})
    assert out["suppressed"] and out["discharges"] is None and out["outflow_rate"] is None


def test_zero_is_published_because_it_identifies_nobody():
    out = suppress_outflow_row({**ROW, "treated_outside": 0, "outflow_rate": 0.0,
                                "top_destination": None, "top_destination_share": None})
    assert not out["suppressed"] and out["outflow_rate"] == 0.0


def test_a_small_top_destination_count_hides_only_its_share():
    out = suppress_outflow_row({**ROW, "treated_outside": 40, "top_destination_share": 0.1})
    assert out["suppressed"] and out["top_destination_share"] is None
    assert out["outflow_rate"] == 0.08 and out["top_destination"] == "110000"


def test_threshold_is_configurable():
    row = {**ROW, "treated_outside": 3, "top_destination_share": 1.0}
    assert not suppress_outflow_row(row, min_cell=3)["suppressed"]
