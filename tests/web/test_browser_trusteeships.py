"""Recording a trusteeship in a real browser (Chromium via Playwright), at desktop and 375 px: a
project hospital's manager types a goal deadline before the start, sees the refusal beside that
field in Chinese and English with the rest kept and nothing stored, corrects it and finds the
trusteeship listed. Screenshots go to test-artifacts/web/trusteeship-*.png."""

from __future__ import annotations

import pytest

from .test_browser import _login, _page, _shot, browser, live  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _fill(page, values: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    for name, value in values.items():
        field = page.locator(f"#new-trusteeship [name='{name}']")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)


@pytest.mark.parametrize(("width", "note"), [(1280, "浏览器桌面 desktop"), (375, "浏览器手机 phone")])
def test_a_manager_sees_a_bad_deadline_beside_its_field_then_records_the_trusteeship(
        live, browser, width, note):  # noqa: F811
    base, made = live
    page, errors = _page(browser, width=width)
    _login(page, base, "jiuquan")
    page.goto(f"{base}/trusteeships/new")
    values = {"managing_hospital_code": made.jiuquan_hospital,
              "managed_hospital_code": "金塔县人民医院",
              "start_date": f"2024-0{3 if width == 1280 else 4}-01", "term_years": "5",
              "start_grade": "secondary_b", "target_grade": "tertiary_b",
              "goal_deadline": "2023-12-31", "note": note}
    _fill(page, values)
    page.click("#new-trusteeship button[type=submit]")
    page.wait_for_selector("#e-goal_deadline")
    said = page.inner_text("#e-goal_deadline")
    assert any("\u4e00" <= c <= "\u9fff" for c in said) and any(c.isascii() and c.isalpha()
                                                                for c in said), said
    assert page.input_value("#new-trusteeship [name='note']") == note  # typing kept
    _shot(page, f"trusteeship-01-refused-{width}px")
    listed = page.request.get(f"{base}/api/v1/trusteeships?format=csv")
    assert listed.ok and "2023-12-31" not in listed.text()  # nothing stored

    _fill(page, {"goal_deadline": "2028-12-31"})
    page.click("#new-trusteeship button[type=submit]")
    page.wait_for_url(f"{base}/trusteeships?created=*")
    made_id = page.url.split("created=", 1)[1].split("#", 1)[0]
    assert "金塔县人民医院" in page.inner_text(f"#trusteeship-{made_id}")
    width_now = page.evaluate("document.documentElement.scrollWidth")
    assert width_now <= width + 1, f"page is {width_now}px wide"
    _shot(page, f"trusteeship-02-recorded-{width}px")
    assert not errors, errors
