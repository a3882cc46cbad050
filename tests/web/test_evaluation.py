"""Project evaluation through the API and its page (scoped like the project)."""

from __future__ import annotations

from .conftest import login


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
        assert client.get(f"/projects/{cast.henan_project}/evaluation").status_code == 404
