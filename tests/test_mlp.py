"""MLPClassifier and MLPRegressor: accuracy, freezing, options and estimator checks."""

import pickle

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastml.datasets import load_digits
from fastml.neural_network import MLPClassifier, MLPRegressor
from fastml.optimizers import OPTIMIZER_NAMES

OPTIMIZERS = [name for name in OPTIMIZER_NAMES if name != "lbfgs"]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits()
    return train_test_split(X / 16.0, y, test_size=0.3, random_state=0, stratify=y)


def fit_quietly(model, *args, **kwargs):
    """Fit with a fixed epoch budget, where stopping at max_epochs is intended."""
    with pytest.warns(ConvergenceWarning):
        return model.fit(*args, **kwargs)


def test_digits_accuracy_near_sklearn(digits):
    sklearn_network = pytest.importorskip("sklearn.neural_network")
    X_train, X_test, y_train, y_test = digits
    settings = dict(
        hidden_layer_sizes=(64,), learning_rate=1e-3, batch_size=64, tol=0.0
    )
    ours = MLPClassifier(**settings, max_epochs=60, alpha=1e-4 / 64, random_state=0)
    fit_quietly(ours, X_train, y_train)
    reference = sklearn_network.MLPClassifier(
        hidden_layer_sizes=(64,),
        learning_rate_init=1e-3,
        batch_size=64,
        tol=0.0,
        max_iter=60,
        alpha=1e-4,
        random_state=0,
    )
    with pytest.warns(ConvergenceWarning):
        reference.fit(X_train, y_train)
    assert ours.score(X_test, y_test) >= reference.score(X_test, y_test) - 0.01


def zero_input_regressor(freeze, optimizer="sgd"):
    """One linear hidden unit whose weight gets no data gradient (X is 0)."""
    model = MLPRegressor(
        hidden_layer_sizes=(1,),
        activation="linear",
        optimizer=optimizer,
        learning_rate=0.1,
        penalty="l2",
        alpha=0.01,
        batch_size=None,
        max_epochs=10,
        tol=0.0,
        n_iter_no_change=100,
        random_state=0,
        freeze=freeze,
    )
    X = np.zeros((8, 1))
    y = np.linspace(-1, 1, 8)
    fit_quietly(model.set_params(max_epochs=1), X, y)
    model.layers_["layers.0.weight"][...] = 1.0
    model.set_params(warm_start=True, max_epochs=10)
    return model, X, y


def test_frozen_weight_stays_exactly_one():
    model, X, y = zero_input_regressor(freeze=[0])
    fit_quietly(model, X, y)
    assert model.layers_["layers.0.weight"][0, 0] == 1.0


def test_unfrozen_weight_decays_under_penalty():
    model, X, y = zero_input_regressor(freeze=None)
    fit_quietly(model, X, y)
    # Ten steps of w <- w - 0.1 * 0.01 * w from 1.0.
    np.testing.assert_allclose(
        model.layers_["layers.0.weight"][0, 0], 0.999**10, rtol=1e-12
    )


def test_frozen_weight_ignores_momentum():
    from fastml.optimizers import SGD

    model, X, y = zero_input_regressor(freeze=[0], optimizer=SGD(0.1, momentum=0.9))
    fit_quietly(model, X, y)
    assert model.layers_["layers.0.weight"][0, 0] == 1.0


def test_unfrozen_weight_decays_with_momentum():
    from fastml.optimizers import SGD

    model, X, y = zero_input_regressor(freeze=None, optimizer=SGD(0.1, momentum=0.9))
    fit_quietly(model, X, y)
    np.testing.assert_allclose(
        model.layers_["layers.0.weight"][0, 0], 0.958979, rtol=1e-6
    )


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_layer_frozen_after_training_stays(optimizer):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    model = MLPClassifier(
        hidden_layer_sizes=(5,),
        optimizer=optimizer,
        learning_rate=0.05,
        alpha=0.01,
        batch_size=16,
        random_state=0,
    )
    for _ in range(5):
        model.partial_fit(X, y, classes=[0, 1])
    before = {name: array.copy() for name, array in model.layers_.items()}
    model.set_params(freeze=0)
    for _ in range(5):
        model.partial_fit(X, y)
    assert np.array_equal(model.layers_["layers.0.weight"], before["layers.0.weight"])
    assert np.array_equal(model.layers_["layers.0.bias"], before["layers.0.bias"])
    assert not np.array_equal(
        model.layers_["layers.1.weight"], before["layers.1.weight"]
    )


def test_freeze_by_name_and_hidden():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 3))
    y = rng.integers(0, 3, 50)
    start = MLPClassifier(hidden_layer_sizes=(4, 4), max_epochs=3, random_state=0)
    fit_quietly(start, X, y)
    for freeze, fixed in [
        ("layers.1.bias", ["layers.1.bias"]),
        (
            "hidden",
            ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"],
        ),
        ([-1], ["layers.2.weight", "layers.2.bias"]),
    ]:
        model = MLPClassifier(
            hidden_layer_sizes=(4, 4),
            max_epochs=3,
            random_state=0,
            warm_start=True,
            freeze=freeze,
        )
        model.layers_ = {name: array.copy() for name, array in start.layers_.items()}
        model.classes_, model.multilabel_ = start.classes_, start.multilabel_
        model.n_features_in_ = 3
        fit_quietly(model, X, y)
        for name in start.layers_:
            unchanged = np.array_equal(model.layers_[name], start.layers_[name])
            assert unchanged == (name in fixed), (freeze, name)


def test_hidden_inside_freeze_list():
    X = np.random.default_rng(3).normal(size=(40, 3))
    y = np.arange(40) % 3
    start = fit_quietly(
        MLPClassifier(hidden_layer_sizes=(4, 4), max_epochs=2, random_state=0), X, y
    )
    model = MLPClassifier(
        hidden_layer_sizes=(4, 4),
        max_epochs=2,
        random_state=0,
        warm_start=True,
        freeze=["hidden", "layers.2.bias"],
    )
    model.layers_ = {name: array.copy() for name, array in start.layers_.items()}
    model.classes_, model.multilabel_ = start.classes_, start.multilabel_
    model.n_features_in_ = 3
    fit_quietly(model, X, y)
    for name in start.layers_:
        unchanged = np.array_equal(model.layers_[name], start.layers_[name])
        assert unchanged == (name != "layers.2.weight"), name


@pytest.mark.parametrize("freeze", [[0, 1], ["hidden", -1], "layers.0"])
def test_freezing_everything_is_rejected(freeze):
    X = np.random.default_rng(4).normal(size=(30, 3))
    y = np.arange(30) % 2
    sizes = () if freeze == "layers.0" else (5,)
    model = fit_quietly(
        MLPClassifier(hidden_layer_sizes=sizes, max_epochs=2, random_state=0), X, y
    )
    before = {name: array.copy() for name, array in model.layers_.items()}
    model.set_params(freeze=freeze)
    with pytest.raises(ValueError, match="freezes every parameter"):
        model.fit(X, y)
    for name, array in before.items():
        assert np.array_equal(model.layers_[name], array)


def test_bad_freeze_entry_leaves_model_unchanged():
    X = np.random.default_rng(2).normal(size=(30, 3))
    y = np.arange(30) % 2
    model = fit_quietly(
        MLPClassifier(hidden_layer_sizes=(3,), max_epochs=2, random_state=0), X, y
    )
    before = {name: array.copy() for name, array in model.layers_.items()}
    model.set_params(freeze="layers.5")
    with pytest.raises(
        ValueError, match=r"freeze entry 'layers.5' is not a layer.*\[-2, 2\)"
    ):
        model.fit(X, y)
    for name, array in before.items():
        assert np.array_equal(model.layers_[name], array)


def test_invalid_parameter_names_value():
    X = np.zeros((4, 2))
    y = [0, 1, 0, 1]
    with pytest.raises(
        ValueError, match="MLPClassifier: activation must be one of .*got 'swish'"
    ):
        MLPClassifier(activation="swish").fit(X, y)
    with pytest.raises(
        ValueError, match=r"hidden_layer_sizes must hold ints >= 1; got \(4, 0\)"
    ):
        MLPClassifier(hidden_layer_sizes=(4, 0)).fit(X, y)
    with pytest.raises(ValueError, match="y contains only one class"):
        MLPClassifier().fit(X, [1, 1, 1, 1])


@pytest.mark.parametrize("estimator", [MLPClassifier, MLPRegressor])
def test_nan_and_infinity_rejected_before_training(estimator):
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    with pytest.raises(ValueError, match="Input y contains NaN"):
        estimator().fit(X, [0, 1, np.nan, 1])
    for value, message in [
        (np.nan, "Input X contains NaN"),
        (np.inf, "X contains infinity"),
    ]:
        bad = X.copy()
        bad[1, 0] = value
        model = estimator()
        with pytest.raises(ValueError, match=message):
            model.fit(bad, [0, 1, 0, 1])
        assert not hasattr(model, "layers_")
        with pytest.raises(ValueError, match=message.replace("X", "X_val")):
            estimator().fit(X, [0, 1, 0, 1], X_val=bad, y_val=[0, 1, 0, 1])


def test_thread_count_gives_same_bits():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(1200, 8))
    y = (X[:, :3].sum(axis=1) > 0).astype(int) + (X[:, 3] > 1)
    fitted = [
        fit_quietly(
            MLPClassifier(
                hidden_layer_sizes=(16,),
                batch_size=600,
                max_epochs=4,
                random_state=7,
                n_threads=threads,
            ),
            X,
            y,
        )
        for threads in (1, 2, 4)
    ]
    for model in fitted[1:]:
        for name, array in fitted[0].layers_.items():
            assert np.array_equal(model.layers_[name], array), name


def test_labels_keep_their_values():
    X = np.array([[-2.0], [-1.0], [1.0], [2.0]] * 5)
    y = np.array(["no", "no", "yes", "yes"] * 5)
    model = MLPClassifier(
        hidden_layer_sizes=(4,),
        learning_rate=0.05,
        batch_size=None,
        max_epochs=300,
        random_state=0,
    ).fit(X, y)
    assert list(model.classes_) == ["no", "yes"]
    assert list(model.predict(X[:4])) == ["no", "no", "yes", "yes"]
    assert model.layers_["layers.1.weight"].shape == (1, 4)


def test_multilabel_gives_per_label_probabilities():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(200, 5))
    Y = np.stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0, X[:, 3] < 0.5], axis=1).astype(
        int
    )
    model = MLPClassifier(
        hidden_layer_sizes=(16,),
        learning_rate=0.02,
        max_epochs=300,
        tol=1e-3,
        random_state=0,
    ).fit(X, Y)
    proba = model.predict_proba(X)
    assert proba.shape == (200, 3)
    assert not np.allclose(proba.sum(axis=1), 1.0)
    assert model.predict(X).shape == (200, 3)
    assert (model.predict(X) == Y).mean() > 0.9


def test_float32_trains_in_float32():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(100, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    model = fit_quietly(
        MLPClassifier(hidden_layer_sizes=(3,), max_epochs=3, random_state=0), X, y
    )
    assert model.layers_["layers.0.weight"].dtype == np.float32
    assert model.predict_proba(X).dtype == np.float32


def test_class_weight_matches_sample_weight():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(80, 3))
    y = (X[:, 0] > 0.5).astype(int)
    settings = dict(hidden_layer_sizes=(4,), max_epochs=5, random_state=0)
    by_class = fit_quietly(
        MLPClassifier(**settings, class_weight={0: 1.0, 1: 3.0}), X, y
    )
    by_sample = fit_quietly(
        MLPClassifier(**settings), X, y, sample_weight=np.where(y == 1, 3.0, 1.0)
    )
    for name, array in by_class.layers_.items():
        np.testing.assert_allclose(
            array, by_sample.layers_[name], rtol=1e-12, atol=1e-15
        )


def test_early_stopping_keeps_best_epoch():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(120, 10))
    y = rng.normal(size=120)  # pure noise, so the validation loss rises soon
    X_val = rng.normal(size=(60, 10))
    y_val = rng.normal(size=60)
    model = MLPRegressor(
        hidden_layer_sizes=(64,),
        learning_rate=0.01,
        early_stopping=True,
        n_iter_no_change=5,
        max_epochs=500,
        random_state=0,
    )
    model.fit(X, y, X_val=X_val, y_val=y_val)
    history = model.history_["val_loss"]
    assert model.best_epoch_ == int(np.argmin(history))
    assert model.n_iter_ < 500
    val_loss = 0.5 * np.mean((model.predict(X_val) - y_val) ** 2)
    np.testing.assert_allclose(val_loss, min(history), rtol=1e-10)


def test_validation_fraction_split_records_history():
    X, y = load_digits()
    model = MLPClassifier(
        hidden_layer_sizes=(16,),
        early_stopping=True,
        validation_fraction=0.2,
        learning_rate=0.01,
        max_epochs=200,
        random_state=0,
    ).fit(X / 16, y)
    assert len(model.history_["val_loss"]) == model.n_iter_
    assert model.n_iter_ < 200
    assert model.score(X / 16, y) > 0.95


def test_partial_fit_continues_training():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(100, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    model = MLPRegressor(
        hidden_layer_sizes=(8,), learning_rate=0.01, batch_size=20, random_state=0
    )
    for _ in range(30):
        model.partial_fit(X, y)
    assert model.n_iter_ == 30
    assert len(model.history_["train_loss"]) == 30
    assert model.history_["train_loss"][-1] < model.history_["train_loss"][0] / 2


def test_warm_start_continues_from_layers():
    rng = np.random.default_rng(10)
    X = rng.normal(size=(80, 3))
    y = X @ np.array([0.5, -1.0, 2.0])
    settings = dict(hidden_layer_sizes=(6,), max_epochs=5, random_state=0)
    model = fit_quietly(MLPRegressor(**settings), X, y)
    first_loss = model.history_["train_loss"][-1]
    fit_quietly(model.set_params(warm_start=True), X, y)
    assert model.history_["train_loss"][0] < first_loss
    model.set_params(hidden_layer_sizes=(7,))
    before = {name: array.copy() for name, array in model.layers_.items()}
    with pytest.raises(
        ValueError, match=r"cannot start from the existing layers.0.weight"
    ):
        model.fit(X, y)
    for name, array in before.items():
        assert np.array_equal(model.layers_[name], array), name


def test_partial_fit_after_pickle():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(50, 3))
    y = (X[:, 0] > 0).astype(int)
    model = MLPClassifier(hidden_layer_sizes=(4,), random_state=0)
    model.partial_fit(X, y, classes=[0, 1])
    restored = pickle.loads(pickle.dumps(model))
    assert np.array_equal(restored.predict_proba(X), model.predict_proba(X))
    restored.partial_fit(X, y)
    assert restored.n_iter_ == 2
    assert not np.array_equal(
        restored.layers_["layers.0.weight"], model.layers_["layers.0.weight"]
    )


def test_partial_fit_rejects_unknown_label():
    X = np.zeros((4, 2))
    model = MLPClassifier().partial_fit(X, [0, 1, 0, 1], classes=[0, 1])
    with pytest.raises(
        ValueError, match=r"y has labels \[7\] that are not in classes_ \[0, 1\]"
    ):
        model.partial_fit(X, [0, 7, 0, 1])


def test_regressor_fits_smooth_function():
    rng = np.random.default_rng(9)
    X = rng.uniform(-2, 2, size=(300, 2))
    y = np.sin(X[:, 0]) + X[:, 1] ** 2 / 4
    model = MLPRegressor(
        hidden_layer_sizes=(32,),
        activation="tanh",
        learning_rate=0.01,
        max_epochs=400,
        random_state=0,
    ).fit(X, y)
    assert model.score(X, y) > 0.95
    assert model.predict(X).shape == (300,)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(
    [
        MLPClassifier(
            hidden_layer_sizes=(8,), learning_rate=0.01, max_epochs=100, random_state=0
        ),
        MLPRegressor(
            hidden_layer_sizes=(8,), learning_rate=0.01, max_epochs=100, random_state=0
        ),
    ]
)
def test_sklearn_compatible(estimator, check):
    # The checks fit on small random data with a fixed epoch budget; stopping
    # at max_epochs there is expected and not what they test.
    check(estimator)


def small_classification(n_samples=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, 4))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    return X, y


def test_runaway_cost_raises_and_keeps_model():
    X, y = small_classification()
    model = fit_quietly(MLPClassifier(hidden_layer_sizes=(6,), max_epochs=5), X, y)
    before = {name: array.copy() for name, array in model.layers_.items()}
    model.set_params(optimizer="sgd", learning_rate=1e6, max_epochs=30)
    with pytest.raises(FloatingPointError, match="smaller learning_rate"):
        model.fit(X * 100, y)
    for name, array in before.items():
        np.testing.assert_array_equal(model.layers_[name], array)


@pytest.mark.parametrize("weight", [-1.0, np.nan, np.inf, "heavy"])
def test_bad_class_weight_is_rejected(weight):
    X, y = small_classification()
    with pytest.raises(ValueError, match=r"class_weight\[0\] is .*finite numbers >= 0"):
        MLPClassifier(class_weight={0: weight, 1: 1.0}, max_epochs=2).fit(X, y)


def test_class_weight_with_unknown_label():
    X, y = small_classification()
    with pytest.raises(ValueError, match=r"class_weight has labels \[7\]"):
        MLPClassifier(class_weight={0: 1.0, 7: 2.0}, max_epochs=2).fit(X, y)


def test_early_stopping_on_too_few_rows_names_the_option():
    X, y = small_classification(n_samples=20)
    y = np.arange(20) % 3
    with pytest.raises(ValueError, match="early_stopping cannot hold out"):
        MLPClassifier(early_stopping=True, max_epochs=2).fit(X, y)


def test_partial_fit_needs_classes_first():
    X, y = small_classification()
    model = MLPClassifier(hidden_layer_sizes=(3,))
    with pytest.raises(ValueError, match="classes must be given on the first call"):
        model.partial_fit(X, y)
    model.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match=r"classes=\[0, 1, 2\] differs"):
        model.partial_fit(X, y, classes=[0, 1, 2])


def test_schedule_continues_across_partial_fit():
    from fastml.optimizers import ExponentialDecay

    X, y = small_classification()
    params = dict(
        hidden_layer_sizes=(5,),
        optimizer="sgd",
        learning_rate=0.5,
        schedule=ExponentialDecay(gamma=0.5),
        batch_size=None,
        random_state=3,
    )
    whole = fit_quietly(MLPClassifier(max_epochs=3, tol=0.0, **params), X, y)
    parts = MLPClassifier(**params)
    for _ in range(3):
        parts.partial_fit(X, y, classes=[0, 1])
    for name, array in whole.layers_.items():
        np.testing.assert_array_equal(parts.layers_[name], array)
    constant = fit_quietly(
        MLPClassifier(max_epochs=3, tol=0.0, **dict(params, schedule=None)), X, y
    )
    assert not np.array_equal(
        constant.layers_["layers.0.weight"], whole.layers_["layers.0.weight"]
    )


def test_bad_schedule_names_the_estimator():
    X, y = small_classification()
    with pytest.raises(ValueError, match="MLPClassifier: .*schedule"):
        MLPClassifier(schedule="zigzag", max_epochs=2).fit(X, y)


# The network has 29,013 parameters, so each step splits its update into
# ranges that the threads share, and batches of 128 rows are two chunks.
@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"penalty": "elasticnet", "alpha": 1e-3, "optimizer": "rmsprop"},
        {"freeze": [0], "optimizer": "adamw", "batch_size": 100},
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mini_batch_products_identical_for_any_thread_count(dtype, settings):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(600, 150)).astype(dtype)
    y = rng.integers(0, 3, 600)
    params = {"batch_size": 128, **settings}
    fits = [
        fit_quietly(
            MLPClassifier(
                hidden_layer_sizes=(130, 70),
                max_epochs=2,
                random_state=0,
                n_threads=n_threads,
                **params,
            ),
            X,
            y,
        )
        for n_threads in (1, 2, 3, 4)
    ]
    for other in fits[1:]:
        for name, array in fits[0].layers_.items():
            np.testing.assert_array_equal(other.layers_[name], array)


def test_regressor_rejects_strings_in_y_by_name():
    with pytest.raises(ValueError, match="y must contain only numbers"):
        MLPRegressor().fit([[1.0], [2.0]], ["a", "b"])


@pytest.mark.parametrize("width", [10**11, 2**61, 10**20])
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_network_too_large_to_allocate_names_the_layers(width, method):
    model = MLPClassifier(hidden_layer_sizes=(width,))
    arguments = {"classes": [0, 1]} if method == "partial_fit" else {}
    with pytest.raises(MemoryError, match=rf"hidden_layer_sizes \(now \({width},\)\)"):
        getattr(model, method)(np.zeros((4, 3)), [0, 1, 0, 1], **arguments)
    assert not hasattr(model, "layers_")


def test_parameter_count_overflow_is_rejected_by_the_core(monkeypatch):
    # Where the machine's memory is unknown, the C++ core still refuses a
    # parameter count that would wrap around.
    from fastml.neural_network import _base

    monkeypatch.setattr(_base, "_physical_memory_bytes", lambda: None)
    with pytest.raises(ValueError, match="give more than"):
        MLPClassifier(hidden_layer_sizes=(2**61,)).fit(np.zeros((4, 3)), [0, 1, 0, 1])


def test_regressor_rejects_targets_beyond_float32_for_float32_X():
    X = np.random.default_rng(0).standard_normal((20, 2)).astype(np.float32)
    with pytest.raises(ValueError, match=r"y has values of magnitude up to .*beyond the range of float32"):
        MLPRegressor().fit(X, np.linspace(-1e300, 1e300, 20))
