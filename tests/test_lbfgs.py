"""L-BFGS against scikit-learn's lbfgs solver on the same objective."""

import warnings

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from fastml import LinearRegression, LogisticRegression, _core
from fastml.datasets import load_breast_cancer, load_digits


def standardized(loader):
    X, y = loader()
    return (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0), y


def penalized_cost(coef, intercept, X, y, alpha):
    """Mean cross-entropy plus alpha / 2 * ||coef||^2, in float64."""
    coef = np.asarray(coef, dtype=np.float64)
    logits = X @ coef.T + np.asarray(intercept, dtype=np.float64)
    if coef.shape[0] == 1:
        z = logits[:, 0]
        loss = np.mean(np.logaddexp(0, z) - y * z)
    else:
        loss = np.mean(logsumexp(logits, axis=1) - logits[np.arange(len(y)), y])
    return loss + 0.5 * alpha * np.sum(coef**2)


@pytest.mark.parametrize(
    "loader", [load_breast_cancer, load_digits], ids=["breast_cancer", "digits"]
)
def test_lbfgs_matches_sklearn_optimum(loader):
    sklearn_linear_model = pytest.importorskip("sklearn.linear_model")
    X, y = standardized(loader)
    # scikit-learn minimizes C * sum(loss) + ||w||^2 / 2, which divided by
    # C * n is the mean loss plus alpha / 2 * ||w||^2 with alpha = 1 / (C * n).
    C = 1.0
    alpha = 1.0 / (C * len(y))
    # One BLAS thread: on a busy machine threaded BLAS makes this fit take
    # seconds instead of tens of milliseconds.
    with threadpool_limits(limits=1):
        reference = sklearn_linear_model.LogisticRegression(
            C=C, tol=1e-6, max_iter=5000
        ).fit(X, y)
    estimator = LogisticRegression(penalty="l2", alpha=alpha, tol=1e-6).fit(X, y)

    expected = penalized_cost(reference.coef_, reference.intercept_, X, y, alpha)
    cost = penalized_cost(estimator.coef_, estimator.intercept_, X, y, alpha)
    assert cost <= expected * (1 + 1e-6)
    assert expected <= cost * (1 + 1e-6)
    # Comparable work: scikit-learn 1.9 needs 33 (breast cancer) and 86
    # (digits) iterations here, fastml 33 and 87.
    assert estimator.n_iter_ <= 1.25 * reference.n_iter_[0] + 5


@pytest.mark.parametrize(
    "loader", [load_breast_cancer, load_digits], ids=["breast_cancer", "digits"]
)
def test_lbfgs_float32_reaches_float64_cost(loader):
    X, y = standardized(loader)
    alpha = 1.0 / len(y)
    exact = LogisticRegression(alpha=alpha).fit(X, y)
    single = LogisticRegression(alpha=alpha).fit(X.astype(np.float32), y)
    assert single.coef_.dtype == np.float32
    expected = penalized_cost(exact.coef_, exact.intercept_, X, y, alpha)
    cost = penalized_cost(single.coef_, single.intercept_, X, y, alpha)
    np.testing.assert_allclose(cost, expected, rtol=1e-5, atol=0)


def test_lbfgs_iteration_is_one_pass():
    X, y = standardized(load_breast_cancer)
    trainer = _core.LinearTrainer64(
        n_features=X.shape[1],
        n_outputs=1,
        loss="logistic",
        fit_intercept=True,
        optimizer={"name": "lbfgs"},
        alpha=1.0 / len(y),
    )
    result = trainer.fit(
        X,
        y.astype(np.float64),
        None,
        batch_size=0,
        max_epochs=1000,
        tol=1e-8,
        n_iter_no_change=5,
        learning_rate=0.01,
        n_threads=1,
    )
    assert result["converged"]
    # One pass at the start, then mostly one per iteration: the unit step
    # satisfies the Wolfe conditions in almost every iteration.
    assert result["n_evaluations"] <= 1.2 * result["n_epochs"] + 3


def test_lbfgs_least_squares_exact():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = X @ rng.normal(size=5) + 0.3 + 0.1 * rng.normal(size=200)
    estimator = LinearRegression(tol=1e-10).fit(X, y)
    design = np.column_stack([X, np.ones(len(X))])
    solution = np.linalg.lstsq(design, y, rcond=None)[0]
    # The cost changes with the square of the error, so stopping at 64
    # float64 epsilons of cost change leaves errors near 1e-8.
    np.testing.assert_allclose(estimator.coef_, solution[:5], rtol=0, atol=1e-7)
    np.testing.assert_allclose(estimator.intercept_, solution[5], rtol=0, atol=1e-7)
    assert estimator.n_iter_ <= 15


def test_lbfgs_warm_start_resumes_at_optimum():
    X, y = standardized(load_breast_cancer)
    estimator = LogisticRegression(warm_start=True).fit(X, y)
    first = estimator.n_iter_
    coef = estimator.coef_.copy()
    estimator.fit(X, y)
    assert first > 10
    assert estimator.n_iter_ <= 2
    np.testing.assert_allclose(estimator.coef_, coef, rtol=1e-6, atol=1e-8)


def test_lbfgs_separable_data_stays_finite():
    # Without a penalty, separable classes have no optimum: the weights grow
    # until the cost change falls below its rounding level or max_epochs
    # runs out, and nothing may overflow on the way.
    X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    y = np.array([0, 0, 1, 1])
    estimator = LogisticRegression(penalty=None, max_epochs=200)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimator.fit(X, y)
    assert np.all(np.isfinite(estimator.coef_))
    assert np.all(np.isfinite(estimator.history_["train_cost"]))
    assert estimator.coef_[0, 0] > 10
    assert all(issubclass(w.category, ConvergenceWarning) for w in caught)
    np.testing.assert_array_equal(estimator.predict(X), y)


@pytest.mark.parametrize(
    "settings, message",
    [
        (dict(batch_size=32), "batch_size must be None; got 32"),
        (dict(schedule="exponential"), "takes no learning-rate schedule"),
    ],
)
def test_lbfgs_rejects_unsupported_settings(settings, message):
    X, y = standardized(load_breast_cancer)
    estimator = LogisticRegression(optimizer="lbfgs", **settings)
    with pytest.raises(ValueError, match=message):
        estimator.fit(X, y)
    assert not hasattr(estimator, "coef_")


def test_lbfgs_sample_weight_equals_repetition():
    X, y = standardized(load_breast_cancer)
    X, y = X[:100], y[:100]
    weights = np.where(np.arange(100) % 3 == 0, 2.0, 1.0)
    weighted = LogisticRegression(tol=1e-10).fit(X, y, sample_weight=weights)
    repeated_rows = np.repeat(np.arange(100), weights.astype(int))
    repeated = LogisticRegression(tol=1e-10).fit(X[repeated_rows], y[repeated_rows])
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(
        weighted.intercept_, repeated.intercept_, rtol=1e-6, atol=1e-8
    )


def outlier_problem(outlier):
    """203 standard normal rows with one entry of X replaced by `outlier`."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((203, 7))
    y = (X[:, 0] > 0).astype(int)
    X[0, 0] = outlier
    return X, y


@pytest.mark.parametrize("outlier", [1e6, 1e12, 1e14])
def test_lbfgs_outlier_reaches_sklearn_optimum(outlier):
    """One huge entry of X makes the first useful steps about 1e-22 long,
    which the line search must reach by interpolation."""
    sklearn_linear_model = pytest.importorskip("sklearn.linear_model")
    X, y = outlier_problem(outlier)
    alpha = 1.0 / len(y)
    with threadpool_limits(limits=1):
        reference = sklearn_linear_model.LogisticRegression(
            C=1.0, tol=1e-8, max_iter=5000
        ).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        estimator = LogisticRegression(penalty="l2", alpha=alpha, tol=1e-6).fit(X, y)
    expected = penalized_cost(reference.coef_, reference.intercept_, X, y, alpha)
    cost = penalized_cost(estimator.coef_, estimator.intercept_, X, y, alpha)
    assert cost <= expected * (1 + 1e-6)


def test_lbfgs_l1_outlier_moves_off_zero():
    X, y = outlier_problem(1e12)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        estimator = LogisticRegression(penalty="l1", alpha=1e-3).fit(X, y)
    assert estimator.history_["train_cost"][-1] < 0.1
    assert estimator.coef_[0, 0] != 0


def test_lbfgs_stall_advice_fits_float64_input():
    X, y = outlier_problem(1e30)
    with pytest.warns(ConvergenceWarning, match="line search found no step") as record:
        LogisticRegression().fit(X, y)
    message = str(record[0].message)
    assert "use float64 input" not in message
    assert "standardize the features" in message


def test_lbfgs_ill_conditioned_least_squares_warns():
    """With a feature of 1e10 the cost stops changing at float64 precision
    long before the optimum: a silent return would look converged."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((203, 7))
    y = X @ np.arange(1.0, 8.0) + rng.standard_normal(203)
    X[0, 0] = 1e10
    with pytest.warns(ConvergenceWarning, match="far from the optimum"):
        LinearRegression().fit(X, y)
    X[0, 0] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        LinearRegression().fit(X, y)
