"""The one place that talks to HiGHS: pass a sparse MILP, run it, read back a plain outcome.

Models build their constraint matrix as scipy CSR and hand it over in one ``passModel`` call;
building row by row through the Python API is what makes PuLP-based models slow.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

from .errors import SolverFailed

INF = highspy.kHighsInf


@dataclass(frozen=True)
class MilpOutcome:
    status: str  # "optimal" or "time_limit" (``x`` is None when no incumbent was found in time)
    x: np.ndarray | None
    objective: float
    dual_bound: float
    gap: float
    seconds: float


def solve_milp(
    cost: np.ndarray,
    a: sp.csr_matrix,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    col_lower: np.ndarray,
    col_upper: np.ndarray,
    integer: np.ndarray,
    *,
    maximize: bool = False,
    time_limit: float | None = None,
    mip_rel_gap: float = 1e-6,
    threads: int | None = None,
    options: dict | None = None,
    start: np.ndarray | None = None,
) -> MilpOutcome:
    """Solve ``opt cost·x  s.t.  row_lower ≤ A x ≤ row_upper, bounds, x_j ∈ Z where integer``.

    ``start`` is a feasible point handed to HiGHS as its first incumbent. When ``time_limit``
    runs out the outcome says "time_limit" with the best incumbent (``x`` None if there is
    none) and the proven dual bound; it is never labelled optimal.
    """
    a = sp.csr_matrix(a)
    n_rows, n_cols = a.shape
    lp = highspy.HighsLp()
    lp.num_col_ = n_cols
    lp.num_row_ = n_rows
    lp.col_cost_ = np.asarray(cost, dtype=np.float64)
    lp.col_lower_ = np.asarray(col_lower, dtype=np.float64)
    lp.col_upper_ = np.asarray(col_upper, dtype=np.float64)
    lp.row_lower_ = np.asarray(row_lower, dtype=np.float64)
    lp.row_upper_ = np.asarray(row_upper, dtype=np.float64)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_ = n_cols
    lp.a_matrix_.num_row_ = n_rows
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(np.float64)
    lp.sense_ = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
    integer = np.asarray(integer, dtype=bool)
    if integer.any():
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous
            for flag in integer
        ]
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    if threads is not None:
        h.setOptionValue("threads", int(threads))
    for key, value in (options or {}).items():
        h.setOptionValue(key, value)
    h.passModel(lp)
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = np.asarray(start, dtype=np.float64).tolist()
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    seconds = h.getRunTime()
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    if status == highspy.HighsModelStatus.kOptimal:
        label = "optimal"
    elif status == highspy.HighsModelStatus.kTimeLimit:
        label = "time_limit"
    elif status in (highspy.HighsModelStatus.kInfeasible,):
        raise SolverFailed("HiGHS proved the model infeasible")
    else:
        raise SolverFailed(f"HiGHS stopped with status {h.modelStatusToString(status)!r}")
    sense = -1.0 if maximize else 1.0
    if label == "time_limit" and not has_solution:
        bound = float(info.mip_dual_bound) if integer.any() else -sense * np.inf
        if not np.isfinite(bound):
            bound = -sense * np.inf
        return MilpOutcome(label, None, sense * np.inf, bound, np.inf, seconds)
    x = np.asarray(h.getSolution().col_value, dtype=np.float64)
    objective = float(info.objective_function_value)
    if integer.any():
        bound = float(info.mip_dual_bound)
        gap = float(info.mip_gap)
    elif label == "optimal":
        bound, gap = objective, 0.0
    else:  # an LP stopped early proves nothing
        bound, gap = -sense * np.inf, np.inf
    return MilpOutcome(label, x, objective, bound, max(gap, 0.0), seconds)
