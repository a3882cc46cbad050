"""`nrmc plan`: siting, accessibility, catchments, bed sizing, run files and (`plan scenario`)
the planning page's named scenarios.

This layer reads data (the shipped regions table, user CSV files, the hospital registry when it
exists, the workspace's patient-flows dataset through `plan_inputs`) and hands plain arrays to
`nrmc.planning`, which never reads anything itself.
"""

from __future__ import annotations

from enum import StrEnum
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import typer

from ..core.errors import NrmcError
from ..domains.planning.demand import POPULATION_VINTAGE
from ..planning import accessibility as acc
from ..planning import beds as bedsmod
from ..planning import scenarios as sc
from ..planning.errors import InvalidInput
from ..planning.siting import MCLP, HighsOptions, PMedian, Recapture
from ..planning.travel import DEFAULT_CIRCUITY, DEFAULT_SPEED_KMH, matrix_from_pairs, travel_minutes
from . import plan_inputs as flows_in
from . import plan_scenario
from .context import fail, settings
from .output import OutputFormat, emit, emit_one, err_console

app = typer.Typer(help="Plan centres: siting, accessibility, catchments, beds, scenarios.",
                  no_args_is_help=True)
scenarios_app = typer.Typer(help="Run files of `plan site` (named scenarios: `plan scenario`).",
                            no_args_is_help=True)
app.add_typer(scenarios_app, name="scenarios")
app.add_typer(plan_scenario.app, name="scenario")

FormatOpt = typer.Option(OutputFormat.table, "--format", "-f", help="table, json or csv")


class Objective(StrEnum):
    coverage = "coverage"
    median = "median"
    recapture = "recapture"


class Method(StrEnum):
    two = "2sfca"
    enhanced = "e2sfca"
    three = "3sfca"
    gravity = "gravity"


# --- reading inputs ----------------------------------------------------------------------------

def _regions() -> pd.DataFrame:
    with resources.files("nrmc.data").joinpath("regions.csv").open("rb") as fh:
        return pd.read_csv(fh, dtype={"code": str, "parent_code": str})


def _counties(province: str | None) -> pd.DataFrame:
    """The demand units: the finest divisions (``leaf=1``), i.e. counties plus county-less
    prefecture-level cities such as 东莞, the same units the flows dataset records."""
    df = _regions()
    df = df[df["leaf"].astype(int) == 1]
    if province:
        df = df[df["code"].str[:2] == province[:2]]
        if df.empty:
            raise InvalidInput(f"no counties in province {province!r}")
    return df.reset_index(drop=True)


def _csv(path: Path, required: list[str]) -> pd.DataFrame:
    if not path.exists():
        raise InvalidInput(f"{path}: file not found")
    df = pd.read_csv(path, dtype=str)
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InvalidInput(f"{path}: missing column(s) {', '.join(missing)}; "
                           f"expected {', '.join(required)}")
    return df


def _weights_file(path: Path, codes: pd.Series, what: str) -> np.ndarray:
    df = _csv(path, ["region_code", "weight"])
    w = pd.to_numeric(df["weight"], errors="coerce")
    if w.isna().any():
        raise InvalidInput(f"{path}: {what} weight is not a number on data row "
                           f"{int(w.isna().to_numpy().argmax()) + 1}")
    return codes.map(dict(zip(df["region_code"], w, strict=True))).fillna(0.0).to_numpy()


def _candidates(spec: str, province: str | None, *, real_only: bool = False) -> pd.DataFrame:
    if spec == "tertiary":
        try:
            from ..domains.hospitals.service import hospital_table
        except ImportError as exc:
            raise InvalidInput("--candidates tertiary needs the hospital registry "
                               "(nrmc.domains.hospitals), which is not installed; "
                               "pass --candidates FILE instead") from exc
        from .context import db_session

        with db_session() as session:
            df = hospital_table(session=session)
        df = df[df["tier"].astype(str).str.lower() == "tertiary"]
        if real_only:  # siting: the demo's synthetic tertiary layer is never a candidate site
            df = df[~df["synthetic"].astype(bool)]
        if province:
            df = df[df["region_code"].astype(str).str[:2] == province[:2]]
        df = df.rename(columns={"beds": "capacity"}).sort_values("code", kind="stable")
    else:
        df = _csv(Path(spec), ["code", "name_zh", "lon", "lat"])
    df = df.reset_index(drop=True)
    for col in ("lon", "lat") + (("capacity",) if "capacity" in df.columns else ()):
        df[col] = pd.to_numeric(df[col], errors="coerce")
    if df[["lon", "lat"]].isna().any().any():
        raise InvalidInput("candidate coordinates (lon, lat) must all be numbers")
    if df.empty:
        raise InvalidInput("no candidate sites")
    return df


def _cost(demand: pd.DataFrame, cand: pd.DataFrame, travel_times: Path | None) -> np.ndarray:
    if travel_times is None:
        return travel_minutes(demand[["lon", "lat"]].to_numpy(), cand[["lon", "lat"]].to_numpy())
    df = _csv(travel_times, ["origin_code", "destination_code", "minutes"])
    return matrix_from_pairs(demand["code"].tolist(), cand["code"].astype(str).tolist(),
                             df["origin_code"], df["destination_code"],
                             pd.to_numeric(df["minutes"], errors="coerce"))


def _site_weights(objective: Objective, specialty: str, codes: pd.Series, *,
                  demand: str | None, outflow: Path | None,
                  year: int | None) -> tuple[np.ndarray, str, int | None]:
    """Weights per demand unit for ``plan site``, where they came from, and the flows year.

    Files win; otherwise recapture weighs each county by its residents' ``specialty``
    discharges treated outside their province (flows dataset), and coverage / median by the
    planning page's specialty demand: residents' discharges when a dataset is loaded, else (and
    with ``--demand population``) census population × the national specialty rate × age.
    """
    if objective == Objective.recapture:
        if outflow is not None:
            return _weights_file(outflow, codes, "outflow"), str(outflow), None
        src = flows_in.open_flows("--outflow FILE (region_code, weight: outflow per county)")
        y = src.year(year)
        return (flows_in.outflow_weights(src, specialty, y, codes),
                flows_in.describe("discharges treated outside the home province", specialty, y),
                y)
    if demand is not None and demand != "population":
        return _weights_file(Path(demand), codes, "demand"), demand, None
    d = flows_in.specialty_demand_for(specialty, codes, population_only=demand == "population",
                                      year=year)
    if d.source == "flows":
        return d.weights, flows_in.describe("discharges", specialty, int(d.year or 0)), d.year
    return d.weights, f"population: {d.note_en}", None


# --- commands ----------------------------------------------------------------------------------

@app.command()
def site(
    specialty: str = typer.Option(..., help="specialty the centre serves"),
    p: int = typer.Option(..., "--p", help="number of sites to open (counts --existing)"),
    objective: Objective = typer.Option(Objective.coverage, help="coverage|median|recapture"),
    radius_min: float = typer.Option(120.0, "--radius-min", help="travel-time radius, minutes"),
    province: str | None = typer.Option(None, help="restrict demand (and tertiary) to a province"),
    candidates: str = typer.Option("tertiary", help="'tertiary' (the registry's real tertiary "
                                                    "hospitals) or CSV code,name_zh,lon,lat"
                                                    "[,capacity]"),
    existing: str | None = typer.Option(None, help="comma-separated candidate codes kept open"),
    demand: str | None = typer.Option(None, help="'population' (census × national rate of "
                                                 "--specialty × age) or CSV region_code,weight "
                                                 "(default: residents' discharges in "
                                                 "--specialty from the flows dataset when "
                                                 "loaded, else 'population')"),
    outflow: Path | None = typer.Option(None, help="CSV region_code,weight for --objective "
                                                   "recapture (default: residents' discharges "
                                                   "in --specialty treated outside their "
                                                   "province, from the flows dataset)"),
    year: int | None = typer.Option(None, help="discharge year of the flows-dataset defaults "
                                               "(default: the latest year held)"),
    travel_times: Path | None = typer.Option(None, help="CSV origin_code,destination_code,"
                                                        "minutes replacing the road model"),
    name: str = typer.Option("", help="label stored with the scenario"),
    save: bool = typer.Option(True, help="save the run as a scenario"),
    user: str | None = plan_scenario.UserOpt,
    time_limit: float | None = typer.Option(
        None, "--time-limit", min=0,
        help="seconds for the whole solve; when they run out the best sites found are given "
             "with status time_limit and the proven gap (default: solve to proven optimality)"),
    fmt: OutputFormat = FormatOpt,
) -> None:
    """Choose sites by coverage (MCLP), p-median or outflow recapture; saves a run file."""
    plan_scenario.check_user(user, province)
    limit = HighsOptions(time_limit=time_limit)
    try:
        counties = _counties(province)
        cand = _candidates(candidates, province, real_only=True)
        codes = cand["code"].astype(str)
        ex_idx = None
        if existing:
            wanted = [c.strip() for c in existing.split(",") if c.strip()]
            unknown = [c for c in wanted if c not in set(codes)]
            if unknown:
                raise InvalidInput(f"--existing codes not among the candidates: {unknown}")
            ex_idx = [int(np.flatnonzero(codes == c)[0]) for c in wanted]
        weights, source, used_year = _site_weights(objective, specialty, counties["code"],
                                                   demand=demand, outflow=outflow, year=year)
        cost = _cost(counties, cand, travel_times)
        if objective == Objective.median:
            # registry beds are not in the demand's units; only a candidates file capacitates
            caps = (cand["capacity"].to_numpy(float)
                    if "capacity" in cand.columns and candidates != "tertiary" else None)
            if caps is not None and np.isnan(caps).any():
                caps = None
            result = PMedian.from_cost_matrix(cost, weights, p, existing=ex_idx,
                                              capacities=caps).solve(limit)
        else:
            model = Recapture if objective == Objective.recapture else MCLP
            result = model.from_cost_matrix(cost, weights, radius_min, p,
                                            existing=ex_idx).solve(limit)
    except NrmcError as exc:
        fail(exc)
        return
    sites = []
    for j in result.selected:
        served = result.assignment == j
        sites.append({"code": codes[j], "name_zh": cand.at[j, "name_zh"],
                      "lon": float(cand.at[j, "lon"]), "lat": float(cand.at[j, "lat"]),
                      "regions_served": int(served.sum()),
                      "weight_served": float(weights[served].sum()),
                      "existing": bool(ex_idx and j in ex_idx)})
    summary = {"model": result.model, "objective": result.objective,
               "covered_weight": result.covered_weight, "covered_share": result.covered_share,
               "mean_cost": result.mean_cost if objective == Objective.median else None,
               "total_weight": result.total_weight, "status": result.status, "gap": result.gap,
               "seconds": result.seconds, "weights": source, "year": used_year,
               "population_vintage": POPULATION_VINTAGE,
               "selected_codes": [s["code"] for s in sites]}
    inputs = {"specialty": specialty, "p_facilities": p, "objective": objective.value,
              "service_radius": radius_min, "province": province, "candidates": candidates,
              "existing": existing, "time_limit": time_limit,
              "demand": None if objective == Objective.recapture else source,
              "outflow": source if objective == Objective.recapture else None,
              "year": used_year,
              "travel_times": str(travel_times) if travel_times else
              f"great circle × {DEFAULT_CIRCUITY} at {DEFAULT_SPEED_KMH:g} km/h",
              "n_demand": len(counties), "n_candidates": len(cand)}
    if save:
        scen = sc.save_scenario(settings().scenarios_dir, kind="site", name=name, inputs=inputs,
                                results={**summary, "sites": sites})
        summary = {"scenario": scen.id, **summary}
    if fmt == OutputFormat.json:
        emit_one({**summary, "sites": sites}, fmt)
    elif fmt == OutputFormat.csv:
        emit(sites, fmt)
    else:
        emit_one({k: v for k, v in summary.items() if k != "selected_codes"}, fmt)
        emit(sites, fmt, title="selected sites")


@app.command()
def access(
    method: Method = typer.Option(Method.two, help="2sfca|e2sfca|3sfca|gravity"),
    supply: str = typer.Option("tertiary", help="'tertiary' (registry beds) or CSV code,name_zh,"
                                                "lon,lat,capacity"),
    radius_min: float | None = typer.Option(60.0, "--radius-min", help="catchment, minutes"),
    province: str | None = typer.Option(None, help="restrict to one province"),
    demand: Path | None = typer.Option(None, help="CSV region_code,weight (default population)"),
    travel_times: Path | None = typer.Option(None, help="CSV origin_code,destination_code,"
                                                        "minutes"),
    level: str = typer.Option("county", help="county or province (population-weighted)"),
    gravity_scale: float = typer.Option(60.0, help="gravity: minutes at which weight is 1"),
    gravity_alpha: float = typer.Option(-1.0, help="gravity: exponent (negative decays)"),
    fmt: OutputFormat = FormatOpt,
) -> None:
    """Spatial accessibility of supply (e.g. beds) per county or province."""
    try:
        counties = _counties(province)
        sup = _candidates(supply, province)
        if supply == "tertiary" and sup["capacity"].isna().any():
            # registry rows without a bed count cannot supply; say so rather than guess
            unknown = int(sup["capacity"].isna().sum())
            err_console.print(f"note: {unknown} tertiary hospital(s) without a bed count left "
                              "out of the supply", highlight=False)
            sup = sup[sup["capacity"].notna()].reset_index(drop=True)
        if "capacity" not in sup.columns or sup["capacity"].isna().any():
            raise InvalidInput("supply needs a numeric capacity column (e.g. beds)")
        pop = (_weights_file(demand, counties["code"], "demand") if demand is not None
               else counties["population"].to_numpy(float))
        cost = _cost(counties, sup, travel_times)
        s = sup["capacity"].to_numpy(float)
        if method == Method.two:
            values = acc.two_stage_fca(pop, s, cost, radius_min)
        elif method == Method.enhanced:
            values = acc.enhanced_two_stage_fca(pop, s, cost, radius_min)
        elif method == Method.three:
            values = acc.three_stage_fca(pop, s, cost, radius_min)
        else:
            values = acc.weighted_catchment(s, cost, radius_min,
                                            acc.gravity_weight(gravity_scale, gravity_alpha))
        if level not in {"county", "province"}:
            raise InvalidInput("--level must be county or province")
    except NrmcError as exc:
        fail(exc)
        return
    per = 1000.0
    if level == "province":
        names = _regions().set_index("code")["name_zh"]
        labels, means, tot = acc.weighted_mean_by_group(values, pop, counties["code"].str[:2]
                                                        + "0000")
        rows = [{"code": c, "name_zh": names.get(c, ""), "population": float(t),
                 "access_per_1000": float(m * per)} for c, m, t in zip(labels, means, tot,
                                                                       strict=True)]
    else:
        rows = [{"code": c, "name_zh": n, "population": float(p_), "access_per_1000":
                 float(x * per)} for c, n, p_, x in zip(counties["code"], counties["name_zh"],
                                                        pop, values, strict=True)]
    emit(rows, fmt, title=f"{method.value} accessibility (supply per 1,000 residents)")


@app.command()
def beds(
    admissions_per_year: float = typer.Option(..., help="expected admissions a year"),
    mean_los: float = typer.Option(..., help="mean length of stay, days"),
    target_wait: float | None = typer.Option(None, help="max probability of waiting (Erlang C)"),
    target_block: float | None = typer.Option(None, help="max probability of being turned away "
                                                         "(Erlang B)"),
    simulate: bool = typer.Option(False, help="check with a SimPy run, lognormal stays"),
    los_cv: float = typer.Option(1.0, help="coefficient of variation of stay, for --simulate"),
    fmt: OutputFormat = FormatOpt,
) -> None:
    """Minimum beds for a target probability of waiting or of being turned away."""
    try:
        if (target_wait is None) == (target_block is None):
            raise InvalidInput("give exactly one of --target-wait or --target-block")
        if target_wait is not None:
            s = bedsmod.beds_for_wait(admissions_per_year, mean_los, target_wait)
        else:
            assert target_block is not None
            s = bedsmod.beds_for_block(admissions_per_year, mean_los, target_block)
        out = s.as_dict()
        if simulate:
            sim = bedsmod.simulate(admissions_per_year, mean_los, s.beds, mode=s.target,
                                   los_cv=los_cv)
            out |= {"simulated_wait_probability": sim.wait_probability,
                    "simulated_block_probability": sim.block_probability,
                    "simulated_occupancy": sim.occupancy}
    except NrmcError as exc:
        fail(exc)
        return
    emit_one(out, fmt)


@scenarios_app.command("list")
def scenarios_list(user: str | None = plan_scenario.UserOpt, fmt: OutputFormat = FormatOpt) -> None:
    """Run files of `plan site`, oldest first (named scenarios: `plan scenario list`)."""
    plan_scenario.check_national(user)
    rows = [s.summary() for s in sc.list_scenarios(settings().scenarios_dir)]
    emit(rows, fmt, columns=["id", "created_at", "kind", "name", "objective", "covered_weight",
                             "selected"])


@scenarios_app.command("compare")
def scenarios_compare(a: str, b: str, user: str | None = plan_scenario.UserOpt,
                      fmt: OutputFormat = FormatOpt) -> None:
    """Headline numbers and chosen sites of two `plan site` run files side by side."""
    plan_scenario.check_national(user)
    try:
        sa = sc.load_scenario(settings().scenarios_dir, a)
        sb = sc.load_scenario(settings().scenarios_dir, b)
    except NrmcError as exc:
        fail(exc)
        return
    emit(sc.compare(sa, sb), fmt, columns=["field", "a", "b", "difference"])


# catchments lives in its own module (it reads flows, not candidates; plan.py stays small); it
# uses this module's readers, so it is imported after they are defined
from .plan_catchments import catchments  # noqa: E402

app.command()(catchments)
