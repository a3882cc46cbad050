from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class UserOut(BaseModel):
    """A user as the API shows it (never the password hash)."""

    model_config = ConfigDict(from_attributes=True)

    username: str
    display_name: str
    role: str
    scope_code: str | None
    active: bool
    created_at: datetime
