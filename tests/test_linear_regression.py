"""LinearRegression against closed forms and scikit-learn's linear models."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastml import LinearRegression
from fastml.datasets import load_diabetes


def standardized_diabetes():
    X, y = load_diabetes()
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def least_squares(X, y):
    design = np.column_stack([X, np.ones(len(X))])
    solution = np.linalg.lstsq(design, y, rcond=None)[0]
    return solution[:-1], solution[-1]


MINI_BATCH = LinearRegression(
    optimizer="momentum", learning_rate=0.01, batch_size=16, tol=1e-3, random_state=0
)


def expected_failed_checks(estimator):
    if estimator.batch_size is None:
        return {}
    return {
        "check_sample_weight_equivalence_on_dense_data": (
            "mini-batches drawn from weighted rows differ from mini-batches drawn "
            "from repeated rows, so the stochastic paths and their end points differ"
        ),
    }


# scikit-learn's checks set alpha=0.01 on regressors that have one, which the
# default penalty=None ignores with a warning.
@pytest.mark.filterwarnings("ignore:LinearRegression. penalty=None ignores:UserWarning")
@parametrize_with_checks(
    [LinearRegression(), MINI_BATCH], expected_failed_checks=expected_failed_checks
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_full_batch_gd_reaches_least_squares():
    X, y = standardized_diabetes()
    estimator = LinearRegression(
        optimizer="sgd",
        learning_rate=0.45,
        max_epochs=20000,
        tol=1e-14,
        n_iter_no_change=20,
    )
    estimator.fit(X, y)
    coef, intercept = least_squares(X, y)
    # The smallest eigenvalue of X^T X / m is 0.0086, so a cost that has
    # stopped falling by 1e-14 per epoch still leaves about 1e-5 along its
    # eigenvector. Centring makes the intercept exact.
    np.testing.assert_allclose(estimator.coef_, coef, rtol=0, atol=1e-4)
    np.testing.assert_allclose(estimator.intercept_, intercept, rtol=1e-10)


@pytest.mark.parametrize(
    "dtype, coef_atol, intercept_atol",
    [(np.float64, 1e-8, 1e-8), (np.float32, 1e-4, 1e-3)],
)
def test_badly_scaled_float32_matches_float64(dtype, coef_atol, intercept_atol):
    # Features between 1000 and 10000 make the intercept direction dominate
    # an uncentred problem; centring inside the solver lets float32 reach
    # the float64 solution.
    X = np.random.default_rng(0).integers(1000, 10000, (2000, 3)).astype(np.float64)
    y = 3 * X[:, 0] + X[:, 1] - 5 * X[:, 2] + 2
    estimator = LinearRegression(tol=1e-10).fit(X.astype(dtype), y.astype(dtype))
    assert estimator.coef_.dtype == dtype
    np.testing.assert_allclose(
        estimator.coef_, [3.0, 1.0, -5.0], rtol=0, atol=coef_atol
    )
    np.testing.assert_allclose(estimator.intercept_, 2.0, rtol=0, atol=intercept_atol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_badly_scaled_data_with_sgd(dtype):
    # Centring keeps first-order optimizers exact too, given a rate below
    # 2 / (largest eigenvalue of the centred covariance, about 6.8e6).
    X = np.random.default_rng(0).integers(1000, 10000, (2000, 3)).astype(np.float64)
    y = 3 * X[:, 0] + X[:, 1] - 5 * X[:, 2] + 2
    estimator = LinearRegression(
        optimizer="sgd", learning_rate=2e-7, max_epochs=5000, tol=1e-8
    )
    estimator.fit(X.astype(dtype), y.astype(dtype))
    np.testing.assert_allclose(estimator.coef_, [3.0, 1.0, -5.0], rtol=0, atol=1e-3)
    np.testing.assert_allclose(estimator.intercept_, 2.0, rtol=0, atol=1e-1)


def test_ridge_matches_sklearn():
    sklearn_linear_model = pytest.importorskip("sklearn.linear_model")
    X, y = standardized_diabetes()
    m = len(y)
    reference = sklearn_linear_model.Ridge(alpha=10.0).fit(X, y)
    for optimizer in ["lbfgs", "sgd"]:
        # Ridge(alpha=a) minimizes ||r||^2 + a ||w||^2, fastml 1/(2m) ||r||^2
        # + alpha / 2 ||w||^2: the same with alpha = a / m.
        estimator = LinearRegression(
            penalty="l2",
            alpha=10.0 / m,
            optimizer=optimizer,
            learning_rate=0.3,
            max_epochs=20000,
            tol=1e-12,
            n_iter_no_change=50,
        ).fit(X, y)
        np.testing.assert_allclose(estimator.coef_, reference.coef_, rtol=0, atol=1e-4)
        np.testing.assert_allclose(
            estimator.intercept_, reference.intercept_, rtol=0, atol=1e-4
        )


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5, 0.2])
@pytest.mark.parametrize("optimizer", ["sgd", "nesterov", "lbfgs"])
def test_lasso_and_elastic_net_match_sklearn(optimizer, l1_ratio):
    sklearn_linear_model = pytest.importorskip("sklearn.linear_model")
    X, y = standardized_diabetes()
    # Lasso and ElasticNet minimize 1/(2m) ||r||^2 + a * rho * ||w||_1
    # + a * (1 - rho) / 2 * ||w||^2, fastml's objective with alpha = a.
    if l1_ratio == 1.0:
        reference = sklearn_linear_model.Lasso(alpha=1.0, tol=1e-12, max_iter=100000)
    else:
        reference = sklearn_linear_model.ElasticNet(
            alpha=1.0, l1_ratio=l1_ratio, tol=1e-12, max_iter=100000
        )
    reference.fit(X, y)
    estimator = LinearRegression(
        penalty="elasticnet",
        alpha=1.0,
        l1_ratio=l1_ratio,
        optimizer=optimizer,
        learning_rate=0.1,
        max_epochs=50000,
        tol=1e-12,
        n_iter_no_change=50,
    ).fit(X, y)
    np.testing.assert_allclose(estimator.coef_, reference.coef_, rtol=0, atol=1e-4)
    np.testing.assert_allclose(
        estimator.intercept_, reference.intercept_, rtol=0, atol=1e-4
    )
    np.testing.assert_array_equal(estimator.coef_ == 0, reference.coef_ == 0)


def test_coef_shapes_follow_y():
    X, y = standardized_diabetes()
    single = LinearRegression(tol=1e-10).fit(X, y)
    assert single.coef_.shape == (10,)
    assert np.ndim(single.intercept_) == 0
    assert single.predict(X).shape == (442,)

    targets = np.column_stack([y, 2 * y + 1])
    multi = LinearRegression(tol=1e-10).fit(X, targets)
    assert multi.coef_.shape == (2, 10)
    assert multi.intercept_.shape == (2,)
    assert multi.predict(X).shape == (442, 2)
    np.testing.assert_allclose(multi.coef_[0], single.coef_, rtol=1e-4, atol=0)
    np.testing.assert_allclose(multi.coef_[1], 2 * single.coef_, rtol=1e-4, atol=0)

    column = LinearRegression().fit(X, y[:, None])
    assert column.coef_.shape == (1, 10)


def test_score_is_r_squared():
    X, y = standardized_diabetes()
    estimator = LinearRegression().fit(X, y)
    residual = y - estimator.predict(X)
    expected = 1 - np.sum(residual**2) / np.sum((y - y.mean()) ** 2)
    np.testing.assert_allclose(estimator.score(X, y), expected, rtol=1e-12)


def test_fit_intercept_false_passes_origin():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3)) + 5.0
    y = X @ np.array([1.0, -2.0, 0.5])
    estimator = LinearRegression(fit_intercept=False, tol=1e-10).fit(X, y)
    assert estimator.intercept_ == 0.0
    np.testing.assert_allclose(estimator.coef_, [1.0, -2.0, 0.5], rtol=0, atol=1e-7)


def test_pickle_round_trip():
    X, y = standardized_diabetes()
    estimator = LinearRegression(optimizer="momentum", learning_rate=0.1).fit(X, y)
    restored = pickle.loads(pickle.dumps(estimator))
    np.testing.assert_array_equal(restored.predict(X), estimator.predict(X))
    restored.partial_fit(X, y)
    assert restored.n_iter_ == estimator.n_iter_ + 1


@pytest.mark.parametrize("y", [["a", "b", "c"], np.array([1.0, "x", 2.0], dtype=object)])
def test_strings_in_y_are_rejected_by_name(y):
    with pytest.raises(ValueError, match="y must contain only numbers.*could not convert"):
        LinearRegression().fit([[1.0], [2.0], [3.0]], y)


def test_strings_in_y_val_are_rejected_by_name():
    with pytest.raises(ValueError, match="y_val must contain only numbers"):
        LinearRegression().fit([[1.0], [2.0]], [1.0, 2.0], X_val=[[1.0]], y_val=["q"])


def test_huge_targets_fail_with_advice_about_the_target():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3))
    y = X @ np.array([1.0, 2.0, 3.0]) * 1e300
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's overflow warning must not leak
        with pytest.raises(FloatingPointError) as raised:
            LinearRegression().fit(X, y)
    message = str(raised.value)
    assert "standardize the features and the target" in message
    assert "class_weight" not in message


def test_targets_beyond_float32_are_rejected_for_float32_X():
    X = np.random.default_rng(0).standard_normal((20, 2)).astype(np.float32)
    with pytest.raises(ValueError, match=r"y has values of magnitude up to .*beyond the range of float32"):
        LinearRegression().fit(X, np.linspace(-1e300, 1e300, 20))


def test_target_mean_overflow_is_reported_without_numpy_warnings():
    X = np.random.default_rng(0).standard_normal((20, 2))
    y = np.full(20, 1.7e308)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="the mean of y overflows float64"):
            LinearRegression().fit(X, y)


@pytest.mark.parametrize(
    "fit_arguments, name",
    [
        (dict(y=np.tile([3.4e38, -3.4e38, 3.4e38], 10)), "y minus its mean"),
        (dict(X_val="first five rows", y_val=np.full(5, 1e39)), "y_val"),
    ],
    ids=["centred y", "y_val"],
)
def test_float32_range_of_centred_targets(fit_arguments, name):
    X = np.random.default_rng(0).standard_normal((30, 3)).astype(np.float32)
    arguments = dict(y=X[:, 0].astype(np.float64))
    arguments.update(fit_arguments)
    if "X_val" in arguments:
        arguments["X_val"] = X[:5]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=f"{name} has values of magnitude up to"):
            LinearRegression().fit(X, **arguments)
