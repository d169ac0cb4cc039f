"""Stopping rules follow the scale of the problem.

tol is multiplied by min(1, the cost or gradient at zero parameters), so a
target or features on a small scale train as far as standardized ones
instead of stopping at the first check.
"""

import warnings

import numpy as np
import pytest

from sklearn.exceptions import ConvergenceWarning

from fastml import LinearRegression, LogisticRegression, MLPRegressor

TRUE_COEF = np.array([1.0, -2.0, 3.0])


def linear_data(scale):
    X = np.random.default_rng(0).standard_normal((200, 3))
    return X, scale * (X @ TRUE_COEF)


@pytest.mark.parametrize("scale", [1e-4, 1e-8, 1e-12])
def test_lbfgs_small_target_recovers_coef(scale):
    X, y = linear_data(scale)
    model = LinearRegression().fit(X, y)
    np.testing.assert_allclose(model.coef_ / scale, TRUE_COEF, rtol=1e-6)
    assert model.n_iter_ > 1


def test_lbfgs_large_target_recovers_coef():
    X, y = linear_data(1e4)
    model = LinearRegression().fit(X, y)
    np.testing.assert_allclose(model.coef_ / 1e4, TRUE_COEF, rtol=1e-6)


def test_sgd_small_target_trains_like_standard_one():
    X, y = linear_data(1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        small = LinearRegression(optimizer="sgd", max_epochs=2000).fit(X, y)
        unit = LinearRegression(optimizer="sgd", max_epochs=2000).fit(X, y / 1e-4)
    np.testing.assert_allclose(small.coef_ / 1e-4, unit.coef_, rtol=0.02)
    np.testing.assert_allclose(unit.coef_, TRUE_COEF, rtol=0.02)


def test_logistic_small_features_match_unit_features():
    # Without an intercept every coefficient has the features' scale; with
    # one, the problem is ill-conditioned, which standardizing fixes.
    rng = np.random.default_rng(1)
    X = rng.standard_normal((300, 3))
    y = (X @ TRUE_COEF + 0.5 * rng.standard_normal(300) > 0).astype(int)
    unit = LogisticRegression(penalty=None, fit_intercept=False).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="standardize them"):
        small = LogisticRegression(penalty=None, fit_intercept=False).fit(X * 1e-6, y)
    np.testing.assert_allclose(small.coef_ * 1e-6, unit.coef_, rtol=1e-4)


def messages_of(fit):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit()
    return [str(warning.message) for warning in caught]


def test_tiny_features_fit_by_lbfgs():
    # Without curvature pairs any descent slope is tried, however small.
    X, y = linear_data(1.0)
    with pytest.warns(ConvergenceWarning, match="largest root mean square"):
        model = LinearRegression().fit(X * 1e-4, y)
    np.testing.assert_allclose(model.coef_ * 1e-4, TRUE_COEF, rtol=1e-2)


@pytest.mark.parametrize(
    "make_model",
    [
        lambda: LinearRegression(),
        lambda: LogisticRegression(penalty=None),
        lambda: MLPRegressor(hidden_layer_sizes=(4,), max_epochs=2),
    ],
    ids=["linear", "logistic", "network"],
)
def test_tiny_features_warn(make_model):
    X, y = linear_data(1.0)
    target = y if "Logistic" not in type(make_model()).__name__ else (y > 0).astype(int)
    messages = messages_of(lambda: make_model().fit(X * 1e-8, target))
    assert any("largest root mean square of a feature is" in m for m in messages)


def test_small_target_warm_start_stops():
    X, y = linear_data(1e-8)
    model = LinearRegression(warm_start=True).fit(X, y)
    model.fit(X, y)
    assert model.n_iter_ <= 2


@pytest.mark.parametrize("scale", [1e8, 1e10])
def test_float32_large_target_fits(scale):
    # A first step of unit length changes a float32 cost of this size by less
    # than its rounding; L-BFGS then tries the step to a zero quadratic.
    X, y = linear_data(scale)
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    model = LinearRegression().fit(X32, y32)
    np.testing.assert_allclose(model.coef_ / scale, TRUE_COEF, rtol=1e-3)


@pytest.mark.parametrize("scale", [1e6, 1e15])
def test_large_target_gives_no_warning(scale):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((400, 5))
    y = scale * (X @ rng.standard_normal(5) + 0.5 + 0.1 * rng.standard_normal(400))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LinearRegression().fit(X, y)
