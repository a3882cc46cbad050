"""What a caller may see: the scope every service filters by (not only the pages).

national_admin / national_analyst: the whole country (the analyst cannot write);
provincial_officer: hospitals, projects, alliances and referrals of one province;
hospital_manager: one hospital and the projects/alliances it belongs to;
clinician: the referrals of one hospital.
Out-of-scope objects are reported as NotFound so their existence does not leak.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, true

from ...core.enums import Role
from ...core.errors import Forbidden


@dataclass(frozen=True)
class Scope:
    role: Role
    username: str | None = None
    province: str | None = None  # 2-digit prefix for provincial officers
    hospital: str | None = None  # hospital code for hospital roles

    @classmethod
    def system(cls) -> Scope:
        """Unrestricted scope for the CLI and the demo builder (actor recorded as 'system')."""
        return cls(role=Role.national_admin, username=None)

    @classmethod
    def for_user(cls, user: Any) -> Scope:
        role = Role(user.role)
        if role == Role.provincial_officer:
            return cls(role=role, username=user.username, province=(user.scope_code or "")[:2])
        if role in (Role.hospital_manager, Role.clinician):
            return cls(role=role, username=user.username, hospital=user.scope_code)
        return cls(role=role, username=user.username)

    @property
    def national(self) -> bool:
        return self.role in (Role.national_admin, Role.national_analyst)

    @property
    def actor(self) -> str:
        return self.username or "system"

    def require_write(self) -> None:
        if self.role == Role.national_analyst:
            raise Forbidden("national analysts have read-only access")

    def allows_region(self, region_code: str) -> bool:
        """Whether hospital-level data located in this region is in scope."""
        if self.national:
            return True
        if self.province is not None:
            return region_code[:2] == self.province
        return False

    def allows_hospital(self, code: str, region_code: str) -> bool:
        if self.national or self.allows_region(region_code):
            return True
        return self.hospital is not None and code == self.hospital

    def hospital_clause(self, code_col: Any, region_col: Any) -> ColumnElement[bool]:
        """SQL filter for rows located at a hospital (code and region columns given)."""
        if self.national:
            return true()
        if self.province is not None:
            return region_col.like(self.province + "%")
        if self.hospital is not None:
            return code_col == self.hospital
        return false()
