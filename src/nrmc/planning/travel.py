"""Travel cost between places, in minutes.

Default model: great-circle distance × circuity factor ÷ speed.

* **Circuity factor 1.3.** Roads are longer than the straight line; the ratio of network to
  great-circle distance ("detour index") is about 1.2–1.4 for inter-city road travel in most
  countries (Ballou, Rahardja & Sakai 2002, *Transportation Research A* 36: 843–848, report
  1.12–1.43 by country). 1.3 is the middle of that range; pass your own if you know better.
* **Speed 60 km/h.** A blended average over expressways (≤120 km/h), national/provincial roads
  and county roads with the access legs; again a documented default, not a measurement.

A user-supplied matrix (CSV ``origin_code, destination_code, minutes``) replaces the model:
:func:`matrix_from_pairs` turns it into a dense array with ``inf`` for pairs not given.

National instances stay sparse: :func:`nearby_pairs` finds only the pairs a model needs (within a
travel-time radius and/or the k nearest) with a k-d tree on unit-sphere coordinates, so no
n × m distance matrix is ever computed.

>>> import numpy as np
>>> beijing, tianjin = np.array([[116.41, 39.90]]), np.array([[117.20, 39.08]])
>>> round(float(great_circle_km(beijing[:, 0], beijing[:, 1], tianjin[:, 0], tianjin[:, 1])[0]))
114
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from .errors import InvalidInput

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius
DEFAULT_CIRCUITY = 1.3
DEFAULT_SPEED_KMH = 60.0


def great_circle_km(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Haversine distance in km; arguments broadcast like numpy arrays (degrees)."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(v, dtype=np.float64))
                              for v in (lon1, lat1, lon2, lat2))
    h = (np.sin((lat2 - lat1) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def _check_points(name: str, pts) -> np.ndarray:
    arr = np.asarray(pts, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise InvalidInput(f"{name} must have shape (n, 2) as (lon, lat); got {arr.shape}")
    if not np.isfinite(arr).all():
        raise InvalidInput(f"{name} has missing (NaN) or infinite coordinates")
    if (np.abs(arr[:, 1]) > 90).any() or (np.abs(arr[:, 0]) > 180).any():
        raise InvalidInput(f"{name} has coordinates outside lon ±180 / lat ±90")
    return arr


def _check_model(circuity: float, speed_kmh: float) -> None:
    if not circuity >= 1.0:
        raise InvalidInput(f"circuity factor must be ≥ 1 (roads are not shorter than the "
                           f"great circle); got {circuity}")
    if not speed_kmh > 0:
        raise InvalidInput(f"speed must be positive; got {speed_kmh}")


def minutes_from_km(km, circuity: float = DEFAULT_CIRCUITY,
                    speed_kmh: float = DEFAULT_SPEED_KMH) -> np.ndarray:
    """Road minutes for a great-circle distance under the circuity/speed model."""
    _check_model(circuity, speed_kmh)
    return np.asarray(km, dtype=np.float64) * circuity / speed_kmh * 60.0


def travel_minutes(origins, destinations, *, circuity: float = DEFAULT_CIRCUITY,
                   speed_kmh: float = DEFAULT_SPEED_KMH) -> np.ndarray:
    """Dense (n, m) minutes between (lon, lat) origins and destinations; for small instances."""
    o = _check_points("origins", origins)
    d = _check_points("destinations", destinations)
    km = great_circle_km(o[:, None, 0], o[:, None, 1], d[None, :, 0], d[None, :, 1])
    return minutes_from_km(km, circuity, speed_kmh)


@dataclass(frozen=True)
class CostPairs:
    """A sparse travel-cost matrix: only the listed (row, col) pairs are reachable."""

    shape: tuple[int, int]
    rows: np.ndarray
    cols: np.ndarray
    minutes: np.ndarray

    def to_dense(self, fill: float = np.inf) -> np.ndarray:
        """Dense matrix with ``fill`` (default ``inf``, i.e. unreachable) where no pair exists."""
        out = np.full(self.shape, fill, dtype=np.float64)
        out[self.rows, self.cols] = self.minutes
        return out

    def __len__(self) -> int:
        return int(self.rows.size)


def _unit_xyz(pts: np.ndarray) -> np.ndarray:
    lon, lat = np.radians(pts[:, 0]), np.radians(pts[:, 1])
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def nearby_pairs(origins, destinations, *, max_minutes: float | None = None,
                 k_nearest: int | None = None, circuity: float = DEFAULT_CIRCUITY,
                 speed_kmh: float = DEFAULT_SPEED_KMH) -> CostPairs:
    """Pairs within ``max_minutes`` and/or each origin's ``k_nearest`` destinations.

    With both, a pair must satisfy both (the k nearest that are also within the radius).
    """
    o = _check_points("origins", origins)
    d = _check_points("destinations", destinations)
    _check_model(circuity, speed_kmh)
    if max_minutes is None and k_nearest is None:
        raise InvalidInput("give max_minutes, k_nearest or both; otherwise use travel_minutes")
    if max_minutes is not None and not max_minutes >= 0:
        raise InvalidInput(f"max_minutes must be ≥ 0; got {max_minutes}")
    tree = cKDTree(_unit_xyz(d))
    xyz = _unit_xyz(o)
    if k_nearest is not None:
        if k_nearest < 1:
            raise InvalidInput(f"k_nearest must be ≥ 1; got {k_nearest}")
        k = min(int(k_nearest), len(d))
        _, idx = tree.query(xyz, k=k)
        idx = np.asarray(idx).reshape(len(o), k)
        rows = np.repeat(np.arange(len(o)), k)
        cols = idx.ravel()
    else:
        assert max_minutes is not None
        reach_km = max_minutes * speed_kmh / 60.0 / circuity
        # chord length for that arc, with a hair of slack; exact filter below
        chord = 2 * np.sin(min(reach_km / EARTH_RADIUS_KM, np.pi) / 2) * (1 + 1e-9) + 1e-12
        lists = tree.query_ball_point(xyz, r=chord)
        counts = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(o))
        rows = np.repeat(np.arange(len(o)), counts)
        cols = (np.concatenate([np.asarray(x, dtype=np.int64) for x in lists])
                if counts.sum() else np.empty(0, dtype=np.int64))
    km = great_circle_km(o[rows, 0], o[rows, 1], d[cols, 0], d[cols, 1])
    minutes = minutes_from_km(km, circuity, speed_kmh)
    if max_minutes is not None:
        keep = minutes <= max_minutes
        rows, cols, minutes = rows[keep], cols[keep], minutes[keep]
    order = np.lexsort((cols, rows))
    return CostPairs((len(o), len(d)), rows[order], cols[order], minutes[order])


def matrix_from_pairs(origin_codes: Sequence[str], destination_codes: Sequence[str],
                      pair_origins: Sequence[str], pair_destinations: Sequence[str],
                      minutes: Sequence[float]) -> np.ndarray:
    """Dense minutes from a user's pair list; pairs not listed are unreachable (``inf``).

    Unknown codes and negative or missing minutes are refused, naming the first bad pair.
    """
    row_of = {c: i for i, c in enumerate(origin_codes)}
    col_of = {c: j for j, c in enumerate(destination_codes)}
    out = np.full((len(row_of), len(col_of)), np.inf)
    for n, (a, b, t) in enumerate(zip(pair_origins, pair_destinations, minutes, strict=True)):
        t = float(t)
        if not np.isfinite(t) or t < 0:
            raise InvalidInput(f"travel-time pair {n + 1} ({a} → {b}): minutes must be a "
                               f"finite number ≥ 0, got {t}")
        i, j = row_of.get(a), col_of.get(b)
        if i is None or j is None:
            continue  # pairs for places outside this run are ignored on purpose
        out[i, j] = t
    return out
