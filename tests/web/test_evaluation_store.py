"""Evaluations computed once per data version, stored for every worker, refreshed in the
background; a request for one not yet stored answers at once (202, or a page that refreshes)."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from nrmc.db import session_scope
from nrmc.web import create_app

from .cast import JINTA
from .conftest import PASSWORD, login, page_csrf, with_discharges


def _app(web_store: Any, home: Path, wait: float) -> FastAPI:
    settings = with_discharges(web_store[0], home)
    return create_app(settings.model_copy(update={"evaluation_wait_seconds": wait}),
                      engine=web_store[0])


def _auth(client: TestClient, name: str) -> dict[str, str]:
    token = client.post("/api/v1/auth/token", data={"username": name, "password": PASSWORD})
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def _key(app: FastAPI, project_id: int) -> str:
    with session_scope(app.state.engine) as session:
        return str(app.state.evaluations.key(session, project_id))


def _until(check: Any, seconds: float = 90.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("not done in time")


def _api(project_id: int) -> str:
    return f"/api/v1/projects/{project_id}/evaluation"


def test_an_evaluation_not_yet_stored_answers_202_then_200_when_computed(web_store, tmp_path):
    _, made = web_store
    app = _app(web_store, tmp_path / "home", wait=0.0)
    with TestClient(app) as client:
        headers = _auth(client, "gansu")
        first = client.get(_api(made.jiuquan_project), headers=headers)
        assert first.status_code == 202 and first.headers["retry-after"] == "3"
        body = first.json()
        assert body["status"] == "computing" and body["retry_after"] == 3
        assert "正在计算" in body["message_zh"] and "being computed" in body["message_en"]
        # computed in the background; the same caller then gets it: a 202 is never replayed
        done = _until(lambda: (r := client.get(_api(made.jiuquan_project), headers=headers))
                      .status_code == 200 and r)
        assert done.json()["title"] and isinstance(done.json()["metrics"], list)
        again = client.get(_api(made.jiuquan_project), headers=headers)
        assert again.status_code == 200 and again.json() == done.json()


def test_the_page_of_an_evaluation_being_computed_says_so_and_refreshes_itself(web_store,
                                                                                tmp_path):
    _, made = web_store
    app = _app(web_store, tmp_path / "home", wait=0.0)
    url = f"/projects/{made.gansu_other_project}/evaluation"
    with TestClient(app) as client:
        login(client, "gansu")
        page = client.get(url)
        assert page.status_code == 202 and page.headers["retry-after"] == "3"
        assert "正在计算 computing…" in page.text and "refreshes itself in 3 s" in page.text
        assert '<meta http-equiv="refresh" content="3">' in page.text
        assert not re.search(r"<script(?![^>]*\bsrc=)", page.text)  # no inline script (CSP)
        assert 'id="opened_on"' in page.text  # the opening date can be recorded meanwhile
        done = _until(lambda: (r := client.get(url)).status_code == 200 and r)
        assert "项目评估" in done.text and "正在计算" not in done.text
        assert 'http-equiv="refresh"' not in done.text


def test_an_opening_date_moves_every_key_and_a_referral_moves_none(web_store, tmp_path):
    """What `evaluate` reads is the key: any project's opening date (it times the DiD's
    controls) gives every project a new evaluation; a referral gives none."""
    _, made = web_store
    app = _app(web_store, tmp_path / "home", wait=120.0)
    refresher = app.state.evaluations.refresher
    jiuquan, henan = made.jiuquan_project, made.henan_project
    with TestClient(app) as client:
        headers = _auth(client, "jiuquan")
        first = client.get(_api(jiuquan), headers=headers)
        assert first.status_code == 200
        keys = (_key(app, jiuquan), _key(app, henan))
        computed = refresher.computed
        referral = client.post("/api/v1/referrals", headers=_auth(client, "jinta"), json={
            "from_hospital": JINTA, "to_hospital": made.jiuquan_hospital,
            "specialty": "neurology", "diagnosis": "I63.9", "urgency": "urgent"})
        assert referral.status_code == 201
        assert (_key(app, jiuquan), _key(app, henan)) == keys
        after_referral = client.get(_api(jiuquan), headers=headers)
        assert after_referral.json() == first.json() and refresher.computed == computed

        login(client, "henan")  # Henan's centre opens: a control of Jiuquan's DiD moves
        url = f"/projects/{henan}/evaluation"
        moved = client.post(url + "/opening", data={"opened_on": "2023-05-01",
                                                    "csrf_token": page_csrf(client, url)},
                            follow_redirects=False)
        assert moved.status_code == 303
        assert _key(app, jiuquan) != keys[0] and _key(app, henan) != keys[1]

        login(client, "gansu")
        url = f"/projects/{jiuquan}/evaluation"
        client.post(url + "/opening", data={"opened_on": "2024-03-18",
                                            "csrf_token": page_csrf(client, url)})
        body = client.get(_api(jiuquan), headers=headers).json()
        assert body["opening_year"] == 2024 and body["baseline_year"] == 2023
        assert refresher.computed > computed


def test_two_apps_on_one_workspace_compute_an_evaluation_once(web_store, tmp_path):
    """Two workers on one workspace (and store): one refresher computes, both answer it."""
    engine, made = web_store
    settings = with_discharges(engine, tmp_path / "home").model_copy(
        update={"evaluation_wait_seconds": 120.0})
    apps = [create_app(settings, engine=engine) for _ in range(2)]
    with TestClient(apps[0]) as one, TestClient(apps[1]) as two:
        callers = [(one, _auth(one, "gansu")), (two, _auth(two, "jiuquan"))]
        answers: list[Any] = []

        def ask(client: TestClient, headers: dict[str, str]) -> None:
            answers.append(client.get(_api(made.jiuquan_project), headers=headers))

        threads = [threading.Thread(target=ask, args=caller) for caller in callers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert [a.status_code for a in answers] == [200, 200]
        assert answers[0].json() == answers[1].json()
        assert sum(app.state.evaluations.refresher.computed for app in apps) == 1
        assert len(list((settings.evaluations_dir / "done").glob("*.pickle"))) == 1


def test_a_new_flows_load_is_evaluated_in_the_background_most_read_first(web_store, tmp_path):
    from nrmc.domains.hospitals import service as hospitals
    from nrmc.domains.projects import service as projects
    from nrmc.domains.regions import service as regions
    from nrmc.flows.synth import write_synthetic_dataset

    engine, made = web_store
    app = _app(web_store, tmp_path / "home", wait=120.0)
    settings = app.state.settings
    evaluations = app.state.evaluations
    with TestClient(app) as client:
        headers = _auth(client, "gansu")
        assert client.get(_api(made.jiuquan_project), headers=headers).status_code == 200
        old = _key(app, made.jiuquan_project)
        evaluations.refresher.stop()  # the on-demand refresher of that request
        with session_scope(engine) as session:
            tables = {"regions": regions.region_table(session=session),
                      "hospitals": hospitals.hospital_table(session=session),
                      "projects": projects.project_table(session=session)}
        write_synthetic_dataset(settings.flows_dir, **tables, rows=5_000, years=[2023, 2024],
                                seed=6, pseudonym_key=settings.pseudonym_key)
        new = _key(app, made.jiuquan_project)
        assert new != old and not evaluations.store.has(new)
        evaluations.start()  # as at server start: every missing evaluation, most-read first
        try:
            _until(lambda: evaluations.store.has(new))
        finally:
            evaluations.stop()
        version = new.split("-")[1]
        fresh = sorted((settings.evaluations_dir / "done").glob(f"p*-{version}-*.pickle"),
                       key=lambda p: p.stat().st_mtime_ns)
        assert fresh[0].name.startswith(f"{new}.")  # the one read before the load came first
        computed = evaluations.refresher.computed
        body = client.get(_api(made.jiuquan_project), headers=headers)
        assert body.status_code == 200 and evaluations.refresher.computed == computed


def test_nrmc_evaluate_gives_the_numbers_the_web_shows(web_store, tmp_path,
                                                       monkeypatch: pytest.MonkeyPatch):
    from nrmc.cli import context
    from tests.cli_runner import run_json

    engine, made = web_store
    app = _app(web_store, tmp_path / "home", wait=120.0)
    with TestClient(app) as client:
        web = client.get(_api(made.jiuquan_project), headers=_auth(client, "analyst")).json()
    monkeypatch.setenv("NRMC_HOME", str(app.state.settings.home))
    monkeypatch.setenv("NRMC_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    context.reset()
    try:
        cli = run_json("evaluate", "project", str(made.jiuquan_project))
    finally:
        context.reset()
    for name in ("did_estimate", "did_ci_low", "did_ci_high", "pre_trend_p", "treated_cells",
                 "clusters", "baseline_year", "opening_year", "did_method", "did_note"):
        assert cli[name] == web[name], name
    assert cli["title"] == web["title"]
    outflow = next(m for m in web["metrics"] if m["metric"] == "outflow_rate")
    if not outflow["suppressed"]:
        assert cli["outflow_before"] == outflow["before"]
        assert cli["change_pct"] == outflow["change_pct"]
    done = list((app.state.settings.evaluations_dir / "done").glob("*.pickle"))
    assert len(done) == 1  # the command read the web's evaluation, it did not compute another

