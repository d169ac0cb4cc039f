"""fine_tune: copied and frozen layers, a fresh output layer, the second phase."""

import copy
import warnings

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
    # The hidden layers are frozen and the output layer barely moves, so
    # every layer must still be the source's.
    with pytest.warns(ConvergenceWarning):
        tuned = fine_tune(
            model,
            X,
            y,
            replace_output=False,
            freeze=[0, 1],
            optimizer="sgd",
            learning_rate=1e-12,
            max_epochs=1,
        )
    for name, array in model.layers_.items():
        if name.startswith("layers.2."):
            np.testing.assert_allclose(tuned.layers_[name], array, rtol=0, atol=1e-9)
        else:
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


@pytest.mark.parametrize("warm_start", [True, False])
def test_warm_start_argument_is_rejected(source, warm_start):
    model, X = source
    before = snapshot(model)
    with pytest.raises(ValueError, match=f"sets warm_start itself; got warm_start={warm_start}"):
        fine_tune(model, X, np.arange(150) % 2, warm_start=warm_start)
    for name, array in snapshot(model).items():
        np.testing.assert_array_equal(array, before[name])


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


def test_other_feature_count_rejected(source, monkeypatch):
    model, X = source
    monkeypatch.setattr(
        MLPClassifier, "fit", lambda *args, **kwargs: pytest.fail("fit was called")
    )
    y = np.argmax(X[:, :3], axis=1)
    expected = (
        r"fine_tune: X has 3 features, but the source MLPClassifier was trained on "
        r"4, .* Pass X with the source's 4 features"
    )
    with pytest.raises(ValueError, match=expected) as error:
        fine_tune(model, X[:, :3], y)
    assert "warm_start" not in str(error.value)


@pytest.mark.parametrize("sizes", [(4,), (6, 5, 3), 6])
def test_changed_hidden_layer_sizes_are_rejected(source, monkeypatch, sizes):
    model, X = source
    monkeypatch.setattr(
        MLPClassifier, "fit", lambda *args, **kwargs: pytest.fail("fit was called")
    )
    y = np.argmax(X[:, :3], axis=1)
    with pytest.raises(ValueError) as error:
        fine_tune(model, X, y, hidden_layer_sizes=sizes)
    message = str(error.value)
    assert "the source's fitted hidden layers have sizes (6, 5)" in message
    assert f"hidden_layer_sizes={sizes!r} was passed" in message
    assert "do not change hidden_layer_sizes" in message
    assert "warm_start" not in message


def test_same_hidden_layer_sizes_are_accepted(source):
    model, X = source
    y = np.argmax(X[:, :3], axis=1)
    with pytest.warns(ConvergenceWarning):
        tuned = fine_tune(model, X, y, hidden_layer_sizes=[6, 5], max_epochs=2)
    assert tuned.layer_sizes_ == model.layer_sizes_


def test_source_sizes_changed_after_fit(source):
    model, X = source
    changed = copy.deepcopy(model).set_params(hidden_layer_sizes=(3,))
    y = np.argmax(X[:, :3], axis=1)
    with pytest.raises(
        ValueError,
        match=r"the source's hidden_layer_sizes parameter is \(3,\), which no longer",
    ):
        fine_tune(changed, X, y)


@pytest.fixture(scope="module")
def two_output_regressor():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 3))
    y = np.stack([X[:, 0], X[:, 1] - X[:, 2]], axis=1)
    with pytest.warns(ConvergenceWarning):
        model = MLPRegressor(hidden_layer_sizes=(5,), max_epochs=5, random_state=0)
        model.fit(X, y)
    return model, X


@pytest.mark.parametrize("y_shape", [(80,), (80, 1), (80, 3)])
def test_kept_regressor_output_needs_same_outputs(
    two_output_regressor, monkeypatch, y_shape
):
    model, X = two_output_regressor
    monkeypatch.setattr(
        MLPRegressor, "fit", lambda *args, **kwargs: pytest.fail("fit was called")
    )
    y = np.zeros(y_shape)
    n_outputs = 1 if len(y_shape) == 1 else y_shape[1]
    with pytest.raises(ValueError) as error:
        fine_tune(model, X, y, replace_output=False)
    message = str(error.value)
    assert "keeps the source's output layer, which has 2 outputs" in message
    assert f"but y has {n_outputs}" in message
    assert "replace_output=True" in message
    assert "warm_start" not in message


def test_kept_regressor_output_with_same_outputs(two_output_regressor):
    model, X = two_output_regressor
    y = np.stack([X[:, 1], X[:, 0]], axis=1)
    with pytest.warns(ConvergenceWarning):
        tuned = fine_tune(model, X, y, replace_output=False, freeze=None, max_epochs=2)
    assert tuned.predict(X).shape == (80, 2)


@pytest.mark.parametrize("value", ["no", 0, 1, None, "False"])
def test_replace_output_must_be_bool(source, value):
    model, X = source
    y = np.argmax(X[:, :3], axis=1)
    with pytest.raises(TypeError) as error:
        fine_tune(model, X, y, replace_output=value)
    message = str(error.value)
    assert "replace_output must be True or False" in message
    assert f"got {value!r} of type {type(value).__name__}" in message


def test_replace_output_accepts_numpy_bool(source):
    model, X = source
    y = np.argmax(X[:, :3], axis=1)
    with pytest.warns(ConvergenceWarning):
        tuned = fine_tune(
            model, X, y, replace_output=np.bool_(False), freeze=None, max_epochs=2
        )
    assert tuned.layer_sizes_ == model.layer_sizes_


def test_reordered_columns_are_rejected():
    pandas = pytest.importorskip("pandas")
    rng = np.random.default_rng(5)
    X = pandas.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    y = (X["a"] > 0).astype(int)
    with pytest.warns(ConvergenceWarning):
        source = MLPClassifier(hidden_layer_sizes=(4,), max_epochs=2).fit(X, y)
    with pytest.raises(ValueError, match="differ from the features"):
        fine_tune(source, X[["b", "a", "c"]], y, max_epochs=2)
    with pytest.warns(ConvergenceWarning):
        tuned = fine_tune(source, X, y, max_epochs=2)
    assert list(tuned.feature_names_in_) == ["a", "b", "c"]


def test_second_phase_rate_of_optimizer_object(source):
    # The second phase takes a tenth of the object's own rate, on a copy of
    # the object, and warns about no ignored learning_rate.
    from fastml.optimizers import Adam

    model, X = source
    y_new = (X[:, 3] > 0).astype(int)
    adam = Adam(learning_rate=0.01)
    settings = dict(optimizer=adam, max_epochs=4, tol=0.0, unfreeze_epochs=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        default_rate = fine_tune(model, X, y_new, **settings)
        explicit_rate = fine_tune(model, X, y_new, unfreeze_learning_rate=1e-3, **settings)
    for name, value in default_rate.layers_.items():
        np.testing.assert_array_equal(value, explicit_rate.layers_[name])
    assert adam.learning_rate == 0.01
    assert default_rate.optimizer is adam
