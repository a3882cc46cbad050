"""Hospital catchment areas, Dartmouth style: plurality, contiguity repair, small-area merging.

Method (after the Dartmouth Atlas hospital service areas, Wennberg & Cooper 1996):

1. **Plurality.** Each county joins the area whose hospitals treat most of its residents
   (``flows[i, a]``: residents of county i treated in area a). Ties go to the lower area index;
   counties with no recorded admissions start unassigned.
2. **Contiguity repair.** Each area keeps one connected piece: the one containing its seed
   county (where its hospitals are), else its most populous piece. Counties in other pieces, and
   unassigned counties, join — in waves outward from the kept pieces — the adjacent area that
   treats most of their residents (ties: the area with more neighbouring counties, then the lower
   index). Joining through a neighbour keeps every area connected.
3. **Merging.** While an area's localization index is below ``min_localization`` or its
   population below ``min_population``, the weakest such area is merged into the adjacent area
   that treats most of its residents.

**Localization index** of an area = residents of the area treated in the area's hospitals ÷ all
residents of the area hospitalised anywhere (Dartmouth's LI; 1 means fully self-contained).

**Adjacency** comes from :func:`delaunay_adjacency`: a Delaunay triangulation of county centroids
(on an equirectangular projection scaled by cos(latitude)), optionally dropping edges longer
than ``max_edge_km``. Centroid triangulation approximates shared borders without polygons; it
can join counties across water or miss a long thin border, which is why the threshold is exposed.

>>> import numpy as np, scipy.sparse as sp
>>> chain = sp.diags([np.ones(3), np.ones(3)], [1, -1], shape=(4, 4))
>>> flows = np.array([[9, 1], [6, 4], [2, 8], [0, 5]])
>>> r = plurality_catchments(flows, seeds=[0, 3], adjacency=chain)
>>> r.area_of.tolist(), [round(float(x), 3) for x in r.localization]
([0, 0, 1, 1], [0.75, 0.867])
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.spatial import Delaunay

from . import _validate as v
from .errors import InvalidInput
from .travel import great_circle_km


def delaunay_adjacency(lon, lat, max_edge_km: float | None = None) -> sp.csr_matrix:
    """Symmetric boolean county adjacency from a Delaunay triangulation of centroids.

    Counties sharing a centroid (e.g. coordinates copied from the parent division) would be
    dropped by the triangulation and left without neighbours; they are triangulated once and
    are adjacent to each other and to every neighbour of their shared point.
    """
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    if lon.shape != lat.shape or lon.ndim != 1 or lon.size < 3:
        raise InvalidInput("need matching 1-D lon/lat arrays with at least 3 points")
    n = lon.size
    points, member = np.unique(np.column_stack([lon, lat]), axis=0, return_inverse=True)
    member = member.ravel()
    ulon, ulat = points[:, 0], points[:, 1]
    k = ulon.size
    if k >= 3:
        xy = np.column_stack([ulon * np.cos(np.radians(lat.mean())), ulat])
        s = Delaunay(xy).simplices
        a = np.concatenate([s[:, 0], s[:, 1], s[:, 2]])
        b = np.concatenate([s[:, 1], s[:, 2], s[:, 0]])
    else:  # all centroids on one or two points
        a, b = np.triu_indices(k, 1)
    if max_edge_km is not None:
        keep = great_circle_km(ulon[a], ulat[a], ulon[b], ulat[b]) <= max_edge_km
        a, b = a[keep], b[keep]
    m = sp.csr_matrix((np.ones(a.size, dtype=bool), (a, b)), shape=(k, k))
    m = ((m + m.T + sp.identity(k, dtype=bool, format="csr")) > 0).astype(np.int8)
    lift = sp.csr_matrix((np.ones(n, dtype=np.int8), (np.arange(n), member)), shape=(n, k))
    full = (lift @ m @ lift.T).tolil()
    full.setdiag(0)
    return (full.tocsr() > 0).tocsr()


@dataclass(frozen=True)
class CatchmentResult:
    """Area per county and the localization index (LI) of every surviving area.

    ``area_of[i]`` is the index of the area (its original column in ``flows``) county i belongs
    to, or -1 if it could not be placed (no admissions and no placed neighbour).
    """

    area_of: np.ndarray
    areas: np.ndarray
    localization: np.ndarray
    population: np.ndarray
    counties: np.ndarray
    merged_into: dict[int, int] = field(default_factory=dict)
    reassigned: int = 0

    def rows(self) -> list[dict[str, float | int]]:
        return [{"area": int(a), "localization_index": float(li), "population": float(p),
                 "counties": int(c)}
                for a, li, p, c in zip(self.areas, self.localization, self.population,
                                       self.counties, strict=True)]


def _neighbour_area(i, assign, adjacency, flows) -> int:
    nb = adjacency.indices[adjacency.indptr[i]:adjacency.indptr[i + 1]]
    areas = assign[nb]
    areas = areas[areas >= 0]
    if areas.size == 0:
        return -1
    cand, count = np.unique(areas, return_counts=True)
    # most residents treated there, then more shared neighbours, then lower index
    order = np.lexsort((cand, -count, -flows[i, cand]))
    return int(cand[order[0]])


def _repair(assign, seeds, adjacency, flows, pop) -> int:
    """Keep one connected piece per area; re-place everything else in waves. Returns moves."""
    before = assign.copy()
    for a in np.unique(assign[assign >= 0]):
        members = np.flatnonzero(assign == a)
        if members.size == 1:
            continue
        ncomp, label = connected_components(adjacency[members][:, members], directed=False)
        if ncomp == 1:
            continue
        seed_pos = np.flatnonzero(members == seeds[a])
        if seed_pos.size:
            keep = label[seed_pos[0]]
        else:
            keep = int(np.argmax(np.bincount(label, weights=pop[members])))
        assign[members[label != keep]] = -1
    while True:
        frontier = [i for i in np.flatnonzero(assign < 0)
                    if (assign[adjacency.indices[adjacency.indptr[i]:adjacency.indptr[i + 1]]]
                        >= 0).any()]
        if not frontier:
            break
        chosen = [(i, _neighbour_area(i, assign, adjacency, flows)) for i in frontier]
        for i, a in chosen:
            assign[i] = a
    return int((before != assign).sum())


def plurality_catchments(flows, seeds, adjacency, *, population=None,
                         min_localization: float | None = None,
                         min_population: float | None = None) -> CatchmentResult:
    """Dartmouth-style catchments from a county × area flow matrix; see the module docstring."""
    f = v.weights(np.asarray(flows, dtype=np.float64).ravel(), np.size(flows), "flows")
    f = f.reshape(np.shape(flows))
    if f.ndim != 2:
        raise InvalidInput("flows must be a 2-D (county × area) matrix")
    n, k = f.shape
    seeds = np.asarray(seeds, dtype=np.int64)
    if seeds.shape != (k,) or (seeds < 0).any() or (seeds >= n).any():
        raise InvalidInput(f"seeds must give one county index (0..{n - 1}) per area ({k})")
    adj = sp.csr_matrix(adjacency).astype(bool)
    if adj.shape != (n, n):
        raise InvalidInput(f"adjacency must be {n} × {n}; got {adj.shape}")
    adj = ((adj + adj.T) > 0).tocsr()
    residents = f.sum(axis=1)
    pop = residents if population is None else v.weights(population, n, "population")

    assign = np.where(residents > 0, np.argmax(f, axis=1), -1).astype(np.int64)
    moved = _repair(assign, seeds, adj, f, pop)

    col_area = np.arange(k)  # original column → current area
    merged: dict[int, int] = {}
    while True:
        areas, li, apop, _ = _summary(assign, col_area, f, pop)
        weak = np.zeros(areas.size, dtype=bool)
        if min_localization is not None:
            weak |= li < min_localization
        if min_population is not None:
            weak |= apop < min_population
        order = np.lexsort((apop, li))
        target = None
        for idx in order:
            if not weak[idx]:
                continue
            target = _merge_target(int(areas[idx]), assign, col_area, adj, f)
            if target is not None:
                source = int(areas[idx])
                break
        if target is None:
            break
        assign[assign == source] = target
        col_area[col_area == source] = target
        merged[source] = target
        for s, t in merged.items():
            if t == source:
                merged[s] = target
    areas, li, apop, counts = _summary(assign, col_area, f, pop)
    return CatchmentResult(v.frozen(assign), v.frozen(areas), v.frozen(li), v.frozen(apop),
                           v.frozen(counts), merged, moved)


def _summary(assign, col_area, f, pop):
    areas = np.unique(assign[assign >= 0])
    li = np.zeros(areas.size)
    apop = np.zeros(areas.size)
    counts = np.zeros(areas.size, dtype=np.int64)
    for n_, a in enumerate(areas):
        members = assign == a
        total = f[members].sum()
        inside = f[np.ix_(members, col_area == a)].sum()
        li[n_] = inside / total if total > 0 else 0.0
        apop[n_] = pop[members].sum()
        counts[n_] = int(members.sum())
    return areas, li, apop, counts


def _merge_target(a, assign, col_area, adj, f) -> int | None:
    members = np.flatnonzero(assign == a)
    nb = np.unique(adj[members].indices)
    nb_areas = np.unique(assign[nb])
    nb_areas = nb_areas[(nb_areas >= 0) & (nb_areas != a)]
    if nb_areas.size == 0:
        return None
    sent = np.array([f[np.ix_(members, col_area == b)].sum() for b in nb_areas])
    return int(nb_areas[int(np.argmax(sent))])
