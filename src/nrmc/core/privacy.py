"""Small-cell suppression for published aggregates.

A published count between 1 and ``min_cell - 1`` could identify patients in a small county or
specialty, so it is withheld, together with every figure from which it could be recomputed (a
rate times its denominator gives the count back). Zero is published: it identifies nobody.
The default threshold of 10 follows common health-statistics disclosure practice; set
``NRMC_MIN_CELL_SIZE`` to change it. Analysts with the raw dataset (``nrmc evaluate``, the
flows commands) are not affected: this applies to what pages, the API, downloads and the
evaluation reports publish.

This module is the one implementation of the rule (:func:`is_small`) and of the ways it is
applied: to a share (:func:`share_withheld`), to a row of cells that add up to a total a
reader can see or derive (:func:`withheld_cells`), and to several such groups that share
cells (:func:`withheld_in_groups`), as the published outflow tables do.

Complementary suppression: where the cells of a group add up to a total (a region's specialty
rows to its all-specialties row, the prefectures of a province to the province), a group with
exactly one withheld figure, the total included, would give it back by subtraction (or, for a
withheld total, by addition). The smallest other positive published cell of the group is then
withheld too (ties: the first), or the total when no such cell exists (the withheld cell then
equals it). A cell withheld this way can leave another group it belongs to with exactly one
withheld figure, so :func:`withheld_in_groups` repeats until no group has one. A reader then
learns only sums of two or more withheld cells. This is the practical two-per-group rule, not
a full linear-programming audit of every combination of groups.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import subprocess
import sys
from collections import deque
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

DEFAULT_MIN_CELL = 10
WITHHELD = "—"  # shown instead of a withheld share, rate or change
LEDGER_FILE = "withheld-cells.json"  # beside a dataset's manifest: see WithheldLedger
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
    extra = _complement(counts, withheld, None, range(len(counts)))
    if extra is not None:
        withheld[extra] = True
    return withheld


Group = tuple[int, Sequence[int]]  # (index of the total cell, indices of the cells adding up to it)


def withheld_in_groups(counts: Sequence[Any], withheld: Sequence[bool],
                       groups: Sequence[Group]) -> list[bool]:
    """Complementary suppression over additive groups that share cells.

    ``counts`` holds every cell once; ``withheld`` says which the primary rule (or an earlier
    pass) withholds; each group is ``(total, members)``, indices into ``counts``, with
    ``counts[total] == sum(counts[m] for m in members)``. Returns the flags with every group
    left with zero or at least two withheld figures (see the module docstring), reaching a
    fixed point: a cell withheld for one group re-examines the other groups it belongs to.
    Withholding only ever grows, so this ends; with no primary withholding it changes nothing.
    """
    flags = list(withheld)
    member_of: list[list[int]] = [[] for _ in counts]
    for g, (total, members) in enumerate(groups):
        member_of[total].append(g)
        for cell in members:
            member_of[cell].append(g)
    pending = deque(range(len(groups)))
    queued = [True] * len(groups)
    while pending:
        g = pending.popleft()
        queued[g] = False
        extra = _complement(counts, flags, *groups[g])
        if extra is None:
            continue
        flags[extra] = True
        for other in member_of[extra]:
            if not queued[other]:
                queued[other] = True
                pending.append(other)
    return flags


def _complement(counts: Sequence[Any], flags: Sequence[bool], total: int | None,
                members: Sequence[int]) -> int | None:
    """The cell to withhold so the group's one withheld figure cannot be derived (None: no
    need). ``total`` None: the total is printed and never withheld (:func:`withheld_cells`)."""
    hidden = sum(bool(flags[i]) for i in members) + (total is not None and bool(flags[total]))
    if hidden != 1:
        return None
    others = [(float(counts[i]), i) for i in members if not flags[i] and _positive(counts[i])]
    if others:
        return min(others)[1]
    if total is not None and not flags[total]:
        return total  # the one withheld member is the only positive one: it equals the total
    return None


def _positive(count: Any) -> bool:
    if count is None:
        return False
    value = float(count)
    return not math.isnan(value) and value > 0


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


def withheld_kinds(raw: dict[str, Any], published: dict[str, Any]) -> frozenset[str]:
    """Which of an outflow row's cells a release withheld (had a value, published None)."""
    return frozenset(k for k in ("discharges", "treated_outside", "top_destination_share")
                     if raw.get(k) is not None and published.get(k) is None)


class WithheldLedger:
    """The cells ever withheld from a published table, kept across releases.

    A count withheld in one release and published in the next (a load added discharges to it)
    could be recovered by differencing the two releases: the later count minus what the load
    added, or a group total minus the cells published beside it. So a cell withheld once stays
    withheld: every release suppresses on the union of what earlier releases withheld for the
    same cell key, and complementary suppression is worked out on top of that union.

    The ledger is a JSON file ({key: [kinds]}) beside the dataset it protects; writes are
    merged under an exclusive lock and replaced atomically, so concurrent workers only add.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, frozenset[str]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:  # never publish as if nothing had been withheld
            raise RuntimeError(f"cannot read the withheld-cells ledger {self.path}: {exc}") from exc
        return {str(k): frozenset(v) for k, v in data.get("cells", {}).items()}

    def remember(self, withheld: Mapping[str, Collection[str]]) -> None:
        """Add cells to the ledger (keys with no kinds are ignored)."""
        fresh = {k: frozenset(v) for k, v in withheld.items() if v}
        if not fresh:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            merged = dict(self.read())
            changed = False
            for key, kinds in fresh.items():
                union = merged.get(key, frozenset()) | kinds
                if union != merged.get(key):
                    merged[key], changed = union, True
            if changed:
                tmp = self.path.with_suffix(".tmp")
                tmp.write_text(json.dumps({"cells": {k: sorted(v) for k, v in sorted(merged.items())}},
                                          ensure_ascii=False), encoding="utf-8")
                os.replace(tmp, self.path)


_CHECK_IN_CHILD = """
import sys
from pathlib import Path
from nrmc.core.privacy import WithheldLedger
try:
    WithheldLedger(Path(sys.argv[1])).read()
except RuntimeError as exc:
    print(exc)
    sys.exit(3)
"""


def ledger_problem(path: Path, *, timeout: float = 600.0) -> str | None:
    """Why the withheld-cells ledger at `path` cannot be read, or None when it reads whole.
    Parsed by a child Python: the file holds every outflow cell (tens of MB on a national
    dataset, over a second to parse), and a web worker parsing it would hold its GIL that long,
    stalling every request it serves."""
    done = subprocess.run([sys.executable, "-c", _CHECK_IN_CHILD, str(path)],
                          capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode == 0:
        return None
    said = (done.stdout.strip() or done.stderr.strip()).splitlines()
    return said[-1] if said else f"cannot read the withheld-cells ledger {path}"


def suppress_outflow_rows(rows: Sequence[dict[str, Any]], min_cell: int = DEFAULT_MIN_CELL, *,
                          by_specialty: Sequence[Group] = (),
                          by_region: Sequence[Group] = (),
                          carried: Sequence[Collection[str]] | None = None) -> list[dict[str, Any]]:
    """Outflow rows as published: each row's own small cells (:func:`suppress_outflow_row`),
    then complementary suppression in the groups the rows form (indices into ``rows``).

    ``by_specialty``: a region-year's all-specialties row (total) and its specialty rows, which
    add up in ``discharges`` and in ``treated_outside``. ``by_region``: a unit's row (total)
    and its child units' rows for the same year and specialty, which add up in ``discharges``
    only (a move between two prefectures is outside for each and inside for the province). A
    row whose discharges are withheld loses everything the primary rule takes for a small
    denominator; one whose treated_outside is withheld, what it takes for a small numerator.
    """
    kept = list(carried) if carried is not None else [()] * len(rows)
    out = [suppress_outflow_row(r, min_cell) for r in rows]
    for row, before in zip(out, kept, strict=True):
        if "top_destination_share" in before and row.get("top_destination_share") is not None:
            row.update(top_destination_share=None, suppressed=True)
    discharges = [r.get("discharges") for r in rows]
    hidden = withheld_in_groups(
        discharges, [is_small(c, min_cell) or "discharges" in before
                     for c, before in zip(discharges, kept, strict=True)],
        [*by_specialty, *by_region])
    outside = [r.get("treated_outside") for r in rows]
    hidden_outside = withheld_in_groups(
        outside, [h or is_small(c, min_cell) or "treated_outside" in before
                  for h, c, before in zip(hidden, outside, kept, strict=True)],
        by_specialty)
    for row, whole, numerator in zip(out, hidden, hidden_outside, strict=True):
        if whole:
            row.update(dict.fromkeys(("discharges", *_OUTFLOW_DERIVED)), suppressed=True)
        elif numerator:
            row.update(dict.fromkeys(_OUTFLOW_DERIVED), suppressed=True)
    return out
