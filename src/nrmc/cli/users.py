"""`nrmc users add|list|disable|reset-password|unblock`: accounts for the web platform.

Passwords follow the same rules as on the web (domains/users/policy.py) and are argon2-hashed.
"""

from __future__ import annotations

import sys

import typer

from ..core.enums import Role
from ..domains.audit import service as audit
from ..domains.users import policy, service, throttle
from .context import db_session
from .output import OutputFormat, console, emit

app = typer.Typer(help="Users of the web platform and API.", no_args_is_help=True)
ROLES = ", ".join(r.value for r in Role)


@app.command("add")
def add(
    username: str = typer.Argument(..., help="login name"),
    role: Role = typer.Option(..., help=f"one of {ROLES}"),
    scope: str | None = typer.Option(None, help="province code (provincial_officer) or hospital "
                                     "code (hospital_manager, clinician)"),
    display_name: str = typer.Option("", help="name shown on pages"),
    password_stdin: bool = typer.Option(False, "--password-stdin",
                                        help="read the password from standard input (scripts)"),
) -> None:
    """Create a user; without --password-stdin the password is asked twice, hidden."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with db_session() as session:
        user = service.create(session=session, username=username, password=password, role=role,
                              scope_code=scope, display_name=display_name)
        audit.record(session=session, actor=None, action="user.create", object_type="user",
                     object_id=user.username, after={"role": user.role, "scope": user.scope_code},
                     source="cli")
    console.print(f"user [bold]{username}[/bold] ({role.value}"
                  f"{', ' + user.scope_code if user.scope_code else ''}) created")


@app.command("list")
def list_(fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f")) -> None:
    """List users (never their password hashes)."""
    with db_session() as session:
        rows = [{"username": u.username, "display_name": u.display_name, "role": u.role,
                 "scope_code": u.scope_code, "active": u.active}
                for u in service.list_users(session=session)]
    emit(rows, fmt, columns=["username", "display_name", "role", "scope_code", "active"],
         title=f"{len(rows)} users")


@app.command("reset-password")
def reset_password(username: str) -> None:
    """Give a user a one-time password (printed once) to change at the next sign-in; every
    session and token of theirs ends at once. For an administrator locked out of the web."""
    password = policy.one_time_password()
    with db_session() as session:
        user = service.get_by_username(session=session, username=username)
        service.set_password(session=session, user=user, password=password, one_time=True)
        audit.record(session=session, actor=None, action="user.password_reset", object_type="user",
                     object_id=username, source="cli")
    console.print(f"one-time password for [bold]{username}[/bold]: {password}")


@app.command("unblock")
def unblock() -> None:
    """Forget every count of the login throttle (after a lock-out by mistyped passwords)."""
    with db_session() as session:
        throttle.clear(session=session)
    console.print("login throttle cleared")


@app.command("disable")
def disable(username: str) -> None:
    """Disable a user: their session and API tokens stop working at once."""
    with db_session() as session:
        service.disable(session=session, username=username)
        audit.record(session=session, actor=None, action="user.disable", object_type="user",
                     object_id=username, before={"active": True}, after={"active": False},
                     source="cli")
    console.print(f"user [bold]{username}[/bold] disabled")
