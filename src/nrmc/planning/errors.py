"""Errors the planning models raise on purpose; each message says what is wrong and why."""

from __future__ import annotations

from ..core.errors import NrmcError


class PlanningError(NrmcError):
    """Base of planning errors."""


class InvalidInput(PlanningError, ValueError):
    """An argument is malformed: NaN costs, negative weights, mismatched shapes, p out of range."""


class InfeasibleProblem(PlanningError):
    """The model has no solution as posed (e.g. total capacity below demand); says why."""


class SolverFailed(PlanningError):
    """HiGHS stopped without a usable solution (time limit with no incumbent, numerical trouble)."""
