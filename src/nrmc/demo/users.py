"""One demo user per role, scoped to the Jiuquan story (Gansu → Jiuquan centre → Jinta County).

The password is the same for every demo user and printed by `make run`; a demo workspace is
for trying the platform on one machine, never for real data.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..core.enums import Role
from ..domains.users import service as users
from .alliances import JINTA_HOSPITAL, jiuquan_project

DEMO_PASSWORD = "nrmc-demo-2024"
DEMO_USERNAMES = ("admin", "analyst", "gansu", "jiuquan", "jinta")


def demo_users(session: Session) -> list[tuple[str, Role, str | None, str]]:
    """(username, role, scope, display name) for the demo cast."""
    jiuquan = jiuquan_project(session).project_hospital_code
    return [
        ("admin", Role.national_admin, None, "国家管理员 National admin"),
        ("analyst", Role.national_analyst, None, "国家分析员 National analyst"),
        ("gansu", Role.provincial_officer, "620000", "甘肃省卫健委 Gansu officer"),
        ("jiuquan", Role.hospital_manager, jiuquan, "酒泉市人民医院 Jiuquan manager"),
        ("jinta", Role.clinician, JINTA_HOSPITAL, "金塔县人民医院医生 Jinta clinician"),
    ]


def build(session: Session) -> str:
    made = []
    for username, role, scope, name in demo_users(session):
        users.create(session=session, username=username, password=DEMO_PASSWORD, role=role,
                     scope_code=scope, display_name=name)
        made.append(username)
    return f"users {', '.join(made)} (password {DEMO_PASSWORD})"
