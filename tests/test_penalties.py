"""Penalties of the linear models against NumPy references and known optima.

The reference optimum of every model and penalty comes from FISTA
(accelerated proximal gradient) written here in NumPy and float64, run far
past convergence; its smooth gradient is checked by finite differences.
"""

import functools

import numpy as np
import pytest
from scipy.special import expit, logsumexp, softmax

from fastml import LinearRegression, LogisticRegression
from fastml.optimizers import AdamW, ExponentialDecay, InverseTimeDecay

OPTIMIZERS = [
    "sgd",
    "momentum",
    "nesterov",
    "adagrad",
    "rmsprop",
    "adam",
    "adamw",
    "lbfgs",
]
FIRST_ORDER = [name for name in OPTIMIZERS if name != "lbfgs"]
PENALTIES = {None: 0.0, "l2": 0.0, "l1": 1.0, "elasticnet": 0.5}
MODELS = ["squared", "logistic", "softmax"]
ALPHA = 0.1

# Stopping settings that let every optimizer settle: the gradient norm
# falls to 1e-12, or the cost fails to drop by 1e-12 for 200 epochs in a row.
SETTLE = dict(max_epochs=20000, tol=1e-12, n_iter_no_change=200)

# Settings under which each optimizer reaches the optimum of the small
# problems below. Adaptive rules oscillate at a constant rate, so they get a
# decaying one; AdamW runs without its decoupled decay, which would change
# the objective.
OPTIMIZER_SETTINGS = {
    "sgd": dict(optimizer="sgd", learning_rate=0.5),
    "momentum": dict(optimizer="momentum", learning_rate=0.1),
    "nesterov": dict(optimizer="nesterov", learning_rate=0.1),
    "adagrad": dict(optimizer="adagrad", learning_rate=0.5),
    "rmsprop": dict(
        optimizer="rmsprop",
        learning_rate=0.01,
        schedule=InverseTimeDecay(0.01),
        n_iter_no_change=1000,
    ),
    "adam": dict(
        optimizer="adam", learning_rate=0.05, schedule=ExponentialDecay(0.998)
    ),
    "adamw": dict(
        optimizer=AdamW(learning_rate=0.05, weight_decay=0.0),
        schedule=ExponentialDecay(0.998),
    ),
    "lbfgs": dict(optimizer="lbfgs"),
}

# Largest coefficient error against the reference. RMSprop's step stays near
# the learning rate in size however small the gradient, so it hovers around
# the optimum at a distance set by the decayed rate.
ATOL = {"rmsprop": 1e-3}
DEFAULT_ATOL = 2e-5


def make_problem(model, n_samples=40, seed=1):
    """Standardized X of 3 features, the third irrelevant, and targets for ``model``."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, 3))
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    signal = X @ np.array([1.5, -1.0, 0.0]) + 0.3
    if model == "squared":
        y = signal + 0.5 * rng.normal(size=n_samples)
    elif model == "logistic":
        y = (signal + 2 * rng.normal(size=n_samples) > 0).astype(np.int64)
    else:
        y = np.digitize(signal + 1.5 * rng.normal(size=n_samples), [-0.8, 0.8])
    return X, y


def smooth_cost_and_gradient(model, X, y, coef, intercept, l2):
    """Mean loss plus (l2 / 2) * ||coef||^2, and its gradient, in float64."""
    n_samples = X.shape[0]
    logits = X @ coef.T + intercept
    if model == "squared":
        residual = logits - y[:, None]
        loss = 0.5 * np.sum(residual**2) / n_samples
    elif model == "logistic":
        z = logits[:, 0]
        loss = np.mean(np.logaddexp(0, z) - y * z)
        residual = (expit(z) - y)[:, None]
    else:
        loss = np.mean(logsumexp(logits, axis=1) - logits[np.arange(n_samples), y])
        residual = softmax(logits, axis=1)
        residual[np.arange(n_samples), y] -= 1
    cost = loss + 0.5 * l2 * np.sum(coef**2)
    return cost, residual.T @ X / n_samples + l2 * coef, residual.mean(axis=0)


def n_outputs(model):
    return 3 if model == "softmax" else 1


@functools.lru_cache(maxsize=None)
def reference_optimum(model, penalty):
    """FISTA on the composite objective from zero, until an iteration moves < 1e-14."""
    X, y = make_problem(model)
    alpha = ALPHA if penalty is not None else 0.0
    l1 = alpha * PENALTIES[penalty]
    l2 = alpha - l1
    curvature = {"squared": 1.0, "logistic": 0.25, "softmax": 0.5}[model]
    lipschitz = curvature * (np.linalg.eigvalsh(X.T @ X / len(X)).max() + 1) + l2
    coef = np.zeros((n_outputs(model), X.shape[1]))
    intercept = np.zeros(n_outputs(model))
    coef_m, intercept_m, t = coef.copy(), intercept.copy(), 1.0
    for _ in range(50000):
        _, grad_coef, grad_intercept = smooth_cost_and_gradient(
            model, X, y, coef_m, intercept_m, l2
        )
        step = coef_m - grad_coef / lipschitz
        new_coef = np.sign(step) * np.maximum(np.abs(step) - l1 / lipschitz, 0)
        new_intercept = intercept_m - grad_intercept / lipschitz
        t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
        coef_m = new_coef + (t - 1) / t_next * (new_coef - coef)
        intercept_m = new_intercept + (t - 1) / t_next * (new_intercept - intercept)
        change = max(
            np.abs(new_coef - coef).max(), np.abs(new_intercept - intercept).max()
        )
        coef, intercept, t = new_coef, new_intercept, t_next
        if change < 1e-14:
            break
    return coef, intercept


def identifiable(model, coef, intercept, penalty):
    """Softmax is unchanged by a common shift of every class's logit: remove it."""
    coef = np.atleast_2d(coef).astype(np.float64)
    intercept = np.atleast_1d(intercept).astype(np.float64)
    if model == "softmax":
        intercept = intercept - intercept.mean()
        if penalty is None:
            coef = coef - coef.mean(axis=0)
    return coef, intercept


def make_estimator(model, penalty, optimizer, **extra):
    estimator_class = LinearRegression if model == "squared" else LogisticRegression
    settings = dict(SETTLE, **OPTIMIZER_SETTINGS[optimizer])
    settings.update(extra)
    # Only the settings the penalty uses: the others would give a warning.
    if penalty is not None:
        settings["alpha"] = ALPHA
    if penalty == "elasticnet":
        settings["l1_ratio"] = 0.5
    return estimator_class(penalty=penalty, **settings)


@pytest.mark.parametrize("model", MODELS)
def test_reference_gradient_matches_finite_differences(model):
    X, y = make_problem(model)
    rng = np.random.default_rng(0)
    coef = rng.normal(size=(n_outputs(model), 3))
    intercept = rng.normal(size=n_outputs(model))
    _, grad_coef, grad_intercept = smooth_cost_and_gradient(
        model, X, y, coef, intercept, 0.3
    )
    h = 1e-6
    for index in np.ndindex(coef.shape):
        shifted = coef.copy()
        shifted[index] += h
        up = smooth_cost_and_gradient(model, X, y, shifted, intercept, 0.3)[0]
        shifted[index] -= 2 * h
        down = smooth_cost_and_gradient(model, X, y, shifted, intercept, 0.3)[0]
        np.testing.assert_allclose(
            grad_coef[index], (up - down) / (2 * h), rtol=1e-6, atol=1e-8
        )
    for k in range(len(intercept)):
        shifted = intercept.copy()
        shifted[k] += h
        up = smooth_cost_and_gradient(model, X, y, coef, shifted, 0.3)[0]
        shifted[k] -= 2 * h
        down = smooth_cost_and_gradient(model, X, y, coef, shifted, 0.3)[0]
        np.testing.assert_allclose(
            grad_intercept[k], (up - down) / (2 * h), rtol=1e-6, atol=1e-8
        )


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("penalty", list(PENALTIES), ids=str)
@pytest.mark.parametrize("model", MODELS)
def test_optimizer_reaches_known_optimum(model, penalty, optimizer):
    X, y = make_problem(model)
    estimator = make_estimator(model, penalty, optimizer)
    estimator.fit(X, y)

    expected_coef, expected_intercept = identifiable(
        model, *reference_optimum(model, penalty), penalty
    )
    coef, intercept = identifiable(
        model, estimator.coef_, estimator.intercept_, penalty
    )
    atol = ATOL.get(optimizer, DEFAULT_ATOL)
    np.testing.assert_allclose(coef, expected_coef, rtol=0, atol=atol)
    np.testing.assert_allclose(intercept, expected_intercept, rtol=0, atol=atol)
    # L1 zeros are exact: the same entries are 0.0 as in the proximal reference.
    np.testing.assert_array_equal(coef == 0, expected_coef == 0)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_intercept_not_penalized_logistic(optimizer):
    # Ten rows of x = 0, seven labelled 1: the weight is 0 and the intercept
    # log(7/3), whatever the L2 strength. Penalizing the intercept as well
    # would give about 2e-6 at alpha = 1e5.
    X = np.zeros((10, 1))
    y = np.array([1] * 7 + [0] * 3)
    settings = dict(SETTLE, **OPTIMIZER_SETTINGS[optimizer])
    estimator = LogisticRegression(penalty="l2", alpha=1e5, **settings).fit(X, y)
    assert estimator.coef_[0, 0] == 0.0
    np.testing.assert_allclose(
        estimator.intercept_[0], np.log(7 / 3), rtol=0, atol=1e-5
    )


@pytest.mark.parametrize("penalty", ["l2", "l1", "elasticnet"])
def test_intercept_not_penalized_regression(penalty):
    # With a penalty this strong the coefficients (nearly) vanish, and an
    # unpenalized intercept is mean(y) - mean(X) @ coef, close to mean(y).
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2))
    y = 5.0 + 0.1 * rng.normal(size=30)
    optimizer = "lbfgs" if penalty == "l2" else "sgd"
    estimator = LinearRegression(
        penalty=penalty, alpha=1e4, optimizer=optimizer, learning_rate=1e-5
    )
    estimator.fit(X, y)
    if penalty == "l2":
        np.testing.assert_allclose(estimator.coef_, 0.0, rtol=0, atol=1e-5)
    else:
        np.testing.assert_array_equal(estimator.coef_, 0.0)
    expected = y.mean() - X.mean(axis=0) @ estimator.coef_
    np.testing.assert_allclose(estimator.intercept_, expected, rtol=1e-12)


@pytest.mark.parametrize("optimizer", ["lbfgs", "sgd", "adam"])
def test_intercept_not_penalized_softmax(optimizer):
    # All-zero features: the intercepts alone model the class frequencies,
    # log(p_k) up to a common shift, however strong the L2 penalty.
    labels = np.array([0] * 15 + [1] * 10 + [2] * 5)
    settings = dict(SETTLE, **OPTIMIZER_SETTINGS[optimizer])
    estimator = LogisticRegression(penalty="l2", alpha=1e4, **settings)
    estimator.fit(np.zeros((30, 2)), labels)
    log_frequencies = np.log([15 / 30, 10 / 30, 5 / 30])
    np.testing.assert_array_equal(estimator.coef_, 0.0)
    np.testing.assert_allclose(
        estimator.intercept_ - estimator.intercept_.mean(),
        log_frequencies - log_frequencies.mean(),
        rtol=0,
        atol=1e-5,
    )


LASSO_X = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])
LASSO_Y = np.array([2.1, 1.9, -1.9, -2.1])


@pytest.mark.parametrize("optimizer", FIRST_ORDER)
def test_l1_gives_exact_zeros(optimizer):
    # (1/2n)||y - Xw - b||^2 + 0.2 ||w||_1 has the solution w = [1.8, 0], b = 0.
    settings = dict(SETTLE, **OPTIMIZER_SETTINGS[optimizer])
    estimator = LinearRegression(penalty="l1", alpha=0.2, **settings).fit(
        LASSO_X, LASSO_Y
    )
    assert estimator.coef_[1] == 0.0
    np.testing.assert_allclose(estimator.coef_[0], 1.8, rtol=0, atol=1e-5)
    np.testing.assert_allclose(estimator.intercept_, 0.0, rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    "l1_ratio, expected",
    [(1.0, [1.8, 0.0]), (0.0, [5 / 3, 1 / 12]), (0.5, [19 / 11, 0.0])],
)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_elastic_net_mixes_l1_and_l2(optimizer, l1_ratio, expected):
    # alpha * rho * ||w||_1 + alpha * (1 - rho) / 2 * ||w||^2 with alpha = 0.2.
    settings = dict(SETTLE, **OPTIMIZER_SETTINGS[optimizer])
    estimator = LinearRegression(
        penalty="elasticnet", alpha=0.2, l1_ratio=l1_ratio, **settings
    )
    estimator.fit(LASSO_X, LASSO_Y)
    atol = ATOL.get(optimizer, 1e-5)
    np.testing.assert_allclose(estimator.coef_, expected, rtol=0, atol=atol)
    if l1_ratio == 1.0:
        assert estimator.coef_[1] == 0.0
    if l1_ratio == 0.5:
        # The second weight's data gradient, -0.1, equals the L1 threshold
        # alpha * rho = 0.1 exactly, so rounding decides whether the weight
        # is exactly 0 or a few ulps away.
        assert abs(estimator.coef_[1]) <= 1e-9


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("l1_ratio", [0.0, 0.5, 1.0])
def test_one_sgd_epoch_is_proximal_gradient_step(l1_ratio, dtype):
    # One full-batch SGD epoch from w0 is soft_threshold(w0 - lr * grad, lr * lambda).
    X, y = make_problem("logistic")
    X = X.astype(dtype)
    rate, alpha = 0.7, 0.3
    estimator = LogisticRegression(
        penalty="elasticnet",
        alpha=alpha,
        l1_ratio=l1_ratio,
        optimizer="sgd",
        learning_rate=rate,
        fit_intercept=False,
    )
    estimator.partial_fit(X, y, classes=[0, 1])
    estimator.partial_fit(X, y)
    w0 = estimator.coef_.astype(np.float64)
    estimator.partial_fit(X, y)

    l2 = alpha * (1 - l1_ratio)
    _, grad, _ = smooth_cost_and_gradient(
        "logistic", X.astype(np.float64), y, w0, np.zeros(1), l2
    )
    step = w0 - rate * grad
    expected = np.sign(step) * np.maximum(np.abs(step) - rate * alpha * l1_ratio, 0)
    tolerance = 1e-12 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(
        estimator.coef_, expected, rtol=tolerance, atol=tolerance
    )
    np.testing.assert_array_equal(estimator.coef_ == 0, expected == 0)


def test_history_cost_is_loss_plus_penalty():
    X, y = make_problem("logistic")
    estimator = LogisticRegression(
        penalty="elasticnet",
        alpha=0.3,
        l1_ratio=0.4,
        optimizer="sgd",
        learning_rate=0.5,
        fit_intercept=False,
    )
    estimator.partial_fit(X, y, classes=[0, 1])
    coef = estimator.coef_.astype(np.float64)
    estimator.partial_fit(X, y)
    # Full-batch entries describe the parameters the epoch started from.
    loss, _, _ = smooth_cost_and_gradient("logistic", X, y, coef, np.zeros(1), 0.0)
    penalty = 0.3 * (0.4 * np.abs(coef).sum() + 0.6 / 2 * np.sum(coef**2))
    np.testing.assert_allclose(estimator.history_["train_loss"][-1], loss, rtol=1e-12)
    np.testing.assert_allclose(
        estimator.history_["train_cost"][-1], loss + penalty, rtol=1e-12
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_owlqn_gives_exact_zeros(dtype):
    # L-BFGS with an L1 part runs OWL-QN, whose orthant projection leaves
    # the irrelevant third weight at exactly 0.
    X, y = make_problem("logistic")
    estimator = LogisticRegression(
        penalty="l1", alpha=ALPHA, optimizer="lbfgs", tol=1e-10
    )
    estimator.fit(X.astype(dtype), y)
    expected_coef, expected_intercept = reference_optimum("logistic", "l1")
    # float32 losses carry rounding near 1e-8 of the cost, so the line search
    # cannot see cost decreases below that: a coefficient error e costs about
    # curvature * e^2, which leaves e near 1e-4 here.
    tolerance = 1e-6 if dtype == np.float64 else 1e-3
    np.testing.assert_allclose(estimator.coef_, expected_coef, rtol=0, atol=tolerance)
    np.testing.assert_allclose(
        estimator.intercept_, expected_intercept, rtol=0, atol=tolerance
    )
    np.testing.assert_array_equal(estimator.coef_ == 0, expected_coef == 0)
    assert estimator.n_iter_ < 50


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_intercept_stays_zero_without_fit_intercept(optimizer):
    # With fit_intercept=False the intercept is never handed to the
    # optimizer, so neither momentum, AdamW's decoupled decay nor the
    # penalty can move it, across partial_fit calls included.
    X, y = make_problem("softmax")
    settings = dict(OPTIMIZER_SETTINGS[optimizer], max_epochs=500, tol=1e-4)
    if optimizer == "adamw":
        settings["optimizer"] = AdamW(learning_rate=0.05, weight_decay=0.5)
    estimator = LogisticRegression(
        penalty="l2", alpha=0.1, fit_intercept=False, **settings
    )
    estimator.fit(X, y)
    np.testing.assert_array_equal(estimator.intercept_, 0.0)
    assert np.all(estimator.coef_ != 0)
    estimator.partial_fit(X, y)
    np.testing.assert_array_equal(estimator.intercept_, 0.0)
