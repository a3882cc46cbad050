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
    # what small-cell suppression (evaluation.disclosure) checks: the counts a share rests on,
    # and whether a count is one of patients or cases
    numerator: float | None = None
    denominator: float | None = None
    patients: bool = False
    withheld_as: str | None = None  # the marker shown instead of a withheld value

    @property
    def display(self) -> str:
        if self.withheld_as is not None:
            return self.withheld_as
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
        last = result.table.iloc[-1]
        out.append(Kpi(label, result.after, "%", result.after_year, FLOWS_SOURCE,
                       numerator=float(last["numerator"]), denominator=float(last["denominator"])))
    return out


OPS_FIELDS = {
    "expert_teams": "Expert teams sent by the output hospital",
    "expert_days": "Expert-days on site",
    "surgeries": "Surgeries by visiting experts",
    "surgeries_grade34_share": "Grade-3/4 share of those surgeries",
    "outpatients": "Outpatients seen by visiting experts",
    "complex_cases": "Complex cases (consultations)",
    "technologies": "New technologies introduced",
    "trainees": "Local staff trained",
    "referrals_up": "Referrals up within the network",
    "referrals_down": "Referrals down within the network",
}
PATIENT_COUNTS = frozenset({"surgeries", "outpatients", "complex_cases", "referrals_up",
                            "referrals_down"})  # the others count staff, days or technologies
OPS_SOURCE = "operations ledger (nrmc.domains.collaboration), all years"


def operations_kpis(*, session: Session, evaluation: Evaluation) -> list[Kpi]:
    """Operations KPIs summed over the scope's projects (shares pooled by surgeries).

    ``collaboration.kpis.project_kpis`` computes them from the ledger rows; a share is
    recombined as Σ(share × surgeries) / Σ surgeries so a batch is not an average of averages.
    """
    try:
        from ..domains.collaboration.kpis import project_kpis
        from ..domains.users.scope import Scope
    except ImportError:  # operations slice not installed
        return []
    totals: dict[str, float] = dict.fromkeys(OPS_FIELDS, 0.0)
    share_weight = 0.0
    any_rows = False
    for project_id in evaluation.projects["id"]:
        k: Any = project_kpis(session=session, scope=Scope.system(), project_id=int(project_id))
        any_rows = any_rows or bool(k.dispatches or k.surgeries or k.technologies)
        for name in OPS_FIELDS:
            if name == "surgeries_grade34_share":
                if k.surgeries_grade34_share is not None:
                    totals[name] += k.surgeries_grade34_share * k.surgeries
                    share_weight += k.surgeries
            else:
                totals[name] += float(getattr(k, name) or 0)
    if not any_rows:
        return []
    grade34 = totals["surgeries_grade34_share"]
    totals["surgeries_grade34_share"] = grade34 / share_weight if share_weight else math.nan
    return [Kpi(label, totals[name], "%" if name.endswith("share") else "count", None, OPS_SOURCE,
                numerator=round(grade34) if name.endswith("share") else None,
                denominator=share_weight if name.endswith("share") else None,
                patients=name in PATIENT_COUNTS)
            for name, label in OPS_FIELDS.items()]


def gather(*, session: Session, evaluation: Evaluation) -> list[Kpi]:
    return flow_kpis(evaluation) + operations_kpis(session=session, evaluation=evaluation)
