"""Appropriate scale: a project's planned beds against the beds its catchment needs.

Catchment: the counties of the project's province whose nearest centre (road model) is the
project hospital, among the province's real tertiary hospitals and the opened centres of the
same specialty. Catchment demand: those counties' annual admissions of the specialty (the one
demand function, ``demand.specialty_demand``) × the capture share — by default 38 %, the share
of all discharges treated in tertiary hospitals (NHC monthly bulletin, Jan–Oct 2019), since the
rest stay in county and city hospitals. Beds needed: the fewest beds at which the Erlang-B
occupancy is at most 85 % (``nrmc.planning.beds.beds_for_occupancy``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from ...planning import beds as bedsmod
from ...planning.errors import InvalidInput
from ...planning.travel import travel_minutes
from ..hospitals.models import Hospital
from ..projects import service as projects
from ..users.scope import Scope
from . import sites as sitesmod
from .demand import FlowsInput, specialty_demand
from .schemas import ScaleOut
from .service import demand_units

TERTIARY_SHARE = 0.38


def project_scale(*, session: Session, scope: Scope, project_id: int, flows: FlowsInput | None,
                  occupancy: float = bedsmod.OCCUPANCY_RULE,
                  capture_share: float = TERTIARY_SHARE) -> ScaleOut:
    """Over- or under-built by how many beds (see the module docstring); for the project page,
    the API and evaluation reports. Raises NotFound outside the caller's scope."""
    if not 0 < capture_share <= 1:
        raise InvalidInput(f"capture share must be in (0, 1]; got {capture_share}")
    project = projects.get_visible(session=session, scope=scope, project_id=project_id)
    host = session.get(Hospital, project.project_hospital_code)
    if host is None:
        raise InvalidInput(f"project {project_id} has no project hospital in the registry")
    province = project.province_code
    units = demand_units(session=session, province=province)
    demand = specialty_demand(units=units, specialty=project.specialty, flows=flows)
    rivals = pd.concat([sitesmod.registry_candidates(session=session, province=province),
                        sitesmod.existing_centres(session=session, specialty=project.specialty,
                                                      province=province)],
                       ignore_index=True)
    rivals = rivals[(rivals["code"] != host.code)
                    & (rivals["region_code"].astype(str).str[:2] == province[:2])]
    points = np.vstack([[host.lon, host.lat], rivals[["lon", "lat"]].to_numpy(float)])
    cost = travel_minutes(units[["lon", "lat"]].to_numpy(float), points)
    mine = np.argmin(cost, axis=1) == 0
    admissions = float(demand.weights[mine].sum()) * capture_share
    if admissions <= 0:
        raise InvalidInput(f"project {project_id}'s catchment has no {project.specialty} demand")
    check = bedsmod.check_scale(project.planned_beds, admissions, demand.mean_los_days, occupancy)
    d = check.difference
    if d is None:
        en = f"no planned bed count recorded; the catchment needs {check.needed.beds:,} beds"
        zh = f"未登记规划床位；服务范围需要{check.needed.beds:,}张床"
    elif d > 0:
        en, zh = f"over-built by {d:,} beds", f"超建{d:,}张床"
    elif d < 0:
        en, zh = f"under-built by {-d:,} beds", f"床位缺口{-d:,}张"
    else:
        en, zh = "planned beds match the need", "规划床位与需求一致"
    people = pd.to_numeric(units["population"], errors="coerce").fillna(0).to_numpy(float)
    return ScaleOut(
        project_id=project.id, specialty=project.specialty, planned_beds=project.planned_beds,
        beds_needed=check.needed.beds, difference=d, verdict=check.verdict,
        admissions_per_year=round(admissions, 1), mean_los_days=round(demand.mean_los_days, 2),
        occupancy_target=occupancy, occupancy_at_needed=round(check.needed.occupancy, 4),
        occupancy_at_planned=(round(check.planned_occupancy, 4)
                              if check.planned_occupancy is not None else None),
        capture_share=capture_share, catchment_counties=int(mine.sum()),
        catchment_population=float(people[mine].sum()), demand=demand.describe(),
        note_en=en, note_zh=zh)
