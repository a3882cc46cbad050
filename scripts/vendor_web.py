"""Vendor the web front-end assets from npm tarballs into src/nrmc/web/static (no CDN at run time).

Sources (fetched with `npm pack`, never at run time):
- htmx.org 2.0.x  → static/vendor/htmx.min.js (BSD-2-Clause, LICENSE copied beside it)
- echarts 5.x     → static/vendor/echarts.min.js (Apache-2.0, LICENSE and NOTICE copied)
- swagger-ui-dist 5.x → static/vendor/swagger-ui/ (Apache-2.0): the /api/docs page, which
  FastAPI would otherwise load from a CDN
- echarts 4.9.0   → static/maps/: map/json/china.json (provinces) and map/json/province/*.json
  (prefectures of each province). Apache ECharts shipped these files inside its Apache-2.0
  release up to 4.9.0; they are kept in ECharts' compact UTF8Encoding form, which
  `echarts.registerMap` still decodes. Each feature gets `properties.adcode` (its GB/T 2260
  code, from the feature id) so data joins by code, never by a short name such as 甘肃.

Run: python scripts/vendor_web.py  (needs node/npm; writes the files it lists)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "src" / "nrmc" / "web" / "static"
PACKAGES = {"htmx": "htmx.org@2.0.11", "echarts": "echarts@5.6.0", "maps": "echarts@4.9.0",
            "swagger": "swagger-ui-dist@5.35.0"}


def fetch(spec: str, work: Path) -> Path:
    out = subprocess.run(["npm", "pack", spec, "--silent"], cwd=work, check=True,
                         capture_output=True, text=True).stdout.strip().splitlines()[-1]
    target = work / spec.replace("@", "-").replace("/", "-")
    target.mkdir()
    with tarfile.open(work / out) as tar:
        tar.extractall(target, filter="data")
    return target / "package"


def with_adcodes(source: Path) -> dict:
    data = json.loads(source.read_text(encoding="utf-8"))
    for feature in data["features"]:
        code = str(feature.get("id") or feature["properties"].get("id") or "")
        feature["properties"]["adcode"] = code
    return data


def main() -> None:
    vendor, maps = STATIC / "vendor", STATIC / "maps"
    vendor.mkdir(parents=True, exist_ok=True)
    maps.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        htmx = fetch(PACKAGES["htmx"], work)
        shutil.copy(htmx / "dist" / "htmx.min.js", vendor / "htmx.min.js")
        shutil.copy(htmx / "LICENSE", vendor / "htmx.LICENSE")
        echarts = fetch(PACKAGES["echarts"], work)
        shutil.copy(echarts / "dist" / "echarts.min.js", vendor / "echarts.min.js")
        shutil.copy(echarts / "LICENSE", vendor / "echarts.LICENSE")
        shutil.copy(echarts / "NOTICE", vendor / "echarts.NOTICE")
        swagger = fetch(PACKAGES["swagger"], work)
        (vendor / "swagger-ui").mkdir(exist_ok=True)
        for name in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "LICENSE",
                     "NOTICE"):
            shutil.copy(swagger / name, vendor / "swagger-ui" / name)
        old = fetch(PACKAGES["maps"], work)
        shutil.copy(old / "LICENSE", maps / "LICENSE")
        shutil.copy(old / "NOTICE", maps / "NOTICE")
        china = with_adcodes(old / "map" / "json" / "china.json")
        (maps / "100000.json").write_text(json.dumps(china, ensure_ascii=False,
                                                     separators=(",", ":")), encoding="utf-8")
        for province in sorted((old / "map" / "json" / "province").glob("*.json")):
            data = with_adcodes(province)
            codes = [f["properties"]["adcode"] for f in data["features"] if f["properties"]["adcode"]]
            if not codes:
                continue
            code = codes[0][:2] + "0000"
            if code[:2] in {"71", "81", "82"}:  # not in the registry (mainland only)
                continue
            (maps / f"{code}.json").write_text(json.dumps(data, ensure_ascii=False,
                                                          separators=(",", ":")), encoding="utf-8")
    print("\n".join(str(p.relative_to(ROOT)) for p in sorted(STATIC.rglob("*")) if p.is_file()))


if __name__ == "__main__":
    main()
