import warnings

import numpy as np
import pytest
from conftest import TOLERANCES
from numpy.testing import assert_allclose, assert_array_equal

from fastml import activations


def reference_sigmoid(x):
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore"):
        return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))


def reference_log_softmax(x):
    x = np.asarray(x, dtype=np.float64)
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def test_sigmoid_matches_reference(dtype, rng):
    x = (rng.standard_normal(1000) * 20).astype(dtype)
    result = activations.sigmoid(x)
    assert result.dtype == dtype
    assert_allclose(result, reference_sigmoid(x), **TOLERANCES[dtype])


def test_log_sigmoid_matches_reference(dtype, rng):
    x = (rng.standard_normal(1000) * 20).astype(dtype)
    expected = -np.logaddexp(0, -x.astype(np.float64))
    assert_allclose(activations.log_sigmoid(x), expected, **TOLERANCES[dtype])


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_matches_reference(dtype, rng, axis):
    x = (rng.standard_normal((7, 5)) * 30).astype(dtype)
    moved = np.moveaxis(x, axis, -1)
    expected = np.moveaxis(np.exp(reference_log_softmax(moved)), -1, axis)
    result = activations.softmax(x, axis=axis)
    assert result.dtype == dtype
    assert_allclose(result, expected, **TOLERANCES[dtype])
    assert_allclose(result.sum(axis=axis), 1.0, rtol=1e-6)


def test_log_softmax_matches_reference(dtype, rng):
    x = (rng.standard_normal((6, 4)) * 50).astype(dtype)
    assert_allclose(
        activations.log_softmax(x), reference_log_softmax(x), **TOLERANCES[dtype]
    )


def test_sigmoid_float64_exponent_edges():
    x = np.array([710.0, -710.0, -1000.0, 0.0, 1e4, -1e4, np.inf, -np.inf])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = activations.sigmoid(x)
    assert result[0] == 1.0
    assert_allclose(result[1], 4.476e-309, rtol=1e-3, atol=1e-300)
    assert result[2] == 0.0
    assert result[3] == 0.5
    assert_array_equal(result[4:], [1.0, 0.0, 1.0, 0.0])


def test_sigmoid_float32_exponent_edges():
    x = np.array([-100, -88, -87, 100, 1e4, -1e4], dtype=np.float32)
    result = activations.sigmoid(x)
    assert result.dtype == np.float32
    assert result[0] == 0.0 or abs(result[0] - 3.8e-44) < 1e-45
    # Just beyond the cut-off where the vectorized exp is replaced.
    assert_allclose(result[1:3], reference_sigmoid(x[1:3]), rtol=1e-5, atol=0)
    assert_array_equal(result[3:], [1.0, 1.0, 0.0])
    assert not np.isnan(result).any()


def test_log_sigmoid_extremes_stay_finite_or_exact():
    x = np.array([-1e4, 1e4, -np.inf, np.inf, -800.0])
    result = activations.log_sigmoid(x)
    assert_array_equal(result, [-1e4, 0.0, -np.inf, 0.0, -800.0])


def test_softmax_far_apart_logits():
    result = activations.softmax(np.array([-1047.0, -981.0, 1891.0]))
    assert_array_equal(result, [0.0, 0.0, 1.0])


@pytest.mark.parametrize(
    "dtype, pattern",
    [
        (np.float64, [0.0, -1e4, -720.0, -800.0, -50.0]),
        (np.float32, [0.0, -1e4, -95.0, -110.0, -20.0]),
    ],
    ids=["float64", "float32"],
)
def test_softmax_underflow_at_every_vector_lane(dtype, pattern):
    # Past the vectorized exponential's range, each lane must still round to
    # the true value: a subnormal or 0, never a clamped value.
    row = np.tile(np.array(pattern, dtype=dtype), 8)
    expected = np.exp(row.astype(np.float64)).astype(dtype)
    expected = expected / expected.sum(dtype=dtype)
    result = activations.softmax(row[np.newaxis, :])[0]
    assert_array_equal(result == 0, expected == 0)
    assert_allclose(result, expected, rtol=1e-6 if dtype == np.float32 else 1e-12)


def test_softmax_infinite_logits():
    x = np.array(
        [
            [np.inf, 0.0, 1.0],
            [np.inf, np.inf, 0.0],
            [-np.inf, -np.inf, -np.inf],
            [-np.inf, 0.0, 0.0],
        ]
    )
    result = activations.softmax(x)
    assert not np.isnan(result).any()
    assert_array_equal(result[0], [1.0, 0.0, 0.0])
    assert_array_equal(result[1], [0.5, 0.5, 0.0])
    assert_allclose(result[2], [1 / 3] * 3)
    assert_array_equal(result[3], [0.0, 0.5, 0.5])


def test_log_softmax_infinite_logits():
    x = np.array([[np.inf, 0.0], [1e4, -1e4], [-np.inf, 0.0]])
    result = activations.log_softmax(x)
    assert not np.isnan(result).any()
    assert_array_equal(result[0], [0.0, -np.inf])
    assert_array_equal(result[1], [0.0, -2e4])
    assert_array_equal(result[2], [-np.inf, 0.0])


def test_integer_input_is_computed_in_float64():
    result = activations.sigmoid(np.array([0, 1, -1]))
    assert result.dtype == np.float64
    assert_allclose(result, reference_sigmoid([0, 1, -1]), rtol=1e-15)


def test_softmax_of_strided_input_equals_contiguous_copy(rng):
    x = rng.standard_normal((8, 6))
    view = x[::2, ::2]
    assert_array_equal(activations.softmax(view), activations.softmax(view.copy()))


def test_softmax_rejects_bad_axis():
    with pytest.raises(ValueError, match="axis 2 is out of bounds"):
        activations.softmax(np.zeros((2, 2)), axis=2)


def test_softmax_rejects_string_input():
    with pytest.raises(TypeError, match="x must be numeric"):
        activations.softmax(np.array(["a", "b"]))


def test_softmax_propagates_nan():
    result = activations.softmax(np.array([[np.nan, 0.0, 1.0], [0.0, 1.0, 2.0]]))
    assert np.isnan(result[0]).all()
    assert not np.isnan(result[1]).any()
    assert np.isnan(activations.log_softmax(np.array([np.nan, 0.0]))).all()


@pytest.mark.parametrize("axis", [None, "1", 1.0, True, (0, 1)])
def test_softmax_rejects_non_integer_axis(axis):
    with pytest.raises(TypeError, match="axis must be an int"):
        activations.softmax(np.zeros((2, 2)), axis=axis)


def test_sigmoid_keeps_scalar_shape():
    assert activations.sigmoid(0.5).shape == ()
    assert activations.log_sigmoid(np.float32(0.5)).shape == ()
    assert activations.sigmoid(np.zeros((2, 0))).shape == (2, 0)


def huge_logit_rows(dtype):
    """Rows whose log-softmax is lost when max + log(sum) is formed first."""
    finite_max = 1e308 if dtype == np.float64 else 3e38
    rows = [
        [1e16, 1e16, 1e16],
        [1e8, 1e8, 1e8],
        [1e6, 1e6, 1e6],
        [3e4, 3e4, 3e4],
        [-finite_max] * 3,
        [finite_max] * 3,
        [1e16, 1e16, -1e16],
        [1e16, 1e16, -np.inf],
        [finite_max, -finite_max, 0.0],
    ]
    return np.array(rows, dtype=dtype)


def test_log_softmax_huge_logits_match_reference(dtype):
    x = huge_logit_rows(dtype)
    # The last row's true minimum, -2 * finite_max, rounds to -inf.
    with np.errstate(over="ignore"):
        expected = reference_log_softmax(x).astype(dtype)
    result = activations.log_softmax(x)
    assert result.dtype == dtype
    assert not np.isnan(result).any()
    assert_allclose(result, expected, **TOLERANCES[dtype])


@pytest.mark.parametrize("value", [1e16, 1e8, 1e6, 3e4, -1e30, 1e30])
def test_log_softmax_equal_huge_logits(dtype, value):
    for k in (2, 3, 7):
        result = activations.log_softmax(np.full((1, k), value, dtype=dtype))
        assert_allclose(result, np.full((1, k), -np.log(k)), **TOLERANCES[dtype])


def test_log_softmax_minus_1e308_row():
    result = activations.log_softmax(np.array([[-1e308, -1e308, -1e308]]))
    assert_allclose(result, np.full((1, 3), -np.log(3)), rtol=1e-15, atol=0)
