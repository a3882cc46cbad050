"""Build the demo workspace: reference data, synthetic network, alliances (and later layers)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select

from ..config import Settings
from ..core.enums import Tier
from ..db import session_scope
from ..domains.hospitals.models import Hospital
from ..domains.regions import service as regions
from ..workspace import upgrade_workspace
from . import alliances, network, users

Progress = Callable[[str], None]


@dataclass
class DemoReport:
    seed: int
    steps: dict[str, str] = field(default_factory=dict)


def demo_exists(engine: Engine) -> bool:
    from sqlalchemy import inspect

    if "hospitals" not in inspect(engine).get_table_names():
        return False
    with session_scope(engine) as session:
        return bool(session.scalar(select(func.count()).select_from(Hospital)
                                   .where(Hospital.synthetic.is_(True))))


def build_demo(settings: Settings, engine: Engine, *, seed: int = 2024,
               progress: Progress | None = None) -> DemoReport:
    """Create the demo layer; refuses to run twice on the same store (start from a new home)."""
    say = progress or (lambda _msg: None)
    report = DemoReport(seed=seed)
    say("migrating the store and loading reference data")
    upgrade_workspace(engine)
    if demo_exists(engine):
        raise RuntimeError(f"the workspace {settings.home} already holds demo data")
    with session_scope(engine) as session:
        say("building the synthetic hospital network")
        existing = session.scalar(select(func.count()).select_from(Hospital)
                                  .where(Hospital.tier == Tier.tertiary.value)) or 0
        rows = network.build_network(regions.region_table(session=session),
                                     existing_tertiary=existing, seed=seed)
        session.execute(Hospital.__table__.insert(), rows)
        report.steps["hospitals"] = f"{len(rows):,} synthetic hospitals"
        say("building illustrative alliances around Jiuquan")
        ids = alliances.build(session)
        report.steps["alliances"] = f"alliances {', '.join(map(str, ids))}"
        report.steps["users"] = users.build(session)
    return report
