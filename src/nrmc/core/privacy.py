"""Small-cell suppression for published aggregates.

A published count between 1 and ``min_cell - 1`` could identify patients in a small county or
specialty, so it is withheld, together with every figure from which it could be recomputed (a
rate times its denominator gives the count back). Zero is published: it identifies nobody.
The default threshold of 10 follows common health-statistics disclosure practice; set
``NRMC_MIN_CELL_SIZE`` to change it. Analysts with the raw dataset (``nrmc evaluate``, the
flows commands) are not affected: this applies to what pages, the API, downloads and the
evaluation reports publish.

This module is the one implementation of the rule (:func:`is_small`) and of the two ways it is
applied: to a share (:func:`share_withheld`) and to a row of cells that add up to a total a
reader can see or derive (:func:`withheld_cells`, with complementary suppression).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

DEFAULT_MIN_CELL = 10
WITHHELD = "—"  # shown instead of a withheld share, rate or change
_OUTFLOW_DERIVED = ("treated_outside", "outflow_rate", "top_destination", "top_destination_share")


def is_small(count: Any, min_cell: int) -> bool:
    """A count from 1 to ``min_cell - 1`` (None and NaN are not counts: not small)."""
    if count is None:
        return False
    value = float(count)
    return not math.isnan(value) and 0 < value < min_cell


def share_withheld(numerator: Any, denominator: Any, min_cell: int) -> bool:
    """Whether the share ``numerator / denominator`` must be withheld.

    Either count being small is enough: with the denominator known (printed beside it, or
    published elsewhere) the share gives a small numerator back, and a share of a small
    denominator is itself a small count in disguise.
    """
    return is_small(numerator, min_cell) or is_small(denominator, min_cell)


def withheld_cells(counts: Sequence[Any], min_cell: int) -> list[bool]:
    """Which cells of one row to withhold, when the row's total is printed or derivable.

    Primary suppression withholds every small cell. If that leaves exactly one withheld cell,
    the total minus the published cells would give it back, so the smallest other positive
    cell is withheld too (complementary suppression; ties: the first). A reader then learns
    only the sum of two withheld cells. When no other positive cell exists the withheld cell
    *is* the total, which is then small and must be withheld by the caller as well.
    """
    withheld = [is_small(c, min_cell) for c in counts]
    if sum(withheld) == 1:
        others = [(float(c), i) for i, c in enumerate(counts)
                  if not withheld[i] and c is not None and not math.isnan(float(c))
                  and float(c) > 0]
        if others:
            withheld[min(others)[1]] = True
    return withheld


def count_marker(min_cell: int) -> str:
    """What a withheld count shows instead of its value, e.g. ``<10``."""
    return f"<{min_cell}"


def disclosure_note(min_cell: int) -> tuple[str, str]:
    """The footnote (Chinese, English) that explains withheld cells and the threshold."""
    if min_cell <= 1:
        return ("未作小数保护（NRMC_MIN_CELL_SIZE = 1），所有计数均已列出。",
                "No small-cell suppression (NRMC_MIN_CELL_SIZE = 1): every count is shown.")
    small = "1" if min_cell == 2 else f"1–{min_cell - 1}"
    marker = count_marker(min_cell)
    return (
        f"小数保护：{small} 例的计数以“{marker}”表示，可据以推算这些计数的比例、比率及其变化以"
        f"“{WITHHELD}”表示；合计可反推单个隐去计数时，同行次小的计数一并隐去"
        f"（以“{WITHHELD}”表示；阈值 NRMC_MIN_CELL_SIZE = {min_cell}）。",
        f"Small-cell suppression: counts of {small} are shown as “{marker}”, and shares, rates "
        f"and changes that would reveal them as “{WITHHELD}”; where a total would give back a "
        f"single withheld count, the next-smallest count in the row is withheld too (shown as "
        f"“{WITHHELD}”; threshold NRMC_MIN_CELL_SIZE = {min_cell}).",
    )


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
