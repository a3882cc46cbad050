"""Self-contained HTML reports (charts inline as SVG), and a PDF when Chromium is installed.

The numbers come from ``service.evaluate`` and ``kpis.gather`` – the same functions the pages
and ``nrmc evaluate`` call – so a report never disagrees with the screen. A report is meant to
be published, so it shows them after small-cell suppression (``disclosure``, threshold
``min_cell`` = ``Settings.min_cell_size``): tables, headline, KPIs and charts alike (a chart
plots only published values, and a withheld origin is drawn with a fixed-size marker, so the
SVG's coordinates cannot give a withheld number back).
"""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.orm import Session

from .. import __version__
from ..core.inputs import today_beijing
from ..core.privacy import WITHHELD, WithheldLedger, count_marker, disclosure_note
from ..domains.hospitals import service as hospitals
from . import charts
from .disclosure import publish, publish_kpis, publish_origins, withheld_reason
from .kpis import FLOWS_SOURCE, gather
from .service import METRICS, Evaluation, evaluate
from .sources import FlowSource

UNITS = {"outflow_rate": "% of residents' discharges", "transfer_rate": "% of discharges",
         "level4_share": "% of surgeries", "outside_city_share": "% of discharges"}


@dataclass(frozen=True)
class Report:
    html: str
    evaluation: Evaluation


def _pct(value: Any, digits: int = 1, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value * 100:{'+' if signed else ''}.{digits}f}%"


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("nrmc.evaluation", "templates"),
                      autoescape=select_autoescape(["html"]))
    env.filters["pct"] = _pct
    env.filters["spct"] = lambda v: _pct(v, signed=True)
    env.filters["expm1"] = lambda v: math.nan if v is None or v != v else math.expm1(v)
    return env


def build_report(
    *,
    session: Session,
    source: FlowSource,
    regions: pd.DataFrame,
    scope: str,
    key: str | int,
    min_cell: int,
    baseline_year: int | None = None,
    dataset_label: str = "flows dataset",
    ledger: WithheldLedger | None = None,
) -> Report:
    """Evaluate the scope and render the report page, counts of 1 to ``min_cell − 1``
    withheld (``min_cell`` = 1 shows every count). ``Report.evaluation`` is what it shows."""
    raw = evaluate(session=session, source=source, scope=scope, key=key,
                   baseline_year=baseline_year, with_programme=True)
    ev = publish(raw, min_cell, ledger=ledger, prefix=f"{scope}:{key}")
    kpis = publish_kpis(gather(session=session, evaluation=raw), min_cell)
    flows_source = f"{FLOWS_SOURCE}; {dataset_label}"
    svgs: dict[str, str] = {}
    for name, result in ev.before_after.items():
        hidden = result.table["value_withheld"].any()
        svgs[name] = charts.before_after_svg(
            result, title=METRICS[name], unit=UNITS[name],
            source=flows_source + (f"; years resting on fewer than {min_cell} cases not plotted"
                                   if hidden else ""),
            opening_year=ev.opening_year)
    did_source = f"{flows_source}; Callaway–Sant'Anna DiD"
    if ev.did is not None:
        svgs["event_study"] = charts.event_study_svg(
            ev.did, title=f"Event study: outflow of the treated cell(s), {ev.title}",
            source=did_source)
    if ev.programme_did is not None:
        svgs["programme_event_study"] = charts.event_study_svg(
            ev.programme_did, title="Event study: all programme centres (province × specialty)",
            source=did_source)
    maps = []
    for _, project in ev.projects.head(6).iterrows():
        hospital = hospitals.get(session=session, code=project["project_hospital_code"])
        city = project["city_code"] or hospital.region_code
        origins = source.origins(str(city), str(project["specialty"]), None)
        if origins.empty:
            continue
        shown = publish_origins(origins, city=str(city), min_cell=min_cell)
        marked = (f"; open circles: fewer than {min_cell} discharges (withheld)"
                  if shown.table["withheld"].any() else "")
        maps.append({
            "hospital": hospital.name_zh,
            "svg": charts.origins_map_svg(
                shown.table, regions, site=(hospital.lon, hospital.lat),
                title=f"Where patients treated in the host city come from: {hospital.name_zh}, "
                      f"{project['specialty']} (last year)",
                source=f"{flows_source}; bubble area ∝ discharges by prefecture of residence"
                       f"{marked}"),
            "top": [{"name": r.origin_name or r.origin, "discharges": r.discharges,
                     "share": r.share, "withheld": bool(r.withheld), "small": bool(r.small)}
                    for r in shown.table.head(10).itertuples()],
            "outside_share": shown.outside_share,
            "outside_withheld": shown.outside_withheld,
            "any_withheld": shown.any_withheld,
        })
    project_rows = []
    for _, p in ev.projects.iterrows():
        hosp = hospitals.get(session=session, code=p["project_hospital_code"])
        out = hospitals.get(session=session, code=p["output_hospital_code"])
        project_rows.append({"id": int(p["id"]), "batch": p["batch"], "hospital": hosp.name_zh,
                             "output": out.name_zh, "province": p["province_code"],
                             "specialty": p["specialty"], "opening_year": p["opening_year"]})
    note_zh, note_en = disclosure_note(min_cell)
    html = _environment().get_template("report.html").render(
        ev=ev, summary=ev.summary(), kpis=kpis,
        metrics=METRICS, svgs=svgs, maps=maps, projects=project_rows,
        reasons={name: withheld_reason(name, result, min_cell)  # type: ignore[arg-type]
                 for name, result in ev.before_after.items()},
        today=today_beijing().isoformat(), version=__version__, dataset_label=dataset_label,
        min_cell=min_cell, marker=count_marker(min_cell), dash=WITHHELD,
        note_zh=note_zh, note_en=note_en,
        kpis_withheld=any(k.withheld_as for k in kpis),
    )
    return Report(html=html, evaluation=ev)


def pdf_engine() -> str | None:
    """The Chromium binary used to print PDFs, if one is installed."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def write_report(html: str, out: Path, *, pdf: bool = False) -> list[Path]:
    """Write the HTML (and ``out.with_suffix('.pdf')`` when asked and possible)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    written = [out]
    engine = pdf_engine() if pdf else None
    if engine:
        target = out.with_suffix(".pdf")
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run(
                [engine, "--headless", "--no-sandbox", "--disable-gpu",
                 f"--user-data-dir={profile}", "--no-pdf-header-footer",
                 f"--print-to-pdf={target}", out.resolve().as_uri()],
                check=True, capture_output=True, timeout=120,
            )
        written.append(target)
    return written
