"""The programme office in a real browser (Debian's Chromium via Playwright): the dashboard's
charts draw from static JS, a trusteeship shows its progress, a project shows its timeline.
Screenshots go to test-artifacts/web/."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from nrmc.db import session_scope
from nrmc.demo import programme as programme_demo
from nrmc.domains.trusteeships import service as trusteeships
from nrmc.domains.trusteeships.models import Trusteeship
from nrmc.domains.trusteeships.schemas import Grade, ReportIn, TrusteeshipIn
from nrmc.domains.users.scope import Scope
from nrmc.web import create_app

from .cast import JINTA, Cast
from .conftest import make_web, with_discharges
from .test_browser import ARGS, CHROMIUM, _free_port, _login, _need_chromium, _page, _shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory,
         _sqlite_template: Path) -> Iterator[tuple[str, Cast, int]]:
    """The cast's store plus the demo programme layer and one trusteeship behind its path."""
    _need_chromium()
    import uvicorn

    engine, made = make_web("sqlite", tmp_path_factory.mktemp("browser-programme"), _sqlite_template)
    with session_scope(engine) as session:
        programme_demo.build(session, seed=11)
        system = Scope.system()
        behind = trusteeships.create(session=session, scope=system, data=TrusteeshipIn(
            managing_hospital_code=made.jiuquan_hospital, managed_hospital_code=JINTA,
            project_id=made.jiuquan_project, start_date=date(2022, 1, 1), term_years=5,
            start_grade=Grade.secondary_b, target_grade=Grade.tertiary_b,
            goal_deadline=date(2027, 1, 1), posts_planned=24, departments_planned=8,
            note="两年一级、五年两级"))
        for i, on in enumerate([date(2022, 6, 30), date(2023, 3, 31), date(2023, 12, 31),
                                date(2024, 9, 30), date(2025, 6, 30)]):
            trusteeships.add_report(session=session, scope=system, trusteeship_id=behind.id,
                                    data=ReportIn(reported_on=on,
                                                  grade=Grade.secondary_b,
                                                  posts_filled=3 + 3 * i, departments_opened=1 + i,
                                                  technologies=2 * i, outpatients=2400 + 300 * i,
                                                  surgeries=90 + 25 * i))
        trusteeship_id = behind.id
        assert session.scalar(select(Trusteeship.id).where(Trusteeship.id == trusteeship_id))
    app = create_app(with_discharges(engine, tmp_path_factory.mktemp("home")), engine=engine)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}", made, trusteeship_id
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


@pytest.fixture(scope="module")
def browser(live):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


def test_the_programme_dashboard_draws_cards_timeline_map_and_the_silent_projects(live, browser):
    base, _made, _tid = live
    page, errors = _page(browser, height=1400)
    _login(page, base, "admin")
    page.goto(f"{base}/programme")
    page.wait_for_selector("#covered-map[data-rendered]", timeout=20000)
    page.wait_for_selector("#batch-timeline[data-rendered]", timeout=10000)
    assert page.locator("#indicators > li").count() == 14
    assert int(page.get_attribute("#covered-map", "data-rendered")) >= 20  # provinces covered
    assert page.locator("[data-trend][data-rendered]").count() >= 3
    assert page.locator("#not-reported tbody tr").count() >= 1
    assert "planned beds" in page.inner_text("#ind-planned_beds")
    _shot(page, "20-programme-dashboard")
    assert errors == []


def test_the_dashboard_fits_a_phone(live, browser):
    base, _made, _tid = live
    page, errors = _page(browser, width=375, height=812)
    _login(page, base, "gansu")
    page.goto(f"{base}/programme")
    page.wait_for_selector("#batch-timeline[data-rendered]", timeout=20000)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375 + 1, f"page is {width}px wide on a 375px phone"
    _shot(page, "21-programme-dashboard-phone")
    assert errors == []


def test_a_trusteeship_behind_its_path_shows_the_alert_and_progress(live, browser):
    base, _made, tid = live
    page, errors = _page(browser)
    _login(page, base, "gansu")
    page.goto(f"{base}/trusteeships")
    assert "behind" in page.inner_text(f"#trusteeship-{tid}")
    page.click(f"#trusteeship-{tid} a")
    page.wait_for_selector("#progress[data-rendered]", timeout=15000)
    assert "grade behind its path" in page.inner_text("#alerts")
    assert page.locator("#reports tbody tr").count() == 5
    _shot(page, "22-trusteeship-progress")
    assert errors == []


def test_a_project_timeline_flags_late_milestones(live, browser):
    base, made, _tid = live
    page, errors = _page(browser)
    _login(page, base, "admin")
    page.goto(f"{base}/milestones/projects/{made.jiuquan_project}")
    page.wait_for_selector("#timeline[data-rendered]", timeout=15000)
    assert page.locator("#milestones tbody tr").count() >= 6
    assert "derived from milestones" in page.inner_text("#derived-status")
    _shot(page, "23-project-timeline")
    page.goto(f"{base}/milestones")
    page.wait_for_selector("#timeline[data-rendered]", timeout=15000)
    assert page.locator("#milestone-projects tbody tr").count() == 77
    _shot(page, "24-programme-timeline")
    assert errors == []
