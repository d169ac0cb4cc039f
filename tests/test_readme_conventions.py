"""Checks of the output dtypes and the warm_start rule that README.md states."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from fastml import LinearRegression, LogisticRegression, MLPClassifier, MLPRegressor

# Per estimator and method: the output dtype for float32 and for float64 X,
# or "labels" for the dtype of classes_.
OUTPUT_DTYPES = {
    LogisticRegression: {
        "predict": "labels",
        "predict_proba": (np.float64, np.float64),
        "predict_log_proba": (np.float64, np.float64),
        "decision_function": (np.float32, np.float64),
    },
    LinearRegression: {"predict": (np.float32, np.float64)},
    MLPClassifier: {
        "predict": "labels",
        "predict_proba": (np.float32, np.float64),
        "predict_log_proba": (np.float32, np.float64),
        "decision_function": (np.float32, np.float64),
    },
    MLPRegressor: {"predict": (np.float32, np.float64)},
}
CASES = [
    (estimator, method, expected)
    for estimator, methods in OUTPUT_DTYPES.items()
    for method, expected in methods.items()
]


def quietly(function, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return function(*args)


def problem(estimator):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((90, 3))
    if estimator in (LinearRegression, MLPRegressor):
        return X, X @ np.array([1.0, -2.0, 0.5])
    labels = np.array(["low", "mid", "high"])
    return X, labels[np.arange(90) % 3]


@pytest.mark.parametrize("fit_dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "estimator, method, expected",
    CASES,
    ids=[f"{estimator.__name__}.{method}" for estimator, method, _ in CASES],
)
def test_output_dtype_follows_input(estimator, method, expected, fit_dtype):
    X, y = problem(estimator)
    model = quietly(estimator(max_epochs=3).fit, X.astype(fit_dtype), y)

    for index, input_dtype in enumerate([np.float32, np.float64, np.int64]):
        output = getattr(model, method)(X.astype(input_dtype))
        if expected == "labels":
            assert output.dtype == model.classes_.dtype
            continue
        # Every dtype other than float32 is converted to float64.
        assert output.dtype == expected[min(index, 1)], input_dtype


def test_multilabel_network_predicts_int64():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    Y = (X[:, :2] > 0).astype(int)
    model = quietly(MLPClassifier(max_epochs=3).fit, X, Y)

    assert model.predict(X.astype(np.float32)).dtype == np.int64
    assert model.predict(X).dtype == np.int64


def fitted_twice(estimator, epochs, settings):
    X, y = problem(estimator)
    model = estimator(max_epochs=epochs, warm_start=True, **settings)
    quietly(model.fit, X, y)
    return model, X, y


# n_iter_no_change above max_epochs, so that no fit stops early.
WARM_SETTINGS = dict(
    optimizer="adam", learning_rate=0.05, tol=0.0, n_iter_no_change=20, random_state=0
)


@pytest.mark.parametrize("estimator", [LinearRegression, LogisticRegression])
def test_linear_warm_start_keeps_optimizer_state(estimator):
    model, X, y = fitted_twice(estimator, 5, WARM_SETTINGS)
    quietly(model.fit, X, y)
    single = quietly(estimator(max_epochs=10, **WARM_SETTINGS).fit, X, y)

    assert single.n_iter_ == 10
    np.testing.assert_array_equal(model.coef_, single.coef_)
    np.testing.assert_array_equal(model.intercept_, single.intercept_)


@pytest.mark.parametrize("estimator", [MLPClassifier, MLPRegressor])
def test_network_warm_start_restarts_optimizer_state(estimator):
    settings = dict(WARM_SETTINGS, hidden_layer_sizes=(4,), batch_size=None)
    model, X, y = fitted_twice(estimator, 5, settings)
    restarted, _, _ = fitted_twice(estimator, 5, settings)
    # Without the kept trainer the next fit has to build fresh optimizer state.
    del restarted._trainer
    quietly(model.fit, X, y)
    quietly(restarted.fit, X, y)
    single = quietly(estimator(max_epochs=10, **settings).fit, X, y)

    for name, weights in model.layers_.items():
        np.testing.assert_array_equal(weights, restarted.layers_[name])
    assert any(
        not np.array_equal(weights, single.layers_[name])
        for name, weights in model.layers_.items()
    )
