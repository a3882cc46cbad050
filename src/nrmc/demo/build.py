"""Build the demo workspace: reference data, synthetic network, alliances (and later layers)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, insert, select

from ..config import Settings
from ..core.enums import Tier
from ..db import session_scope
from ..domains.hospitals import service as hospitals
from ..domains.hospitals.models import Hospital
from ..domains.projects import service as projects
from ..domains.regions import service as regions
from ..flows.synth import write_synthetic_dataset
from ..workspace import upgrade_workspace
from . import alliances, network, operations, users
from . import programme as programme_demo

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


DEMO_ROWS = 3_000_000
DEMO_YEARS = range(2018, 2025)


def build_demo(settings: Settings, engine: Engine, *, seed: int = 2024, rows: int = DEMO_ROWS,
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
        real = session.scalars(select(Hospital.region_code).where(
            Hospital.tier == Tier.tertiary.value, Hospital.synthetic.is_(False))).all()
        network_rows = network.build_network(regions.region_table(session=session),
                                             real_tertiary=real, seed=seed)
        session.execute(insert(Hospital), network_rows)
        report.steps["hospitals"] = f"{len(network_rows):,} synthetic hospitals"
        say("building illustrative alliances around Jiuquan")
        ids = alliances.build(session)
        report.steps["alliances"] = f"alliances {', '.join(map(str, ids))}"
        report.steps["operations"] = operations.build(session, seed=seed)
        say("building the programme layer: milestones, ledgers, gaps, trusteeships")
        report.steps["programme"] = programme_demo.build(session, seed=seed)
        report.steps["users"] = users.build(session)
    say(f"generating {rows:,} synthetic discharges {DEMO_YEARS[0]}–{DEMO_YEARS[-1]}")
    with session_scope(engine) as session:
        tables = {"regions": regions.region_table(session=session),
                  "hospitals": hospitals.hospital_table(session=session),
                  "projects": projects.project_table(session=session)}
    summary = write_synthetic_dataset(
        settings.flows_dir, **tables, rows=rows, years=DEMO_YEARS, seed=seed,
        pseudonym_key=settings.pseudonym_key,
        progress=lambda done, total: say(f"synthetic discharges {done:,}/{total:,}"))
    report.steps["discharges"] = (f"{summary['rows']:,} synthetic discharges in "
                                  f"{settings.flows_dir} ({summary['seconds']} s)")
    return report
