"""When an answer built now stops being true without any write: the clock-bound part of a
cached answer's freshness.

Most answers change only when data is written (db/revision.py tracks that). A few also change
with time alone: a referral's "overdue" flag turns on at its deadline. Code that computes such
a flag notes the instant it will flip (`changes_at`); a cache listening around the request
(`watching`) keeps the answer no longer than the earliest instant noted.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime


@dataclass
class Lifetime:
    """The earliest instant (Unix seconds) at which something the answer shows will change."""

    until: float | None = None

    def note(self, at: float) -> None:
        if self.until is None or at < self.until:
            self.until = at


# Mutable holder: sync endpoints run in a worker thread with a copy of the context, and must
# report into the same object the caller reads.
_current: ContextVar[Lifetime | None] = ContextVar("nrmc_answer_lifetime", default=None)


@contextmanager
def watching() -> Iterator[Lifetime]:
    """Collect the instants noted inside this block (and the threads it hands work to)."""
    found = Lifetime()
    token = _current.set(found)
    try:
        yield found
    finally:
        _current.reset(token)


def changes_at(at: datetime) -> None:
    """Note that what is being computed changes at `at` (an aware datetime)."""
    found = _current.get()
    if found is not None:
        found.note(at.timestamp())


def changes_now() -> None:
    """Note that what is being computed follows the clock too closely to be kept at all."""
    found = _current.get()
    if found is not None:
        found.note(float("-inf"))
