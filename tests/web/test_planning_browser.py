"""Planning in a real browser (Chromium): a provincial planner runs two named scenarios,
compares them side by side and exports the XLSX, at desktop width and at 375 px; a clinician
cannot open planning. Screenshots go to test-artifacts/web/."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from .test_browser import _login, _page, _shot, browser, live  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _run(page, name: str, p: str) -> None:  # type: ignore[no-untyped-def]
    page.fill("#name", name)
    page.fill("#p", p)
    page.select_option("#candidates", "greenfield")
    page.click("#site-form button[type=submit]")
    page.wait_for_selector(f"#site-saved:has-text('{name}')", timeout=60000)
    page.wait_for_selector("#site-map[data-rendered]", timeout=30000)


@pytest.mark.parametrize("width", [1280, 375])
def test_provincial_planner_runs_compares_and_exports_two_scenarios(live, browser, width):  # noqa: F811
    base, _ = live
    page, errors = _page(browser, width=width)
    _login(page, base, "gansu")
    page.goto(f"{base}/planning")
    _run(page, f"一个中心 one site {width}", "1")
    assert "需求 Demand" in page.inner_text("#site-sources")
    assert page.locator("#sites tbody tr").count() >= 1
    _shot(page, f"20-planning-run-{width}")
    _run(page, f"三个中心 three sites {width}", "3")
    page.wait_for_timeout(500)
    page.check(f"#scenarios tr:has-text('one site {width}') input[name=ids]")
    page.check(f"#scenarios tr:has-text('three sites {width}') input[name=ids]")
    page.click("#scenarios button[type=submit]")
    page.wait_for_selector("#compare", timeout=30000)
    page.wait_for_selector("[data-siting][data-rendered]", timeout=30000)
    summary = page.inner_text("#summary")
    assert "within 2 h" in summary and "2小时" in summary
    assert page.locator("#compare thead th").count() == 3
    if width == 375:  # usable on a phone: nothing wider than the screen but the scrolled table
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= 375 + 2, overflow
    _shot(page, f"21-planning-compare-{width}")
    with page.expect_download() as download:
        page.click("#export-xlsx")
    book = load_workbook(io.BytesIO(open(download.value.path(), "rb").read()), read_only=True)
    assert "比较 compare" in book.sheetnames
    assert errors == []


def test_clinician_cannot_open_planning(live, browser):  # noqa: F811
    base, _ = live
    page, errors = _page(browser, width=375)
    _login(page, base, "jinta")
    response = page.goto(f"{base}/planning")
    assert response is not None and response.status == 403
    assert "规划" in page.inner_text("body")
    _shot(page, "22-planning-clinician-refused")
    assert errors == []
