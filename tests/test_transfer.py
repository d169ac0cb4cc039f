"""fine_tune: copied and frozen layers, a fresh output layer, the second phase."""

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from fastml.linear_model import LinearRegression, LogisticRegression
from fastml.neural_network import MLPClassifier, MLPRegressor
from fastml.transfer import fine_tune


@pytest.fixture(scope="module")
def source():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 4))
    y = np.argmax(X[:, :3], axis=1)
    model = MLPClassifier(
        hidden_layer_sizes=(6, 5),
        learning_rate=0.01,
        max_epochs=300,
        tol=1e-3,
        random_state=0,
    )
    return model.fit(X, y), X


def snapshot(model):
    return {name: array.copy() for name, array in model.layers_.items()}


def test_frozen_hidden_layers_are_copied_exactly(source):
    model, X = source
    before = snapshot(model)
    y_new = (X[:, 3] > 0).astype(int)
    with pytest.warns(ConvergenceWarning):
        tuned = fine_tune(model, X, y_new, max_epochs=20, tol=0.0)
    for name in [
        "layers.0.weight",
        "layers.0.bias",
        "layers.1.weight",
        "layers.1.bias",
    ]:
        assert np.array_equal(tuned.layers_[name], model.layers_[name]), name
    assert tuned.layers_["layers.2.weight"].shape == (1, 5)
    assert list(tuned.classes_) == [0, 1]
    assert tuned.freeze == "hidden"
    # The source model is not changed.
    for name, array in before.items():
        assert np.array_equal(model.layers_[name], array), name


def test_fine_tune_learns_new_task(source):
    model, X = source
    y_new = np.where(X[:, 0] > X[:, 1], "left", "right")
    tuned = fine_tune(model, X, y_new, learning_rate=0.05, max_epochs=300, tol=1e-3)
    assert tuned.score(X, y_new) > 0.85


def test_second_phase_moves_every_layer(source):
    model, X = source
    y_new = (X[:, 3] > 0).astype(int)
    with pytest.warns(ConvergenceWarning):
        tuned = fine_tune(
            model,
            X,
            y_new,
            max_epochs=10,
            tol=0.0,
            unfreeze_epochs=5,
            unfreeze_learning_rate=1e-3,
        )
    assert not np.array_equal(
        tuned.layers_["layers.0.weight"], model.layers_["layers.0.weight"]
    )
    assert tuned.n_iter_ == 15
    assert len(tuned.history_["train_loss"]) == 15
    assert tuned.get_params()["max_epochs"] == 10
    assert tuned.get_params()["warm_start"] is False


def test_keep_output_needs_same_classes(source):
    model, X = source
    with pytest.raises(
        ValueError, match="replace_output=False keeps the source's output layer"
    ):
        fine_tune(model, X, (X[:, 0] > 0).astype(int), replace_output=False)


def test_keep_output_starts_from_source_weights(source):
    model, X = source
    y = np.argmax(X[:, :3], axis=1)
    with pytest.warns(ConvergenceWarning):
        tuned = fine_tune(
            model, X, y, replace_output=False, freeze=[0, 1, 2], max_epochs=3
        )
    for name, array in model.layers_.items():
        assert np.array_equal(tuned.layers_[name], array), name


def test_regressor_fine_tune():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(100, 3))
    source = MLPRegressor(
        hidden_layer_sizes=(8,),
        learning_rate=0.01,
        max_epochs=300,
        tol=1e-3,
        random_state=0,
    ).fit(X, X[:, 0] - X[:, 1])
    tuned = fine_tune(
        source,
        X,
        np.stack([X[:, 0], X[:, 2]], axis=1),
        learning_rate=0.01,
        max_epochs=300,
        tol=1e-3,
    )
    assert tuned.predict(X).shape == (100, 2)
    assert np.array_equal(
        tuned.layers_["layers.0.weight"], source.layers_["layers.0.weight"]
    )


def test_invalid_unfreeze_epochs(source):
    model, X = source
    with pytest.raises(ValueError, match="unfreeze_epochs must be an int >= 0; got -1"):
        fine_tune(model, X, np.arange(150) % 2, unfreeze_epochs=-1)


@pytest.mark.parametrize("linear_class", [LogisticRegression, LinearRegression])
def test_linear_source_is_rejected(source, linear_class):
    _, X = source
    y = (X[:, 0] > 0).astype(int)
    linear = linear_class().fit(X, y)
    expected = "must be a fitted MLPClassifier or MLPRegressor"
    with pytest.raises(TypeError, match=expected):
        fine_tune(linear, X, y)
    with pytest.raises(TypeError, match=f"of type {linear_class.__name__}"):
        fine_tune(linear, X, y)


def test_unfitted_source_is_rejected(source):
    _, X = source
    with pytest.raises(NotFittedError):
        fine_tune(MLPClassifier(), X, np.arange(150) % 2)


@pytest.mark.parametrize("dtype", [str, object])
def test_regressor_source_rejects_labels(dtype):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 3))
    with pytest.warns(ConvergenceWarning):
        regressor = MLPRegressor(hidden_layer_sizes=(4,), max_epochs=5).fit(X, X[:, 0])
    labels = np.array(["no", "yes"], dtype=dtype)[(X[:, 1] > 0).astype(int)]
    with pytest.raises(
        ValueError, match=r"y must contain numbers; got labels such as \['no', 'yes'\]"
    ):
        fine_tune(regressor, X, labels)
