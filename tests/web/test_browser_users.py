"""Browser journey (Chromium, also at 375 px): an admin creates a user, who signs in with the
one-time password, is made to change it, and changes it; the layout folds its navigation on a
phone, keeps wide tables inside their box, remembers the language, and breaks no CSP rule.
Screenshots go to test-artifacts/web/ (the one of /users is used in docs/web.md)."""

from __future__ import annotations

import re

import pytest

from .test_browser import _login, _page, _shot, browser, live  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _watch_csp(page, errors: list[str]) -> None:  # type: ignore[no-untyped-def]
    page.on("console", lambda msg: errors.append(msg.text)
            if "Content Security Policy" in msg.text or "Refused to" in msg.text else None)


def _fits(page, width: int) -> bool:  # type: ignore[no-untyped-def]
    return page.evaluate("document.documentElement.scrollWidth") <= width + 1


def _overflowing(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.evaluate("""Array.from(document.querySelectorAll('body *'))
        .filter(e => e.getBoundingClientRect().right > 376 && !e.closest('.table-wrap'))
        .slice(0, 8).map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' +
                         Math.round(e.getBoundingClientRect().right))""")


def test_admin_creates_a_user_who_must_change_the_one_time_password(live, browser):  # noqa: F811
    base, made = live
    admin, errors = _page(browser)
    _watch_csp(admin, errors)
    _login(admin, base, "admin")
    admin.goto(f"{base}/users")
    admin.fill("#username", "wu.min")
    admin.fill("#display_name", "吴敏 Wu Min")
    admin.select_option("#role", "clinician")
    admin.fill("#scope_code", made.jiuquan_hospital)
    admin.click("form[action='/users'] button[type=submit]")
    admin.wait_for_selector("#one-time-password")
    otp = admin.inner_text("#one-time-password").strip()
    assert re.fullmatch(r"[A-Za-z2-9]{16}", otp)
    assert "wu.min" in admin.inner_text("#users")
    _shot(admin, "20-users-admin-created")

    phone, phone_errors = _page(browser, width=375, height=740)
    _watch_csp(phone, phone_errors)
    phone.goto(base + "/")
    phone.fill("#username", "wu.min")
    phone.fill("#password", otp)
    phone.click("button[type=submit]")
    phone.wait_for_url(f"{base}/account/password")
    assert _fits(phone, 375)
    _shot(phone, "21-first-sign-in-change-password-375")
    phone.fill("#old_password", otp)
    phone.fill("#new_password", "wu.min-2026-ok")  # contains the username: refused beside the field
    phone.fill("#repeat_password", "wu.min-2026-ok")
    phone.click("form[action='/account/password'] button[type=submit]")
    assert "用户名" in phone.inner_text("#new_password-error")
    phone.fill("#old_password", otp)
    phone.fill("#new_password", "Jiayu-Pass-1372")
    phone.fill("#repeat_password", "Jiayu-Pass-1372")
    phone.click("form[action='/account/password'] button[type=submit]")
    phone.wait_for_load_state("networkidle")
    assert "/account/password" not in phone.url and "/login" not in phone.url
    assert phone.is_hidden("#main-nav") and phone.is_visible(".nav-toggle")
    phone.click(".nav-toggle")
    assert phone.is_visible("#main-nav a[href='/referrals']")
    _shot(phone, "22-signed-in-menu-open-375")
    assert errors == [] and phone_errors == []


def test_pages_fit_a_375_px_phone_and_wide_tables_scroll_in_their_box(live, browser):  # noqa: F811
    base, made = live
    page, errors = _page(browser, width=375, height=740)
    _watch_csp(page, errors)
    _login(page, base, "admin")
    for path in ("/", "/regions/620000", f"/projects/{made.jiuquan_project}", "/referrals",
                 "/audit", "/users"):
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        assert _fits(page, 375), (path, _overflowing(page))
        wrapped = page.evaluate("Array.from(document.querySelectorAll('main table'))"
                                ".every(t => t.closest('.table-wrap'))")
        assert wrapped, path
    _shot(page, "23-users-375")
    assert errors == []


def test_the_language_choice_is_remembered(live, browser):  # noqa: F811
    base, _ = live
    page, errors = _page(browser)
    _watch_csp(page, errors)
    _login(page, base, "gansu")
    page.click(".languages a[href^='/language/en']")
    page.wait_for_load_state("networkidle")
    header = page.inner_text("header")
    assert "Sign out" in header and "退出" not in header
    page.goto(base + "/projects")
    assert "Projects" in page.inner_text("nav") and "项目" not in page.inner_text("nav")
    assert page.get_attribute("html", "lang") == "en"
    _shot(page, "24-layout-in-english")
    page.click(".languages a[href^='/language/zh']")
    page.wait_for_load_state("networkidle")
    assert "退出" in page.inner_text("header") and "Sign out" not in page.inner_text("header")
    assert errors == []



def test_the_api_reference_runs_under_the_content_security_policy(live, browser):  # noqa: F811
    base, _ = live
    page, errors = _page(browser)
    _watch_csp(page, errors)
    page.goto(base + "/api/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=20000)
    assert "nrmc API" in page.inner_text(".swagger-ui .info .title")
    assert errors == []
