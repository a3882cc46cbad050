import math

from nrmc.core.privacy import (
    count_marker,
    disclosure_note,
    is_small,
    share_withheld,
    suppress_outflow_row,
    withheld_cells,
)

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


# --------------------------------------------------------------------------- generic helpers


def test_small_means_one_to_threshold_minus_one():
    assert [is_small(c, 10) for c in (0, 1, 9, 10, None, math.nan)] == [
        False, True, True, False, False, False]
    assert not is_small(1, 1)  # threshold 1: nothing is small


def test_a_share_is_withheld_when_its_numerator_or_denominator_is_small():
    assert share_withheld(3, 500, 10)
    assert share_withheld(0, 7, 10)
    assert not share_withheld(0, 500, 10)
    assert not share_withheld(40, 500, 10)
    assert not share_withheld(3, 7, 1)


def test_a_lone_small_cell_takes_the_next_smallest_with_it():
    # 900 + 120 + 80 + 3 = 1,103: with only the 3 withheld, the total would give it back
    assert withheld_cells([900, 120, 80, 3], 10) == [False, False, True, True]


def test_complementary_suppression_skips_zeros_and_is_not_needed_for_two_small_cells():
    assert withheld_cells([0, 50, 4, 30], 10) == [False, False, True, True]
    assert withheld_cells([900, 5, 4, 30], 10) == [False, True, True, False]
    assert withheld_cells([900, 120, 80], 10) == [False, False, False]


def test_a_lone_small_cell_with_no_other_positive_cell_stays_alone():
    # the caller must withhold the (then small) total as well
    assert withheld_cells([0, 4, 0], 10) == [False, True, False]


def test_row_suppression_honours_the_threshold():
    assert withheld_cells([900, 120, 80, 3], 1) == [False] * 4
    assert withheld_cells([900, 120, 80, 3], 100) == [False, False, True, True]


def test_the_note_names_marker_and_threshold_in_both_languages():
    zh, en = disclosure_note(5)
    assert "“<5”" in zh and "1–4" in zh and "NRMC_MIN_CELL_SIZE = 5" in zh
    assert "“<5”" in en and "1–4" in en and "NRMC_MIN_CELL_SIZE = 5" in en
    assert count_marker(5) == "<5"
    assert "No small-cell suppression" in disclosure_note(1)[1]
