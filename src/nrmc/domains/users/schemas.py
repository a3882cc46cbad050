from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from ...core.enums import Role
from ...core.inputs import ShortText


class UserOut(BaseModel):
    """A user as the API shows it (never the password hash)."""

    model_config = ConfigDict(from_attributes=True)

    username: str
    display_name: str
    role: str
    scope_code: str | None
    active: bool
    created_at: datetime
    must_change_password: bool = False


class UserCreate(BaseModel):
    """A new account; the server makes a one-time password and answers it once."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(max_length=64, description="3-32 of a-z 0-9 . _ -")
    display_name: ShortText = ""
    role: Role
    scope_code: ShortText | None = Field(
        default=None, description="province code (provincial_officer) or hospital code "
                                  "(hospital_manager, clinician); none for national roles")


class UserCreated(BaseModel):
    user: UserOut
    one_time_password: str = Field(description="shown once; must be changed at first sign-in")


class UserPatch(BaseModel):
    """Fields an administrator may change (a user may change only their own display name)."""

    model_config = ConfigDict(extra="forbid")

    display_name: ShortText | None = None
    role: Role | None = None
    scope_code: ShortText | None = None
    active: bool | None = None


class PasswordReset(BaseModel):
    one_time_password: str = Field(description="shown once; must be changed at first sign-in")


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    old_password: str = Field(max_length=200)
    new_password: str = Field(max_length=200)
