"""`nrmc users add/list/disable` and `nrmc serve --help`."""

from __future__ import annotations

import json

from tests.cli_runner import run


def test_users_add_from_a_script_then_list_and_disable(nrmc_env):
    added = run("users", "add", "gansu2", "--role", "provincial_officer", "--scope", "62",
                "--password-stdin", input="a-long-password\n")
    assert added.exit_code == 0, added.output
    listed = json.loads(run("users", "list", "--format", "json").stdout)
    assert listed == [{"username": "gansu2", "display_name": "gansu2", "role": "provincial_officer",
                       "scope_code": "620000", "active": True}]
    assert run("users", "disable", "gansu2").exit_code == 0
    assert json.loads(run("users", "list", "--format", "json").stdout)[0]["active"] is False


def test_users_add_refuses_a_scope_that_does_not_fit(nrmc_env):
    result = run("users", "add", "doc", "--role", "clinician", "--password-stdin",
                 input="a-long-password\n")
    assert result.exit_code != 0 and "HOSPITAL_CODE" in result.output
    unknown = run("users", "add", "xyz", "--role", "hospital_manager", "--scope", "NOPE",
                  "--password-stdin", input="a-long-password\n")
    assert unknown.exit_code == 3


def test_users_add_is_audited(nrmc_env):
    run("users", "add", "ana", "--role", "national_analyst", "--password-stdin",
        input="a-long-password\n")
    from nrmc.cli.context import db_session
    from nrmc.domains.audit import service as audit

    with db_session() as session:
        entries = audit.list_entries(session=session, object_type="user")
    assert entries[0].action == "user.create" and entries[0].source == "cli"


def test_serve_has_host_and_port_options():
    result = run("serve", "--help")
    assert result.exit_code == 0 and "--host" in result.output and "--port" in result.output


def test_start_prints_the_summary_and_the_logins(nrmc_env):
    run("users", "add", "admin", "--role", "national_admin", "--password-stdin",
        input="nrmc-demo-2024\n")
    result = run("start", "--no-serve")
    assert result.exit_code == 0, result.output
    assert "national summary" in result.output and "admin" in result.output
    assert "nrmc-demo-2024" in result.output  # a demo login: its password is printed


def test_serve_first_brings_an_older_store_to_the_current_schema(nrmc_env, engine, monkeypatch):
    """A workspace made by an earlier nrmc (no data revision yet) is upgraded before serving,
    so the read cache and its invalidation work from the first request."""
    import uvicorn
    from alembic.script import ScriptDirectory

    from nrmc.cli import serve
    from nrmc.db.migrate import alembic_config, current_revision, downgrade

    downgrade(engine, "0002")
    started: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.append(options))
    serve.run(host="127.0.0.1", port=0)
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    assert current_revision(engine) == head and started[0]["port"] == 0
    assert started[0]["access_log"] is False
    # uvicorn must not believe X-Forwarded-For from 127.0.0.1 by default: no trusted proxies here
    assert started[0]["proxy_headers"] is False


def test_serve_runs_a_worker_per_core_sharing_a_cache_file_for_the_run(nrmc_env, monkeypatch):
    import os

    import uvicorn

    from nrmc.cli import serve

    seen: list[tuple[dict, str | None]] = []
    monkeypatch.delenv("NRMC_READ_CACHE_FILE", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.append(
        (options, os.environ.get("NRMC_READ_CACHE_FILE"))))
    serve.run(host="127.0.0.1", port=0)
    options, cache_file = seen[0]
    assert options["workers"] == 4 and cache_file and cache_file.endswith("read-cache.db")
    assert "NRMC_READ_CACHE_FILE" not in os.environ  # no later app names the removed file


def test_users_add_refuses_a_weak_password_naming_the_rule(nrmc_env):
    result = run("users", "add", "weak", "--role", "national_analyst", "--password-stdin",
                 input="password123\n")
    assert result.exit_code != 0 and "too common" in result.output
    same = run("users", "add", "liwei", "--role", "national_analyst", "--password-stdin",
               input="liwei-liwei-1\n")
    assert same.exit_code != 0 and "username" in same.output


def test_reset_password_prints_a_one_time_password_that_must_be_changed(nrmc_env):
    run("users", "add", "locked", "--role", "national_admin", "--password-stdin",
        input="a-long-password\n")
    result = run("users", "reset-password", "locked")
    assert result.exit_code == 0
    from nrmc.cli.context import db_session
    from nrmc.domains.users import service

    with db_session() as session:
        user = service.get_by_username(session=session, username="locked")
        assert user.must_change_password and user.session_version == 1
        assert service.authenticate(session=session, username="locked",
                                    password=result.output.split(": ")[-1].strip())


def test_keys_fingerprint_and_version_show_the_same_pseudonym_fingerprint(nrmc_env, monkeypatch):
    from nrmc.cli import context
    from nrmc.core.keys import fingerprint

    monkeypatch.setenv("NRMC_PSEUDONYM_KEY", "site-a-pseudonym-key-Q7v2L9xT4mB8rK1")
    context.reset()
    expected = fingerprint("site-a-pseudonym-key-Q7v2L9xT4mB8rK1")
    assert expected in run("keys", "fingerprint").output
    assert expected in run("version").output
    assert "site-a-pseudonym-key" not in run("keys", "fingerprint").output
    assert len(run("keys", "generate").output.strip()) == 64
