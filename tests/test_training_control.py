"""Training control of the linear models: validation, early stopping,
warm starts, partial_fit, class weights, divergence and determinism."""

import copy
import pickle
import warnings

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning

from fastml import LinearRegression, LogisticRegression, MLPClassifier
from fastml._training import _distinct_costs
from fastml.datasets import load_digits
from fastml.linear_model._control import split_validation

OPTIMIZERS = [
    "sgd",
    "momentum",
    "nesterov",
    "adagrad",
    "rmsprop",
    "adam",
    "adamw",
    "lbfgs",
]


def digits(n_samples=600):
    X, y = load_digits()
    X = (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
    return X[:n_samples], y[:n_samples]


def softmax_loss(estimator, X, y):
    logits = X @ estimator.coef_.astype(np.float64).T + estimator.intercept_
    return np.mean(logsumexp(logits, axis=1) - logits[np.arange(len(y)), y])


def fit_quietly(estimator, *args, **kwargs):
    """Fit, ignoring the ConvergenceWarning of a deliberately short run."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(*args, **kwargs)


def test_early_stopping_restores_best_epoch():
    X, y = digits()
    X_val, y_val = digits(1000)[0][600:], digits(1000)[1][600:]
    estimator = LogisticRegression(
        optimizer="sgd",
        learning_rate=2.0,
        penalty=None,
        early_stopping=True,
        n_iter_no_change=3,
        max_epochs=500,
    )
    estimator.fit(X, y, X_val=X_val, y_val=y_val)
    val_loss = estimator.history_["val_loss"]
    assert len(val_loss) == estimator.n_iter_
    assert estimator.best_epoch_ == int(np.argmin(val_loss))
    # The counter of epochs without an improvement larger than tol may have
    # started before the best epoch, so training stops within 3 epochs of it.
    assert (
        estimator.best_epoch_ + 1 < estimator.n_iter_ <= estimator.best_epoch_ + 1 + 3
    )
    np.testing.assert_allclose(
        softmax_loss(estimator, X_val, y_val), min(val_loss), rtol=1e-12
    )


def test_early_stopping_holds_out_fraction():
    X, y = digits()
    estimator = LogisticRegression(
        optimizer="adam",
        learning_rate=0.05,
        early_stopping=True,
        validation_fraction=0.2,
        tol=1e-4,
        random_state=0,
    ).fit(X, y)
    assert "val_loss" in estimator.history_
    assert estimator.best_epoch_ <= estimator.n_iter_ - 1


def test_validation_split_is_stratified():
    y = np.array([0] * 90 + [1] * 10)
    X = np.arange(100, dtype=np.float64)[:, None]
    (X_train, y_train, _), (X_val, y_val, _) = split_validation(
        X, y, None, 0.2, seed=0, stratify=True
    )
    assert np.bincount(y_val).tolist() == [18, 2]
    assert np.bincount(y_train).tolist() == [72, 8]
    assert sorted(X_train[:, 0].tolist() + X_val[:, 0].tolist()) == list(range(100))


def test_validation_data_recorded_without_early_stopping():
    X, y = digits()
    estimator = LogisticRegression(alpha=1e-3).fit(
        X[:400], y[:400], X_val=X[400:], y_val=y[400:]
    )
    assert len(estimator.history_["val_loss"]) == estimator.n_iter_
    assert estimator.history_["val_loss"][-1] > 0


@pytest.mark.parametrize(
    "arguments, message",
    [
        (
            dict(X_val=np.zeros((3, 64))),
            "X_val and y_val must be given together; y_val is None",
        ),
        (
            dict(X_val=np.zeros((3, 64)), y_val=[0, 1]),
            "X_val has 3 samples but y_val has 2",
        ),
        (dict(X_val=np.zeros((2, 64)), y_val=[0, 11]), r"y_val has labels \[11\]"),
        (dict(X_val=np.zeros((2, 5)), y_val=[0, 1]), "X_val has 5 features"),
    ],
)
def test_validation_data_checked(arguments, message):
    X, y = digits()
    estimator = LogisticRegression()
    with pytest.raises(ValueError, match=message):
        estimator.fit(X, y, **arguments)
    assert not hasattr(estimator, "coef_")


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop"])
def test_partial_fit_matches_fit_epochs(optimizer):
    # The optimizer state, the shuffling engine and the schedule continue
    # across partial_fit calls, so 6 calls give the bits of a 6-epoch fit.
    X, y = digits()
    settings = dict(
        optimizer=optimizer,
        learning_rate=0.05,
        batch_size=64,
        random_state=3,
        schedule="exponential",
        max_epochs=6,
        tol=0.0,
        n_iter_no_change=100,
    )
    reference = fit_quietly(LogisticRegression(**settings), X, y)
    incremental = LogisticRegression(**settings)
    for _ in range(6):
        incremental.partial_fit(X, y, classes=np.arange(10))
    np.testing.assert_array_equal(incremental.coef_, reference.coef_)
    np.testing.assert_array_equal(incremental.intercept_, reference.intercept_)
    assert incremental.n_iter_ == 6
    assert incremental.history_["train_loss"] == reference.history_["train_loss"]


@pytest.mark.parametrize("optimizer", ["momentum", "adam", "lbfgs"])
def test_warm_start_continues_optimizer_state(optimizer):
    X, y = digits()
    target = X[:, :5] @ np.arange(1.0, 6.0) + 0.5 * X[:, 5]
    settings = dict(
        optimizer=optimizer, learning_rate=0.01, tol=0.0, n_iter_no_change=100
    )
    reference = fit_quietly(LinearRegression(max_epochs=8, **settings), X, target)
    resumed = LinearRegression(max_epochs=4, warm_start=True, **settings)
    fit_quietly(resumed, X, target)
    fit_quietly(resumed, X, target)
    np.testing.assert_array_equal(resumed.coef_, reference.coef_)
    np.testing.assert_array_equal(resumed.intercept_, reference.intercept_)


def test_warm_start_after_parameter_change_starts_from_coef():
    X, y = digits()
    estimator = LogisticRegression(warm_start=True, tol=1e-8).fit(X, y)
    coef = estimator.coef_.copy()
    estimator.set_params(alpha=1e-2).fit(X, y)
    fresh = LogisticRegression(alpha=1e-2, tol=1e-8).fit(X, y)
    assert not np.array_equal(estimator.coef_, coef)
    # Both reach the optimum of the new penalty.
    warm_cost = softmax_loss(estimator, X, y) + 0.5e-2 * np.sum(estimator.coef_**2)
    fresh_cost = softmax_loss(fresh, X, y) + 0.5e-2 * np.sum(fresh.coef_**2)
    np.testing.assert_allclose(warm_cost, fresh_cost, rtol=1e-9)


def test_partial_fit_needs_classes_first():
    X, y = digits()
    estimator = LogisticRegression(optimizer="sgd")
    with pytest.raises(ValueError, match="classes must be given on the first call"):
        estimator.partial_fit(X, y)
    estimator.partial_fit(X[:10], y[:10], classes=np.arange(10))
    assert estimator.classes_.tolist() == list(range(10))
    with pytest.raises(ValueError, match=r"y has labels \[12\]"):
        estimator.partial_fit(X[:2], np.array([0, 12]))
    with pytest.raises(ValueError, match="differs from the classes"):
        estimator.partial_fit(X[:2], y[:2], classes=[0, 1])


def test_partial_fit_does_not_warn():
    X, y = digits()
    estimator = LinearRegression(optimizer="sgd", learning_rate=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        estimator.partial_fit(X, y.astype(np.float64))
    assert estimator.n_iter_ == 1


def test_balanced_class_weight_equals_sample_weight():
    X, y = digits()
    y = (y == 3).astype(int)
    balanced = LogisticRegression(class_weight="balanced", tol=1e-10).fit(X, y)
    counts = np.bincount(y)
    weights = (len(y) / (2 * counts))[y]
    weighted = LogisticRegression(tol=1e-10).fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(balanced.coef_, weighted.coef_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(
        balanced.intercept_, weighted.intercept_, rtol=1e-7, atol=1e-9
    )


def test_class_weight_dict_multiplies_sample_weight():
    X, y = digits()
    sample_weight = np.linspace(0.5, 1.5, len(y))
    by_dict = LogisticRegression(class_weight={2: 3.0}, tol=1e-10)
    by_dict.fit(X, y, sample_weight=sample_weight)
    combined = sample_weight * np.where(y == 2, 3.0, 1.0)
    expected = LogisticRegression(tol=1e-10).fit(X, y, sample_weight=combined)
    np.testing.assert_allclose(by_dict.coef_, expected.coef_, rtol=1e-7, atol=1e-9)


def test_class_weight_errors():
    X, y = digits()
    with pytest.raises(ValueError, match=r"class_weight has labels \[42\]"):
        LogisticRegression(class_weight={42: 2.0}).fit(X, y)
    with pytest.raises(
        ValueError, match="class_weight='balanced' is not supported by partial_fit"
    ):
        LogisticRegression(class_weight="balanced").partial_fit(
            X, y, classes=np.arange(10)
        )


def test_history_separates_loss_and_cost():
    X, y = digits()
    estimator = LogisticRegression(
        optimizer="adam", penalty="l2", alpha=0.01, learning_rate=0.05
    )
    estimator.fit(X, y)
    loss = np.array(estimator.history_["train_loss"])
    cost = np.array(estimator.history_["train_cost"])
    assert sorted(estimator.history_) == ["train_cost", "train_loss"]
    assert len(loss) == estimator.n_iter_
    assert loss[0] == pytest.approx(np.log(10), rel=1e-12)
    assert np.all(cost[1:] > loss[1:])


def test_convergence_warning_reports_gradient_norm():
    X, y = digits()
    estimator = LogisticRegression(optimizer="sgd", learning_rate=1e-4, max_epochs=3)
    with pytest.warns(
        ConvergenceWarning, match=r"max_epochs=3 .* gradient norm [0-9.e-]+\. Increase"
    ):
        estimator.fit(X, y)


def test_runaway_cost_raises_and_keeps_model():
    X, y = digits()
    target = X[:, 10] * 3.0
    estimator = LinearRegression().fit(X, target)
    before = {
        name: getattr(estimator, name) for name in ["coef_", "intercept_", "n_iter_"]
    }
    estimator.set_params(optimizer="sgd", learning_rate=50.0)
    with pytest.raises(
        FloatingPointError, match="rose from .* Use a smaller learning_rate"
    ):
        estimator.fit(X, target)
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(estimator, name), value)
    assert estimator.history_["train_cost"][-1] < 1.0


def _digits_regression():
    """All 1,797 standardized digits and a linear target of their pixels."""
    X, _ = digits(n_samples=None)
    target = X @ np.random.default_rng(0).standard_normal(X.shape[1])
    return X, target


def test_blow_up_inside_first_epoch_raises():
    # RMSprop at learning rate 10 blows up within the first epoch, so the
    # first epoch's mean cost is no reference. The cost at zero parameters is.
    X, target = _digits_regression()
    estimator = LinearRegression(
        optimizer="rmsprop",
        learning_rate=10.0,
        batch_size=64,
        max_epochs=30,
        random_state=0,
    )
    with pytest.raises(FloatingPointError, match="more than twice the"):
        estimator.fit(X, target)
    assert not hasattr(estimator, "coef_")


def test_network_ending_far_above_zero_output_warns():
    X, target = _digits_regression()
    y = (target > 0).astype(int) + (target > 5).astype(int)
    estimator = MLPClassifier(
        hidden_layer_sizes=(32,),
        optimizer="adam",
        learning_rate=10.0,
        batch_size=64,
        max_epochs=30,
        random_state=0,
    )
    with pytest.warns(ConvergenceWarning, match="most likely diverged"):
        estimator.fit(X, y)


def test_infinite_cost_raises_before_any_fit():
    X, y = digits()
    target = X[:, 10] * 3.0
    estimator = LinearRegression(
        optimizer="sgd", learning_rate=1e6, n_iter_no_change=1000
    )
    with pytest.raises(FloatingPointError, match="became inf"):
        estimator.fit(X, target)
    assert not hasattr(estimator, "coef_")


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_threads_give_same_bits(optimizer):
    # 5000 rows make three reduction chunks; their order is fixed.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 8))
    y = (X @ rng.normal(size=8) + rng.normal(size=5000) > 0).astype(int)
    batch_size = None if optimizer == "lbfgs" else 4096
    results = []
    for n_threads in [1, 2, 4]:
        estimator = LogisticRegression(
            optimizer=optimizer,
            learning_rate=0.05,
            batch_size=batch_size,
            max_epochs=4,
            n_threads=n_threads,
            random_state=0,
        )
        results.append(fit_quietly(estimator, X, y))
    for other in results[1:]:
        np.testing.assert_array_equal(other.coef_, results[0].coef_)
        np.testing.assert_array_equal(other.intercept_, results[0].intercept_)


def test_pickled_classifier_keeps_predictions_and_resumes():
    X, y = digits()
    estimator = LogisticRegression(
        optimizer="adam", learning_rate=0.05, batch_size=64, random_state=0
    )
    estimator.partial_fit(X, y, classes=np.arange(10))
    restored = pickle.loads(pickle.dumps(estimator))
    assert not hasattr(restored, "_trainer")
    np.testing.assert_array_equal(restored.predict(X), estimator.predict(X))
    restored.partial_fit(X, y)
    assert restored.n_iter_ == 2
    assert len(restored.history_["train_loss"]) == 2


@pytest.mark.parametrize("weight", [-1.0, np.nan, np.inf])
def test_logistic_rejects_bad_class_weight(weight):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = (X[:, 0] > 0).astype(int)
    with pytest.raises(ValueError, match=r"class_weight\[0\] is .*finite numbers >= 0"):
        LogisticRegression(class_weight={0: weight, 1: 5}).fit(X, y)


def test_logistic_early_stopping_on_too_few_rows():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    y = np.arange(20) % 3
    with pytest.raises(
        ValueError, match="early_stopping cannot hold out validation_fraction=0.1 of 20"
    ):
        LogisticRegression(early_stopping=True, optimizer="sgd").fit(X, y)


def test_early_stopping_still_catches_a_blow_up():
    # The kept (best) epoch itself has a cost far above the zero-parameter
    # start, so restoring it does not hide the divergence.
    X, target = _digits_regression()
    estimator = LinearRegression(
        optimizer="rmsprop",
        learning_rate=300.0,
        batch_size=64,
        max_epochs=20,
        random_state=0,
        early_stopping=True,
    )
    with pytest.raises(FloatingPointError, match="more than twice the"):
        estimator.fit(X, target)
    assert not hasattr(estimator, "coef_")


def test_short_fits_give_no_divergence_warning():
    from fastml import MLPRegressor

    X, target = _digits_regression()
    noise = np.random.default_rng(1).standard_normal(len(X))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.filterwarnings("ignore", ".*did not converge", ConvergenceWarning)
        for y in (target / target.std(), noise):
            MLPRegressor(hidden_layer_sizes=(16,), max_epochs=1, random_state=0).fit(
                X, y
            )
            LinearRegression(optimizer="rmsprop", batch_size=64, max_epochs=1).fit(X, y)


# A rejected call keeps the optimizer state of the kept trainer


def standardized_binary_data():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((300, 6))
    y = (X @ rng.standard_normal(6) + 0.3 * rng.standard_normal(300) > 0).astype(int)
    return X, y


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
@pytest.mark.parametrize("bad_call", ["parameter", "validation rows"])
def test_rejected_warm_fit_keeps_optimizer_state(optimizer, bad_call):
    X, y = standardized_binary_data()
    settings = dict(optimizer=optimizer, warm_start=True, random_state=0, max_epochs=5)
    if optimizer == "adam":
        settings["batch_size"] = 64
    uninterrupted = fit_quietly(LogisticRegression(**settings), X, y)
    fit_quietly(uninterrupted, X, y)

    model = fit_quietly(LogisticRegression(**settings), X, y)
    with pytest.raises(ValueError):
        if bad_call == "parameter":
            model.set_params(alpha=-1.0).fit(X, y)
        else:
            model.fit(X, y, X_val=X[:5, :3], y_val=y[:5])
    model.set_params(alpha=uninterrupted.alpha)
    fit_quietly(model, X, y)
    assert np.array_equal(model.coef_, uninterrupted.coef_)


def test_rejected_partial_fit_keeps_network_optimizer_state():
    X, y = standardized_binary_data()
    uninterrupted = MLPClassifier(hidden_layer_sizes=(8,), random_state=0)
    model = MLPClassifier(hidden_layer_sizes=(8,), random_state=0)
    for network in (uninterrupted, model):
        network.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError):
        model.partial_fit(X[:, :3], y)
    uninterrupted.partial_fit(X, y)
    model.partial_fit(X, y)
    for name, values in uninterrupted.layers_.items():
        assert np.array_equal(model.layers_[name], values), name


def test_epoch_counts_in_messages_agree_in_number():
    from fastml._training import _epochs

    assert _epochs(1) == "1 epoch"
    assert _epochs(2) == "2 epochs"


@pytest.mark.parametrize("copy_model", [pickle.dumps, copy.deepcopy])
def test_pickling_keeps_the_original_optimizer_state(copy_model):
    X, y = standardized_binary_data()
    settings = dict(optimizer="adam", batch_size=64, warm_start=True, random_state=0, max_epochs=3)
    twin = fit_quietly(LogisticRegression(**settings), X, y)
    model = fit_quietly(LogisticRegression(**settings), X, y)
    copy_model(model)
    fit_quietly(twin, X, y)
    fit_quietly(model, X, y)
    assert np.array_equal(model.coef_, twin.coef_)


@pytest.mark.parametrize("estimator", [LogisticRegression, MLPClassifier])
@pytest.mark.parametrize(
    "y_val",
    [["0", "1"] * 5, np.array([0, "abc"] * 5, dtype=object), [b"0", b"1"] * 5, [0.5] * 10],
    ids=["digit strings", "mixed", "bytes", "continuous"],
)
def test_validation_labels_outside_classes_are_named(estimator, y_val):
    X = np.random.default_rng(0).standard_normal((40, 3))
    y = np.arange(40) % 2
    pattern = rf"{estimator.__name__}: y_val has labels \[.+\] that are not in classes_"
    with pytest.raises(ValueError, match=pattern):
        estimator(max_epochs=2).fit(X, y, X_val=X[:10], y_val=y_val)


@pytest.mark.parametrize(
    "estimator, ignored",
    [
        (LinearRegression(alpha=1.0), "alpha=1.0"),
        (LogisticRegression(l1_ratio=0.3), "l1_ratio=0.3"),
        (LogisticRegression(penalty=None, alpha=0.1), "alpha=0.1"),
        (MLPClassifier(penalty=None, alpha=1.0, max_epochs=2), "alpha=1.0"),
    ],
    ids=["linear alpha", "l2 l1_ratio", "logistic alpha", "network alpha"],
)
def test_settings_the_penalty_ignores_give_a_warning(estimator, ignored):
    X, y = standardized_binary_data()
    target = X[:, 0] if isinstance(estimator, LinearRegression) else y
    with pytest.warns(UserWarning, match=f"ignores {ignored}"):
        fit_quietly(estimator, X, target)


@pytest.mark.parametrize(
    "estimator",
    [LinearRegression(), LinearRegression(alpha=0.0), LogisticRegression(penalty="elasticnet", l1_ratio=0.3)],
    ids=["default", "alpha zero", "elastic net"],
)
def test_settings_the_penalty_uses_give_no_warning(estimator):
    X, y = standardized_binary_data()
    target = X[:, 0] if isinstance(estimator, LinearRegression) else y
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*ignores.*")
        estimator.fit(X, target)


def test_huge_alpha_divergence_advice():
    X, y = standardized_binary_data()
    with pytest.raises(FloatingPointError, match=r"Use a smaller alpha \(now 1e\+308\)"):
        LogisticRegression(alpha=1e308, optimizer="adam").fit(X, y)


@pytest.mark.parametrize("estimator", [LogisticRegression, MLPClassifier])
def test_validation_labels_of_several_columns_are_rejected(estimator):
    X, y = standardized_binary_data()
    y_val = np.stack([y[:10], y[:10]], axis=1)
    with pytest.raises(ValueError, match=r"y_val must be one label per row; got shape \(10, 2\)"):
        estimator(max_epochs=2).fit(X, y, X_val=X[:10], y_val=y_val)


def test_divergence_message_keeps_costs_apart():
    # Costs equal to 6 digits are printed with 17, so that no message
    # reports a rise from a number to the same number.
    assert _distinct_costs(1.5, 2.5) == ("1.5", "2.5")
    first, second = _distinct_costs(9.793580001e299, 9.793580002e299)
    assert first != second
    assert float(first) == 9.793580001e299
    assert float(second) == 9.793580002e299


@pytest.mark.parametrize(
    "make",
    [
        lambda seed: LogisticRegression(early_stopping=True, optimizer="adam", random_state=seed),
        lambda seed: LinearRegression(early_stopping=True, optimizer="adam", random_state=seed),
        lambda seed: MLPClassifier((3,), early_stopping=True, random_state=seed),
    ],
)
def test_split_without_weight_is_named(make):
    # All the weight sits on one row of 100, so a seeded validation split
    # leaves one part with weights that sum to 0. The error names that part.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3))
    y = (X[:, 0] > 0).astype(int)
    weights = np.zeros(100)
    weights[0] = 1.0
    parts = set()
    for seed in range(12):
        model = make(seed)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(X, y, sample_weight=weights)
        except ValueError as error:
            message = str(error)
            assert message.startswith("early_stopping: the sample_weight of the ")
            assert "validation_fraction=0.1 sums to 0" in message
            parts.add(message.split(" part")[0].rsplit(" ", 1)[1])
    assert "training" in parts
