"""Project KPIs computed from the individual ledger rows (nothing here is stored).

Definitions (period = inclusive dates; None = all time):
- expert_teams: teams with a dispatch overlapping the period; a dispatch without a team is a
  one-person team. experts: distinct people. expert_days: days on site inside the period.
- surgeries: operations (sum of `count`) by grade; grade-3/4 share = (g3 + g4) / all.
- outpatients: patients seen in outpatient sessions; consultations: consultation cases;
  complex_cases: consultation and teleconsultation cases flagged complex; teaching_sessions:
  sessions held (teaching lines); rare_disease_cases: rare-disease cases seen.
- technologies: first case inside the period, by gap level; trainees: trained inside it.
- referrals: requested inside the period with at least one end in the project's network (the
  project and output hospitals, members of alliances attached to the project, and members of
  alliances led by those members: the county medical communities under a centre's group).
  down_up_ratio = down / up. Each referral row counts once, by its own direction: "return to
  referrer" makes the return its own (down) row linked to the original (up) row, so a returned
  pair is one up and one down. median_hours_to_accept: request → response for referrals that
  were accepted. referrals_overdue: answered after the deadline of the referral's urgency
  (emergency 2 h, urgent 24 h, routine 72 h by default), or still unanswered past it.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...core.enums import ActivityKind, Direction, GapLevel, ReferralStatus
from ...db.kept import KeptByCounters
from ..alliances.models import Alliance, AllianceMember
from ..referrals import service as referrals
from ..referrals.deadlines import Sla
from ..referrals.models import Referral
from ..users.scope import Scope
from .access import visible_project
from .models import Activity, Dispatch, Technology, Trainee
from .schemas import ProjectKpis

K = ActivityKind
ACCEPTED_PATH = frozenset({ReferralStatus.accepted, ReferralStatus.scheduled,
                           ReferralStatus.arrived, ReferralStatus.completed,
                           ReferralStatus.returned})


def year_bounds(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


def project_network(*, session: Session, project_id: int) -> set[str]:
    """Hospital codes whose referrals count for the project (see the module docstring)."""
    return set(_networks.get(session, ("network", project_id),
                             lambda: frozenset(_network(session, project_id))))


def _network(session: Session, project_id: int) -> set[str]:
    project = visible_project(session, Scope.system(), project_id)
    codes = {project.project_hospital_code, project.output_hospital_code}
    attached = session.scalars(select(Alliance.id).where(Alliance.project_id == project_id)).all()
    codes |= set(session.scalars(select(AllianceMember.hospital_code)
                                 .where(AllianceMember.alliance_id.in_(attached))))
    led = session.scalars(select(Alliance.id).where(Alliance.lead_hospital_code.in_(codes))).all()
    codes |= set(session.scalars(select(AllianceMember.hospital_code)
                                 .where(AllianceMember.alliance_id.in_(led))))
    return codes


class DispatchSpan(NamedTuple):
    """What the KPIs use of a dispatch (columns, not the dispatch with its expert and team)."""

    start_date: date
    end_date: date
    team_id: int | None
    expert_id: int


@dataclass(frozen=True)
class Ledger:
    """One project's ledger rows for a period, loaded once so that any number of sub-periods
    (the years of a trend) are computed from memory rather than re-queried."""

    dispatches: list[DispatchSpan]
    activities: list[tuple[str, int, int | None, bool, date]]  # kind, count, grade, complex, on
    technologies: list[tuple[str, date]]  # gap level, first case
    trainees: list[tuple[float, date]]  # hours, trained on
    referrals: list[Referral]


# The ledger tables a project's KPIs read (referrals apart: they change far more often).
LEDGER_TABLES = ("activities", "dispatches", "technologies", "trainees")


# A project's ledger rows for a period, kept while the four ledger tables' counters stand: a
# referral written in the network makes the web's cached KPIs stale, and their rebuild then
# reads only the referrals again, not the whole ledger.
_ledgers: KeptByCounters[tuple[Any, ...]] = KeptByCounters(LEDGER_TABLES)
# The hospitals of a project's network change only with projects and alliances.
NETWORK_TABLES = ("projects", "alliances", "alliance_members")
_networks: KeptByCounters[frozenset[str]] = KeptByCounters(NETWORK_TABLES, size=1024)


def forget_kept() -> None:
    """Drop the kept ledger rows and networks (tests that count a rebuild's statements)."""
    _ledgers.clear()
    _networks.clear()


def _ledger_rows(session: Session, project_id: int, lo: date, hi: date) -> tuple[Any, ...]:
    dispatches = [DispatchSpan(*row) for row in session.execute(
        select(Dispatch.start_date, Dispatch.end_date, Dispatch.team_id, Dispatch.expert_id)
        .where(Dispatch.project_id == project_id, Dispatch.start_date <= hi,
               Dispatch.end_date >= lo))]
    activities = [tuple(row) for row in session.execute(
        select(Activity.kind, Activity.count, Activity.surgery_grade, Activity.complex_case,
               Activity.occurred_on).where(
            Activity.project_id == project_id, Activity.occurred_on >= lo,
            Activity.occurred_on <= hi))]
    technologies = [tuple(row) for row in session.execute(
        select(Technology.gap_level, Technology.first_case_on).where(
            Technology.project_id == project_id, Technology.first_case_on >= lo,
            Technology.first_case_on <= hi))]
    trainees = [tuple(row) for row in session.execute(
        select(Trainee.hours, Trainee.trained_on).where(
            Trainee.project_id == project_id, Trainee.trained_on >= lo, Trainee.trained_on <= hi))]
    return dispatches, activities, technologies, trainees


def load_ledger(*, session: Session, scope: Scope, project_id: int, start: date | None = None,
                end: date | None = None) -> Ledger:
    """The rows the KPIs of [start, end] need; NotFound if the project is out of scope."""
    visible_project(session, scope, project_id)
    lo, hi = start or date.min, end or date.max
    dispatches, activities, technologies, trainees = _ledgers.get(
        session, ("ledger", project_id, lo, hi), lambda: _ledger_rows(session, project_id, lo, hi))
    since, until = _instants(start, end)
    found = referrals.list_referrals(
        session=session, scope=Scope.system(),
        hospitals_in=project_network(session=session, project_id=project_id),
        since=since, until=until)
    return Ledger(dispatches, activities, technologies, trainees, found)  # type: ignore[arg-type]


def project_kpis(
    *, session: Session, scope: Scope, project_id: int, start: date | None = None,
    end: date | None = None, year: int | None = None, now: datetime | None = None,
    sla_hours: Sla = referrals.DEFAULT_SLA,
) -> ProjectKpis:
    """The project's KPIs for [start, end] (or the calendar `year`); NotFound if out of scope."""
    if year is not None:
        start, end = year_bounds(year)
    ledger = load_ledger(session=session, scope=scope, project_id=project_id, start=start, end=end)
    return kpis_of(ledger, project_id, start, end, now=now, sla_hours=sla_hours)


def project_kpis_by_year(
    *, session: Session, scope: Scope, project_id: int, years: Iterable[int],
    now: datetime | None = None, sla_hours: Sla = referrals.DEFAULT_SLA,
) -> dict[int, ProjectKpis]:
    """KPIs for each calendar year, from one load of the ledger (trends, year on year)."""
    wanted = sorted(set(years))
    if not wanted:
        return {}
    ledger = load_ledger(session=session, scope=scope, project_id=project_id,
                         start=year_bounds(wanted[0])[0], end=year_bounds(wanted[-1])[1])
    return {y: kpis_of(ledger, project_id, *year_bounds(y), now=now, sla_hours=sla_hours)
            for y in wanted}


def kpis_of(ledger: Ledger, project_id: int, start: date | None, end: date | None, *,
            now: datetime | None = None,
            sla_hours: Sla = referrals.DEFAULT_SLA) -> ProjectKpis:
    """The KPIs of [start, end] from rows loaded for that period or a longer one."""
    lo, hi = start or date.min, end or date.max
    dispatches = [d for d in ledger.dispatches if d.start_date <= hi and d.end_date >= lo]
    teams = {d.team_id for d in dispatches if d.team_id is not None}
    solo = sum(1 for d in dispatches if d.team_id is None)
    days = sum((min(d.end_date, hi) - max(d.start_date, lo)).days + 1 for d in dispatches)

    sums: Counter[str] = Counter()
    grades: Counter[int] = Counter()
    complex_cases = training_sessions = 0
    surgery, training = K.surgery.value, K.training.value
    consulting = (K.consultation.value, K.teleconsultation.value)
    for kind, count, grade, is_complex, on in ledger.activities:
        if not lo <= on <= hi:
            continue
        sums[kind] += count
        if kind == surgery and grade:
            grades[grade] += count
        if is_complex and kind in consulting:
            complex_cases += count
        if kind == training:
            training_sessions += 1
    surgeries = sum(grades.values())

    techs = [gap for gap, on in ledger.technologies if lo <= on <= hi]
    trainees = [hours for hours, on in ledger.trainees if lo <= on <= hi]
    since, until = _instants(start, end)
    found = [r for r in ledger.referrals
             if (since is None or referrals.utc(r.requested_at) >= since)
             and (until is None or referrals.utc(r.requested_at) < until)]
    ref = _referral_figures(found, now, sla_hours)
    return ProjectKpis(
        project_id=project_id, period_start=start, period_end=end,
        expert_teams=len(teams) + solo, experts=len({d.expert_id for d in dispatches}),
        dispatches=len(dispatches), expert_days=days,
        surgeries=surgeries, surgeries_by_grade={str(g): grades.get(g, 0) for g in (1, 2, 3, 4)},
        surgeries_grade34_share=round((grades[3] + grades[4]) / surgeries, 4) if surgeries else None,
        outpatients=sums[K.outpatient.value], consultations=sums[K.consultation.value],
        complex_cases=complex_cases, teleconsultations=sums[K.teleconsultation.value],
        ward_rounds=sums[K.ward_round.value], lectures=sums[K.lecture.value],
        training_sessions=training_sessions, training_attendees=sums[K.training.value],
        teaching_sessions=sums[K.teaching.value], rare_disease_cases=sums[K.rare_disease.value],
        technologies=len(techs),
        technologies_by_gap={g.value: sum(1 for t in techs if t == g.value) for g in GapLevel},
        trainees=len(trainees), trainee_hours=float(sum(trainees)), **ref,
    )


def _instants(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """Referrals count by request time in [start 00:00, end + 1 day 00:00) UTC."""
    since = datetime.combine(start, time(), UTC) if start else None
    until = datetime.combine(end + timedelta(days=1), time(), UTC) if end else None
    return since, until


def _referral_figures(found: list[Referral], now: datetime | None,
                      sla_hours: Sla) -> dict[str, Any]:
    by_direction = Counter(r.direction for r in found)
    up, down = by_direction[Direction.up.value], by_direction[Direction.down.value]
    waits = [(referrals.utc(r.responded_at) - referrals.utc(r.requested_at)).total_seconds() / 3600
             for r in found if r.status in ACCEPTED_PATH and r.responded_at is not None]
    return {
        "referrals_up": up, "referrals_down": down,
        "referrals_lateral": by_direction[Direction.lateral.value],
        "down_up_ratio": round(down / up, 4) if up else None,
        "median_hours_to_accept": round(statistics.median(waits), 2) if waits else None,
        "referrals_overdue": sum(1 for r in found
                                 if referrals.answered_late(r, now=now, sla_hours=sla_hours)),
    }


def year_on_year(
    *, session: Session, scope: Scope, project_id: int, year: int, now: datetime | None = None,
    sla_hours: Sla = referrals.DEFAULT_SLA,
) -> dict[str, dict[str, float | None]]:
    """For every numeric KPI: this year's value, last year's, the change and the change in %
    (None where last year was zero or a figure is undefined)."""
    both = project_kpis_by_year(session=session, scope=scope, project_id=project_id,
                                years=(year - 1, year), now=now, sla_hours=sla_hours)
    return compare(both[year], both[year - 1])


def compare(this: ProjectKpis, last: ProjectKpis) -> dict[str, dict[str, float | None]]:
    """Every numeric KPI of two periods: value, previous, change and change in % (None where
    the previous value was zero or a figure is undefined)."""
    before = last.model_dump()
    out: dict[str, dict[str, float | None]] = {}
    for key, value in this.model_dump().items():
        if key in ("project_id", "period_start", "period_end") or isinstance(value, dict):
            continue
        previous = before[key]
        change = None if value is None or previous is None else round(value - previous, 4)
        pct = round(change / previous * 100, 1) if change is not None and previous else None
        out[key] = {"value": value, "previous": previous, "change": change, "change_pct": pct}
    return out
