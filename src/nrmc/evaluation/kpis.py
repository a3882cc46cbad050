"""KPIs a report lists for a scope: flow-derived ones now, operations ledgers when present.

Flow KPIs come from the same before/after results as the tables (so the KPI panel and the
table can never disagree); operations KPIs (expert teams, surgeries, trainees, …) come from
the collaboration domain's service when that slice is installed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from .service import METRICS, Evaluation


@dataclass(frozen=True)
class Kpi:
    name: str
    value: float | int | None
    unit: str  # "%" for fractions shown as percent, else a count unit
    year: int | None
    source: str

    @property
    def display(self) -> str:
        if self.value is None or (isinstance(self.value, float) and math.isnan(self.value)):
            return "–"
        if self.unit == "%":
            return f"{self.value * 100:.1f}%"
        return f"{self.value:,.0f}" if float(self.value).is_integer() else f"{self.value:,.2f}"


FLOWS_SOURCE = "discharge records (flows dataset), nrmc.flows metrics"


def flow_kpis(evaluation: Evaluation) -> list[Kpi]:
    out = []
    for name, label in METRICS.items():
        result = evaluation.before_after.get(name)
        if result is None:
            continue
        out.append(Kpi(label, result.after, "%", result.after_year, FLOWS_SOURCE))
    return out


def operations_kpis(*, session: Session, evaluation: Evaluation) -> list[Kpi]:
    """Per-project operations KPIs summed over the scope's projects (empty when unavailable)."""
    try:
        from ..domains.collaboration import service as collaboration
    except ImportError:
        return []
    fetch = getattr(collaboration, "project_kpis", None)
    if fetch is None:
        return []
    totals: dict[tuple[str, str], float] = {}
    year: int | None = None
    for project_id in evaluation.projects["id"]:
        rows: Any = fetch(session=session, project_id=int(project_id))
        for row in _records(rows):
            name = str(row.get("kpi") or row.get("name"))
            unit = str(row.get("unit") or "count")
            value = row.get("value")
            if value is None:
                continue
            totals[(name, unit)] = totals.get((name, unit), 0.0) + float(value)
            year = max(year or 0, int(row.get("year") or 0)) or None
    return [Kpi(name, value, unit, year, "operations ledger (nrmc.domains.collaboration)")
            for (name, unit), value in totals.items()]


def _records(rows: Any) -> list[dict[str, Any]]:
    if hasattr(rows, "to_dict"):
        return list(rows.to_dict("records"))
    return [r if isinstance(r, dict) else r.model_dump() for r in rows]


def gather(*, session: Session, evaluation: Evaluation) -> list[Kpi]:
    return flow_kpis(evaluation) + operations_kpis(session=session, evaluation=evaluation)
