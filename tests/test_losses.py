import numpy as np
import pytest
from conftest import TOLERANCES
from numpy.testing import assert_allclose, assert_array_equal

from fastml import losses


def reference_bce(z, y):
    z = np.asarray(z, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return np.logaddexp(0, z) - y * z


def reference_softmax_ce(z, targets):
    z = np.asarray(z, dtype=np.float64)
    lse = np.logaddexp.reduce(z, axis=1)
    return lse - z[np.arange(z.shape[0]), targets]


def finite_difference(f, z, step=1e-6):
    grad = np.zeros_like(z)
    for index in np.ndindex(z.shape):
        plus, minus = z.copy(), z.copy()
        plus[index] += step
        minus[index] -= step
        grad[index] = (f(plus) - f(minus)) / (2 * step)
    return grad


# Binary cross-entropy


def test_bce_matches_reference(dtype, rng):
    z = (rng.standard_normal(500) * 10).astype(dtype)
    y = rng.uniform(size=500).astype(dtype)
    result = losses.binary_cross_entropy(z, y, reduction="none")
    assert result.dtype == dtype
    assert_allclose(result, reference_bce(z, y), **TOLERANCES[dtype])


def test_bce_mean_and_gradient(dtype, rng):
    z = (rng.standard_normal(50) * 3).astype(dtype)
    y = (rng.uniform(size=50) > 0.5).astype(dtype)
    value, grad = losses.binary_cross_entropy(z, y, return_grad=True)
    assert_allclose(value, reference_bce(z, y).mean(), **TOLERANCES[dtype])
    expected_grad = (1 / (1 + np.exp(-z.astype(np.float64))) - y) / z.size
    assert_allclose(grad, expected_grad, **TOLERANCES[dtype])


def test_bce_gradient_matches_finite_differences(rng):
    z = rng.standard_normal(8) * 2
    y = rng.uniform(size=8)
    _, grad = losses.binary_cross_entropy(z, y, reduction="sum", return_grad=True)
    numeric = finite_difference(
        lambda v: losses.binary_cross_entropy(v, y, reduction="sum"), z
    )
    assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_bce_infinite_and_huge_logits():
    z = np.array([-np.inf, np.inf, -100.0, 1000.0, -np.inf, 1e4, -1e4])
    y = np.array([0.0, 1.0, 0.0, 0.0, 0.9, 1.0, 0.0])
    result = losses.binary_cross_entropy(z, y, reduction="none")
    assert not np.isnan(result).any()
    assert result[0] == 0.0
    assert result[1] == 0.0
    assert_allclose(result[2], 3.72e-44, rtol=1e-2)
    assert result[3] == 1000.0
    assert result[4] == np.inf
    assert_array_equal(result[5:], [0.0, 0.0])


def test_bce_mean_with_one_infinite_logit():
    value = losses.binary_cross_entropy([np.inf, 1.0], [1.0, 0.0])
    assert_allclose(value, 0.6566308, rtol=1e-7)


def test_bce_gradient_at_infinite_logits_is_finite():
    _, grad = losses.binary_cross_entropy(
        [np.inf, -np.inf, np.inf], [1.0, 0.0, 0.0], reduction="sum", return_grad=True
    )
    assert_array_equal(grad, [0.0, 0.0, 1.0])


def test_bce_float32_extremes_no_nan():
    z = np.array([-1e4, 1e4, -np.inf, np.inf, -100, 100], dtype=np.float32)
    y = np.array([0, 1, 0, 1, 1, 0], dtype=np.float32)
    result = losses.binary_cross_entropy(z, y, reduction="none")
    assert result.dtype == np.float32
    assert_array_equal(result, [0, 0, 0, 0, 100, 100])


@pytest.mark.parametrize("repeats", [1, 3, 12])
def test_bce_extremes_at_every_vector_lane(dtype, repeats):
    # 7 values repeated: with 7 coprime to the vector widths, each value
    # lands in every lane of the vectorized loop and in the scalar tail.
    z = np.tile([-np.inf, np.inf, -100.0, 1000.0, -np.inf, 1e4, -1e4], repeats).astype(dtype)
    y = np.tile([0.0, 1.0, 0.0, 0.0, 0.9, 1.0, 0.0], repeats).astype(dtype)
    tiny = float(dtype(np.exp(-100.0)))  # a subnormal in float32
    loss = losses.binary_cross_entropy(z, y, reduction="none")
    assert_allclose(loss, np.tile([0.0, 0.0, tiny, 1000.0, np.inf, 0.0, 0.0], repeats), rtol=1e-2, atol=0)
    _, grad = losses.binary_cross_entropy(z, y, reduction="sum", return_grad=True)
    expected = np.tile([0.0, 0.0, tiny, 1.0, -0.9, 0.0, 0.0], repeats)
    assert_allclose(grad, expected, rtol=1e-6, atol=0)


def test_bce_rejects_nan_logits():
    with pytest.raises(ValueError, match="logits contains NaN"):
        losses.binary_cross_entropy([np.nan, 0.0], [0.0, 1.0])


def test_bce_rejects_targets_outside_unit_interval():
    with pytest.raises(
        ValueError, match=r"targets must lie in \[0, 1\]; got values from -1"
    ):
        losses.binary_cross_entropy([0.0, 0.0], [-1.0, 1.0])


def test_bce_rejects_shape_mismatch():
    with pytest.raises(ValueError, match=r"same shape; got \(2,\) and \(3,\)"):
        losses.binary_cross_entropy([0.0, 0.0], [0.0, 1.0, 1.0])


def test_bce_rejects_unknown_reduction():
    with pytest.raises(ValueError, match="reduction must be one of"):
        losses.binary_cross_entropy([0.0], [1.0], reduction="average")


def test_bce_rejects_empty_input():
    with pytest.raises(ValueError, match="empty"):
        losses.binary_cross_entropy([], [])


# Softmax cross-entropy


def test_softmax_ce_indices_match_reference(dtype, rng):
    z = (rng.standard_normal((40, 6)) * 5).astype(dtype)
    t = rng.integers(0, 6, 40)
    result = losses.softmax_cross_entropy(z, t, reduction="none")
    assert result.dtype == dtype
    assert_allclose(result, reference_softmax_ce(z, t), **TOLERANCES[dtype])


def test_softmax_ce_probability_rows_match_reference(dtype, rng):
    z = (rng.standard_normal((30, 4)) * 5).astype(dtype)
    p = rng.dirichlet(np.ones(4), size=30).astype(dtype)
    log_softmax = z.astype(np.float64) - np.logaddexp.reduce(
        z.astype(np.float64), axis=1, keepdims=True
    )
    expected = -(p * log_softmax).sum(axis=1)
    result = losses.softmax_cross_entropy(z, p, reduction="none")
    assert_allclose(result, expected, **TOLERANCES[dtype])


def test_softmax_ce_one_hot_rows_equal_indices(rng):
    z = rng.standard_normal((10, 3))
    t = rng.integers(0, 3, 10)
    one_hot = np.eye(3)[t]
    assert_allclose(
        losses.softmax_cross_entropy(z, one_hot, reduction="none"),
        losses.softmax_cross_entropy(z, t, reduction="none"),
        rtol=1e-14,
    )


@pytest.mark.parametrize("kind", ["indices", "rows"])
def test_softmax_ce_gradient_matches_finite_differences(rng, kind):
    z = rng.standard_normal((4, 3)) * 2
    t = (
        rng.integers(0, 3, 4)
        if kind == "indices"
        else rng.dirichlet(np.ones(3), size=4)
    )
    _, grad = losses.softmax_cross_entropy(z, t, return_grad=True)
    numeric = finite_difference(lambda v: losses.softmax_cross_entropy(v, t), z)
    assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_softmax_ce_far_apart_logits():
    value, grad = losses.softmax_cross_entropy(
        np.array([[-431.0, 279.0, 427.0]]),
        np.array([0]),
        reduction="sum",
        return_grad=True,
    )
    assert_allclose(value, 858.0, rtol=1e-15)
    assert_allclose(grad[0], [-1.0, 5.3e-65, 1.0], rtol=1e-2, atol=0)
    assert grad[0, 1] > 0


def test_softmax_ce_huge_and_infinite_logits(dtype):
    z = np.array(
        [[1e4, -1e4, 0.0], [np.inf, 0.0, 1.0], [np.inf, 0.0, 1.0], [-np.inf, 0.0, 0.0]],
        dtype=dtype,
    )
    t = np.array([1, 0, 1, 0])
    value, grad = losses.softmax_cross_entropy(z, t, reduction="none", return_grad=True)
    assert not np.isnan(value).any()
    assert not np.isnan(grad).any()
    assert_array_equal(value, [2e4, 0.0, np.inf, np.inf])
    assert_array_equal(grad[0], [1.0, -1.0, 0.0])
    assert_array_equal(grad[1], [0.0, 0.0, 0.0])


def test_softmax_ce_single_row_logits():
    value, grad = losses.softmax_cross_entropy([1.0, 2.0, 3.0], 2, return_grad=True)
    assert_allclose(value, reference_softmax_ce(np.array([[1.0, 2.0, 3.0]]), [2])[0])
    assert grad.shape == (3,)


def test_softmax_ce_rejects_index_out_of_range():
    with pytest.raises(
        ValueError, match=r"class indices in \[0, 3\); got 3 at position 1"
    ):
        losses.softmax_cross_entropy(np.zeros((2, 3)), [0, 3])


def test_softmax_ce_rejects_fractional_indices():
    with pytest.raises(ValueError, match="must be integers"):
        losses.softmax_cross_entropy(np.zeros((2, 3)), [0.5, 1.0])


def test_softmax_ce_rejects_wrong_target_shape():
    with pytest.raises(ValueError, match=r"targets must have shape \(2,\)"):
        losses.softmax_cross_entropy(np.zeros((2, 3)), np.zeros((2, 2)))


# Squared error


def test_squared_error_matches_reference(dtype, rng):
    z = rng.standard_normal(20).astype(dtype)
    y = rng.standard_normal(20).astype(dtype)
    value, grad = losses.squared_error(z, y, return_grad=True)
    residual = z.astype(np.float64) - y
    assert_allclose(value, 0.5 * np.mean(residual**2), **TOLERANCES[dtype])
    assert_allclose(grad, residual / 20, **TOLERANCES[dtype])


def test_squared_error_two_dimensional_mean_is_per_sample(rng):
    z = rng.standard_normal((5, 3))
    y = rng.standard_normal((5, 3))
    assert_allclose(
        losses.squared_error(z, y), 0.5 * ((z - y) ** 2).sum(axis=1).mean(), rtol=1e-14
    )


# Log loss from probabilities


def test_log_loss_certain_and_correct_is_zero():
    assert losses.log_loss([0, 1], [0.0, 1.0]) == 0.0


def test_log_loss_certain_and_wrong_is_infinite():
    assert losses.log_loss([0, 1], [0.0, 0.0]) == np.inf


def test_log_loss_accepts_integer_probabilities():
    assert losses.log_loss(np.array([0, 1]), np.array([0, 1])) == 0.0


def test_log_loss_matches_reference(rng):
    p = rng.uniform(0.01, 0.99, 100)
    y = (rng.uniform(size=100) > 0.5).astype(float)
    expected = -np.mean(y * np.log(p) + (1 - y) * np.log1p(-p))
    assert_allclose(losses.log_loss(y, p), expected, rtol=1e-12)


def test_log_loss_probability_rows(rng):
    p = rng.dirichlet(np.ones(4), size=20)
    t = rng.integers(0, 4, 20)
    expected = -np.mean(np.log(p[np.arange(20), t]))
    assert_allclose(losses.log_loss(t, p), expected, rtol=1e-12)


def test_log_loss_rejects_probabilities_above_one():
    with pytest.raises(ValueError, match=r"probabilities must lie in \[0, 1\]"):
        losses.log_loss([1], [1.5])


def test_softmax_ce_tied_infinite_logits_match_log_softmax():
    from fastml import activations

    z = np.array([[np.inf, np.inf, 0.0], [-np.inf, -np.inf, -np.inf]])
    t = np.array([0, 2])
    value = losses.softmax_cross_entropy(z, t, reduction="none")
    expected = -activations.log_softmax(z)[np.arange(2), t]
    assert_allclose(value, [np.log(2), np.log(3)], rtol=1e-15)
    assert_allclose(value, expected, rtol=1e-15)


def test_softmax_ce_rejects_target_rows_not_summing_to_one():
    with pytest.raises(
        ValueError, match="each row of targets must sum to 1; row 0 sums to 1.4"
    ):
        losses.softmax_cross_entropy(np.zeros((1, 2)), np.array([[0.7, 0.7]]))


def test_log_loss_rejects_rows_not_summing_to_one():
    with pytest.raises(ValueError, match="each row of probabilities must sum to 1"):
        losses.log_loss(np.array([0]), np.array([[0.1, 0.1]]))


@pytest.mark.parametrize(
    "targets, probabilities, message",
    [
        ([], [], "probabilities is empty"),
        (
            [0, 1],
            [0.5],
            r"targets and probabilities must have the same shape; "
            r"got \(2,\) and \(1,\)",
        ),
        (
            [0, 1],
            [[0.5, 0.5]],
            r"one class index per row of probabilities \(1, 2\); got shape \(2,\)",
        ),
    ],
)
def test_log_loss_errors_name_its_arguments(targets, probabilities, message):
    with pytest.raises(ValueError, match=message):
        losses.log_loss(targets, probabilities)


def test_return_grad_must_be_boolean():
    with pytest.raises(TypeError, match="return_grad must be True or False; got 'yes'"):
        losses.binary_cross_entropy([0.0], [1.0], return_grad="yes")


def test_single_sample_targets_shape_error_reports_given_shape():
    with pytest.raises(ValueError, match=r"got shape \(1, 1\)"):
        losses.softmax_cross_entropy(np.array([1.0, 2.0, 3.0]), np.array([[2]]))


# Huge logits, where max + log(sum(exp(z - max))) rounds the log away


def reference_log_softmax(z):
    z = np.asarray(z, dtype=np.float64)
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def huge_logits_and_rows(dtype):
    finite_max = 1e308 if dtype == np.float64 else 3e38
    z = np.array(
        [
            [1e16, 1e16, -1e16],
            [1e16, 1e16, -1e16],
            [1e8, 1e8, 1e8],
            [1e6, 1e6, 0.0],
            [3e4, 3e4, 3e4],
            [-finite_max] * 3,
            [finite_max] * 3,
        ],
        dtype=dtype,
    )
    rows = np.array(
        [
            [1.0, 0.0, 0.0],
            [0.25, 0.75, 0.0],
            [0.2, 0.3, 0.5],
            [0.0, 1.0, 0.0],
            [1.0, 0.0, 0.0],
            [0.0, 0.0, 1.0],
            [0.5, 0.0, 0.5],
        ],
        dtype=dtype,
    )
    return z, rows


def test_softmax_ce_rows_huge_logits(dtype):
    z, rows = huge_logits_and_rows(dtype)
    log_probabilities = reference_log_softmax(z)
    expected = -np.where(rows > 0, rows * log_probabilities, 0.0).sum(axis=1)
    result = losses.softmax_cross_entropy(z, rows, reduction="none")
    assert result.dtype == dtype
    assert_allclose(result, expected, **TOLERANCES[dtype])


def test_softmax_ce_rows_huge_logits_gradient(dtype):
    z, rows = huge_logits_and_rows(dtype)
    softmax = np.exp(reference_log_softmax(z))
    expected = (softmax - rows) / z.shape[0]
    value, grad = losses.softmax_cross_entropy(z, rows, return_grad=True)
    assert grad.dtype == dtype
    assert np.isfinite(value)
    assert_allclose(grad, expected, **TOLERANCES[dtype])


def test_softmax_ce_indices_huge_logits(dtype):
    z, _ = huge_logits_and_rows(dtype)
    t = np.array([0, 1, 2, 1, 0, 2, 0])
    # reference_softmax_ce forms logsumexp(z) itself, which loses these rows.
    expected = -reference_log_softmax(z)[np.arange(z.shape[0]), t]
    result = losses.softmax_cross_entropy(z, t, reduction="none")
    assert_allclose(result, expected, **TOLERANCES[dtype])


def test_softmax_ce_indices_huge_beside_infinite_row(dtype):
    # A row with an infinite maximum sends its whole group of rows through
    # the general path, which must keep log(2) for the huge finite row.
    z = np.array([[1e16, 1e16], [np.inf, 0.0]], dtype=dtype)
    value, grad = losses.softmax_cross_entropy(
        z, np.array([0, 0]), reduction="none", return_grad=True
    )
    assert_allclose(value, [np.log(2), 0.0], **TOLERANCES[dtype])
    assert_allclose(grad, [[-0.5, 0.5], [0.0, 0.0]], **TOLERANCES[dtype])
