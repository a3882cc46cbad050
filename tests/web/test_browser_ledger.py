"""The ledger journeys in a real browser (Chromium via Playwright), also at 375 px: a manager
records a team, a weekly sheet, a technology and a trainee; uploads an Excel file with one bad
row, sees it flagged, fixes it and confirms; the provincial admin reviews and locks the month,
and the manager can no longer change it. Screenshots go to test-artifacts/web/ledger-*.png."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from .test_browser import _login, _page, _shot, browser, live  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.slow]
MONTH, WEEK = "2026-10", "2026-10-05"


def _no_sideways_scroll(page) -> None:  # type: ignore[no-untyped-def]
    """At phone width the page itself never scrolls sideways (wide tables scroll in their box)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"page is {width}px wide"


def _sheet(page, base: str, project: int, rows: list[list]) -> bytes:  # type: ignore[no-untyped-def]
    """The trainee template, as downloaded in the signed-in browser, filled with `rows`."""
    answer = page.request.get(f"{base}/projects/{project}/ledger/trainees/template.xlsx")
    assert answer.ok
    book = load_workbook(io.BytesIO(answer.body()))
    sheet = book.worksheets[0]
    sheet.delete_rows(2, sheet.max_row)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_manager_records_a_team_a_week_a_technology_and_a_trainee(live, browser):  # noqa: F811
    base, made = live
    project = made.jiuquan_project
    page, errors = _page(browser)
    _login(page, base, "jiuquan")
    page.goto(f"{base}/projects/{project}")
    page.click("#ledger-link")
    page.wait_for_url(f"{base}/projects/{project}/ledger")

    page.fill("#f-name", "王建国")
    page.fill("#f-home_hospital", "NRMC-O005")
    page.fill("#f-department", "心血管内科")
    page.fill("#f-title", "主任医师")
    page.select_option("#f-role", "dual_director")
    page.fill("#f-team", "第5批")
    page.fill("#f-start_date", "2026-10-01")
    page.fill("#f-end_date", "2026-10-31")
    page.click("form.entry button[type=submit]")
    page.wait_for_selector("p.ok[role=status]")
    assert "王建国" in page.inner_text("#rows") and "dual_director" in page.inner_text("#rows")
    _shot(page, "ledger-01-team-recorded")

    page.goto(f"{base}/projects/{project}/ledger/week?start={WEEK}")
    page.fill("input[name=dept-0]", "心血管内科")
    page.fill("input[name='0-outpatients']", "186")
    page.fill("input[name='0-surgery_3']", "7")
    page.fill("input[name='0-surgery_4']", "2")
    page.fill("input[name='0-mdt']", "3")
    page.fill("input[name=dept-1]", "神经内科")
    page.fill("input[name='1-outpatients']", "95")
    page.fill("input[name='1-rare']", "1")
    page.click("#week-sheet button[type=submit]")
    page.wait_for_selector("p.ok[role=status]")
    assert "6" in page.inner_text("p.ok[role=status]")
    assert page.input_value("input[name='0-outpatients']") == "186"
    _shot(page, "ledger-02-weekly-sheet")

    page.goto(f"{base}/projects/{project}/ledger?kind=technologies")
    page.fill("#f-name", "经导管主动脉瓣置换术 TAVR")
    page.fill("#f-department", "心血管内科")
    page.fill("#f-first_case_on", "2026-10-08")
    page.fill("#f-cases_since", "2")
    page.select_option("#f-gap_level", "province")
    page.click("form.entry button[type=submit]")
    page.wait_for_selector("p.ok[role=status]")
    assert "TAVR" in page.inner_text("#rows")

    page.goto(f"{base}/projects/{project}/ledger?kind=trainees")
    page.fill("#f-name", "李娜")
    page.fill("#f-home_hospital", "金塔县人民医院")
    page.fill("#f-programme", "心内科进修")
    page.fill("#f-trained_on", "2026-10-12")
    page.fill("#f-end_date", "2026-09-30")  # before the start: refused beside the field
    page.click("form.entry button[type=submit]")
    page.wait_for_selector("#e-end_date")
    assert "结束日期早于开始日期" in page.inner_text("#e-end_date")
    assert page.input_value("#f-name") == "李娜" and page.input_value("#f-programme") == "心内科进修"
    _shot(page, "ledger-03-trainee-refused-beside-the-field")
    page.fill("#f-end_date", "2027-03-31")
    page.click("form.entry button[type=submit]")
    page.wait_for_selector("p.ok[role=status]")
    assert "李娜" in page.inner_text("#rows")
    assert errors == []


def test_an_excel_upload_with_one_bad_row_is_flagged_fixed_and_confirmed(live, browser):  # noqa: F811
    base, made = live
    project = made.jiuquan_project
    page, errors = _page(browser)
    _login(page, base, "jiuquan")
    page.goto(f"{base}/projects/{project}/ledger?kind=trainees")
    good = ["王芳", "金塔县人民医院", "金塔县", "护理进修", "2026-10-14", "2027-01-31", "否", 320]
    bad = ["赵强", "玉门市人民医院", "玉门市", "ICU 规培", "2026-10-15", "2027-02-28", "否", -40]
    page.set_input_files("#file", files=[{"name": "进修名单.xlsx", "mimeType": "application/"
                                          "vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                                          "buffer": _sheet(page, base, project, [good, bad])}])
    page.click("#excel button[type=submit]")
    page.wait_for_selector("#bad-rows")
    assert page.locator("tr.bad").count() == 1
    assert page.get_attribute("tr.bad", "data-row") == "3"
    assert "hours" in page.inner_text("tr.bad") and page.locator("#confirm").count() == 0
    _shot(page, "ledger-04-upload-preview-bad-row")

    page.goto(f"{base}/projects/{project}/ledger?kind=trainees")
    fixed = bad[:7] + [40]
    page.set_input_files("#file", files=[{"name": "进修名单.xlsx", "mimeType": "application/"
                                          "vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                                          "buffer": _sheet(page, base, project, [good, fixed])}])
    page.click("#excel button[type=submit]")
    page.wait_for_selector("#confirm")
    _shot(page, "ledger-05-upload-preview-ok")
    page.click("#confirm")
    page.wait_for_selector("p.ok[role=status]")
    assert "2" in page.inner_text("p.ok[role=status]")
    rows = page.inner_text("#rows")
    assert "王芳" in rows and "赵强" in rows
    assert errors == []


def test_at_phone_width_the_ledger_pages_fit_and_the_sheet_scrolls_in_its_box(live, browser):  # noqa: F811
    base, made = live
    project = made.jiuquan_project
    page, errors = _page(browser, width=375, height=812)
    _login(page, base, "jiuquan")
    for path, name in ((f"/projects/{project}/ledger?kind=dispatches", "ledger-06-phone-entry"),
                       (f"/projects/{project}/ledger/week?start={WEEK}", "ledger-07-phone-week"),
                       (f"/projects/{project}/months", "ledger-08-phone-months"),
                       (f"/projects/{project}/kpis?period=month&year=2026&month=10",
                        "ledger-09-phone-kpis")):
        page.goto(base + path)
        _no_sideways_scroll(page)
        _shot(page, name)
    assert errors == []


def test_the_province_reviews_and_locks_the_month_and_the_manager_can_no_longer_edit_it(
        live, browser):  # noqa: F811
    base, made = live
    project = made.jiuquan_project
    manager, errors = _page(browser)
    _login(manager, base, "jiuquan")
    manager.goto(f"{base}/projects/{project}/months")
    manager.click(f"tr[data-month='{MONTH}'] button:has-text('Submit')")
    manager.wait_for_selector(f"tr[data-month='{MONTH}'] .status-submitted")

    officer, officer_errors = _page(browser)
    _login(officer, base, "gansu")
    officer.goto(f"{base}/reviews?month={MONTH}")
    row = officer.locator(f"#reviews tr[data-project='{project}']")
    assert "submitted" in row.inner_text()
    _shot(officer, "ledger-10-province-review-list")
    row.locator("button:has-text('Review and lock')").click()
    officer.wait_for_selector(f"#reviews tr[data-project='{project}'] .status-reviewed")
    _shot(officer, "ledger-11-month-reviewed")

    manager.goto(f"{base}/projects/{project}/ledger/week?start={WEEK}")
    assert manager.locator("#locked").count() == 1
    manager.fill("input[name='0-outpatients']", "999")
    manager.click("#week-sheet button[type=submit]")
    manager.wait_for_selector("#problem")
    assert "锁定" in manager.inner_text("#problem") and "locked" in manager.inner_text("#problem")
    _shot(manager, "ledger-12-locked-month-refused")
    manager.goto(f"{base}/projects/{project}/ledger?kind=technologies")
    assert "locked" in manager.inner_text("#rows")
    manager.goto(f"{base}/projects/{project}/kpis?period=month&year=2026&month=10")
    assert "2026-10 已审核" in manager.inner_text("#review-state")
    _shot(manager, "ledger-13-kpis-show-reviewed-month")
    assert errors == [] and officer_errors == []
