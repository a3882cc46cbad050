"""Real-browser walk-through with Playwright driving Debian's Chromium (never a downloaded one).

Without Chromium the tests skip and say why; under CI=true they fail instead, so CI cannot pass
without having run them. Screenshots go to test-artifacts/web/ (git-ignored).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nrmc.web import create_app

from .cast import PASSWORD, Cast
from .conftest import make_web, with_discharges

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = os.environ.get("NRMC_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _need_chromium() -> None:
    reason = None
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        reason = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "the playwright Python package is not installed"
    if reason:
        if IN_CI:
            pytest.fail(f"browser tests must run in CI: {reason}")
        pytest.skip(reason)
    if IN_CI and not _has_chinese_font():  # else every Chinese label is a box in the screenshots
        pytest.fail("no Chinese font for Chromium: apt-get install fonts-noto-cjk (.ci/run does)")


def _has_chinese_font() -> bool:
    if not shutil.which("fc-list"):
        return False
    listed = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False)
    return bool(listed.stdout.strip())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path) -> Iterator[tuple[str, Cast]]:
    """The app served by uvicorn on a loopback port, on a SQLite store holding the cast."""
    _need_chromium()
    import uvicorn

    engine, made = make_web("sqlite", tmp_path_factory.mktemp("browser"), _sqlite_template)
    app = create_app(with_discharges(engine, tmp_path_factory.mktemp("home")), engine=engine)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}", made
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


def _page(browser, width: int = 1280, height: int = 900):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page, errors


def _login(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/")
    assert "/login" in page.url
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def _shot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_national_map_then_gansu_then_the_jiuquan_dashboard(live, browser):
    base, made = live
    page, errors = _page(browser)
    _login(page, base, "admin")
    page.wait_for_selector("#map[data-rendered]", timeout=15000)
    assert int(page.get_attribute("#map", "data-rendered")) == 31  # outflow of every province
    page.select_option("#specialty", "cardiovascular")
    page.wait_for_selector("#map[data-rendered]", timeout=15000)
    assert "specialty=cardiovascular" in page.url
    assert page.locator("#map canvas").count() >= 1
    assert _shot(page, "01-national-overview").stat().st_size > 10_000

    page.click("text=甘肃省 Gansu")
    page.wait_for_url(f"{base}/regions/620000")
    page.wait_for_selector("#map[data-rendered]", timeout=15000)
    assert page.locator("#children tbody tr").count() == 14  # Gansu's prefectures
    _shot(page, "02-gansu-province")

    page.click(f"#centres a[href='/projects/{made.jiuquan_project}']")
    page.wait_for_url(f"{base}/projects/{made.jiuquan_project}")
    assert "Jiuquan" in page.inner_text("h1")
    _shot(page, "03-jiuquan-project-dashboard")
    assert errors == []


def test_jiuquan_manager_changes_the_status_with_htmx(live, browser):
    base, made = live
    page, errors = _page(browser, width=1024, height=1366)  # a tablet in portrait
    _login(page, base, "jiuquan")
    page.goto(f"{base}/projects/{made.jiuquan_project}")
    page.select_option("#status", "operating")
    page.click("#status-panel button[type=submit]")
    page.wait_for_selector("#status-panel .ok", timeout=10000)
    assert "operating" in page.inner_text("#status-panel")
    _shot(page, "04-status-changed-tablet")
    page.goto(f"{base}/audit")
    assert "project.update" in page.inner_text("#audit")
    _shot(page, "05-audit-log")
    assert errors == []


def test_an_out_of_scope_page_is_not_found_in_the_browser(live, browser):
    base, made = live
    page, _ = _page(browser)
    _login(page, base, "jinta")
    response = page.goto(f"{base}/projects/{made.jiuquan_project}")
    assert response is not None and response.status == 404
    assert "未找到" in page.inner_text("h1")


def test_jinta_refers_a_patient_and_the_jiuquan_manager_accepts_it(live, browser):
    base, made = live
    clinician, errors = _page(browser)
    _login(clinician, base, "jinta")
    clinician.goto(f"{base}/referrals")
    clinician.fill("#to_hospital", made.jiuquan_hospital)
    clinician.select_option("#specialty", "cardiovascular")
    clinician.fill("#diagnosis", "I21.0")
    clinician.select_option("#urgency", "emergency")
    clinician.fill("#reason", "STEMI 急性心梗")
    clinician.click("#new-referral button[type=submit]")
    clinician.wait_for_load_state("networkidle")
    outgoing = clinician.locator("#outgoing tbody tr").first
    assert "requested" in outgoing.inner_text() and "I21.0" in outgoing.inner_text()
    referral_row = outgoing.get_attribute("id")
    _shot(clinician, "06-jinta-referral-sent")

    manager, manager_errors = _page(browser)
    _login(manager, base, "jiuquan")
    manager.goto(f"{base}/referrals")
    row = manager.locator(f"#incoming #{referral_row}")
    assert "requested" in row.inner_text()
    row.locator("button[value=accept]").click()
    manager.wait_for_selector(f"#{referral_row}[data-status=accepted]", timeout=10000)
    _shot(manager, "07-jiuquan-accepted-referral")
    clinician.reload()
    assert "accepted" in clinician.locator(f"#{referral_row}").inner_text()
    assert errors == [] and manager_errors == []
