import numpy as np
import pytest

# Tolerances per dtype for comparisons against float64 NumPy references.
TOLERANCES = {
    np.float64: {"rtol": 1e-12, "atol": 1e-14},
    np.float32: {"rtol": 2e-5, "atol": 1e-6},
}


@pytest.fixture(params=[np.float64, np.float32], ids=["float64", "float32"])
def dtype(request):
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(0)
