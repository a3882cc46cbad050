"""Patient-flow metrics as Ibis expressions: described once, run on DuckDB or Spark.

Every function is pure: it takes the discharges table (``schema.STORED_SCHEMA``) and the
``units`` lookup (``geo.units_table``: code → province / prefecture / county) as Ibis tables
and returns an Ibis table. Nothing here connects or executes; ``engine`` does.

Units: a discharge's *origin* is the unit of the patient's residence at the chosen level and
its *destination* is the unit of the treating hospital's location (``hospital_region_code``).
"Treated outside" means origin ≠ destination at that level.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from . import geo
from .geo import LEVELS

TRANSFERRED = 2  # discharge_route: transferred to another hospital
REFERRED_IN = 3  # admission_route: referred in from another institution
GRADE4 = 4


def _check_level(level: str) -> str:
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    return level


def with_units(
    discharges: ir.Table, units: ir.Table, *, origin_level: str, destination_level: str
) -> ir.Table:
    """Add ``origin`` (residence unit) and ``destination`` (hospital unit) columns."""
    origin = units.select(residence_code=units.code, origin=units[_check_level(origin_level)])
    dest = units.select(
        hospital_region_code=units.code, destination=units[_check_level(destination_level)]
    )
    return discharges.join(origin, "residence_code").join(dest, "hospital_region_code")


def _keys(by_specialty: bool) -> list[str]:
    return ["region", "year", *(["specialty"] if by_specialty else [])]


def _null_specialty(table: ir.Table, by_specialty: bool) -> ir.Table:
    if by_specialty:
        return table
    return table.mutate(specialty=ibis.null().cast("string"))


def outflow(
    discharges: ir.Table, units: ir.Table, *, level: str, by_specialty: bool = False
) -> ir.Table:
    """Residents' discharges by unit of residence, and how many were treated elsewhere.

    Columns: ``region, year, specialty`` (null unless ``by_specialty``), ``discharges`` (all
    discharges of the unit's residents, wherever treated), ``treated_outside`` (treated in
    another unit at the same level), ``outflow_rate`` = treated_outside / discharges,
    ``top_destination`` (the unit receiving most of the outside discharges; ties go to the
    smaller code so every engine agrees; null when none) and ``top_destination_share`` =
    its discharges / treated_outside (null when none).
    """
    t = with_units(discharges, units, origin_level=level, destination_level=level)
    keys = _keys(by_specialty)
    pairs = t.rename(region="origin").group_by([*keys, "destination"]).agg(n=ibis._.count())
    # One pass, no self-join (Spark would recompute the shared subquery): window totals per
    # unit, then keep the first row in (outside first, most discharges, smallest code) order,
    # which is the top outside destination when there is one.
    outside = pairs.destination != pairs.region
    per_unit = ibis.window(group_by=[pairs[k] for k in keys])
    ranked = pairs.mutate(
        discharges=pairs.n.sum().over(per_unit),
        treated_outside=ibis.ifelse(outside, pairs.n, 0).sum().over(per_unit),
        is_outside=outside,
        rank=ibis.row_number().over(
            group_by=[pairs[k] for k in keys],
            order_by=[ibis.desc(ibis.ifelse(outside, 1, 0)), ibis.desc(pairs.n),
                      pairs.destination],
        ),
    )
    first = ranked.filter(ranked["rank"] == 0)
    result = first.select(
        *keys,
        discharges=first.discharges,
        treated_outside=first.treated_outside,
        outflow_rate=first.treated_outside.cast("float64") / first.discharges.cast("float64"),
        top_destination=ibis.ifelse(first.is_outside, first.destination, None),
        top_destination_share=ibis.ifelse(
            first.is_outside,
            first.n.cast("float64") / first.treated_outside.cast("float64"),
            None,
        ),
    )
    return _null_specialty(result, by_specialty)


def flow_matrix(
    discharges: ir.Table,
    units: ir.Table,
    *,
    origin_level: str,
    destination_level: str,
    by_specialty: bool = False,
) -> ir.Table:
    """Origin–destination counts: ``origin, destination, year, specialty, discharges``.

    The levels may differ (e.g. county of residence → province of treatment).
    """
    t = with_units(
        discharges, units, origin_level=origin_level, destination_level=destination_level
    )
    keys = ["origin", "destination", "year", *(["specialty"] if by_specialty else [])]
    return _null_specialty(t.group_by(keys).agg(discharges=ibis._.count()), by_specialty)


def within_county(discharges: ir.Table, units: ir.Table, *, level: str = "county",
                  include_districts: bool = False) -> ir.Table:
    """县域内就诊率: share of a county's residents' discharges treated inside their own county.

    The county medical community indicator covers counties and county-level cities only
    (``geo.COMMUNITY_KINDS``): residents of urban districts and of county-less cities are left
    out, since a district's "county" is a slice of a city whose hospitals serve the whole city,
    and counting them as counties inflates the rate. ``include_districts=True`` (county level
    only) also returns those units, each marked by ``county_kind``, to be reported apart.

    At ``prefecture`` or ``province`` level the rate pools the community counties inside the
    unit (discharges treated in the patient's own county over all their discharges).
    Columns: ``region, county_kind, year, discharges, treated_within, within_rate``.
    """
    home = units.select(residence_code=units.code, county=units.county, kind=units.county_kind,
                        region=units[_check_level(level)])
    site = units.select(hospital_region_code=units.code, hospital_county=units.county)
    t = discharges.join(home, "residence_code").join(site, "hospital_region_code")
    community = t.kind.isin(sorted(geo.COMMUNITY_KINDS))
    if not (include_districts and level == "county"):
        t = t.filter(community)
    inside = ibis.ifelse(t.county == t.hospital_county, 1, 0)
    kind = t.kind if level == "county" else ibis.literal("community").cast("string")
    agg = t.group_by(region=t.region, county_kind=kind, year=t.year).agg(
        discharges=t.count(), treated_within=inside.sum()
    )
    return agg.mutate(
        within_rate=agg.treated_within.cast("float64") / agg.discharges.cast("float64")
    )


def reach(discharges: ir.Table, units: ir.Table) -> ir.Table:
    """A hospital's reach: how many of its patients come from outside its city and province.

    "City" is the prefecture-level unit, a whole municipality for Beijing, Tianjin, Shanghai
    and Chongqing (``geo``). Columns: ``hospital_code, year,
    discharges, from_outside_city, outside_city_share, from_outside_province,
    outside_province_share``.
    """
    home = units.select(
        residence_code=units.code, res_city=units.city, res_prov=units.province
    )
    site = units.select(
        hospital_region_code=units.code, hosp_city=units.city, hosp_prov=units.province
    )
    t = discharges.join(home, "residence_code").join(site, "hospital_region_code")
    agg = t.group_by(["hospital_code", "year"]).agg(
        discharges=t.count(),
        from_outside_city=ibis.ifelse(t.res_city != t.hosp_city, 1, 0).sum(),
        from_outside_province=ibis.ifelse(t.res_prov != t.hosp_prov, 1, 0).sum(),
    )
    total = agg.discharges.cast("float64")
    return agg.mutate(
        outside_city_share=agg.from_outside_city.cast("float64") / total,
        outside_province_share=agg.from_outside_province.cast("float64") / total,
    ).select(
        "hospital_code", "year", "discharges", "from_outside_city", "outside_city_share",
        "from_outside_province", "outside_province_share",
    )


def level4_share(discharges: ir.Table, units: ir.Table, *, by: str = "hospital") -> ir.Table:
    """Grade-4 (四级手术) share among surgical discharges, by hospital or by region of the
    hospital (``by`` = hospital | province | prefecture | county).

    Columns: ``unit, year, discharges, surgeries`` (surgery_level ≥ 1), ``level4``,
    ``level4_share`` = level4 / surgeries (null without surgery).
    """
    if by == "hospital":
        t = discharges.mutate(unit=discharges.hospital_code)
    else:
        site = units.select(hospital_region_code=units.code, unit=units[_check_level(by)])
        t = discharges.join(site, "hospital_region_code")
    agg = t.group_by(["unit", "year"]).agg(
        discharges=t.count(),
        surgeries=ibis.ifelse(t.surgery_level >= 1, 1, 0).sum(),
        level4=ibis.ifelse(t.surgery_level == GRADE4, 1, 0).sum(),
    )
    share = ibis.ifelse(
        agg.surgeries > 0, agg.level4.cast("float64") / agg.surgeries.cast("float64"), None
    )
    return agg.mutate(level4_share=share)


def transfers(
    discharges: ir.Table, units: ir.Table, *, level: str, by_specialty: bool = False
) -> ir.Table:
    """Transfers out and referrals in, by the treating hospital's unit at ``level``.

    Columns: ``region, year, specialty, discharges, transferred_out`` (discharge_route 2),
    ``transfer_rate``, ``referred_in`` (admission_route 3).
    """
    site = units.select(hospital_region_code=units.code, region=units[_check_level(level)])
    t = discharges.join(site, "hospital_region_code")
    agg = t.group_by(_keys(by_specialty)).agg(
        discharges=t.count(),
        transferred_out=ibis.ifelse(t.discharge_route == TRANSFERRED, 1, 0).sum(),
        referred_in=ibis.ifelse(t.admission_route == REFERRED_IN, 1, 0).sum(),
    )
    agg = agg.mutate(
        transfer_rate=agg.transferred_out.cast("float64") / agg.discharges.cast("float64")
    )
    return _null_specialty(agg, by_specialty)


def demand(discharges: ir.Table, units: ir.Table) -> ir.Table:
    """Demand for planning: residents' discharges, bed-days and cost by county × specialty.

    Columns: ``region, year, specialty, discharges, bed_days, mean_stay, total_cost``. A
    same-day discharge counts as one bed-day (the national convention for 实际占用床日数).
    """
    t = with_units(discharges, units, origin_level="county", destination_level="county")
    stay = t.discharge_date.epoch_days() - t.admission_date.epoch_days()
    t = t.mutate(stay=ibis.greatest(stay, 1))
    agg = t.group_by(region=t.origin, year=t.year, specialty=t.specialty).agg(
        discharges=t.count(), bed_days=t.stay.sum(), total_cost=t.total_cost.sum()
    )
    return agg.mutate(mean_stay=agg.bed_days.cast("float64") / agg.discharges.cast("float64"))
