"""`nrmc plan catchments`: Dartmouth-style hospital areas from residence → hospital flows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import typer

from ..core.errors import NrmcError
from ..planning.catchments import delaunay_adjacency, plurality_catchments
from ..planning.errors import InvalidInput
from . import plan_inputs as flows_in
from .context import fail
from .output import OutputFormat, emit
from .plan import _counties, _csv

FormatOpt = typer.Option(OutputFormat.table, "--format", "-f", help="table, json or csv")


def catchments(
    specialty: str = typer.Option(..., help="specialty to build catchments for"),
    year: int | None = typer.Option(None, help="discharge year (default: the latest held)"),
    flows: Path | None = typer.Option(None, help="CSV residence_code,hospital_region_code,"
                                                 "patients[,specialty,year] (default: built "
                                                 "from the flows dataset)"),
    counties_out: bool = typer.Option(False, "--counties", help="list every county with its "
                                                                "area instead of the areas"),
    province: str | None = typer.Option(None, help="restrict to one province"),
    min_localization: float | None = typer.Option(None, help="merge areas with LI below this"),
    min_population: float | None = typer.Option(None, help="merge areas smaller than this"),
    max_edge_km: float | None = typer.Option(300.0, help="drop adjacency edges longer than this"),
    fmt: OutputFormat = FormatOpt,
) -> None:
    """Dartmouth-style hospital areas with the localization index of each."""
    try:
        counties = _counties(province)
        df, year, source = _catchment_flows(flows, specialty, year)
        idx = {c: i for i, c in enumerate(counties["code"])}
        df = df[df["residence_code"].isin(idx) & df["hospital_region_code"].isin(idx)]
        if df.empty:
            raise InvalidInput(f"{source}: no flows for specialty {specialty!r} in {year} "
                               "within the selected counties")
        seeds_codes = sorted(df["hospital_region_code"].unique())
        col = {c: k for k, c in enumerate(seeds_codes)}
        f = np.zeros((len(counties), len(seeds_codes)))
        np.add.at(f, (df["residence_code"].map(idx).to_numpy(),
                      df["hospital_region_code"].map(col).to_numpy()),
                  pd.to_numeric(df["patients"], errors="coerce").fillna(0).to_numpy())
        adj = delaunay_adjacency(counties["lon"].to_numpy(), counties["lat"].to_numpy(),
                                 max_edge_km)
        r = plurality_catchments(f, [idx[c] for c in seeds_codes], adj,
                                 population=counties["population"].to_numpy(float),
                                 min_localization=min_localization,
                                 min_population=min_population)
    except NrmcError as exc:
        fail(exc)
        return
    names = dict(zip(counties["code"], counties["name_zh"], strict=True))
    if counties_out:
        residents = f.sum(axis=1)
        county_rows = [{"code": c, "name_zh": names[c],
                        "area_code": seeds_codes[a] if a >= 0 else None,
                        "area_name_zh": names[seeds_codes[a]] if a >= 0 else None,
                        "residents": float(residents[i])}
                       for i, (c, a) in enumerate(zip(counties["code"],
                                                      r.area_of.astype(int).tolist(),
                                                      strict=True))]
        emit(county_rows, fmt, title=f"{specialty} {year}: hospital area of each county")
        return
    rows = [{"area_code": seeds_codes[int(row["area"])],
             "name_zh": names[seeds_codes[int(row["area"])]],
             **{k: row[k] for k in ("localization_index", "population", "counties")}}
            for row in r.rows()]
    emit(rows, fmt, title=f"{specialty} {year} hospital areas")


def _catchment_flows(flows: Path | None, specialty: str,
                     year: int | None) -> tuple[pd.DataFrame, int, str]:
    """Residence → hospital-county flows of one specialty and year: from ``flows`` (filtered on
    its optional specialty/year columns; year defaults to the file's latest) or else from the
    flows dataset. Returns the flows, the year and a label for messages."""
    if flows is None:
        src = flows_in.open_flows("--flows FILE")
        y = src.year(year)
        return flows_in.residence_flows(src, specialty, y), y, "flows dataset"
    df = _csv(flows, ["residence_code", "hospital_region_code", "patients"])
    if "specialty" in df.columns:
        df = df[df["specialty"] == specialty]
    if "year" in df.columns:
        years = pd.to_numeric(df["year"], errors="coerce")
        if year is None:
            if years.isna().all():
                raise InvalidInput(f"{flows}: no year to default to; pass --year")
            year = int(years.max())
        df = df[years == year]
    elif year is None:
        raise InvalidInput(f"{flows} has no year column; pass --year to label the result")
    return df, year, str(flows)
