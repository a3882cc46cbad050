"""The monthly review's rules and the lock on every write path (services, imports, CLI);
KPI periods and the comparison period a year before."""

from __future__ import annotations

from datetime import date

import pytest

from nrmc.core.errors import Conflict, ImportRejected, InvalidTransition
from nrmc.domains.collaboration import ledger, periods, review, service
from nrmc.domains.collaboration.schemas import ActivityIn, DispatchIn
from tests.cli_runner import run

from .ops_factories import SYSTEM, jiuquan


def locked_month(db, project_id: int, month: str) -> None:  # type: ignore[no-untyped-def]
    review.submit(session=db, scope=SYSTEM, project_id=project_id, month=month)
    review.decide(session=db, scope=SYSTEM, project_id=project_id, month=month, status="reviewed")


def test_a_locked_month_refuses_service_writes_and_import_rows_but_not_other_months(db, tmp_path):
    project = jiuquan(db)
    locked_month(db, project.id, "2024-05")
    with pytest.raises(review.MonthLocked, match="2024-05 .* locked"):
        ledger.add_activity(session=db, scope=SYSTEM, data=ActivityIn(
            project_id=project.id, occurred_on=date(2024, 5, 9), kind="outpatient", count=3))
    with pytest.raises(review.MonthLocked):
        service.add_dispatch(session=db, scope=SYSTEM, data=DispatchIn(
            project_id=project.id, name="锁月专家", home_hospital="NRMC-O005",
            start_date=date(2024, 5, 2), end_date=date(2024, 6, 2)))
    path = tmp_path / "ledger.csv"
    path.write_text(f"date,kind,project_id,count\n2024-04-30,outpatient,{project.id},5\n"
                    f"2024-05-01,outpatient,{project.id},6\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as refused:
        ledger.import_activities(session=db, scope=SYSTEM, path=path)
    assert [(p.row, p.field) for p in refused.value.problems] == [(2, "date")]
    assert ledger.list_activities(session=db, scope=SYSTEM, project_id=project.id,
                                  start=date(2024, 4, 30), end=date(2024, 4, 30)) == []
    ledger.add_activity(session=db, scope=SYSTEM, data=ActivityIn(
        project_id=project.id, occurred_on=date(2024, 6, 1), kind="outpatient", count=3))


def test_months_move_only_along_the_review_path(db):
    project = jiuquan(db)
    with pytest.raises(InvalidTransition):  # nothing to review before it is submitted
        review.decide(session=db, scope=SYSTEM, project_id=project.id, month="2024-07",
                      status="reviewed")
    review.submit(session=db, scope=SYSTEM, project_id=project.id, month="2024-07")
    with pytest.raises(InvalidTransition):
        review.submit(session=db, scope=SYSTEM, project_id=project.id, month="2024-07")
    with pytest.raises(Conflict, match="say why"):
        review.decide(session=db, scope=SYSTEM, project_id=project.id, month="2024-07",
                      status="returned", comment="  ")
    review.decide(session=db, scope=SYSTEM, project_id=project.id, month="2024-07",
                  status="reviewed")
    reopened = review.decide(session=db, scope=SYSTEM, project_id=project.id, month="2024-07",
                             status="open", comment="门诊数据需更正")
    assert (reopened.status, reopened.comment) == ("open", "门诊数据需更正")
    states = review.states(db, project.id, ["2024-06", "2024-07"])
    assert [s.status.value for s in states.values()] == ["open", "open"]


@pytest.mark.parametrize("text", ["2024-13", "2024-7", "2018-12", "2999-01", "july"])
def test_a_month_outside_the_window_or_badly_written_is_refused(text):
    with pytest.raises(Conflict):
        review.parse_month(text)


@pytest.mark.parametrize("kind, parts, span, before", [
    ("month", {"year": 2024, "month": 2}, ("2024-02-01", "2024-02-29"), ("2023-02-01", "2023-02-28")),
    ("quarter", {"year": 2025, "quarter": 4}, ("2025-10-01", "2025-12-31"), ("2024-10-01", "2024-12-31")),
    ("year", {"year": 2025}, ("2025-01-01", "2025-12-31"), ("2024-01-01", "2024-12-31")),
    ("custom", {"start": date(2024, 2, 10), "end": date(2024, 2, 29)}, ("2024-02-10", "2024-02-29"),
     ("2023-02-10", "2023-02-28")),
])
def test_each_period_compares_with_the_same_dates_a_year_before(kind, parts, span, before):
    period = periods.resolve(kind, **parts)
    assert (period.start.isoformat(), period.end.isoformat()) == span
    earlier = period.year_before()
    assert (earlier.start.isoformat(), earlier.end.isoformat()) == before


def test_a_custom_period_needs_both_ends_in_order():
    with pytest.raises(Conflict):
        periods.resolve("custom", start=date(2024, 1, 1))
    with pytest.raises(Conflict):
        periods.resolve("custom", start=date(2024, 2, 1), end=date(2024, 1, 1))


def test_the_cli_import_is_refused_in_a_locked_month_too(nrmc_env, workspace_url, tmp_path):
    from sqlalchemy.orm import Session

    from nrmc.db import make_engine

    engine = make_engine(workspace_url)
    with Session(engine) as session:
        locked_month(session, 31, "2024-05")
        session.commit()
    engine.dispose()
    path = tmp_path / "tech.csv"
    path.write_text("name,first_case_on,gap_level\nECMO,2024-05-20,city\n", encoding="utf-8")
    refused = run("ops", "technology", "import", str(path), "--project", "31")
    assert refused.exit_code == 6 and "first_case_on" in refused.output and "locked" in refused.output
