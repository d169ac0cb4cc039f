"""predict_log_proba of fitted classifiers on inputs that give huge logits."""

import warnings

import numpy as np
import pytest
from conftest import TOLERANCES
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning

from fastml import LogisticRegression
from fastml.neural_network import MLPClassifier

SCALES = [3e4, 1e6, 1e8, 1e16]


def reference_log_softmax(z):
    z = np.asarray(z, dtype=np.float64)
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def three_blobs(dtype, n_features=4, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((3, n_features)) * 3
    y = rng.integers(0, 3, 300)
    X = centers[y] + rng.standard_normal((300, n_features))
    return X.astype(dtype), y


def fit_quietly(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def tied_huge_inputs(model, n_features, dtype):
    """Return rows s * d whose logits are about s * [1, 1, 0] plus a constant.

    The logits of both models tested here are affine in X, so their matrix is
    probed from the logits at 0 and at each unit vector. Classes 0 and 1 then
    tie up to the constant, which keeps their log-probabilities of order 1
    while the logits themselves are as large as s.
    """
    basis = np.vstack([np.zeros(n_features), np.eye(n_features)]).astype(dtype)
    probed = np.asarray(model.decision_function(basis), dtype=np.float64)
    matrix = (probed[1:] - probed[0]).T
    direction = np.linalg.lstsq(matrix, np.array([1.0, 1.0, 0.0]), rcond=None)[0]
    return (np.array(SCALES)[:, np.newaxis] * direction).astype(dtype)


def check_log_proba_of_huge_logits(model, X_huge, result_dtype):
    logits = model.decision_function(X_huge)
    assert np.abs(logits).max() > 1e15
    expected = reference_log_softmax(logits)
    result = model.predict_log_proba(X_huge)
    assert result.dtype == result_dtype
    assert not np.isnan(result).any()
    assert_allclose(result, expected, **TOLERANCES[result_dtype])


def test_logistic_log_proba_huge_logits(dtype):
    X, y = three_blobs(dtype)
    model = fit_quietly(LogisticRegression(max_epochs=50), X, y)
    # LogisticRegression returns float64 log-probabilities for every dtype.
    X_huge = tied_huge_inputs(model, 4, dtype)
    check_log_proba_of_huge_logits(model, X_huge, np.float64)


def test_mlp_log_proba_huge_logits(dtype):
    X, y = three_blobs(dtype)
    model = MLPClassifier(
        hidden_layer_sizes=(5,), activation="linear", max_epochs=20, random_state=0
    )
    fit_quietly(model, X, y)
    check_log_proba_of_huge_logits(model, tied_huge_inputs(model, 4, dtype), dtype)


@pytest.mark.parametrize("estimator", ["logistic", "mlp"])
def test_log_proba_equal_huge_logits(estimator):
    # Equal weight rows and zero biases make the logits of a row equal, so
    # each log-probability is -log(3) however large the inputs are.
    X, y = three_blobs(np.float64)
    if estimator == "logistic":
        model = fit_quietly(LogisticRegression(max_epochs=5), X, y)
        model.coef_[...] = 0.0
        model.coef_[:, 0] = 1.0
        model.intercept_[...] = 0.0
    else:
        model = MLPClassifier(hidden_layer_sizes=(2,), max_epochs=5, random_state=0)
        fit_quietly(model, X, y)
        for name, values in model.layers_.items():
            values[...] = 1.0 if name.endswith("weight") else 0.0
    X_huge = np.zeros((len(SCALES), 4))
    X_huge[:, 0] = SCALES
    result = model.predict_log_proba(X_huge)
    assert_allclose(result, np.full((len(SCALES), 3), -np.log(3)), rtol=1e-15, atol=0)
