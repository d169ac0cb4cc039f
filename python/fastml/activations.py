"""Numerically stable activation functions, computed by the C++ core.

float32 input gives float32 output; everything else is computed in float64.
Infinite inputs give the limits (sigmoid(+inf) = 1, sigmoid(-inf) = 0), and
no finite input overflows.
"""

import numbers

import numpy as np

from . import _core
from ._arrays import as_float_array


def sigmoid(x):
    """Logistic function 1 / (1 + exp(-x)), elementwise, with the shape of x."""
    array = as_float_array(x, "x")
    return _core.sigmoid(array).reshape(array.shape)


def log_sigmoid(x):
    """log(sigmoid(x)) = -log1p(exp(-x)), elementwise, without forming sigmoid(x)."""
    array = as_float_array(x, "x")
    return _core.log_sigmoid(array).reshape(array.shape)


def _along_last_axis(kernel, x, axis):
    if not isinstance(axis, numbers.Integral) or isinstance(axis, (bool, np.bool_)):
        raise TypeError(f"axis must be an int; got {axis!r}.")
    array = as_float_array(x, "x")
    if array.ndim == 0:
        raise ValueError("x must have at least one dimension; got a scalar.")
    if not -array.ndim <= axis < array.ndim:
        raise ValueError(
            f"axis {axis} is out of bounds for x with {array.ndim} dimensions."
        )
    moved = np.ascontiguousarray(np.moveaxis(array, axis, -1))
    return np.moveaxis(kernel(moved), -1, axis)


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis``, with the maximum subtracted first.

    Along a slice containing +inf the mass is shared equally among the +inf
    entries, and a slice of only -inf is treated as equal logits. A slice
    containing NaN gives NaN.
    """
    return _along_last_axis(_core.softmax, x, axis)


def log_softmax(x, axis=-1):
    """x - logsumexp(x) along ``axis``, without taking the log of a softmax."""
    return _along_last_axis(_core.log_softmax, x, axis)
