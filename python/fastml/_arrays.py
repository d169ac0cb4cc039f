"""Conversion of array-like arguments for the C++ kernels."""

import numpy as np


def as_float_array(values, name, dtype=None):
    """Return ``values`` as a C-contiguous float32 or float64 array.

    float32 stays float32 and float64 stays float64, read in place when
    already C-contiguous; other numeric inputs become float64. With
    ``dtype`` given, the result has that dtype. Raises TypeError for
    non-numeric input and ValueError for complex values.
    """
    array = np.asarray(values)
    if array.dtype.kind == "c":
        raise ValueError(f"{name} must be real; got complex dtype {array.dtype}.")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric; got dtype {array.dtype}.")
    if dtype is None:
        dtype = array.dtype if array.dtype in (np.float32, np.float64) else np.float64
    # np.asarray keeps a 0-d shape, which np.ascontiguousarray would make (1,).
    return np.asarray(array, dtype=dtype, order="C")


def check_no_nan(array, name):
    """Raise ValueError if ``array`` contains NaN (infinities are allowed)."""
    if np.isnan(array).any():
        raise ValueError(f"{name} contains NaN.")


def check_finite(array, name):
    """Raise ValueError if ``array`` contains NaN or infinity."""
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinity; all values must be finite.")
