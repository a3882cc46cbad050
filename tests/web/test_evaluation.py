"""Project evaluation through the API and its page (scoped like the project)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from .conftest import login

SYNC = {"evaluation_wait_seconds": 120.0}  # these tests read the evaluation, not the 202


@pytest.fixture(scope="module")
def app(web_store, tmp_path_factory) -> FastAPI:  # type: ignore[no-untyped-def]
    """The web fixture's app, waiting for an evaluation being computed instead of 202."""
    from nrmc.web import create_app

    from .conftest import with_discharges

    settings = with_discharges(web_store[0], tmp_path_factory.mktemp("home"))
    return create_app(settings.model_copy(update=SYNC), engine=web_store[0])


def test_evaluation_api_answers_before_after_and_did(as_user, cast):
    response = as_user("jiuquan").get(f"/api/v1/projects/{cast.jiuquan_project}/evaluation")
    assert response.status_code == 200, response.text
    body = response.json()
    assert "Jiuquan" in body["title"] or body["title"]
    assert isinstance(body["metrics"], list) and isinstance(body["did_note"], str)


def test_evaluation_of_an_out_of_scope_project_is_not_found(as_user, cast):
    response = as_user("henan").get(f"/api/v1/projects/{cast.jiuquan_project}/evaluation")
    assert response.status_code == 404


def test_evaluation_page(app, cast):
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        login(client, "gansu")
        response = client.get(f"/projects/{cast.jiuquan_project}/evaluation")
        assert response.status_code == 200 and "项目评估" in response.text
        assert "少于10例的数据不公布 counts below 10 are withheld" in response.text
        assert client.get(f"/projects/{cast.henan_project}/evaluation").status_code == 404


def test_evaluation_withholds_shares_resting_on_small_cells(web_store, tmp_path):
    """NRMC_MIN_CELL_SIZE reaches the API and the page: above every count, every share goes."""
    from fastapi.testclient import TestClient

    from nrmc.web import create_app

    from .conftest import PASSWORD, with_discharges

    engine, made = web_store
    settings = with_discharges(engine, tmp_path / "home")
    strict = create_app(settings.model_copy(update={"min_cell_size": 10**9, **SYNC}),
                        engine=engine)
    with TestClient(strict) as client:
        token = client.post("/api/v1/auth/token",
                            data={"username": "gansu", "password": PASSWORD}).json()
        body = client.get(f"/api/v1/projects/{made.jiuquan_project}/evaluation",
                          headers={"Authorization": f"Bearer {token['access_token']}"}).json()
        assert body["metrics"]
        for metric in body["metrics"]:
            assert metric["suppressed"]
            assert metric["before"] is None and metric["after"] is None
            assert metric["reason"].startswith("fewer than 1000000000 ")  # says why, not how few
        assert {"did_method", "did_never_treated_estimate", "did_warning", "controls_note"} <= set(
            body)
        login(client, "gansu")
        page = client.get(f"/projects/{made.jiuquan_project}/evaluation").text
        assert 'class="num withheld"' in page and 'id="small-cells"' in page
        assert "不公布原因 withheld: fewer than 1000000000" in page
        assert "NRMC_MIN_CELL_SIZE = 1000000000" in page
        assert "少于1000000000例的数据不公布" in page and "少于10例" not in page


def test_the_event_study_chart_names_the_dataset_it_was_drawn_from(web_store, tmp_path):
    """The chart's source line is the dataset's own provenance (here: synthetic, seed 5)."""
    from fastapi.testclient import TestClient

    from nrmc.web import create_app

    from .conftest import with_discharges

    engine, made = web_store
    settings = with_discharges(engine, tmp_path / "home")
    with TestClient(create_app(settings.model_copy(update=SYNC), engine=engine)) as client:
        login(client, "gansu")
        page = client.get(f"/projects/{made.jiuquan_project}/evaluation").text
        assert "synthetic discharges (nrmc flows synth, seed 5)" in page
        assert "nrmc demo discharges" not in page


def test_opening_date_recorded_on_the_evaluation_page(web_store, tmp_path):
    """A provincial officer records Jiuquan's opening day; a bad date is refused beside the
    field with the typed value kept; the page then names the source."""
    from fastapi.testclient import TestClient

    from nrmc.web import create_app

    from .conftest import page_csrf, with_discharges

    engine, made = web_store
    settings = with_discharges(engine, tmp_path / "home")
    url = f"/projects/{made.jiuquan_project}/evaluation"
    with TestClient(create_app(settings.model_copy(update=SYNC), engine=engine)) as client:
        login(client, "gansu")
        page = client.get(url).text
        assert "按批次估计 estimated from batch" in page or "来源 source" in page
        csrf = page_csrf(client, url)
        bad = client.post(url + "/opening", data={"opened_on": "2015-01-01", "csrf_token": csrf})
        assert bad.status_code == 422
        assert 'aria-invalid="true"' in bad.text and 'value="2015-01-01"' in bad.text
        assert "2019-01-01" in bad.text  # the rule's earliest date, in the message
        ok = client.post(url + "/opening", data={"opened_on": "2024-03-18", "csrf_token": csrf},
                         follow_redirects=False)
        assert ok.status_code == 303 and ok.headers["location"] == url
        page = client.get(url).text
        assert "2024-03-18" in page and "来源 source: page" in page
        no_token = client.post(url + "/opening", data={"opened_on": "2024-03-18"})
        assert no_token.status_code == 403


def test_a_stored_evaluation_is_served_while_another_is_being_computed(app, as_user, cast):
    """One evaluation being computed (its key locked) must not hold up one already stored
    (under load a queue behind the one being computed held every worker past 30 s)."""
    import threading

    from nrmc.db import session_scope

    url = f"/api/v1/projects/{cast.jiuquan_project}/evaluation"
    assert as_user("jiuquan").get(url).status_code == 200
    evaluations = app.state.evaluations
    with session_scope(app.state.engine) as session:
        other = evaluations.key(session, cast.henan_project)
    answered: list[int] = []  # another user: the read cache keys on the caller, so no replay
    with evaluations.store.computing(other):  # Henan's is being computed
        evaluations.ask(cast.henan_project, other)
        worker = threading.Thread(target=lambda: answered.append(as_user("gansu").get(url).status_code))
        worker.start()
        worker.join(timeout=20)
    assert answered == [200] and not worker.is_alive()
