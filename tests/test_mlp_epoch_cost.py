"""Network training cost per epoch and the divergence warning.

The cost of an epoch is its mean loss plus the penalty of the parameters the
epoch started from. The references here are NumPy forward passes and
penalties of layers_ read between epochs.
"""

import warnings

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning

from fastml import MLPClassifier, MLPRegressor
from fastml.datasets import load_digits


def standardized_digits(n_samples=400):
    X, y = load_digits()
    X = (X - X.mean(axis=0)) / (X.std(axis=0) + 1)
    return X[:n_samples], y[:n_samples]


def penalty(layers, alpha, l1_ratio):
    """NumPy elastic-net penalty of every weight matrix, biases excluded."""
    weights = [value for name, value in layers.items() if name.endswith("weight")]
    l1 = sum(np.abs(w).sum() for w in weights)
    l2 = sum(np.square(w).sum() for w in weights)
    return alpha * (l1_ratio * l1 + (1 - l1_ratio) / 2 * l2)


def relu_network_logits(layers, X):
    n_layers = len(layers) // 2
    activations = X
    for i in range(n_layers):
        weight = layers[f"layers.{i}.weight"]
        bias = layers[f"layers.{i}.bias"]
        activations = activations @ weight.T + bias
        if i < n_layers - 1:
            activations = np.maximum(activations, 0)
    return activations


def softmax_cost(layers, X, y, alpha):
    """Mean softmax cross-entropy plus the L2 penalty, in float64."""
    logits = relu_network_logits(layers, X)
    losses = logsumexp(logits, axis=1) - logits[np.arange(len(y)), y]
    return losses.mean() + penalty(layers, alpha, 0.0)


def fit_quietly(model, *args, **kwargs):
    """Fit with a fixed epoch budget, ignoring the warning that it ran out."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(*args, **kwargs)


def copy_layers(model):
    return {name: value.copy() for name, value in model.layers_.items()}


SETTINGS = {
    "l2": dict(penalty="l2", alpha=1.0),
    "elasticnet": dict(penalty="elasticnet", alpha=0.3, l1_ratio=0.4),
}


def make_network(estimator, batch_size, penalty_name, **overrides):
    penalty_settings = SETTINGS[penalty_name]
    settings = dict(
        hidden_layer_sizes=(7,),
        optimizer="sgd",
        learning_rate=0.1,
        batch_size=batch_size,
        max_epochs=1,
        tol=0.0,
        random_state=0,
        **penalty_settings,
    )
    settings.update(overrides)
    return estimator(**settings)


def targets_for(estimator, X, y):
    return y if estimator is MLPClassifier else X[:, :3].sum(axis=1)


@pytest.mark.parametrize("penalty_name", list(SETTINGS))
@pytest.mark.parametrize("batch_size", [None, 32])
@pytest.mark.parametrize("estimator", [MLPClassifier, MLPRegressor])
def test_warm_fit_cost_uses_start_penalty(estimator, batch_size, penalty_name):
    X, y = standardized_digits()
    target = targets_for(estimator, X, y)
    model = make_network(estimator, batch_size, penalty_name)
    fit_quietly(model, X, target)
    start = copy_layers(model)
    fit_quietly(model.set_params(warm_start=True), X, target)

    settings = SETTINGS[penalty_name]
    l1_ratio = settings.get("l1_ratio", 0.0)
    expected = penalty(start, settings["alpha"], l1_ratio)
    end = penalty(model.layers_, settings["alpha"], l1_ratio)
    history = model.history_
    added = history["train_cost"][0] - history["train_loss"][0]
    np.testing.assert_allclose(added, expected, rtol=1e-10, atol=0)
    # The penalty moves by far more than the tolerance in one epoch, so the
    # check above fails for the penalty of the end of the epoch.
    assert abs(end - expected) > 1e-3 * expected


@pytest.mark.parametrize("penalty_name", list(SETTINGS))
@pytest.mark.parametrize("batch_size", [None, 32])
@pytest.mark.parametrize("estimator", [MLPClassifier, MLPRegressor])
def test_partial_fit_cost_uses_start_penalty(estimator, batch_size, penalty_name):
    X, y = standardized_digits()
    target = targets_for(estimator, X, y)
    model = make_network(estimator, batch_size, penalty_name)
    first_call = {"classes": np.unique(y)} if estimator is MLPClassifier else {}
    model.partial_fit(X, target, **first_call)

    settings = SETTINGS[penalty_name]
    for epoch in range(1, 4):
        start = copy_layers(model)
        model.partial_fit(X, target)
        expected = penalty(start, settings["alpha"], settings.get("l1_ratio", 0.0))
        history = model.history_
        added = history["train_cost"][epoch] - history["train_loss"][epoch]
        np.testing.assert_allclose(added, expected, rtol=1e-10, atol=0)


def test_multi_epoch_fit_matches_one_epoch_fits():
    # Full-batch SGD has no optimizer state and no shuffling, so three
    # one-epoch warm fits walk the same path as one fit of three epochs.
    X, y = standardized_digits()
    model = make_network(MLPClassifier, None, "l2", max_epochs=3)
    fit_quietly(model, X, y)
    stepwise = make_network(MLPClassifier, None, "l2", warm_start=True)
    costs = []
    for _ in range(3):
        fit_quietly(stepwise, X, y)
        costs.append(stepwise.history_["train_cost"][0])
    np.testing.assert_allclose(model.history_["train_cost"], costs, rtol=1e-12)


def test_full_batch_first_cost_is_start_cost():
    X, y = standardized_digits()
    model = make_network(MLPClassifier, None, "l2")
    fit_quietly(model, X, y)
    start = copy_layers(model)
    fit_quietly(model.set_params(warm_start=True), X, y)
    expected = softmax_cost(start, X, y, alpha=1.0)
    np.testing.assert_allclose(model.history_["train_cost"][0], expected, rtol=1e-10)


def iris():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(axis=0)) / X.std(axis=0), y


@pytest.mark.parametrize("batch_size", [200, 32])
def test_falling_high_cost_not_diverged(batch_size):
    # This seed starts at a cost of 2.5, above twice the log(3) of a zero
    # output layer, and the cost falls in every epoch.
    X, y = iris()
    model = MLPClassifier(
        hidden_layer_sizes=(5,),
        max_epochs=5,
        random_state=0,
        class_weight={0: 2.0},
        batch_size=batch_size,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y)
    messages = [str(warning.message) for warning in caught]
    costs = model.history_["train_cost"]
    assert costs[-1] > 2 * np.log(3)
    assert np.all(np.diff(costs) < 0)
    assert not any("diverged" in message for message in messages), messages
    assert any("did not converge in max_epochs=5" in message for message in messages)


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])
def test_huge_learning_rate_still_warns_diverged(optimizer):
    # A rate of 10 blows the cost up within the first mini-batch epoch, so
    # every reported epoch is far above the start, though it falls later.
    X, y = standardized_digits(n_samples=None)
    model = MLPClassifier(
        hidden_layer_sizes=(32,),
        optimizer=optimizer,
        learning_rate=10.0,
        batch_size=64,
        max_epochs=30,
        random_state=0,
    )
    with pytest.warns(
        ConvergenceWarning, match="it started from .* most likely diverged"
    ):
        model.fit(X, y)


def test_diverged_warning_reports_mini_batch_start_cost():
    X, y = standardized_digits()
    model = MLPClassifier(
        hidden_layer_sizes=(16,),
        optimizer="adam",
        learning_rate=10.0,
        batch_size=32,
        max_epochs=10,
        alpha=1e-3,
        random_state=0,
    )
    fit_quietly(model.set_params(max_epochs=1, learning_rate=1e-3), X, y)
    start = copy_layers(model)
    model.set_params(max_epochs=10, learning_rate=10.0, warm_start=True)
    with pytest.warns(ConvergenceWarning, match="most likely diverged") as caught:
        model.fit(X, y)
    message = str(caught[0].message)
    expected = softmax_cost(start, X, y, alpha=1e-3)
    assert f"above the {expected:.6g} it started from" in message


def test_regressor_stopping_above_zero_output_warns():
    # Targets a million times smaller than the first outputs: Adam's steps
    # cannot reach them, and the fit stops worse than predicting 0.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 3))
    y = 1e-6 * np.tanh(X @ np.array([1.0, -2.0, 3.0]))
    model = MLPRegressor(hidden_layer_sizes=(16,), random_state=0, max_epochs=200)
    with pytest.warns(ConvergenceWarning, match="worse than predicting 0"):
        model.fit(X, y)


def test_partial_fit_overflow_raises():
    X, y = standardized_digits()
    model = MLPClassifier(
        hidden_layer_sizes=(7,), optimizer="sgd", learning_rate=0.1, random_state=0
    )
    model.partial_fit(X.astype(np.float32), y, classes=np.unique(y))
    before = copy_layers(model)
    model.set_params(learning_rate=3e38)
    with pytest.raises(FloatingPointError, match="partial_fit"):
        model.partial_fit(X.astype(np.float32), y)
    for name, value in model.layers_.items():
        np.testing.assert_array_equal(value, before[name])


def test_partial_fit_run_away_cost_raises():
    # The cost stays finite (about 1e85), so only its rise shows the blow-up.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 5))
    y = (X @ rng.standard_normal(5) + 0.1 * rng.standard_normal(400) > 0).astype(int)
    model = MLPClassifier(
        optimizer="sgd", learning_rate=0.01, batch_size=20, random_state=0, max_epochs=5
    )
    fit_quietly(model, X, y)
    before = copy_layers(model)
    history = {key: list(values) for key, values in model.history_.items()}
    model.set_params(learning_rate=1000.0)
    with pytest.raises(FloatingPointError, match="training cost rose from"):
        model.partial_fit(X, y)
    for name, value in model.layers_.items():
        np.testing.assert_array_equal(value, before[name])
    assert model.history_ == history
