"""Input checks shared by the models; each failure says which argument and why."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .errors import InvalidInput


def cost_matrix(cost, name: str = "cost") -> np.ndarray:
    """A 2-D float array, no NaN, no negatives; ``inf`` marks an unreachable pair."""
    if hasattr(cost, "to_dense") and not isinstance(cost, np.ndarray):
        cost = cost.to_dense()  # CostPairs or a scipy.sparse matrix
    arr = np.asarray(cost, dtype=np.float64)
    if arr.ndim != 2:
        raise InvalidInput(f"{name} must be a 2-D (demand × candidate) matrix; got {arr.ndim}-D")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InvalidInput(f"{name} is empty: shape {arr.shape}")
    nan = np.isnan(arr)
    if nan.any():
        i, j = np.argwhere(nan)[0]
        raise InvalidInput(f"{name} has {int(nan.sum())} NaN entries (first at row {i}, "
                           f"column {j}); use inf for an unreachable pair")
    if (arr < 0).any():
        i, j = np.argwhere(arr < 0)[0]
        raise InvalidInput(f"{name} has negative entries (first at row {i}, column {j}: "
                           f"{arr[i, j]}); travel costs must be ≥ 0")
    return arr


def weights(values, n: int, name: str = "weights") -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.shape[0] != n:
        raise InvalidInput(f"{name} has {arr.shape[0]} values but the cost matrix has {n} rows")
    if not np.isfinite(arr).all():
        raise InvalidInput(f"{name} has missing (NaN) or infinite values")
    if (arr < 0).any():
        i = int(np.argmax(arr < 0))
        raise InvalidInput(f"{name} must be ≥ 0; row {i} is {arr[i]}")
    return arr


def p_and_existing(p, m: int, existing: Iterable[int] | None) -> tuple[int, np.ndarray]:
    if isinstance(p, bool) or int(p) != p:
        raise InvalidInput(f"p_facilities must be a whole number; got {p!r}")
    p = int(p)
    if p < 1:
        raise InvalidInput(f"p_facilities must be ≥ 1; got {p}")
    if p > m:
        raise InvalidInput(f"p_facilities = {p} is larger than the {m} candidate sites")
    ex = existing_indices(existing, m)
    if ex.size > p:
        raise InvalidInput(f"{ex.size} existing facilities must stay open but p_facilities = {p}; "
                           "p counts the existing ones too")
    return p, ex


def existing_indices(existing: Iterable[int] | None, m: int) -> np.ndarray:
    if existing is None:
        return np.empty(0, dtype=np.int64)
    ex = np.asarray(list(existing), dtype=np.int64).reshape(-1)
    if ex.size and (ex.min() < 0 or ex.max() >= m):
        raise InvalidInput(f"existing facility indices must be in 0..{m - 1}; got {ex.tolist()}")
    if np.unique(ex).size != ex.size:
        raise InvalidInput(f"existing facility indices repeat: {ex.tolist()}")
    return np.sort(ex)


def radius(value, name: str = "service_radius") -> float:
    r = float(value)
    if not np.isfinite(r) or r < 0:
        raise InvalidInput(f"{name} must be a finite number ≥ 0; got {value!r}")
    return r


def frozen(arr: np.ndarray) -> np.ndarray:
    """A read-only view, so results stay immutable."""
    out = np.array(arr, copy=True)
    out.setflags(write=False)
    return out
