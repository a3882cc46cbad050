"""The referral journey in a real browser (Chromium via Playwright), also at 375 px: the Jinta
county hospital sends a patient up, picking the Jiuquan project hospital by its pinyin initials;
the project hospital accepts, schedules, records the arrival, completes and returns the patient;
Jinta sees the linked down-referral, and the project's KPI page counts one more up and one more
down. Screenshots go to test-artifacts/web/referrals-*.png."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nrmc.core.inputs import BEIJING

from .test_browser import _login, _page, _shot, browser, live  # noqa: F401 - fixtures
from .test_browser_ledger import _no_sideways_scroll

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _kpi(page, base: str, project: int, label: str) -> int:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/projects/{project}/kpis")
    row = page.locator("#kpi-table tr", has_text=label)
    return int(row.locator("td").nth(1).inner_text().replace(",", "").strip() or 0)


def _move(page, row: str, verb: str, **fields: str) -> None:  # type: ignore[no-untyped-def]
    form = page.locator(f"{row} form[hx-post$='/{verb}']")
    for name, value in fields.items():
        form.locator(f"[name={name}]").fill(value)
    form.locator("button[type=submit]").click()


def test_a_referral_goes_up_and_comes_back_down_and_the_kpis_count_both(live, browser):  # noqa: F811
    from datetime import datetime

    base, made = live
    manager, manager_errors = _page(browser)
    _login(manager, base, "jiuquan")
    up_before = _kpi(manager, base, made.jiuquan_project, "上转 referrals up")
    down_before = _kpi(manager, base, made.jiuquan_project, "下转 referrals down")

    clinician, errors = _page(browser)
    _login(clinician, base, "jinta")
    clinician.goto(f"{base}/referrals")
    clinician.fill("#to_hospital", "jqsrmyy")  # 酒泉市人民医院: the name the county uses
    option = clinician.locator(f"#hospital-options option[value='{made.jiuquan_hospital}']")
    option.wait_for(state="attached")
    assert "酒泉市" in option.inner_text()
    clinician.fill("#to_hospital", made.jiuquan_hospital)  # what choosing the suggestion does
    clinician.locator("#to_hospital-hint", has_text="酒泉").wait_for()
    clinician.select_option("#specialty", "cardiovascular")
    clinician.fill("#diagnosis", "I21.0")
    clinician.select_option("#urgency", "emergency")
    clinician.fill("#patient_record_no", "ZY2026-00731")
    clinician.select_option("#patient_sex", "1")
    clinician.select_option("#age_band", "45-64")
    clinician.fill("#reason", "急性下壁心梗，需急诊 PCI")
    _shot(clinician, "referrals-01-picked-by-pinyin-initials")
    clinician.click("#referral-form button[type=submit]")
    clinician.wait_for_url(f"{base}/referrals?hospital=*")
    sent = clinician.locator("#outgoing tbody tr").first
    assert "急性下壁心梗" in sent.inner_text() and "ZY2026-00731" not in clinician.content()
    referral_id = int(sent.get_attribute("id").removeprefix("referral-"))

    row = f"#referral-{referral_id}"
    manager.goto(f"{base}/referrals")
    assert "急性下壁心梗" in manager.inner_text(row)
    _move(manager, row, "accept", reason="导管室已准备 cath lab ready")
    manager.wait_for_selector(f"{row}[data-status=accepted]")
    assert "导管室已准备" in manager.inner_text(row)
    soon = (datetime.now(BEIJING) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    _move(manager, row, "schedule", scheduled_for=soon)
    manager.wait_for_selector(f"{row}[data-status=scheduled]")
    for verb, status in (("arrive", "arrived"), ("complete", "completed")):
        _move(manager, row, verb)
        manager.wait_for_selector(f"{row}[data-status={status}]")
    _move(manager, row, "return", reason="病情稳定，回县医院康复 stable, rehab at the county")
    manager.wait_for_selector(f"{row}[data-status=returned]")
    _shot(manager, "referrals-02-returned-by-the-project-hospital")

    clinician.goto(f"{base}/referrals")
    back = clinician.locator("#incoming tbody tr", has_text=f"#{referral_id}")
    assert "下转 down" in back.inner_text() and "病情稳定" in back.inner_text()
    _shot(clinician, "referrals-03-sender-sees-the-linked-down-referral")
    clinician.click(f"{row} a.history-link")
    clinician.wait_for_selector("#history")
    actions = clinician.locator("#history tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.action)")
    assert actions == ["create", "accepted", "scheduled", "arrived", "completed", "returned"]
    assert "(UTC+8)" in clinician.inner_text("#history")
    assert clinician.locator("#returned-as").count() == 1
    _shot(clinician, "referrals-04-history")

    assert _kpi(manager, base, made.jiuquan_project, "上转 referrals up") == up_before + 1
    assert _kpi(manager, base, made.jiuquan_project, "下转 referrals down") == down_before + 1
    _shot(manager, "referrals-05-kpis-count-one-up-one-down")
    assert errors == [] and manager_errors == []


def test_the_referral_pages_fit_a_phone(live, browser):  # noqa: F811
    base, made = live
    phone, errors = _page(browser, width=375, height=800)
    _login(phone, base, "jinta")
    phone.goto(f"{base}/referrals")
    _no_sideways_scroll(phone)
    phone.fill("#to_hospital", "没有这家医院")
    phone.fill("#diagnosis", "I63.9")
    phone.fill("#reason", "右侧肢体无力")
    phone.click("#referral-form button[type=submit]")
    phone.wait_for_selector("#e-to_hospital")
    assert "找不到医院" in phone.inner_text("#e-to_hospital")
    assert phone.input_value("#diagnosis") == "I63.9" and phone.input_value("#reason") == "右侧肢体无力"
    _no_sideways_scroll(phone)
    _shot(phone, "referrals-06-phone-refused-beside-the-field")
    phone.goto(f"{base}/referrals/{made.jinta_referral}")
    phone.wait_for_selector("#history")
    _no_sideways_scroll(phone)
    _shot(phone, "referrals-07-phone-history")
    assert errors == []
