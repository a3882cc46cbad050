"""A tiny, hand-checkable country: Anhui (Hefei, Fuyang), Beijing, Shanghai, Dongguan.

The discharges in ``FIXTURE_ROWS`` are few enough that every expected metric value in the tests
is worked out by hand in the test's docstring or comments.
"""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

REGIONS = pd.DataFrame(
    [
        # code, name_zh, level, parent_code, leaf, population, lon, lat
        ("340000", "安徽省", "province", None, 0, 61_000_000, 117.28, 31.86),
        ("340100", "合肥市", "prefecture", "340000", 0, 9_000_000, 117.23, 31.82),
        ("340102", "瑶海区", "county", "340100", 1, 1_000_000, 117.31, 31.86),
        ("340121", "长丰县", "county", "340100", 1, 800_000, 117.17, 32.48),
        ("341200", "阜阳市", "prefecture", "340000", 0, 8_000_000, 115.81, 32.89),
        ("341221", "临泉县", "county", "341200", 1, 1_500_000, 115.26, 33.06),
        ("110000", "北京市", "province", None, 0, 21_000_000, 116.40, 39.90),
        ("110105", "朝阳区", "county", "110000", 1, 3_400_000, 116.44, 39.92),
        ("110108", "海淀区", "county", "110000", 1, 3_100_000, 116.30, 39.96),
        ("310000", "上海市", "province", None, 0, 24_000_000, 121.47, 31.23),
        ("310104", "徐汇区", "county", "310000", 1, 1_100_000, 121.44, 31.19),
        ("440000", "广东省", "province", None, 0, 126_000_000, 113.27, 23.13),
        ("441900", "东莞市", "prefecture", "440000", 1, 10_000_000, 113.75, 23.02),
    ],
    columns=["code", "name_zh", "level", "parent_code", "leaf", "population", "lon", "lat"],
)
REGIONS["name_en"] = REGIONS["name_zh"]

HOSPITALS = pd.DataFrame(
    [
        ("H_HF", "340102", "tertiary", 2000),
        ("H_CF", "340121", "secondary", 400),
        ("H_FY", "341221", "secondary", 500),
        ("H_BJ", "110105", "tertiary", 1500),
        ("H_BJ2", "110108", "tertiary", 1800),
        ("H_SH", "310104", "tertiary", 2200),
        ("H_DG", "441900", "tertiary", 1200),
    ],
    columns=["code", "region_code", "tier", "beds"],
)

COLUMNS = [
    "record_id", "patient_id", "residence_code", "hospital_code", "admission_date",
    "discharge_date", "age", "sex", "principal_diagnosis", "specialty", "surgery_level",
    "admission_route", "discharge_route", "total_cost",
]

# n, residence, hospital, diagnosis, surgery level, discharge date (admitted 3 days earlier)
_CASES = [
    (1, "340121", "H_CF", "I21.0", 0, "2023-03-10"),
    (2, "340121", "H_HF", "I20.0", 3, "2023-04-10"),
    (3, "340121", "H_BJ", "C34.9", 4, "2023-05-10"),
    (4, "341221", "H_FY", "C16.9", 0, "2023-06-10"),
    (5, "341221", "H_SH", "C50.9", 4, "2023-07-10"),
    (6, "341221", "H_SH", "I25.1", 2, "2023-08-10"),
    (7, "341221", "H_BJ2", "C22.0", 0, "2023-09-10"),
    (8, "340102", "H_HF", "I10", 0, "2023-10-10"),
    (9, "110105", "H_BJ2", "J18.9", 0, "2023-11-10"),
    (10, "110108", "H_BJ2", "J44.1", 0, "2023-12-10"),
    (11, "441900", "H_DG", "S72.0", 0, "2023-02-10"),
    (12, "340121", "H_SH", "C34.9", 0, "2022-06-10"),
]


def fixture_rows() -> list[dict[str, str]]:
    rows = []
    for n, residence, hospital, dx, surgery, discharged in _CASES:
        day = pd.Timestamp(discharged)
        rows.append({
            "record_id": f"R{n}", "patient_id": f"110101195001010{n:03d}",
            "residence_code": residence, "hospital_code": hospital,
            "admission_date": (day - pd.Timedelta(days=3)).date().isoformat(),
            "discharge_date": day.date().isoformat(), "age": "60", "sex": "1",
            "principal_diagnosis": dx, "specialty": "", "surgery_level": str(surgery),
            "admission_route": "2", "discharge_route": "1", "total_cost": "10000",
        })
    return rows


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        extra = [c for c in (rows[0] if rows else {}) if c not in COLUMNS]
        writer = csv.DictWriter(fh, fieldnames=COLUMNS + extra)
        writer.writeheader()
        writer.writerows(rows)
    return path


KEY = "test-pseudonym-key"


@pytest.fixture
def regions() -> pd.DataFrame:
    return REGIONS.copy()


@pytest.fixture
def hospitals() -> pd.DataFrame:
    return HOSPITALS.copy()


@pytest.fixture
def fixture_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "discharges.csv", fixture_rows())


@pytest.fixture(scope="session")
def loaded_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture rows ingested once; read-only for the metric tests."""
    from nrmc.flows.ingest import ingest

    base = tmp_path_factory.mktemp("fixture-dataset")
    source = write_csv(base / "discharges.csv", fixture_rows())
    root = base / "flows"
    ingest([source], root, regions=REGIONS, hospitals=HOSPITALS, pseudonym_key=KEY)
    return root


def _java_available() -> bool:
    return shutil.which("java") is not None or bool(os.environ.get("JAVA_HOME"))


@pytest.fixture(scope="session")
def spark_backend():
    """One local SparkSession for the whole run (small shuffle partitions keep it quick)."""
    if not _java_available():
        if os.environ.get("CI") == "true":
            pytest.fail("Java is required for the Spark tests in CI")
        pytest.skip("Java is not installed: Spark tests need a JVM (install openjdk-17-jre)")
    from nrmc.flows.engine import connect

    backend = connect("spark", spark_master="local[2]")
    # tiny tables: interpreting plans beats compiling them (whole-stage codegen costs seconds)
    backend._session.conf.set("spark.sql.codegen.wholeStage", "false")
    backend._session.sparkContext.setLogLevel("ERROR")
    yield backend
    backend._session.stop()


def national_hospitals(regions: pd.DataFrame, seed: int = 7) -> pd.DataFrame:
    """A stand-in for the registry's demo network: county hospitals everywhere, tertiary
    hospitals in every prefecture seat (more in capitals), sized by population."""
    import numpy as np

    from nrmc.flows.geo import units_table

    rng = np.random.default_rng(seed)
    prefecture = units_table(regions).set_index("code")["prefecture"].to_dict()
    leaves = regions[regions["leaf"].astype(int) == 1]
    rows, seats = [], {}
    for code, pop in zip(leaves["code"], leaves["population"], strict=True):
        seats.setdefault(prefecture[code], code)
        for i in range(max(1, int(pop // 400_000))):
            rows.append((f"H{code}{i:02d}", code, "secondary" if i % 2 == 0 else "primary",
                         int(rng.integers(80, 600))))
    for seat in seats.values():
        for i in range(4 if seat[2:4] == "01" or seat[:2] in {"11", "31"} else 1):
            rows.append((f"T{seat}{i:02d}", seat, "tertiary", int(rng.integers(800, 3000))))
    return pd.DataFrame(rows, columns=["code", "region_code", "tier", "beds"])


@pytest.fixture(scope="session")
def national() -> tuple[pd.DataFrame, pd.DataFrame]:
    from nrmc.flows.geo import load_regions

    regions = load_regions()
    return regions, national_hospitals(regions)


@pytest.fixture(scope="session")
def synthetic_dataset(tmp_path_factory, national) -> tuple[Path, pd.DataFrame]:
    """A few thousand synthetic rows over the real country (for engine parity)."""
    from nrmc.flows.synth import write_synthetic_dataset

    regions, hospitals = national
    root = tmp_path_factory.mktemp("synthetic-small") / "flows"
    write_synthetic_dataset(root, regions=regions, hospitals=hospitals,
                            projects=pd.DataFrame(), rows=6_000, years=[2022, 2023], seed=3,
                            pseudonym_key=KEY)
    return root, regions
