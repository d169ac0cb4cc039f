"""Warnings for estimator settings that fit ignores."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from fastml import LinearRegression, LogisticRegression, MLPClassifier, MLPRegressor
from fastml.optimizers import Adam, Momentum

ESTIMATORS = [LinearRegression, LogisticRegression, MLPClassifier, MLPRegressor]
IGNORED_RATE = "learning_rate=0.02 is ignored"


def binary_problem():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = (X[:, 0] - 0.5 * X[:, 1] > 0).astype(int)
    return X, y


def fit_without_convergence_warnings(model, X, y, method="fit"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return getattr(model, method)(X, y)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_rate_beside_optimizer_object_warns(estimator):
    X, y = binary_problem()
    model = estimator(optimizer=Adam(learning_rate=0.01), learning_rate=0.02)

    with pytest.warns(UserWarning, match=IGNORED_RATE) as record:
        fit_without_convergence_warnings(model.set_params(max_epochs=2), X, y)

    messages = [str(warning.message) for warning in record]
    assert len(messages) == 1, messages
    assert messages[0].startswith(f"{estimator.__name__}: learning_rate=0.02 ")
    assert "has its own learning_rate=0.01, which fit uses" in messages[0]
    assert "optimizer__learning_rate" in messages[0]
    assert record[0].filename == __file__


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_rate_beside_optimizer_object_warns_in_partial_fit(estimator):
    X, y = binary_problem()
    model = estimator(optimizer=Momentum(learning_rate=0.01), learning_rate=0.02)
    arguments = (
        {"classes": [0, 1]} if estimator in (LogisticRegression, MLPClassifier) else {}
    )

    with pytest.warns(UserWarning, match=IGNORED_RATE):
        model.partial_fit(X, y, **arguments)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_construction_and_set_params_do_not_warn(estimator):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = estimator(optimizer=Adam(learning_rate=0.01), learning_rate=0.02)
        model.set_params(learning_rate=0.7, optimizer__learning_rate=0.01)


@pytest.mark.parametrize("estimator", [LogisticRegression, MLPClassifier])
@pytest.mark.parametrize(
    "settings",
    [
        {"optimizer": Adam(learning_rate=0.01)},
        {"optimizer": Adam(learning_rate=0.02), "learning_rate": 0.02},
        {"optimizer": "adam", "learning_rate": 0.02},
    ],
    ids=["default rate", "same rate", "optimizer name"],
)
def test_used_rate_gives_no_warning(estimator, settings):
    X, y = binary_problem()
    model = estimator(max_epochs=2, **settings)

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*ignored.*")
        fit_without_convergence_warnings(model, X, y)


@pytest.mark.parametrize("estimator", [LogisticRegression, MLPClassifier])
def test_optimizer_object_rate_is_the_one_used(estimator):
    X, y = binary_problem()
    settings = dict(max_epochs=3, tol=0.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ignored = estimator(optimizer=Adam(0.01), learning_rate=0.02, **settings)
        fit_without_convergence_warnings(ignored, X, y)
    used = estimator(optimizer=Adam(0.01), **settings)
    fit_without_convergence_warnings(used, X, y)

    np.testing.assert_array_equal(
        ignored.decision_function(X), used.decision_function(X)
    )
