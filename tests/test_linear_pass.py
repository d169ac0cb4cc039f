"""The fused loss-and-gradient pass of the linear models against NumPy."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastml import _core

PASS_TOLERANCES = {
    np.float64: {"rtol": 1e-11, "atol": 1e-12},
    np.float32: {"rtol": 1e-4, "atol": 1e-5},
}


def make_problem(loss, dtype, n_samples=5000, n_features=7, n_outputs=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features)).astype(dtype)
    k = 1 if loss == "logistic" else n_outputs
    params = (rng.standard_normal(k * (n_features + 1)) * 0.5).astype(dtype)
    if loss == "logistic":
        targets = (rng.uniform(size=n_samples) > 0.5).astype(dtype)
    elif loss == "softmax":
        targets = rng.integers(0, k, n_samples).astype(np.int64)
    else:
        targets = rng.standard_normal((n_samples, k)).astype(dtype)
    weights = rng.uniform(0.5, 2.0, n_samples).astype(dtype)
    return X, params, targets, weights, k


def reference(loss, X, params, targets, weights, k):
    """Weighted loss sum and its gradient in float64, written from the formulas."""
    X = X.astype(np.float64)
    d = X.shape[1]
    W = params[: k * d].astype(np.float64).reshape(k, d)
    b = params[k * d :].astype(np.float64)
    Z = X @ W.T + b
    if loss == "logistic":
        z = Z[:, 0]
        per_sample = np.logaddexp(0, z) - targets * z
        dZ = (1 / (1 + np.exp(-z)) - targets)[:, None]
    elif loss == "softmax":
        lse = np.logaddexp.reduce(Z, axis=1)
        per_sample = lse - Z[np.arange(len(Z)), targets]
        dZ = np.exp(Z - lse[:, None])
        dZ[np.arange(len(Z)), targets] -= 1
    else:
        residual = Z - targets
        per_sample = 0.5 * (residual**2).sum(axis=1)
        dZ = residual
    dZ = dZ * weights[:, None]
    grad = np.concatenate([(dZ.T @ X).ravel(), dZ.sum(axis=0)])
    return np.sum(weights * per_sample), grad


# 5000 rows are chunks of 2048 rows; 1000 rows (a large mini-batch) are 16
# chunks of 64 rows, with 300 features enough to share them among threads.
@pytest.mark.parametrize("shape", [(5000, 7), (1000, 300)])
@pytest.mark.parametrize("loss", ["logistic", "softmax", "squared"])
def test_pass_matches_numpy_reference(loss, dtype, shape):
    n_samples, n_features = shape
    X, params, targets, weights, k = make_problem(
        loss, dtype, n_samples=n_samples, n_features=n_features
    )
    loss_sum, grad = _core.linear_loss_and_gradient(
        params, X, targets, weights, loss, k, 0.5
    )
    expected_loss, expected_grad = reference(
        loss, X, params, targets, weights.astype(np.float64), k
    )
    assert grad.dtype == dtype
    assert_allclose(loss_sum, expected_loss, rtol=PASS_TOLERANCES[dtype]["rtol"])
    assert_allclose(grad, 0.5 * expected_grad, **PASS_TOLERANCES[dtype])


# Feature counts on both sides of the vector widths (4, 8 or 16 values),
# where the last columns are summed through a masked packet or one by one.
# Output counts on both sides of the logits tiles (5 outputs) and of a
# gradient sweep (12). 203 rows leave partial tiles of 4 and 16 rows.
@pytest.mark.parametrize("n_features", [1, 3, 8, 15, 16, 17, 33, 100])
@pytest.mark.parametrize("n_outputs", [1, 2, 4, 5, 7, 10, 13])
@pytest.mark.parametrize("kind", ["classification", "squared"])
def test_pass_tile_shapes_match_numpy(kind, n_outputs, n_features, dtype):
    if kind == "classification":
        loss = "logistic" if n_outputs == 1 else "softmax"
    else:
        loss = "squared"
    X, params, targets, weights, k = make_problem(
        loss, dtype, n_samples=203, n_features=n_features, n_outputs=n_outputs
    )
    loss_sum, grad = _core.linear_loss_and_gradient(
        params, X, targets, weights, loss, k
    )
    expected_loss, expected_grad = reference(
        loss, X, params, targets, weights.astype(np.float64), k
    )
    assert_allclose(loss_sum, expected_loss, rtol=PASS_TOLERANCES[dtype]["rtol"])
    # A gradient value is a sum of terms of both signs, so in float32 a small
    # one may lose digits to cancellation: it is judged against the largest.
    rtol = PASS_TOLERANCES[dtype]["rtol"]
    assert_allclose(grad, expected_grad, rtol=rtol, atol=rtol * np.abs(expected_grad).max())
    logits = _core.linear_decision_function(params, X, k)
    W = params[: k * n_features].astype(np.float64).reshape(k, n_features)
    expected_logits = X.astype(np.float64) @ W.T + params[k * n_features :]
    assert_allclose(logits.reshape(203, k), expected_logits, **PASS_TOLERANCES[dtype])


def test_tail_mask_ignores_overlapped_columns():
    """The last columns are read as a packet that overlaps columns already
    summed. Those columns contain values a million times larger than the
    rest, so counting them twice would show in the gradient."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((64, 20))
    X[:, :16] *= 1e6
    X[:, 16:] *= 1e-3
    params = rng.standard_normal(21) * 1e-7
    targets = (rng.uniform(size=64) > 0.5).astype(np.float64)
    loss_sum, grad = _core.linear_loss_and_gradient(
        params, X, targets, None, "logistic", 1
    )
    expected_loss, expected_grad = reference(
        "logistic", X, params, targets, np.ones(64), 1
    )
    assert_allclose(loss_sum, expected_loss, rtol=1e-11)
    assert_allclose(grad[16:], expected_grad[16:], rtol=1e-11, atol=1e-15)
    assert_allclose(grad, expected_grad, rtol=1e-11)


@pytest.mark.parametrize("loss", ["logistic", "softmax", "squared"])
def test_pass_without_weights_equals_unit_weights(loss):
    X, params, targets, _, k = make_problem(loss, np.float64, n_samples=300)
    unweighted = _core.linear_loss_and_gradient(params, X, targets, None, loss, k)
    unit = _core.linear_loss_and_gradient(params, X, targets, np.ones(300), loss, k)
    assert unweighted[0] == unit[0]
    assert_array_equal(unweighted[1], unit[1])


@pytest.mark.parametrize("loss", ["logistic", "softmax", "squared"])
def test_pass_gradient_matches_finite_differences(loss):
    X, params, targets, weights, k = make_problem(
        loss, np.float64, n_samples=50, n_features=3
    )
    _, grad = _core.linear_loss_and_gradient(params, X, targets, weights, loss, k)
    step = 1e-6
    numeric = np.empty_like(params)
    for i in range(params.size):
        plus, minus = params.copy(), params.copy()
        plus[i] += step
        minus[i] -= step
        f_plus = _core.linear_loss_and_gradient(plus, X, targets, weights, loss, k)[0]
        f_minus = _core.linear_loss_and_gradient(minus, X, targets, weights, loss, k)[0]
        numeric[i] = (f_plus - f_minus) / (2 * step)
    assert_allclose(grad, numeric, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("loss", ["logistic", "softmax", "squared"])
@pytest.mark.parametrize("shape", [(9000, 7), (1000, 300)])
def test_pass_bits_do_not_depend_on_thread_count(loss, dtype, shape):
    n_samples, n_features = shape
    X, params, targets, weights, k = make_problem(
        loss, dtype, n_samples=n_samples, n_features=n_features
    )
    results = [
        _core.linear_loss_and_gradient(
            params, X, targets, weights, loss, k, 1.0, n_threads
        )
        for n_threads in (1, 2, 4)
    ]
    for loss_sum, grad in results[1:]:
        assert loss_sum == results[0][0]
        assert_array_equal(grad, results[0][1])


def test_pass_with_huge_logits_stays_finite():
    X = np.array([[1e4], [-1e4], [1.0]])
    params = np.array([1.0, 0.0])
    targets = np.array([1.0, 0.0, 0.0])
    loss_sum, grad = _core.linear_loss_and_gradient(
        params, X, targets, None, "logistic", 1
    )
    assert np.isfinite(loss_sum)
    assert np.isfinite(grad).all()


def test_decision_function_matches_numpy(dtype, rng):
    X = rng.standard_normal((3000, 5)).astype(dtype)
    params = rng.standard_normal(4 * 6).astype(dtype)
    logits = _core.linear_decision_function(params, X, 4)
    expected = (
        X.astype(np.float64) @ params[:20].reshape(4, 5).T.astype(np.float64)
        + params[20:]
    )
    assert_allclose(logits, expected, **PASS_TOLERANCES[dtype])


def test_pass_rejects_class_index_out_of_range():
    with pytest.raises(
        ValueError, match=r"targets\[1\] = 5 is not a class index in \[0, 3\)"
    ):
        _core.linear_loss_and_gradient(
            np.zeros(3 * 3), np.zeros((2, 2)), np.array([0, 5]), None, "softmax", 3
        )


def test_pass_rejects_wrong_parameter_count():
    with pytest.raises(ValueError, match="params has 2 values; expected"):
        _core.linear_loss_and_gradient(
            np.zeros(2), np.zeros((2, 2)), np.zeros(2), None, "logistic", 1
        )


def test_pass_rejects_float64_params_with_float32_X():
    with pytest.raises(TypeError):
        _core.linear_loss_and_gradient(
            np.zeros(3),
            np.zeros((2, 2), dtype=np.float32),
            np.zeros(2),
            None,
            "logistic",
            1,
        )


@pytest.mark.parametrize("n_features", [1, 7, 19, 300])
def test_trainer_reports_norm_of_the_step_gradient(n_features, dtype):
    # One full-batch SGD step from w = 0: the reported gradient norm is that
    # of the pass's gradient (the L2 term is 0 at w = 0), summed in float64.
    rng = np.random.default_rng(n_features)
    X = rng.standard_normal((500, n_features)).astype(dtype)
    y = rng.integers(0, 3, 500)
    trainer_class = (
        _core.LinearTrainer32 if dtype == np.float32 else _core.LinearTrainer64
    )
    trainer = trainer_class(
        n_features=n_features,
        n_outputs=3,
        loss="softmax",
        fit_intercept=True,
        optimizer={"name": "sgd"},
        alpha=0.1,
        l1_ratio=0.0,
        seed=0,
    )
    result = trainer.fit(X, y, None, 0, 1, 0.0, 10, 0.1, 1, None)
    params = np.zeros(3 * (n_features + 1), dtype=dtype)
    _, grad = _core.linear_loss_and_gradient(
        params, X, y, None, "softmax", 3, 1.0 / 500
    )
    expected = np.sqrt(np.sum(grad.astype(np.float64) ** 2))
    assert_allclose(result["gradient_norm"], expected, rtol=1e-12)
