from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SF = Path("/work/shared/data/spopt-sf")


@pytest.fixture(scope="session")
def sf_instance() -> tuple[np.ndarray, np.ndarray]:
    """spopt's San Francisco instance: 205 tracts × 16 stores, network metres, POP2000 weights.

    Rows and columns are ordered as in spopt's tests (tract NAME and store name, sorted).
    """
    pd = pytest.importorskip("pandas")
    if not SF.exists():
        pytest.skip("shared spopt-sf data not available")
    dist = pd.read_csv(SF / "SF_network_distance_candidateStore_16_censusTract_205_new.csv")
    piv = dist.pivot_table(values="distance", index="DestinationName", columns="name")
    demand = pd.read_csv(SF / "SF_demand_205_centroid_uniform_weight.csv").sort_values("NAME")
    assert (demand["NAME"].to_numpy() == piv.index.to_numpy()).all()
    return piv.to_numpy(), demand["POP2000"].to_numpy()
