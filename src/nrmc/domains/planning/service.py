"""Siting scenarios: run one (demand, candidates, existing centres → HiGHS → what it means for
people), save it named and owned, list and read them within the caller's scope.

Scope (issue 14.9): national roles plan and read every province; a provincial officer only its
own province; hospital roles (managers, clinicians) cannot run siting nor read scenarios. The
national analyst is read-only: it runs scenarios but they are not saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, defer

from ...core.enums import Role
from ...core.errors import Forbidden, NotFound, NrmcError
from ...planning import beds as bedsmod
from ...planning import scenarios as pure
from ...planning.siting import MCLP, PMedian
from ...planning.travel import DEFAULT_CIRCUITY, DEFAULT_SPEED_KMH, travel_minutes
from ..audit import service as audit
from ..regions import service as regions
from ..users.scope import Scope
from . import sites as sitesmod
from .demand import FlowsInput, specialty_demand
from .models import PlanningScenario
from .schemas import ScenarioIn

PLANNING_ROLES = {Role.national_admin, Role.national_analyst, Role.provincial_officer}
TRAVEL_MODEL = (f"great-circle distance × circuity {DEFAULT_CIRCUITY} at {DEFAULT_SPEED_KMH:g} km/h",
                f"球面直线距离 × 迂回系数 {DEFAULT_CIRCUITY}，平均车速 {DEFAULT_SPEED_KMH:g} 公里/小时")


def require_planner(scope: Scope) -> None:
    """Hospital roles neither run siting nor read scenarios (a clinician plans no province)."""
    if scope.role not in PLANNING_ROLES:
        raise Forbidden("planning is for national and provincial planners; "
                        "规划功能仅对国家级和省级规划人员开放")


def _province_code(scope: Scope, session: Session, code: str) -> str:
    require_planner(scope)
    province = regions.get_visible(session=session, scope=scope, code=code)
    if province.level != "province":
        province = regions.get_visible(session=session, scope=scope, code=code[:2] + "0000")
    return province.code


def demand_units(*, session: Session, province: str) -> pd.DataFrame:
    """The province's demand units (leaf divisions: counties and county-less cities) with every
    column the regions table carries (population, and any census age columns)."""
    table = regions.region_table(session=session)
    units = table[(table["leaf"].astype(bool)) & (table["code"].astype(str).str[:2] == province[:2])]
    if units.empty:
        raise NotFound(f"no counties in province {province}")
    names = table.set_index("code")["name_zh"].to_dict()
    units = units.sort_values("code").reset_index(drop=True)
    units["prefecture"] = [p if isinstance(p, str) and p else c for p, c in
                           zip(units["parent_code"], units["code"], strict=True)]
    units["prefecture_zh"] = units["prefecture"].map(names).fillna("")
    return units


@dataclass(frozen=True)
class Run:
    """One solved scenario: what went in and what came out (the JSON stored for it)."""

    inputs: dict[str, Any]
    results: dict[str, Any]


def run(*, session: Session, scope: Scope, data: ScenarioIn, flows: FlowsInput | None,
        upload: pd.DataFrame | None = None) -> Run:
    """Solve ``data`` for its province (see the module and ``docs/planning.md`` for every
    assumption). Raises ``Forbidden``/``NotFound`` outside the caller's scope."""
    province = _province_code(scope, session, data.province)
    units = demand_units(session=session, province=province)
    demand = specialty_demand(units=units, specialty=data.specialty.value, flows=flows,
                              year=data.year, prefer=data.demand)
    table = sitesmod.site_table(session=session, province=province, units=units,
                                specialty=data.specialty.value, kind=data.candidates,
                                upload=upload, include_existing=data.include_existing)
    frame = table.frame
    existing = sitesmod.existing_index(frame)
    n_new = int((~frame["existing"].astype(bool)).sum())
    if n_new == 0:
        raise NrmcError(f"no candidate sites ({table.note_en}) in {province}; try greenfield "
                        "or upload a list")
    if data.p > n_new:
        raise NrmcError(f"{data.p} new sites asked for but only {n_new} candidates "
                        f"({table.note_en}) in {province}")
    cost = travel_minutes(units[["lon", "lat"]].to_numpy(float), frame[["lon", "lat"]].to_numpy(float))
    weights = demand.weights
    p_total = data.p + len(existing)
    if data.objective == "median":
        result = PMedian.from_cost_matrix(cost, weights, p_total, existing=existing or None).solve()
    else:
        result = MCLP.from_cost_matrix(cost, weights, data.radius_min, p_total,
                                       existing=existing or None).solve()
    selected = [int(j) for j in result.selected]
    sub = cost[:, selected]
    nearest = np.asarray(selected)[np.argmin(sub, axis=1)]
    minutes = sub.min(axis=1)
    people = pd.to_numeric(units["population"], errors="coerce").fillna(0).to_numpy(float)
    reach = pure.reach(minutes, people)
    sites = []
    for rank, j in enumerate(selected, start=1):
        served = nearest == j
        admissions = float(weights[served].sum())
        beds = (bedsmod.beds_for_occupancy(admissions, demand.mean_los_days).beds
                if admissions > 0 else 0)
        row = frame.iloc[j]
        sites.append({"rank": rank, "code": str(row["code"]), "name_zh": str(row["name_zh"]),
                      "lon": float(row["lon"]), "lat": float(row["lat"]),
                      "existing": bool(row["existing"]), "role": str(row["role"]),
                      "counties": int(served.sum()), "catchment_population": float(people[served].sum()),
                      "catchment_demand": admissions, "beds_needed": int(beds)})
    code_of = {j: str(frame.iloc[j]["code"]) for j in selected}
    unit_rows = [{"code": str(u.code), "name_zh": str(u.name_zh), "prefecture": str(u.prefecture),
                  "prefecture_zh": str(u.prefecture_zh), "lon": float(u.lon), "lat": float(u.lat),
                  "population": float(people[i]), "demand": float(weights[i]),
                  "minutes": round(float(minutes[i]), 1), "site": code_of[int(nearest[i])]}
                 for i, u in enumerate(units.itertuples())]
    pref_names = dict(zip(units["prefecture"], units["prefecture_zh"], strict=True))
    unc_pref = pure.uncovered_by(list(units["prefecture"]), minutes, people, data.radius_min)
    unc_county = pure.uncovered_by(list(units["code"]), minutes, people, data.radius_min)
    county_names = dict(zip(units["code"], units["name_zh"], strict=True))
    objective = result.objective if np.isfinite(result.objective) else None
    results = {
        "model": result.model, "status": result.status, "gap": result.gap,
        "seconds": round(result.seconds, 3), "objective": objective,
        "covered_share": result.covered_share, "total_demand": float(weights.sum()),
        "population": reach.total,
        "within": {f"{h}h": reach.within[h] for h in pure.HOURS},
        "mean_minutes": reach.mean_minutes, "p95_minutes": reach.p95_minutes,
        "unreachable": reach.unreachable,
        "demand": demand.describe(),
        "candidates": {"kind": table.kind, "note_en": table.note_en, "note_zh": table.note_zh,
                       "count": n_new, "existing": len(existing)},
        "travel_en": TRAVEL_MODEL[0], "travel_zh": TRAVEL_MODEL[1],
        "sites": sites, "selected_codes": [s["code"] for s in sites], "units": unit_rows,
        "uncovered_prefectures": [{"code": c, "name_zh": pref_names.get(c, ""), "people": v}
                                  for c, v in sorted(unc_pref.items(), key=lambda kv: -kv[1])],
        "uncovered_counties": [{"code": c, "name_zh": county_names.get(c, ""), "people": v}
                               for c, v in sorted(unc_county.items(), key=lambda kv: -kv[1])],
    }
    inputs = data.model_dump(mode="json") | {"province": province}
    return Run(inputs, _finite(results))


def _finite(value: Any) -> Any:
    """NaN / infinity (no one reachable, say) become null: JSON columns and bodies refuse them."""
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def save(*, session: Session, scope: Scope, done: Run, name: str, source: str = "",
         now: datetime | None = None) -> PlanningScenario:
    """Store a run under ``name``, owned by the caller (read-only roles cannot save)."""
    require_planner(scope)
    scope.require_write()
    scenario = PlanningScenario(
        name=name, owner=scope.actor, province_code=done.inputs["province"],
        specialty=done.inputs["specialty"], created_at=now or datetime.now(UTC),
        inputs=done.inputs, results=done.results)
    session.add(scenario)
    session.flush()
    audit.record(session=session, actor=scope.actor, action="scenario.create",
                 object_type="scenario", object_id=str(scenario.id),
                 after={"name": name, "province": scenario.province_code,
                        "selected": done.results["selected_codes"]}, source=source)
    return scenario


def _visible(scope: Scope) -> Select[PlanningScenario]:
    require_planner(scope)
    query = select(PlanningScenario)
    if not scope.national:
        query = query.where(PlanningScenario.province_code.like((scope.province or "--") + "%"))
    return query


def list_visible(*, session: Session, scope: Scope, limit: int = 50,
                 offset: int = 0) -> tuple[list[PlanningScenario], int]:
    """Saved scenarios newest first, without their inputs and results (loaded only if read:
    a national siting's results run to megabytes of JSON, and a list shows none of it)."""
    query = _visible(scope)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(query.options(defer(PlanningScenario.inputs),
                                          defer(PlanningScenario.results))
                            .order_by(PlanningScenario.id.desc()).limit(limit)
                            .offset(offset)).all()
    return list(items), int(total)


def get_visible(*, session: Session, scope: Scope, scenario_id: int) -> PlanningScenario:
    found = session.scalars(_visible(scope).where(PlanningScenario.id == scenario_id)).first()
    if found is None:
        raise NotFound(f"no scenario {scenario_id}")
    return found
