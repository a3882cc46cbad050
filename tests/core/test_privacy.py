import math

from nrmc.core.privacy import (
    count_marker,
    disclosure_note,
    is_small,
    share_withheld,
    suppress_outflow_row,
    suppress_outflow_rows,
    withheld_cells,
    withheld_in_groups,
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


# --------------------------------------------------------------- groups that share cells


def test_a_group_with_one_withheld_cell_gives_up_its_next_smallest():
    # cell 0 is the total (1,103) of cells 1..4; only the 3 is withheld
    counts = [1103, 900, 120, 80, 3]
    assert withheld_in_groups(counts, [False, False, False, False, True], [(0, [1, 2, 3, 4])]) == [
        False, False, False, True, True]


def test_groups_with_no_or_two_withheld_cells_are_left_alone():
    counts = [1104, 900, 120, 80, 4]
    groups = [(0, [1, 2, 3, 4])]
    assert withheld_in_groups(counts, [False] * 5, groups) == [False] * 5
    both = [False, False, False, True, True]
    assert withheld_in_groups(counts, both, groups) == both


def test_a_withheld_total_is_protected_like_a_cell():
    # the published cells would add up to it
    assert withheld_in_groups([100, 60, 40], [True, False, False], [(0, [1, 2])]) == [
        True, False, True]


def test_a_lone_positive_cell_takes_its_total_with_it():
    # 4 + 0 + 0: the total is the cell
    assert withheld_in_groups([4, 0, 4, 0], [False, False, True, False], [(0, [1, 2, 3])]) == [
        True, False, True, False]


def test_a_cell_withheld_for_one_group_is_protected_in_the_others():
    # a 2 x 2 table with margins: rows A = a1 + a2, B = b1 + b2; columns c1 = a1 + b1,
    # c2 = a2 + b2. Only a1 is small; the row takes a2, then column 2 must take b2, and then
    # row B must take b1, so every row and column keeps two withheld cells.
    names = ["A", "a1", "a2", "B", "b1", "b2", "c1", "c2"]
    counts = [105, 5, 100, 500, 200, 300, 205, 400]
    at = {n: i for i, n in enumerate(names)}
    groups = [(at["A"], [at["a1"], at["a2"]]), (at["B"], [at["b1"], at["b2"]]),
              (at["c1"], [at["a1"], at["b1"]]), (at["c2"], [at["a2"], at["b2"]])]
    flags = withheld_in_groups(counts, [n == "a1" for n in names], groups)
    assert {n for n, f in zip(names, flags, strict=True) if f} == {"a1", "a2", "b1", "b2"}
    for total, members in groups:
        assert sum(flags[i] for i in (total, *members)) != 1


def test_a_group_already_examined_is_examined_again_when_one_of_its_cells_goes():
    # B = b1 + b2 is fine when first seen; then column 1 (a1 + b1) takes b1 for the small a1,
    # which leaves B with one withheld cell: B must take b2
    names = ["B", "b1", "b2", "c1", "a1", "A", "a2"]
    counts = [500, 200, 300, 205, 5, 105, 100]
    at = {n: i for i, n in enumerate(names)}
    groups = [(at["B"], [at["b1"], at["b2"]]), (at["c1"], [at["a1"], at["b1"]]),
              (at["A"], [at["a1"], at["a2"]])]
    flags = withheld_in_groups(counts, [n == "a1" for n in names], groups)
    assert {n for n, f in zip(names, flags, strict=True) if f} == {"a1", "a2", "b1", "b2"}


def test_nothing_withheld_nothing_added():
    counts = [10, 3, 7]
    assert withheld_in_groups(counts, [False] * 3, [(0, [1, 2])]) == [False] * 3


def _outflow(region, specialty, discharges, outside):
    return {"region": region, "region_name": None, "year": 2024, "specialty": specialty,
            "discharges": discharges, "treated_outside": outside,
            "outflow_rate": outside / discharges, "top_destination": "110000" if outside else None,
            "top_destination_share": 1.0 if outside else None}


def test_outflow_specialty_rows_protect_both_counts():
    rows = [_outflow("620000", None, 1000, 130),
            _outflow("620000", "cardiovascular", 600, 100),
            _outflow("620000", "oncology", 300, 27),
            _outflow("620000", "pediatrics", 100, 3)]
    out = suppress_outflow_rows(rows, 10, by_specialty=[(0, [1, 2, 3])])
    # discharges: none small, all published; outside: 3 is small, 27 is the next-smallest
    assert [r["discharges"] for r in out] == [1000, 600, 300, 100]
    assert [r["treated_outside"] for r in out] == [130, 100, None, None]
    assert out[2]["suppressed"] and out[2]["outflow_rate"] is None
    assert out[2]["top_destination"] is None and out[2]["top_destination_share"] is None
    assert not out[0]["suppressed"] and not out[1]["suppressed"]


def test_outflow_region_rows_protect_discharges_and_withhold_the_whole_row():
    rows = [_outflow("620000", None, 1005, 100),
            _outflow("620100", None, 5, 1),
            _outflow("620900", None, 400, 60),
            _outflow("620200", None, 600, 50)]
    out = suppress_outflow_rows(rows, 10, by_region=[(0, [1, 2, 3])])
    assert out[2]["discharges"] is None and out[2]["outflow_rate"] is None and out[2]["suppressed"]
    assert out[3] == {**rows[3], "suppressed": False}
    assert out[0] == {**rows[0], "suppressed": False}


def test_outflow_outside_counts_do_not_add_up_across_levels():
    # a move between two prefectures is outside for each, inside for the province: a small
    # outside count of a prefecture is withheld alone, its siblings keep theirs
    rows = [_outflow("620000", None, 1000, 20),
            _outflow("620100", None, 500, 4),
            _outflow("620900", None, 500, 30)]
    out = suppress_outflow_rows(rows, 10, by_region=[(0, [1, 2])])
    assert out[1]["treated_outside"] is None and out[2]["treated_outside"] == 30


def test_outflow_threshold_one_publishes_everything():
    rows = [_outflow("620000", None, 1000, 130),
            _outflow("620000", "cardiovascular", 997, 129),
            _outflow("620000", "oncology", 3, 1)]
    out = suppress_outflow_rows(rows, 1, by_specialty=[(0, [1, 2])])
    assert out == [{**r, "suppressed": False} for r in rows]


def test_the_note_names_marker_and_threshold_in_both_languages():
    zh, en = disclosure_note(5)
    assert "“<5”" in zh and "1–4" in zh and "NRMC_MIN_CELL_SIZE = 5" in zh
    assert "“<5”" in en and "1–4" in en and "NRMC_MIN_CELL_SIZE = 5" in en
    assert count_marker(5) == "<5"
    assert "No small-cell suppression" in disclosure_note(1)[1]
