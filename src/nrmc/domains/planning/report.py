"""Scenarios side by side: the comparison table, a plain-language bilingual summary, XLSX.

The numbers compared are those stored with each run (``service.run``): the objective, people
within 1 / 2 / 3 h of their nearest open site, mean and 95th-percentile travel minutes,
uncovered people per prefecture and county, each site's catchment population and beds needed.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...planning import scenarios as pure
from .models import PlanningScenario

SUMMARY_RADIUS = 120.0  # the summary speaks of people within 2 h
# Cells starting with these are formulas to a spreadsheet; a leading apostrophe keeps them text.
_FORMULA_LEAD = ("=", "+", "-", "@", "\t", "\r")


def people_en(n: float) -> str:
    n = float(n)
    if abs(n) >= 1e6:
        return f"{n / 1e6:.1f} M"
    if abs(n) >= 1e4:
        return f"{n / 1e3:,.0f} k"
    return f"{n:,.0f}"


def people_zh(n: float) -> str:
    n = float(n)
    if abs(n) >= 1e8:
        return f"{n / 1e8:.2f}亿"
    if abs(n) >= 1e4:
        return f"{n / 1e4:,.1f}万"
    return f"{n:,.0f}"


def _minutes(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def _far(value: float | None) -> float:
    return float("inf") if value is None else float(value)


def rows(scenarios: Sequence[PlanningScenario]) -> list[dict[str, Any]]:
    """One row per measure, one column per scenario (``s1``, ``s2`` …)."""
    def line(key: str, zh: str, en: str, values: list[Any]) -> dict[str, Any]:
        return {"measure": key, "label_zh": zh, "label_en": en,
                **{f"s{k + 1}": v for k, v in enumerate(values)}}

    r = [s.results for s in scenarios]
    i = [s.inputs for s in scenarios]
    out = [
        line("name", "名称", "name", [s.name for s in scenarios]),
        line("specialty", "专科", "specialty", [s.specialty for s in scenarios]),
        line("objective_kind", "目标", "objective", [x.get("objective") for x in i]),
        line("p_new", "新建中心数", "new sites", [x.get("p") for x in i]),
        line("existing", "已有中心(固定开放)", "existing centres kept open",
             [x["candidates"]["existing"] for x in r]),
        line("objective", "目标函数值", "objective value", [x.get("objective") for x in r]),
        line("status", "求解状态", "solver status", [x.get("status") for x in r]),
        line("gap", "最优间隙", "gap", [x.get("gap") for x in r]),
    ]
    for h in pure.HOURS:
        out.append(line(f"within_{h}h", f"{h}小时内人口", f"people within {h} h",
                        [x["within"][f"{h}h"] for x in r]))
    out += [
        line("mean_minutes", "平均路程(分钟)", "mean travel, minutes", [x["mean_minutes"] for x in r]),
        line("p95_minutes", "95%分位路程(分钟)", "95th percentile travel, minutes",
             [x["p95_minutes"] for x in r]),
        line("uncovered", "半径外人口", "people beyond the radius",
             [sum(u["people"] for u in x["uncovered_counties"]) for x in r]),
        line("demand_source", "需求来源", "demand source",
             [f"{x['demand']['source']} {x['demand']['year']}" for x in r]),
        line("population_vintage", "人口口径", "population", [x["demand"]["population_vintage"] for x in r]),
        line("sites", "选中中心", "sites", ["; ".join(s["name_zh"] for s in x["sites"]) for x in r]),
    ]
    return out


def _gain(base: dict[str, Any], other: dict[str, Any], site: str | None = None,
          radius: float = SUMMARY_RADIUS) -> tuple[float, str]:
    """People ``other`` brings within ``radius`` that ``base`` leaves beyond it (optionally
    only those served by ``site`` in ``other``), and the prefecture with most of them."""
    before = {u["code"]: u for u in base["units"]}
    total, by_pref = 0.0, dict[str, float]()
    for u in other["units"]:
        b = before.get(u["code"])
        if b is None or (site is not None and u["site"] != site):
            continue
        now, then = _far(u["minutes"]), _far(b["minutes"])
        if now <= radius < then:
            total += u["population"]
            by_pref[u["prefecture_zh"]] = by_pref.get(u["prefecture_zh"], 0.0) + u["population"]
        elif site is None and then <= radius < now:
            total -= u["population"]
    top = max(by_pref.items(), key=lambda kv: kv[1])[0] if by_pref else ""
    return total, top


def summary(scenarios: Sequence[PlanningScenario]) -> tuple[list[str], list[str]]:
    """Sentences in English and Chinese comparing each scenario with the first."""
    en: list[str] = []
    zh: list[str] = []
    if not scenarios:
        return en, zh
    first = scenarios[0]
    for s in scenarios:
        r = s.results
        en.append(f"“{s.name}”: {people_en(r['within']['2h'])} people within 2 h "
                  f"({r['within']['2h'] / max(r['population'], 1):.0%}), "
                  f"mean {_minutes(r['mean_minutes'])} min, "
                  f"95% within {_minutes(r['p95_minutes'])} min; demand: {r['demand']['note_en']}.")
        zh.append(f"「{s.name}」：2小时内覆盖{people_zh(r['within']['2h'])}人"
                  f"（{r['within']['2h'] / max(r['population'], 1):.0%}），"
                  f"平均路程{_minutes(r['mean_minutes'])}分钟，"
                  f"95%的人在{_minutes(r['p95_minutes'])}分钟内；需求：{r['demand']['note_zh']}。")
    for s in scenarios[1:]:
        if s.province_code != first.province_code:
            continue
        net, top = _gain(first.results, s.results)
        where_en = f", mostly in {top}" if top and net > 0 else ""
        where_zh = f"，主要在{top}" if top and net > 0 else ""
        more_en = "more" if net >= 0 else "fewer"
        en.append(f"“{s.name}” brings {people_en(abs(net))} {more_en} people within 2 h than "
                  f"“{first.name}”{where_en}.")
        zh.append(f"与「{first.name}」相比，「{s.name}」2小时内覆盖人口{'增加' if net >= 0 else '减少'}"
                  f"{people_zh(abs(net))}{where_zh}。")
        base_sites = {x["code"] for x in first.results["sites"]}
        for site in s.results["sites"]:
            if site["code"] in base_sites:
                continue
            gained, where = _gain(first.results, s.results, site=site["code"])
            if gained > 0:
                en.append(f"Site {site['rank']} ({site['name_zh']}) brings {people_en(gained)} more "
                          f"people within 2 h, mostly in {where}.")
                zh.append(f"中心{site['rank']}（{site['name_zh']}）使2小时内多覆盖{people_zh(gained)}人，"
                          f"主要在{where}。")
    return en, zh


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_LEAD):
        return "'" + value
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, list | dict):
        return str(value)
    return value


def xlsx(scenarios: Sequence[PlanningScenario]) -> bytes:
    """A workbook: comparison, summary, sites, uncovered prefectures and counties."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    table = rows(scenarios)
    sheet = book.create_sheet("比较 compare")
    head = ["measure", "label_zh", "label_en"] + [f"s{k + 1}" for k in range(len(scenarios))]
    sheet.append(head)
    for row in table:
        sheet.append([_cell(row.get(c)) for c in head])
    en, zh = summary(scenarios)
    sheet = book.create_sheet("摘要 summary")
    sheet.append(["中文", "English"])
    for a, b in zip(zh, en, strict=True):
        sheet.append([_cell(a), _cell(b)])
    sheet = book.create_sheet("中心 sites")
    cols = ["rank", "code", "name_zh", "existing", "role", "counties", "catchment_population",
            "catchment_demand", "beds_needed", "lon", "lat"]
    sheet.append(["scenario", *cols])
    for s in scenarios:
        for site in s.results["sites"]:
            sheet.append([_cell(s.name), *(_cell(site.get(c)) for c in cols)])
    for key, title in (("uncovered_prefectures", "未覆盖地市 prefectures"),
                       ("uncovered_counties", "未覆盖县 counties")):
        sheet = book.create_sheet(title)
        sheet.append(["scenario", "code", "name_zh", "people"])
        for s in scenarios:
            for u in s.results[key]:
                sheet.append([_cell(s.name), _cell(u["code"]), _cell(u["name_zh"]), u["people"]])
    sheet = book.create_sheet("来源 sources")
    sheet.append(["scenario", "demand", "需求", "population", "travel", "candidates", "synthetic"])
    for s in scenarios:
        d = s.results["demand"]
        sheet.append([_cell(s.name), _cell(d["note_en"]), _cell(d["note_zh"]),
                      _cell(d["population_vintage"]), _cell(s.results["travel_en"]),
                      _cell(s.results["candidates"]["note_en"]), bool(d.get("synthetic", False))])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
