"""Published outflow aggregates withhold small cells (the API is what other tools read)."""

import pandas as pd

from nrmc.web.outflow import published


def test_published_outflow_rows_withhold_small_counts():
    frame = pd.DataFrame([
        {"region": "620000", "region_name": "甘肃省", "year": 2023, "specialty": "oncology",
         "discharges": 900, "treated_outside": 4, "outflow_rate": 4 / 900,
         "top_destination": "110000", "top_destination_share": 0.75},
        {"region": "110000", "region_name": "北京市", "year": 2023, "specialty": "oncology",
         "discharges": 900, "treated_outside": 90, "outflow_rate": 0.1,
         "top_destination": "130000", "top_destination_share": 0.5},
    ])
    gansu, beijing = published(frame, 10)
    assert gansu["suppressed"] and gansu["treated_outside"] is None and gansu["outflow_rate"] is None
    assert not beijing["suppressed"] and beijing["treated_outside"] == 90
