"""Weight files: round trips, mismatches, damaged files and PyTorch layouts."""

import json
import os
import stat
import warnings

import numpy as np
import pytest
import safetensors
import safetensors.numpy
from sklearn.exceptions import ConvergenceWarning

from fastml.linear_model import LinearRegression, LogisticRegression
from fastml.neural_network import MLPClassifier, MLPRegressor
from fastml.optimizers import (
    SGD,
    Adam,
    AdamW,
    CosineDecay,
    Momentum,
    RMSprop,
    StepDecay,
)
from fastml.weights import load_model, load_weights, save_weights


def fit_quietly(model, X, y):
    with pytest.warns(ConvergenceWarning):
        return model.fit(X, y)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = np.where(X[:, 0] > 0, "cat", np.where(X[:, 1] > 0, "dog", "eel"))
    return X, y


@pytest.fixture
def classifier(data):
    X, y = data
    return fit_quietly(
        MLPClassifier(hidden_layer_sizes=(3,), max_epochs=5, random_state=0), X, y
    )


def snapshot(model):
    return {name: array.copy() for name, array in model.layers_.items()}


def assert_layers_equal(model, layers):
    assert list(model.layers_) == list(layers)
    for name, array in layers.items():
        assert np.array_equal(model.layers_[name], array), name


def test_round_trip_gives_identical_predictions(classifier, data, tmp_path):
    X, _ = data
    path = tmp_path / "model.safetensors"
    save_weights(classifier, path)
    restored = load_model(path)
    assert type(restored) is MLPClassifier
    assert restored.get_params() == classifier.get_params()
    assert list(restored.classes_) == ["cat", "dog", "eel"]
    assert np.array_equal(restored.predict_proba(X), classifier.predict_proba(X))
    assert np.array_equal(restored.predict(X), classifier.predict(X))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_regressor_round_trip(dtype, tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3)).astype(dtype)
    y = rng.normal(size=(40, 2))
    model = fit_quietly(
        MLPRegressor(hidden_layer_sizes=(4, 3), max_epochs=3, random_state=0), X, y
    )
    save_weights(model, tmp_path / "r.safetensors")
    restored = load_model(tmp_path / "r.safetensors")
    assert restored.layers_["layers.0.weight"].dtype == dtype
    assert np.array_equal(restored.predict(X), model.predict(X))


def test_file_uses_sequential_names_and_metadata(classifier, tmp_path):
    path = tmp_path / "model.safetensors"
    save_weights(classifier, path)
    with safetensors.safe_open(str(path), framework="np") as handle:
        names = sorted(handle.keys())
        metadata = handle.metadata()
    assert names == ["0.bias", "0.weight", "2.bias", "2.weight"]
    config = json.loads(metadata["config"])
    assert metadata["format"] == "fastml.mlp"
    assert config["layer_sizes"] == [2, 3, 3]
    assert config["activation"] == "relu"


def test_shape_mismatch_names_tensor_file_then_model(data, tmp_path):
    X, y = data
    small = fit_quietly(
        MLPClassifier(hidden_layer_sizes=(3,), max_epochs=2, random_state=0), X, y
    )
    large = fit_quietly(
        MLPClassifier(hidden_layer_sizes=(4,), max_epochs=2, random_state=1), X, y
    )
    save_weights(large, tmp_path / "large.safetensors")
    before = snapshot(small)
    with pytest.raises(ValueError) as error:
        load_weights(small, tmp_path / "large.safetensors")
    message = str(error.value)
    assert (
        "layers.0.weight (file tensor '0.weight'): "
        "the file has shape (4, 2) and the model (3, 2)" in message
    )
    assert "The model was not changed" in message
    assert_layers_equal(small, before)


def test_non_strict_load_reports_names(data, tmp_path):
    X, y = data
    source = fit_quietly(
        MLPClassifier(hidden_layer_sizes=(3,), max_epochs=2, random_state=0), X, y
    )
    binary = fit_quietly(
        MLPClassifier(hidden_layer_sizes=(3,), max_epochs=2, random_state=1),
        X,
        y == "cat",
    )
    save_weights(source, tmp_path / "source.safetensors")
    before = snapshot(binary)
    result = load_weights(binary, tmp_path / "source.safetensors", strict=False)
    assert result.missing == []
    assert result.unexpected == []
    assert result.mismatched == ["layers.1.weight", "layers.1.bias"]
    assert np.array_equal(
        binary.layers_["layers.0.weight"], source.layers_["layers.0.weight"]
    )
    assert np.array_equal(binary.layers_["layers.1.weight"], before["layers.1.weight"])


def test_missing_and_unexpected_tensors(classifier, tmp_path):
    tensors = {
        "0.weight": classifier.layers_["layers.0.weight"],
        "0.bias": classifier.layers_["layers.0.bias"],
        "running_mean": np.zeros(3),
    }
    safetensors.numpy.save_file(tensors, str(tmp_path / "partial.safetensors"))
    before = snapshot(classifier)
    with pytest.raises(ValueError, match="layers.1.weight is missing from the file"):
        load_weights(classifier, tmp_path / "partial.safetensors")
    assert_layers_equal(classifier, before)
    result = load_weights(classifier, tmp_path / "partial.safetensors", strict=False)
    assert result.missing == ["layers.1.weight", "layers.1.bias"]
    assert result.unexpected == ["running_mean"]


def test_dtype_mismatch_is_reported(classifier, tmp_path):
    tensors = {
        "0.weight": classifier.layers_["layers.0.weight"].astype(np.float32),
        "0.bias": classifier.layers_["layers.0.bias"],
        "2.weight": classifier.layers_["layers.1.weight"],
        "2.bias": classifier.layers_["layers.1.bias"],
    }
    safetensors.numpy.save_file(tensors, str(tmp_path / "f32.safetensors"))
    with pytest.raises(
        ValueError, match="the file has dtype float32 and the model float64"
    ):
        load_weights(classifier, tmp_path / "f32.safetensors")


def test_nan_tensor_is_rejected(classifier, tmp_path):
    path = tmp_path / "nan.safetensors"
    save_weights(classifier, path)
    with safetensors.safe_open(str(path), framework="np") as handle:
        tensors = {name: handle.get_tensor(name) for name in handle.keys()}
    tensors["2.bias"][0] = np.nan
    safetensors.numpy.save_file(tensors, str(path))
    before = snapshot(classifier)
    with pytest.raises(ValueError, match="layers.1.bias contains NaN or infinity"):
        load_weights(classifier, path)
    assert_layers_equal(classifier, before)


@pytest.mark.parametrize("keep", [0, 7, 100, -3])
def test_truncated_file_raises(classifier, tmp_path, keep):
    path = tmp_path / "model.safetensors"
    save_weights(classifier, path)
    content = path.read_bytes()
    path.write_bytes(content[:keep])
    before = snapshot(classifier)
    with pytest.raises(ValueError, match="is not a valid safetensors file"):
        load_weights(classifier, path)
    with pytest.raises(ValueError, match="is not a valid safetensors file"):
        load_model(path)
    assert_layers_equal(classifier, before)


def test_corrupted_header_raises(classifier, tmp_path):
    path = tmp_path / "model.safetensors"
    save_weights(classifier, path)
    content = bytearray(path.read_bytes())
    content[8:20] = b"\x00garbage!\xff\xfe\x01"
    path.write_bytes(bytes(content))
    with pytest.raises(ValueError, match="is not a valid safetensors file"):
        load_model(path)


def test_load_model_needs_fastml_metadata(classifier, tmp_path):
    tensors = {"0.weight": classifier.layers_["layers.0.weight"]}
    safetensors.numpy.save_file(tensors, str(tmp_path / "plain.safetensors"))
    with pytest.raises(
        ValueError, match="contains no fastml model metadata.*load_weights"
    ):
        load_model(tmp_path / "plain.safetensors")


def test_unfitted_model_cannot_load(tmp_path):
    with pytest.raises(ValueError, match="MLPClassifier is not fitted"):
        load_weights(MLPClassifier(), tmp_path / "any.safetensors")


def test_activation_mismatch_rejected_when_strict(data, tmp_path):
    X, y = data
    relu = fit_quietly(
        MLPClassifier(hidden_layer_sizes=(3,), max_epochs=2, random_state=0), X, y
    )
    tanh = fit_quietly(
        MLPClassifier(
            hidden_layer_sizes=(3,), activation="tanh", max_epochs=2, random_state=0
        ),
        X,
        y,
    )
    save_weights(relu, tmp_path / "relu.safetensors")
    with pytest.raises(
        ValueError, match="the file's activation is 'relu' and the model's 'tanh'"
    ):
        load_weights(tanh, tmp_path / "relu.safetensors")


def test_torch_state_dict_loads_into_fastml(data, tmp_path):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    X, y = data
    model = fit_quietly(
        MLPClassifier(hidden_layer_sizes=(5,), max_epochs=2, random_state=0), X, y
    )
    torch.manual_seed(0)
    network = torch.nn.Sequential(
        torch.nn.Linear(2, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3)
    ).double()
    safetensors_torch.save_file(
        network.state_dict(), str(tmp_path / "torch.safetensors")
    )
    result = load_weights(model, tmp_path / "torch.safetensors")
    assert result == ([], [], [])
    expected = network(torch.from_numpy(X)).detach().numpy()
    np.testing.assert_allclose(
        model.decision_function(X), expected, rtol=1e-12, atol=1e-14
    )


def test_fastml_file_loads_into_torch(data, tmp_path):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    X, y = data
    model = fit_quietly(
        MLPClassifier(
            hidden_layer_sizes=(4, 3), activation="tanh", max_epochs=3, random_state=0
        ),
        X,
        y,
    )
    save_weights(model, tmp_path / "model.safetensors")
    network = torch.nn.Sequential(
        torch.nn.Linear(2, 4),
        torch.nn.Tanh(),
        torch.nn.Linear(4, 3),
        torch.nn.Tanh(),
        torch.nn.Linear(3, 3),
    ).double()
    network.load_state_dict(
        safetensors_torch.load_file(str(tmp_path / "model.safetensors"))
    )
    logits = network(torch.from_numpy(X)).detach().numpy()
    np.testing.assert_allclose(
        logits, model.decision_function(X), rtol=1e-12, atol=1e-14
    )


@pytest.mark.parametrize("n_classes", [2, 3])
def test_logistic_regression_round_trip(tmp_path, n_classes):
    from fastml import LogisticRegression, load_model, save_weights

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4))
    y = np.array(["a", "b", "c"])[rng.integers(0, n_classes, 80)]
    model = LogisticRegression().fit(X, y)
    path = tmp_path / "logistic.safetensors"
    save_weights(model, path)
    restored = load_model(path)
    assert type(restored) is LogisticRegression
    np.testing.assert_array_equal(restored.classes_, model.classes_)
    np.testing.assert_array_equal(restored.coef_, model.coef_)
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))


@pytest.mark.parametrize("y_columns", [None, 2])
def test_linear_regression_round_trip(tmp_path, y_columns):
    from fastml import LinearRegression, load_model, save_weights

    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 3))
    y = X @ rng.normal(size=(3, y_columns or 1)) + 0.5
    y = y[:, 0] if y_columns is None else y
    model = LinearRegression().fit(X, y)
    path = tmp_path / "linear.safetensors"
    save_weights(model, path)
    restored = load_model(path)
    assert restored.coef_.shape == model.coef_.shape
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))


def test_linear_weights_load_into_torch_linear(tmp_path):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    from fastml import LogisticRegression, save_weights

    rng = np.random.default_rng(2)
    X = rng.normal(size=(60, 5))
    y = rng.integers(0, 3, 60)
    model = LogisticRegression().fit(X, y)
    path = tmp_path / "softmax.safetensors"
    save_weights(model, path)
    layer = torch.nn.Sequential(torch.nn.Linear(5, 3, dtype=torch.float64))
    layer.load_state_dict(safetensors_torch.load_file(str(path)))
    logits = layer(torch.from_numpy(X)).detach().numpy()
    np.testing.assert_allclose(
        logits, model.decision_function(X), rtol=1e-12, atol=1e-12
    )


@pytest.fixture
def binary_data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    return X, y


def refit_quietly(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


@pytest.mark.parametrize(
    "optimizer",
    [
        Adam(learning_rate=0.01, beta2=0.99),
        AdamW(weight_decay=0.05),
        SGD(learning_rate=0.05, momentum=0.5, nesterov=True),
        RMSprop(rho=0.9),
    ],
)
def test_optimizer_object_survives_round_trip(optimizer, binary_data, tmp_path):
    X, y = binary_data
    model = refit_quietly(
        MLPClassifier(
            hidden_layer_sizes=(3,), optimizer=optimizer, max_epochs=3, random_state=0
        ),
        X,
        y,
    )
    save_weights(model, tmp_path / "model.safetensors")
    restored = load_model(tmp_path / "model.safetensors")
    assert restored.optimizer == optimizer
    assert restored.optimizer.get_config() == optimizer.get_config()
    refit_quietly(restored, X, y)
    restored.partial_fit(X, y)
    assert restored.layers_["layers.0.weight"].shape == (3, 3)


@pytest.mark.parametrize("estimator_class", [LogisticRegression, LinearRegression])
@pytest.mark.parametrize(
    "schedule", [StepDecay(step_size=3, gamma=0.5), CosineDecay(), "exponential"]
)
def test_schedule_survives_round_trip(estimator_class, schedule, binary_data, tmp_path):
    X, y = binary_data
    model = refit_quietly(
        estimator_class(
            optimizer=Momentum(learning_rate=0.05), schedule=schedule, max_epochs=5
        ),
        X,
        y,
    )
    save_weights(model, tmp_path / "linear.safetensors")
    restored = load_model(tmp_path / "linear.safetensors")
    assert restored.schedule == schedule
    assert restored.optimizer == Momentum(learning_rate=0.05)
    refit_quietly(restored, X, y)
    assert np.isfinite(restored.coef_).all()


@pytest.mark.parametrize("estimator_class", [MLPClassifier, LogisticRegression])
def test_int_keyed_class_weight_survives(estimator_class, binary_data, tmp_path):
    X, y = binary_data
    params = {"max_epochs": 3, "class_weight": {0: 1, 1: 5}}
    if estimator_class is MLPClassifier:
        params["hidden_layer_sizes"] = (3,)
    model = refit_quietly(estimator_class(**params), X, y)
    save_weights(model, tmp_path / "weighted.safetensors")
    restored = load_model(tmp_path / "weighted.safetensors")
    assert restored.class_weight == {0: 1, 1: 5}
    assert all(type(key) is int for key in restored.class_weight)
    refit_quietly(restored, X, y)


def test_string_keyed_class_weight_survives(data, tmp_path):
    X, y = data
    weights = {"cat": 2.0, "dog": 1.0, "eel": 0.5}
    model = fit_quietly(
        MLPClassifier(hidden_layer_sizes=(3,), max_epochs=2, class_weight=weights),
        X,
        y,
    )
    save_weights(model, tmp_path / "weighted.safetensors")
    assert load_model(tmp_path / "weighted.safetensors").class_weight == weights


def test_random_state_object_is_stored_as_none(binary_data, tmp_path):
    X, y = binary_data
    model = refit_quietly(
        MLPClassifier(
            hidden_layer_sizes=(3,),
            max_epochs=2,
            random_state=np.random.RandomState(0),
        ),
        X,
        y,
    )
    with pytest.warns(UserWarning, match="records random_state=None"):
        save_weights(model, tmp_path / "model.safetensors")
    restored = load_model(tmp_path / "model.safetensors")
    assert restored.random_state is None
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))


def test_foreign_optimizer_class_is_rejected_at_save(binary_data, tmp_path):
    class MyAdam(Adam):
        pass

    X, y = binary_data
    model = refit_quietly(
        MLPClassifier(hidden_layer_sizes=(3,), optimizer=MyAdam(), max_epochs=2),
        X,
        y,
    )
    path = tmp_path / "model.safetensors"
    with pytest.raises(ValueError, match="only the classes of fastml.optimizers"):
        save_weights(model, path)
    assert not path.exists()


def rewrite_config(path, **changes):
    """Rewrite entries of the fastml config in the metadata of ``path``."""
    with safetensors.safe_open(str(path), framework="np") as handle:
        tensors = {name: handle.get_tensor(name) for name in handle.keys()}
        metadata = handle.metadata()
    config = json.loads(metadata["config"])
    for key, value in changes.items():
        if key in config["params"]:
            config["params"][key] = value
        else:
            config[key] = value
    metadata["config"] = json.dumps(config)
    safetensors.numpy.save_file(tensors, str(path), metadata=metadata)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"classes": ["a", "b"]}, r"3 units, but the classes \['a', 'b'\] need 1"),
        ({"classes": ["b", "a", "c"]}, "sorted list of distinct labels"),
        ({"classes": ["a"]}, "at least two classes"),
        ({"alpha": -5}, "alpha must be a float in"),
        ({"optimizer": None}, "optimizer must be one of"),
        ({"hidden_layer_sizes": [4]}, "do not match hidden_layer_sizes=.4,."),
        ({"activation": "tanh"}, "activation 'relu' does not match"),
        ({"layer_sizes": [2, 0, 3]}, "list of at least two ints >= 1"),
        ({"estimator": "MLPRegressor"}, "unexpected keyword argument .class_weight."),
    ],
)
def test_inconsistent_metadata_is_rejected(classifier, tmp_path, changes, message):
    path = tmp_path / "model.safetensors"
    save_weights(classifier, path)
    rewrite_config(path, **changes)
    with pytest.raises(ValueError, match="has invalid fastml metadata") as error:
        load_model(path)
    assert error.match(message)


def test_regressor_output_count_is_checked(tmp_path):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(30, 2))
    model = fit_quietly(
        MLPRegressor(hidden_layer_sizes=(3,), max_epochs=2), X, X @ [1.0, 2.0]
    )
    path = tmp_path / "regressor.safetensors"
    save_weights(model, path)
    rewrite_config(path, n_outputs=2, y_ndim=2)
    with pytest.raises(ValueError, match="1 units, but n_outputs=2 need 2"):
        load_model(path)
    rewrite_config(path, n_outputs=1, y_ndim=3)
    with pytest.raises(ValueError, match="y_ndim=3 and n_outputs=1 do not match"):
        load_model(path)


def test_strict_load_rejects_other_estimator(binary_data, tmp_path):
    X, y = binary_data
    logistic = LogisticRegression().fit(X, y)
    linear = LinearRegression().fit(X, y.astype(float))
    save_weights(logistic, tmp_path / "logistic.safetensors")
    before = linear.coef_.copy()
    with pytest.raises(
        ValueError,
        match="the file holds a LogisticRegression and the model is a LinearRegression",
    ):
        load_weights(linear, tmp_path / "logistic.safetensors")
    np.testing.assert_array_equal(linear.coef_, before)
    save_weights(linear, tmp_path / "linear.safetensors")
    with pytest.raises(
        ValueError,
        match="the file holds a LinearRegression and the model is a LogisticRegression",
    ):
        load_weights(logistic, tmp_path / "linear.safetensors")
    result = load_weights(linear, tmp_path / "logistic.safetensors", strict=False)
    assert result == ([], [], [])
    np.testing.assert_array_equal(linear.coef_, logistic.coef_[0])


@pytest.mark.parametrize("strict", ["yes", 1, None])
def test_strict_must_be_bool(classifier, tmp_path, strict):
    path = tmp_path / "model.safetensors"
    save_weights(classifier, path)
    with pytest.raises(TypeError, match="strict must be True or False; got"):
        load_weights(classifier, path, strict=strict)


def test_save_into_missing_directory(classifier, tmp_path):
    path = tmp_path / "missing" / "model.safetensors"
    with pytest.raises(FileNotFoundError, match="does not exist") as error:
        save_weights(classifier, path)
    assert error.value.filename == str(path)
    assert str(tmp_path / "missing") in str(error.value)


def test_save_onto_directory(classifier, tmp_path):
    with pytest.raises(IsADirectoryError, match="the path is a directory"):
        save_weights(classifier, tmp_path)


@pytest.mark.parametrize("loader", ["load_model", "load_weights"])
def test_load_from_directory_or_missing_file(classifier, tmp_path, loader):
    def load(path):
        if loader == "load_model":
            return load_model(path)
        return load_weights(classifier, path)

    with pytest.raises(IsADirectoryError, match="is a directory") as error:
        load(tmp_path)
    assert error.value.filename == str(tmp_path)
    missing = tmp_path / "absent.safetensors"
    with pytest.raises(FileNotFoundError, match="no such file") as error:
        load(missing)
    assert error.value.filename == str(missing)


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_new_file_mode_follows_umask(classifier, tmp_path, umask):
    path = tmp_path / "model.safetensors"
    previous = os.umask(umask)
    try:
        save_weights(classifier, path)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    assert load_weights(classifier, path) == ([], [], [])


def test_replaced_file_keeps_its_mode(classifier, tmp_path, umask_022):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"old contents")
    path.chmod(0o640)
    save_weights(classifier, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert load_model(path).layer_sizes_ == classifier.layer_sizes_


@pytest.mark.parametrize("model_class", [LogisticRegression, LinearRegression])
def test_linear_model_file_mode_follows_umask(model_class, tmp_path, umask_022):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(30, 2))
    model = model_class().fit(X, (X[:, 0] > 0).astype(int))
    path = tmp_path / "linear.safetensors"
    save_weights(model, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_failed_save_names_path_cleans_up(classifier, tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"

    def fail_replace(source, destination):
        raise PermissionError(13, "Permission denied", str(source))

    monkeypatch.setattr(os, "replace", fail_replace)
    with pytest.raises(PermissionError) as error:
        save_weights(classifier, path)
    assert error.value.filename == str(path)
    assert list(tmp_path.iterdir()) == []


def test_save_into_unwritable_directory_names_path(classifier):
    # No file can be created in /proc, even by root.
    with pytest.raises(OSError) as error:
        save_weights(classifier, "/proc/model.safetensors")
    assert error.value.filename == "/proc/model.safetensors"
    assert ".tmp" not in str(error.value)


def test_save_writes_through_a_symbolic_link(classifier, data, tmp_path):
    X, _ = data
    target = tmp_path / "real.safetensors"
    link = tmp_path / "link.safetensors"
    link.symlink_to(target)
    save_weights(classifier, link)
    assert link.is_symlink()
    assert target.is_file()
    restored = load_model(link)
    assert np.array_equal(restored.predict_proba(X), classifier.predict_proba(X))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_save_rejects_named_pipe(classifier, tmp_path):
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    with pytest.raises(ValueError, match="not a regular file"):
        save_weights(classifier, pipe)
    assert stat.S_ISFIFO(os.stat(pipe).st_mode)


@pytest.mark.parametrize("estimator", [LogisticRegression, MLPClassifier])
def test_loaded_model_keeps_feature_names(estimator, tmp_path):
    pandas = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    frame = pandas.DataFrame(
        rng.standard_normal((120, 3)), columns=["age", "income", "debt"]
    )
    y = (frame["age"] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = estimator(random_state=0).fit(frame, y)
    path = tmp_path / "model.safetensors"
    save_weights(model, path)
    loaded = load_model(path)
    assert list(loaded.feature_names_in_) == ["age", "income", "debt"]
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    with pytest.raises(ValueError, match="Feature names"):
        loaded.predict(frame[["debt", "income", "age"]])


def test_feature_names_must_match_the_input_width(tmp_path):
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame(np.eye(4)[:, :2], columns=["a", "b"])
    model = LogisticRegression().fit(frame, [0, 1, 0, 1])
    path = tmp_path / "model.safetensors"
    save_weights(model, path)
    tensors = safetensors.numpy.load_file(str(path))
    with safetensors.safe_open(str(path), framework="numpy") as handle:
        metadata = handle.metadata()
    config = json.loads(metadata["config"])
    config["feature_names_in"] = ["a"]
    metadata["config"] = json.dumps(config)
    safetensors.numpy.save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(ValueError, match="feature_names_in has 1 names for 2"):
        load_model(path)


@pytest.mark.parametrize("model", ["model", None, LogisticRegression, 3.5])
def test_save_rejects_objects_that_are_not_models(model, tmp_path):
    with pytest.raises(TypeError, match="model must be a fitted fastml"):
        save_weights(model, tmp_path / "model.safetensors")


def test_save_rejects_a_scikit_learn_model(tmp_path):
    sklearn_linear_model = pytest.importorskip("sklearn.linear_model")
    model = sklearn_linear_model.LogisticRegression().fit(np.eye(4), [0, 1, 0, 1])
    with pytest.raises(TypeError, match="got sklearn.linear_model"):
        save_weights(model, tmp_path / "model.safetensors")
