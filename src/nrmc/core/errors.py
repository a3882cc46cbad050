"""Domain errors. Services raise these; the web and CLI layers map them to 404/403/409/exit codes."""

from __future__ import annotations

from dataclasses import dataclass, field


class NrmcError(Exception):
    """Base of every error nrmc raises on purpose."""


class NotFound(NrmcError):
    """The object does not exist, or the caller may not know that it exists."""


class Forbidden(NrmcError):
    """The caller may see the object but not do this to it."""


class Conflict(NrmcError):
    """The request clashes with stored state (duplicate, stale version, overlap)."""


class Unprocessable(NrmcError):
    """The request is well-formed but cannot be honoured as sent (the web answers 422)."""


class InvalidTransition(Conflict):
    """A state machine refused a move."""


class ConfigurationError(NrmcError):
    """Settings are unsafe or inconsistent."""


@dataclass(frozen=True)
class RowProblem:
    """One reason one input row was refused: file, 1-based data row, field, reason."""

    file: str
    row: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: row {self.row}: {self.field}: {self.reason}"


@dataclass
class ImportRejected(NrmcError):
    """An import was refused as a whole; nothing was stored. Lists every bad row."""

    file: str
    problems: list[RowProblem] = field(default_factory=list)

    def __str__(self) -> str:
        head = f"{self.file}: {len(self.problems)} problem(s); nothing was stored"
        return "\n".join([head, *(f"  {p}" for p in self.problems)])
