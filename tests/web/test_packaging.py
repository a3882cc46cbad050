"""The wheel ships every page template and static asset: pyproject's package-data globs
cover every file the web layer reads (a non-editable install would miss the rest)."""

from __future__ import annotations

import glob
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "nrmc"


def test_package_data_covers_templates_and_static_files():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["nrmc"]
    shipped = {Path(p) for pattern in patterns
               for p in glob.glob(str(PACKAGE / pattern), recursive=True)}
    needed = [p for p in (list((PACKAGE / "web").rglob("*"))
                          + list(PACKAGE.glob("domains/*/templates/**/*"))
                          + list(PACKAGE.glob("flows/native/*")))
              if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".py"]
    assert needed and not [p for p in needed if p not in shipped]


def test_vendored_assets_carry_their_licences():
    static = PACKAGE / "web" / "static"
    for name in ("vendor/htmx.min.js", "vendor/htmx.LICENSE", "vendor/echarts.min.js",
                 "vendor/echarts.LICENSE", "vendor/echarts.NOTICE", "maps/LICENSE",
                 "maps/NOTICE", "maps/100000.json"):
        assert (static / name).stat().st_size > 0, name
    assert len(list((static / "maps").glob("[1-6]*0000.json"))) == 32  # China + 31 provinces
