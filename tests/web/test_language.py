"""The language switch: remembered in a cookie, applied to the layout, never mixed up by the cache."""

from __future__ import annotations

from fastapi.testclient import TestClient

from .conftest import login

CACHE = "x-nrmc-cache"


def test_the_choice_is_remembered_and_applies_to_the_layout(app):
    with TestClient(app) as browser:
        login(browser, "gansu")
        both = browser.get("/projects").text
        assert "退出 Sign out" in both  # the default: Chinese with English
        switched = browser.get("/language/en?next=/projects", follow_redirects=False)
        assert switched.status_code == 303 and switched.headers["location"] == "/projects"
        assert "max-age=31536000" in switched.headers["set-cookie"].lower()
        english = browser.get("/projects").text
        assert "Sign out" in english and "退出" not in english and '<html lang="en">' in english
        browser.get("/language/zh")
        chinese = browser.get("/projects").text
        assert "退出" in chinese and "Sign out" not in chinese


def test_a_cached_page_never_comes_back_in_the_other_language(app):
    with TestClient(app) as browser:
        login(browser, "gansu")
        browser.get("/")
        assert browser.get("/").headers[CACHE] == "hit"
        browser.get("/language/en", follow_redirects=False)
        english = browser.get("/")
        assert english.headers[CACHE] == "miss" and "Sign out" in english.text
        assert "退出" not in english.text


def test_the_switch_is_no_open_redirect_and_ignores_unknown_languages(client):
    assert client.get("/language/en?next=//evil.example/",
                      follow_redirects=False).headers["location"] == "/"
    unknown = client.get("/language/fr", follow_redirects=False)
    assert "set-cookie" not in unknown.headers


def test_the_login_page_follows_the_choice(client):
    client.cookies.set("nrmc_lang", "en")
    page = client.get("/login").text
    assert "Username" in page and "用户名" not in page
    client.cookies.delete("nrmc_lang")
