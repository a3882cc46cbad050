"""One deadline for a whole solve: every phase (heuristic, Lagrangian, each MIP call) draws on it.

A time limit handed to ``solve`` is a wall-clock budget for the answer, not a per-call limit for
HiGHS: a scheme that calls the MIP solver several times must not spend the limit once per call.
"""

from __future__ import annotations

import time


class Deadline:
    """Wall-clock budget started at construction; ``None`` seconds means no limit."""

    def __init__(self, seconds: float | None) -> None:
        self.started = time.perf_counter()
        self.limit = None if seconds is None else max(0.0, float(seconds))

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def remaining(self) -> float | None:
        """Seconds left (never negative), or ``None`` without a limit."""
        if self.limit is None:
            return None
        return max(0.0, self.limit - self.elapsed())

    def expired(self) -> bool:
        left = self.remaining()
        return left is not None and left <= 0.0

    def share(self, fraction: float) -> float | None:
        """``fraction`` of the time left, for a phase that must leave room for the next."""
        left = self.remaining()
        return None if left is None else left * fraction
