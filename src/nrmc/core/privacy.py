"""Small-cell suppression for published aggregates.

A published count between 1 and ``min_cell - 1`` could identify patients in a small county or
specialty, so it is withheld, together with every figure from which it could be recomputed (a
rate times its denominator gives the count back). Zero is published: it identifies nobody.
The default threshold of 10 follows common health-statistics disclosure practice; set
``NRMC_MIN_CELL_SIZE`` to change it. Analysts with the raw dataset (CLI, evaluation) are not
affected: this applies to what pages, the API and downloads publish.
"""

from __future__ import annotations

from typing import Any

DEFAULT_MIN_CELL = 10
_OUTFLOW_DERIVED = ("treated_outside", "outflow_rate", "top_destination", "top_destination_share")


def is_small(count: Any, min_cell: int) -> bool:
    return count is not None and 0 < int(count) < min_cell


def suppress_outflow_row(row: dict[str, Any], min_cell: int = DEFAULT_MIN_CELL) -> dict[str, Any]:
    """A copy of one outflow row with small cells withheld and ``suppressed`` set."""
    out = dict(row)
    out["suppressed"] = False
    if is_small(row.get("discharges"), min_cell):
        out.update(dict.fromkeys(("discharges", *_OUTFLOW_DERIVED)), suppressed=True)
    elif is_small(row.get("treated_outside"), min_cell):
        out.update(dict.fromkeys(_OUTFLOW_DERIVED), suppressed=True)
    elif row.get("top_destination_share") is not None and row.get("treated_outside"):
        to_top = round(float(row["top_destination_share"]) * int(row["treated_outside"]))
        if is_small(to_top, min_cell):
            out["top_destination_share"] = None
            out["suppressed"] = True
    return out
