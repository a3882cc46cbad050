"""The permission matrix: each role against every resource type, in and out of its scope.

An object outside the caller's scope answers 404 exactly as a missing one does, and no list
ever carries an out-of-scope row (zero leaks).
"""

from __future__ import annotations

import pytest

from .cast import JINTA, Cast

ROLES = ("admin", "analyst", "gansu", "henan", "jiuquan", "jinta")
RESOURCES = ("region", "hospital", "project", "operations", "alliance", "referral", "user")


def objects(c: Cast) -> dict[str, dict[str, str]]:
    """resource → {object key: API path}."""
    return {
        "region": {"beijing": "/api/v1/regions/110000", "gansu": "/api/v1/regions/620000",
                   "jiuquan_pref": "/api/v1/regions/620900", "jinta_county": "/api/v1/regions/620921",
                   "jiuquan_seat": f"/api/v1/regions/{c.jiuquan_region}",
                   "henan": "/api/v1/regions/410000"},
        "hospital": {"jinta": f"/api/v1/hospitals/{JINTA}",
                     "jiuquan": f"/api/v1/hospitals/{c.jiuquan_hospital}",
                     "henan": f"/api/v1/hospitals/{c.henan_hospital}",
                     "shanghai": "/api/v1/hospitals/NRMC-O005"},
        "project": {"jiuquan": f"/api/v1/projects/{c.jiuquan_project}",
                    "gansu_other": f"/api/v1/projects/{c.gansu_other_project}",
                    "henan": f"/api/v1/projects/{c.henan_project}"},
        "operations": {"jiuquan": f"/api/v1/projects/{c.jiuquan_project}/kpis",
                       "gansu_other": f"/api/v1/projects/{c.gansu_other_project}/dispatches",
                       "henan": f"/api/v1/projects/{c.henan_project}/technologies"},
        "alliance": {"jinta": f"/api/v1/alliances/{c.jinta_alliance}",
                     "jiuquan": f"/api/v1/alliances/{c.jiuquan_alliance}",
                     "henan": f"/api/v1/alliances/{c.henan_alliance}"},
        "referral": {"jinta": f"/api/v1/referrals/{c.jinta_referral}",
                     "henan": f"/api/v1/referrals/{c.henan_referral}"},
        "user": {name: f"/api/v1/users/{name}" for name in ROLES},
    }


VISIBLE: dict[str, dict[str, set[str]]] = {
    "admin": {"user": set(ROLES)},
    "analyst": {"user": {"analyst"}},
    "gansu": {"region": {"gansu", "jiuquan_pref", "jinta_county", "jiuquan_seat"},
              "hospital": {"jinta", "jiuquan"}, "project": {"jiuquan", "gansu_other"},
              "alliance": {"jinta", "jiuquan"}, "referral": {"jinta"},
              "user": {"gansu", "jiuquan", "jinta"}},  # a provincial officer manages its province's users
    "henan": {"region": {"henan"}, "hospital": {"henan"}, "project": {"henan"},
              "alliance": {"henan"}, "referral": {"henan"}, "user": {"henan"}},
    "jiuquan": {"region": {"gansu", "jiuquan_pref", "jiuquan_seat"}, "hospital": {"jiuquan"},
                "project": {"jiuquan"}, "alliance": {"jiuquan"}, "referral": {"jinta"},
                "user": {"jiuquan"}},
    "jinta": {"region": {"gansu", "jiuquan_pref", "jinta_county"}, "hospital": {"jinta"},
              "project": set(), "alliance": set(), "referral": {"jinta"}, "user": {"jinta"}},
}


def visible(role: str, resource: str, everything: dict[str, dict[str, str]]) -> set[str]:
    if resource == "operations":  # a project's ledger is visible exactly when the project is
        resource = "project"
    if role in ("admin", "analyst") and resource != "user":
        return set(everything[resource])
    return VISIBLE[role][resource]


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_exactly_its_scope(role, resource, as_user, cast):
    everything = objects(cast)
    allowed = visible(role, resource, everything)
    caller = as_user(role)
    for key, path in everything[resource].items():
        response = caller.get(path)
        expected = 200 if key in allowed else 404
        assert response.status_code == expected, f"{role} GET {path} ({key})"
        if expected == 404:
            # The same answer as for an object that does not exist: nothing to tell them apart.
            assert "detail" in response.json() and set(response.json()) == {"detail"}


def test_out_of_scope_answers_like_a_missing_object(as_user):
    missing = as_user("gansu").get("/api/v1/hospitals/NO-SUCH-CODE")
    hidden = as_user("gansu").get("/api/v1/hospitals/NRMC-O005")
    assert missing.status_code == hidden.status_code == 404
    assert missing.json()["detail"].replace("NO-SUCH-CODE", "X") == \
        hidden.json()["detail"].replace("NRMC-O005", "X")


@pytest.mark.parametrize("role", ROLES)
def test_lists_carry_no_out_of_scope_row(role, as_user, cast):
    caller = as_user(role)
    hospitals = caller.get("/api/v1/hospitals", params={"limit": 500}).json()["items"]
    projects = caller.get("/api/v1/projects", params={"limit": 500}).json()["items"]
    alliances = caller.get("/api/v1/alliances", params={"limit": 500}).json()["items"]
    referrals = caller.get("/api/v1/referrals", params={"limit": 500}).json()["items"]
    expected_referrals = {getattr(cast, f"{k}_referral") for k in
                          visible(role, "referral", objects(cast))}
    assert {r["id"] for r in referrals} == expected_referrals
    regions = caller.get("/api/v1/regions", params={"limit": 500, "level": "province"}).json()
    ids = {v: k for k, v in objects(cast)["project"].items()}
    project_keys = {ids.get(f"/api/v1/projects/{p['id']}", f"other-{p['id']}") for p in projects}
    alliance_ids = {a["id"] for a in alliances}
    provinces = {r["code"] for r in regions["items"]}
    if role in ("admin", "analyst"):
        assert len(projects) == 77 and len(provinces) == 31
        assert alliance_ids == {cast.jinta_alliance, cast.jiuquan_alliance, cast.henan_alliance}
        return
    if role in ("gansu", "henan"):
        prefix = {"gansu": "62", "henan": "41"}[role]
        assert hospitals and all(h["region_code"].startswith(prefix) for h in hospitals)
        assert projects and all(p["province_code"].startswith(prefix) for p in projects)
        assert provinces == {prefix + "0000"}
    else:
        own = cast.jiuquan_hospital if role == "jiuquan" else JINTA
        assert [h["code"] for h in hospitals] == [own]
        assert provinces == {"620000"}
    expected_projects = VISIBLE[role]["project"]
    if role in ("jiuquan", "jinta"):
        assert project_keys == expected_projects
    else:
        assert expected_projects <= project_keys
    expected_alliances = {getattr(cast, f"{k}_alliance") for k in VISIBLE[role]["alliance"]}
    assert alliance_ids == expected_alliances


WRITES = {  # role → {project key: expected status of a PATCH}
    "admin": {"jiuquan": 200, "henan": 200},
    "analyst": {"jiuquan": 403, "henan": 403},
    "gansu": {"jiuquan": 200, "henan": 404},
    "henan": {"jiuquan": 404, "henan": 200},
    "jiuquan": {"jiuquan": 200, "gansu_other": 404},
    "jinta": {"jiuquan": 404, "henan": 404},
}


@pytest.mark.parametrize("role", ROLES)
def test_writes_follow_scope_and_read_only_roles(role, as_user, cast):
    paths = objects(cast)["project"]
    for key, expected in WRITES[role].items():
        response = as_user(role).patch(paths[key], json={"notes": f"checked by {role}"})
        assert response.status_code == expected, f"{role} PATCH {key}: {response.text}"


def test_audit_log_readers_see_only_what_they_may(as_user, cast):
    as_user("gansu").patch(f"/api/v1/projects/{cast.jiuquan_project}", json={"notes": "g"})
    as_user("henan").patch(f"/api/v1/projects/{cast.henan_project}", json={"notes": "h"})
    for role in ("admin", "analyst"):
        actors = {e["actor"] for e in as_user(role).get("/api/v1/audit?limit=500").json()["items"]}
        assert {"gansu", "henan"} <= actors
    for role in ("gansu", "henan", "jiuquan", "jinta"):
        entries = as_user(role).get("/api/v1/audit?limit=500").json()["items"]
        assert all(e["actor"] == role for e in entries)
