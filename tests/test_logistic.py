import pickle
import tracemalloc
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.preprocessing import StandardScaler

from fastml import LogisticRegression, datasets, losses


def blobs(n_samples=300, n_classes=2, n_features=4, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((n_classes, n_features)) * 3
    y = rng.integers(0, n_classes, n_samples)
    X = centers[y] + rng.standard_normal((n_samples, n_features))
    return X.astype(dtype), y


def fit_quietly(model, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y, **kwargs)


# Shapes and outputs


@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_fitted_attribute_shapes(n_classes):
    X, y = blobs(n_classes=n_classes)
    model = fit_quietly(LogisticRegression(max_epochs=50), X, y)
    rows = 1 if n_classes == 2 else n_classes
    assert model.coef_.shape == (rows, 4)
    assert model.intercept_.shape == (rows,)
    assert_array_equal(model.classes_, np.arange(n_classes))
    assert model.n_features_in_ == 4
    assert model.n_iter_ == len(model.history_["train_loss"])
    assert len(model.history_["train_cost"]) == model.n_iter_


def test_binary_decision_function_is_one_logit_per_row():
    X, y = blobs()
    model = fit_quietly(LogisticRegression(max_epochs=50), X, y)
    logits = model.decision_function(X)
    assert logits.shape == (300,)
    assert_allclose(
        logits, X @ model.coef_[0] + model.intercept_[0], rtol=1e-10, atol=1e-12
    )
    assert_array_equal(model.predict(X), (logits > 0).astype(int))


def test_multiclass_probabilities_are_softmax_of_logits():
    X, y = blobs(n_classes=4)
    model = fit_quietly(LogisticRegression(max_epochs=50), X, y)
    logits = X @ model.coef_.T + model.intercept_
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    assert_allclose(model.predict_proba(X), expected, rtol=1e-10, atol=1e-14)
    assert_allclose(
        np.exp(model.predict_log_proba(X)), expected, rtol=1e-10, atol=1e-14
    )
    assert_array_equal(model.predict(X), np.argmax(logits, axis=1))


def test_binary_probability_columns_follow_classes():
    X, y = blobs()
    labels = np.where(y == 1, "yes", "no")
    model = fit_quietly(LogisticRegression(max_epochs=50), X, labels)
    assert_array_equal(model.classes_, ["no", "yes"])
    proba = model.predict_proba(X)
    p_yes = 1 / (1 + np.exp(-model.decision_function(X)))
    assert_allclose(proba[:, 1], p_yes, rtol=1e-12)
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)


def test_confident_probabilities_keep_small_complement():
    model = fit_quietly(LogisticRegression(max_epochs=1), [[0.0], [1.0]], [0, 1])
    model.coef_ = np.array([[1.0]])
    model.intercept_ = np.array([0.0])
    proba = model.predict_proba([[50.0]])
    assert_allclose(proba[0, 0], np.exp(-50.0), rtol=1e-12)


# Labels keep their own values


@pytest.mark.parametrize(
    "labels",
    [
        [-1, -1, 1, 1],
        ["no", "no", "yes", "yes"],
        [2, 2, 7, 7],
        [True, True, False, False],
    ],
    ids=["signs", "strings", "integers", "booleans"],
)
def test_predict_returns_original_labels(labels):
    X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    model = fit_quietly(
        LogisticRegression(learning_rate=0.1, max_epochs=200), X, labels
    )
    assert_array_equal(model.classes_, np.unique(labels))
    assert_array_equal(model.predict(X), labels)
    assert model.predict(X).dtype == np.asarray(labels).dtype


def test_three_string_classes():
    X, y = blobs(n_classes=3)
    names = np.array(["cat", "dog", "emu"])[y]
    model = fit_quietly(LogisticRegression(max_epochs=100), X, names)
    assert_array_equal(model.classes_, ["cat", "dog", "emu"])
    assert set(model.predict(X)) <= {"cat", "dog", "emu"}
    assert model.score(X, names) > 0.9


def test_unsorted_sparse_integer_labels_map_to_sorted_classes():
    X, y = blobs(n_classes=3)
    labels = np.array([7, 2, 5])[y]
    model = fit_quietly(LogisticRegression(max_epochs=100), X, labels)
    assert_array_equal(model.classes_, [2, 5, 7])
    proba = model.predict_proba(X)
    assert_array_equal(model.classes_[proba.argmax(axis=1)], model.predict(X))


# Input checks


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_y_is_rejected(bad):
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    with pytest.raises(ValueError, match="Input y contains (NaN|infinity)"):
        LogisticRegression().fit(X, [0, 1, bad, 3])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_X_is_rejected(bad):
    X = np.array([[0.0], [1.0], [bad], [3.0]])
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        LogisticRegression().fit(X, [0, 1, 0, 1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_finite_check_at_block_edges(dtype, n_threads):
    # The check reads X in blocks of 65,536 values shared among threads. A
    # bad value at either edge of a block, or at the end of X, is found, and
    # a NaN is reported even when an infinity comes before it.
    X = np.ones((1100, 130), dtype=dtype)
    y = np.arange(1100) % 2
    for position in (0, 65_535, 65_536, 131_072, X.size - 1):
        for value, message in [(np.nan, "NaN"), (-np.inf, "infinity")]:
            bad = X.copy()
            bad.flat[position] = value
            model = LogisticRegression(n_threads=n_threads)
            with pytest.raises(ValueError, match=f"Input X contains {message}"):
                model.fit(bad, y)
            assert not hasattr(model, "coef_")
    both = X.copy()
    both.flat[10] = np.inf
    both.flat[100_000] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        LogisticRegression(n_threads=n_threads).fit(both, y)


def test_all_zero_sample_weight_is_named():
    X = np.arange(8.0).reshape(4, 2)
    with pytest.raises(ValueError, match="^sample_weight: .*non-zero"):
        LogisticRegression().fit(X, [0, 1, 0, 1], sample_weight=np.zeros(4))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [1e-300, 1e-40, 1e35, 1e307])
def test_sample_weight_scale_changes_nothing(dtype, scale):
    # Only the ratios of the weights matter. Weights whose sum overflows, or
    # that lie outside the normal range of X's dtype, are divided by their
    # largest value, so they train as the same ratios near 1 do.
    rng = np.random.default_rng(6)
    X = rng.normal(size=(40, 3)).astype(dtype)
    y = (X[:, 0] > 0).astype(int)
    ratios = rng.uniform(0.5, 1.0, 40)
    ratios[0] = 1.0
    reference = fit_quietly(LogisticRegression(), X, y, sample_weight=ratios)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        scaled = fit_quietly(LogisticRegression(), X, y, sample_weight=ratios * scale)
    assert_allclose(scaled.coef_, reference.coef_, rtol=1e-5)
    assert_allclose(scaled.intercept_, reference.intercept_, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_X_is_rejected_in_predict(bad):
    model = fit_quietly(LogisticRegression(max_epochs=5), [[0.0], [1.0]], [0, 1])
    with pytest.raises(ValueError, match="Input X contains"):
        model.predict([[bad]])


@pytest.mark.parametrize(
    "X", [[["a", "b"], ["c", "d"]], np.array([[1, "x"], [2, 3]], dtype=object)]
)
def test_strings_in_X_are_rejected_by_name(X):
    with pytest.raises(ValueError, match="X must contain only numbers.*could not convert"):
        LogisticRegression().fit(X, [0, 1])


@pytest.mark.parametrize(
    "X_val, message",
    [
        ([["a", "b", "c"]] * 10, "X_val must contain only numbers"),
        (np.full((10, 3), np.nan), "Input X_val contains NaN"),
        (np.ones((10, 2)), "X_val has 2 features"),
        (np.ones(10), "X_val: Expected 2D array, got 1D array"),
        (np.ones((0, 3)), "X_val: Found array with 0 sample"),
        (np.ones((10, 3), dtype=complex), "X_val: Complex data not supported"),
        (np.ones((10, 3, 2)), "X_val: Found array with dim 3"),
    ],
    ids=["strings", "NaN", "feature count", "1-D", "empty", "complex", "3-D"],
)
def test_bad_validation_rows_are_named(X_val, message):
    X = np.random.default_rng(0).standard_normal((40, 3))
    y = np.arange(40) % 2
    with pytest.raises(ValueError, match=message):
        LogisticRegression(max_epochs=3).fit(X, y, X_val=X_val, y_val=y[:10])


def test_strings_in_X_leave_a_fitted_model_unchanged():
    model = fit_quietly(LogisticRegression(max_epochs=5), [[0.0], [1.0]], [0, 1])
    coef = model.coef_.copy()
    with pytest.raises(ValueError, match="X must contain only numbers"):
        model.fit([["a"], ["b"]], [0, 1])
    with pytest.raises(ValueError, match="X must contain only numbers"):
        model.predict([["z"]])
    assert_array_equal(model.coef_, coef)


@pytest.mark.parametrize("labels", [[0, 0, 0], ["a", "a", "a"], [5.0, 5.0, 5.0]])
def test_single_class_is_rejected(labels):
    with pytest.raises(ValueError, match=r"only one class \(.+\)"):
        LogisticRegression().fit([[1.0], [2.0], [3.0]], labels)


def test_single_class_message_names_the_class():
    with pytest.raises(
        ValueError, match=r"y contains only one class \(0\); LogisticRegression"
    ):
        LogisticRegression().fit([[1.0], [2.0], [3.0]], [0, 0, 0])


def test_mismatched_lengths_are_rejected():
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        LogisticRegression().fit(np.zeros((4, 2)), [0, 1, 0])


def test_three_dimensional_X_is_rejected():
    with pytest.raises(ValueError, match="dim 3"):
        LogisticRegression().fit(np.zeros((4, 2, 2)), [0, 1, 0, 1])


def test_empty_X_is_rejected():
    with pytest.raises(ValueError, match="0 sample"):
        LogisticRegression().fit(np.zeros((0, 2)), [])


def test_continuous_y_is_rejected():
    with pytest.raises(ValueError, match="Unknown label type"):
        LogisticRegression().fit(np.zeros((4, 1)), [0.1, 0.5, 0.7, 0.2])


def test_wrong_feature_count_in_predict():
    X = np.zeros((4, 3)) + np.arange(4)[:, None]
    model = fit_quietly(LogisticRegression(max_epochs=5), X, [0, 1, 0, 1])
    with pytest.raises(
        ValueError, match="X has 2 features, but LogisticRegression is expecting 3"
    ):
        model.predict(np.zeros((2, 2)))


def test_predict_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError):
        LogisticRegression().predict([[0.0]])


@pytest.mark.parametrize(
    "param, value, message",
    [
        ("alpha", -1.0, r"alpha must be a float in \[0, inf\); got -1.0"),
        (
            "optimizer",
            "adamax",
            r"optimizer must be one of 'sgd', .*'lbfgs'; got 'adamax'",
        ),
        (
            "penalty",
            "l3",
            r"penalty must be one of None, 'l2', 'l1', 'elasticnet'; got 'l3'",
        ),
        ("learning_rate", 0.0, r"learning_rate must be a float in \(0, inf\); got 0.0"),
        (
            "batch_size",
            0,
            r"batch_size must be one of None or an int in "
            r"\[1, 9223372036854775807\]; got 0",
        ),
        ("max_epochs", 2.5, r"max_epochs must be an int in \[1, 2147483647\]; got 2.5"),
        ("tol", np.nan, r"tol must be a float in \[0, inf\); got nan"),
        ("l1_ratio", 1.5, r"l1_ratio must be a float in \[0, 1\]; got 1.5"),
        (
            "n_threads",
            0,
            r"n_threads must be one of None or an int in \[1, 2147483647\]; got 0",
        ),
        (
            "fit_intercept",
            "yes",
            r"fit_intercept must be one of True, False; got 'yes'",
        ),
    ],
)
def test_bad_parameter_names_value_and_allowed(param, value, message):
    model = LogisticRegression(**{param: value})
    with pytest.raises(ValueError, match=r"LogisticRegression: " + message):
        model.fit([[0.0], [1.0]], [0, 1])


def test_bad_parameter_type_is_also_a_type_error():
    with pytest.raises(TypeError, match="alpha"):
        LogisticRegression(alpha="strong").fit([[0.0], [1.0]], [0, 1])


@pytest.mark.parametrize(
    "weights, message",
    [
        ([1.0, -1.0, 1.0, 1.0], "Negative values in data passed to `sample_weight`"),
        ([0.0, 0.0, 0.0, 0.0], "at least one non-zero"),
        ([1.0, np.nan, 1.0, 1.0], "NaN"),
        ([1.0, 1.0], r"sample_weight.shape == \(2,\)"),
    ],
)
def test_bad_sample_weight_is_rejected(weights, message):
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    with pytest.raises(ValueError, match=message):
        LogisticRegression().fit(X, [0, 1, 0, 1], sample_weight=weights)


def test_failed_fit_keeps_previous_model():
    X, y = blobs()
    model = fit_quietly(LogisticRegression(max_epochs=30), X, y)
    coef, intercept, history = (
        model.coef_.copy(),
        model.intercept_.copy(),
        model.history_,
    )
    with pytest.raises(ValueError):
        model.fit(np.zeros((3, 7)), [0, 0, 0])
    assert_array_equal(model.coef_, coef)
    assert_array_equal(model.intercept_, intercept)
    assert model.history_ is history
    assert model.n_features_in_ == 4
    assert_array_equal(
        model.predict(X),
        fit_quietly(LogisticRegression(max_epochs=30), X, y).predict(X),
    )


def test_diverging_fit_raises_and_keeps_previous_model():
    X, y = blobs()
    X = X * 1e150
    model = fit_quietly(LogisticRegression(max_epochs=5), blobs()[0], y)
    coef = model.coef_.copy()
    with pytest.raises(FloatingPointError, match="smaller learning_rate"):
        LogisticRegression(optimizer="sgd", learning_rate=1e300, max_epochs=20).fit(
            X, y
        )
    with pytest.raises(FloatingPointError, match="parameters overflowed"):
        model.set_params(optimizer="sgd", learning_rate=1e300, max_epochs=20).fit(X, y)
    assert_array_equal(model.coef_, coef)


def test_convergence_warning_says_what_to_change():
    X, y = blobs()
    with pytest.warns(
        ConvergenceWarning,
        match=r"max_epochs=3 epochs.*gradient norm.*Increase max_epochs",
    ):
        LogisticRegression(max_epochs=3).fit(X, y)


def test_no_warning_when_converged():
    X, y = blobs()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = LogisticRegression(learning_rate=0.1, tol=1e-3, max_epochs=5000).fit(
            X, y
        )
    assert model.n_iter_ < 5000


# Dtypes and layouts


def test_float32_trains_in_float32():
    X, y = blobs(dtype=np.float32)
    model = fit_quietly(LogisticRegression(max_epochs=100), X, y)
    assert model.coef_.dtype == np.float32
    assert model.intercept_.dtype == np.float32
    assert model.decision_function(X).dtype == np.float32
    reference = fit_quietly(LogisticRegression(max_epochs=100), X.astype(np.float64), y)
    assert reference.coef_.dtype == np.float64
    assert_allclose(model.coef_, reference.coef_, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("layout", ["fortran", "sliced", "integer"])
def test_other_layouts_give_the_contiguous_result(layout):
    X, y = blobs(n_samples=400)
    if layout == "fortran":
        X_other = np.asfortranarray(X)
    elif layout == "sliced":
        wide = np.zeros((400, 8))
        wide[:, ::2] = X
        X_other = wide[:, ::2]
    else:
        X = np.round(X * 10)
        X_other = X.astype(np.int64)
    params = dict(optimizer="sgd", batch_size=16, max_epochs=20, random_state=3)
    expected = fit_quietly(LogisticRegression(**params), np.ascontiguousarray(X), y)
    result = fit_quietly(LogisticRegression(**params), X_other, y)
    assert_array_equal(result.coef_, expected.coef_)
    assert_array_equal(result.intercept_, expected.intercept_)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_contiguous_input_is_not_copied(dtype):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20000, 50)).astype(dtype)
    y = (X[:, 0] > 0).astype(np.int64)
    model = LogisticRegression(max_epochs=2)
    tracemalloc.start()
    try:
        fit_quietly(model, X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # NumPy reports its allocations to tracemalloc; a copy of X would show up
    # as a peak of at least X.nbytes.
    assert peak < X.nbytes / 4


def test_fortran_input_is_copied_once():
    rng = np.random.default_rng(0)
    X = np.asfortranarray(rng.standard_normal((20000, 50)))
    y = (X[:, 0] > 0).astype(np.int64)
    tracemalloc.start()
    try:
        fit_quietly(LogisticRegression(max_epochs=2), X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert X.nbytes <= peak < 2 * X.nbytes


# Determinism


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("batch_size", [None, 5000, 64])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_coefficients_identical_for_any_thread_count(optimizer, batch_size, dtype):
    X, y = blobs(n_samples=12000, n_classes=3, n_features=6, dtype=dtype)
    fits = [
        fit_quietly(
            LogisticRegression(
                optimizer=optimizer,
                batch_size=batch_size,
                max_epochs=4,
                random_state=7,
                n_threads=n_threads,
            ),
            X,
            y,
        )
        for n_threads in (1, 2, 4)
    ]
    for other in fits[1:]:
        assert_array_equal(other.coef_, fits[0].coef_)
        assert_array_equal(other.intercept_, fits[0].intercept_)
        assert other.history_ == fits[0].history_


# With 300 features a batch of 128 rows is large enough to be shared among
# threads, in chunks of 64 rows read from X through the shuffled row order.
@pytest.mark.parametrize("batch_size", [128, 2000])
@pytest.mark.parametrize("weighted", [False, True])
def test_wide_mini_batches_identical_for_any_thread_count(batch_size, weighted):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(4100, 300)).astype(np.float32)
    y = np.argmax(X @ rng.normal(size=(300, 4)) + rng.normal(size=(4100, 4)), axis=1)
    sample_weight = rng.uniform(0.5, 2.0, 4100) if weighted else None
    fits = [
        fit_quietly(
            LogisticRegression(
                optimizer="adam",
                learning_rate=1e-3,
                batch_size=batch_size,
                max_epochs=2,
                random_state=5,
                n_threads=n_threads,
            ),
            X,
            y,
            sample_weight=sample_weight,
        )
        for n_threads in (1, 2, 3)
    ]
    for other in fits[1:]:
        assert_array_equal(other.coef_, fits[0].coef_)
        assert_array_equal(other.intercept_, fits[0].intercept_)
        assert other.history_ == fits[0].history_


# 1,100 features and 4 classes make 4,400 coefficients: the update of each
# step is split into ranges that the threads share.
@pytest.mark.parametrize(
    "settings",
    [
        {"optimizer": "adam"},
        {"optimizer": "rmsprop", "penalty": "elasticnet", "alpha": 1e-3},
        {"optimizer": "adamw", "fit_intercept": False},
    ],
)
def test_split_updates_identical_for_any_thread_count(settings):
    rng = np.random.default_rng(8)
    X = rng.normal(size=(700, 1100)).astype(np.float32)
    y = np.argmax(X @ rng.normal(size=(1100, 4)), axis=1)
    fits = [
        fit_quietly(
            LogisticRegression(
                learning_rate=1e-3,
                batch_size=100,
                max_epochs=2,
                random_state=1,
                n_threads=n_threads,
                **settings,
            ),
            X,
            y,
        )
        for n_threads in (1, 2, 3)
    ]
    for other in fits[1:]:
        assert_array_equal(other.coef_, fits[0].coef_)
        assert_array_equal(other.intercept_, fits[0].intercept_)
        assert other.history_ == fits[0].history_


def test_random_state_changes_mini_batch_order():
    X, y = blobs()
    params = dict(optimizer="sgd", batch_size=8, max_epochs=3)
    first = fit_quietly(LogisticRegression(**params, random_state=1), X, y)
    second = fit_quietly(LogisticRegression(**params, random_state=2), X, y)
    same = fit_quietly(LogisticRegression(**params, random_state=1), X, y)
    assert not np.array_equal(first.coef_, second.coef_)
    assert_array_equal(first.coef_, same.coef_)


# Objective and optimum


def test_history_starts_at_zero_coefficients():
    X, y = blobs()
    model = fit_quietly(LogisticRegression(alpha=0.1, max_epochs=1), X, y)
    assert model.history_["train_loss"] == [np.log(2)]
    assert model.history_["train_cost"] == [np.log(2)]


def test_history_separates_loss_and_penalty():
    X, y = blobs()
    model = LogisticRegression(
        alpha=0.1, learning_rate=0.05, max_epochs=5000, tol=1e-10
    )
    model.fit(X, y)
    logits = model.decision_function(X)
    final_loss = losses.binary_cross_entropy(logits, y.astype(float))
    penalty = 0.1 / 2 * np.sum(model.coef_**2)
    # The history records the values at the start of the last epoch, which
    # after convergence differ from the final ones only in late digits.
    assert_allclose(model.history_["train_loss"][-1], final_loss, rtol=1e-5)
    train_penalty = model.history_["train_cost"][-1] - model.history_["train_loss"][-1]
    assert_allclose(train_penalty, penalty, rtol=1e-5)


def sklearn_optimum(X, y, alpha):
    """scikit-learn's lbfgs solution of the same objective and its mean log loss."""
    from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression

    reference = SklearnLogisticRegression(
        C=1 / (alpha * X.shape[0]), tol=1e-10, max_iter=10000
    )
    reference.fit(X, y)
    proba = reference.predict_proba(X)
    log_loss = -np.mean(
        np.log(proba[np.arange(len(y)), np.searchsorted(reference.classes_, y)])
    )
    cost = log_loss + alpha / 2 * np.sum(reference.coef_**2)
    return log_loss, cost


@pytest.mark.parametrize("loader", [datasets.load_breast_cancer, datasets.load_digits])
def test_reaches_sklearn_log_loss_within_one_percent(loader):
    pytest.importorskip("sklearn")
    X, y = loader()
    X = StandardScaler().fit_transform(X)
    alpha = 1e-3
    expected_loss, expected_cost = sklearn_optimum(X, y, alpha)
    model = LogisticRegression(
        alpha=alpha,
        optimizer="adam",
        learning_rate=0.02,
        max_epochs=5000,
        tol=1e-9,
        n_iter_no_change=20,
    ).fit(X, y)
    logits = model.decision_function(X)
    indices = np.searchsorted(model.classes_, y)
    if logits.ndim == 1:
        loss = losses.binary_cross_entropy(logits, indices.astype(float))
    else:
        loss = losses.softmax_cross_entropy(logits, indices)
    cost = loss + alpha / 2 * np.sum(model.coef_**2)
    assert cost >= expected_cost * (1 - 1e-9)
    assert cost <= expected_cost * 1.01
    assert abs(loss - expected_loss) <= 0.01 * expected_loss


def test_intercept_is_not_penalized():
    X = np.zeros((10, 1))
    y = np.array([1] * 7 + [0] * 3)
    model = LogisticRegression(
        alpha=1e6, optimizer="sgd", learning_rate=1.0, max_epochs=5000, tol=1e-15
    ).fit(X, y)
    assert model.coef_[0, 0] == 0.0
    assert_allclose(model.intercept_[0], np.log(7 / 3), rtol=1e-6)


def test_sample_weight_equals_repeated_rows():
    X, y = blobs(n_samples=60)
    weights = np.random.default_rng(1).integers(1, 4, 60)
    params = dict(optimizer="sgd", learning_rate=0.1, max_epochs=50)
    weighted = fit_quietly(LogisticRegression(**params), X, y, sample_weight=weights)
    repeated = fit_quietly(
        LogisticRegression(**params),
        np.repeat(X, weights, axis=0),
        np.repeat(y, weights),
    )
    assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-10)
    assert_allclose(weighted.intercept_, repeated.intercept_, rtol=1e-10)


def test_verbose_progress_never_writes_to_stdout(capsys):
    X, y = blobs()
    fit_quietly(LogisticRegression(max_epochs=5, verbose=1), X, y)
    assert capsys.readouterr().out == ""


def test_pickle_round_trip_keeps_predictions():
    X, y = blobs(n_classes=3)
    model = fit_quietly(LogisticRegression(max_epochs=20), X, y)
    restored = pickle.loads(pickle.dumps(model))
    assert_array_equal(restored.predict_proba(X), model.predict_proba(X))


def test_prediction_dtypes():
    X, y = blobs()
    model32 = fit_quietly(LogisticRegression(max_epochs=20), X.astype(np.float32), y)
    assert model32.decision_function(X.astype(np.float32)).dtype == np.float32
    # Probabilities are float64 for any input: a float32 p rounds to exactly 1
    # long before log(p) does.
    assert model32.predict_proba(X.astype(np.float32)).dtype == np.float64
    assert model32.predict_log_proba(X.astype(np.float32)).dtype == np.float64


def test_runaway_cost_raises_and_suggests_lower_rate():
    X, y = datasets.load_breast_cancer()
    model = LogisticRegression(optimizer="sgd", learning_rate=0.1, max_epochs=50)
    with pytest.raises(
        FloatingPointError, match="rose from 0.693147 to .*smaller learning_rate"
    ):
        model.fit(X, y)


@pytest.mark.parametrize(
    "costs, gradient_norm, expected",
    [
        ([0.69, 0.8, 0.75], 1.0, True),  # ended above the start
        ([0.69, 0.69, 0.69], 1.0, True),  # never fell below the start
        ([0.69, 0.69, 0.69], 0.0, False),  # flat at an optimum
        ([0.69, 0.5, 0.4], 1.0, False),  # progress
        ([0.69], 1.0, False),  # one epoch shows no trend
    ],
)
def test_no_progress_rule(costs, gradient_norm, expected):
    from fastml._training import _made_no_progress

    result = {"train_cost": costs, "gradient_norm": gradient_norm}
    assert _made_no_progress(result, LogisticRegression(tol=1e-6)) is expected


def test_overflowing_optimizer_state_warns():
    X, y = blobs(n_samples=100)
    with pytest.warns(ConvergenceWarning, match="too large to square in float64"):
        LogisticRegression(max_epochs=20).fit(X * 1e160, y)
    # At 1e20 the line search finds steps short enough to train on. At 1e25
    # the gradient itself no longer squares in float32.
    with pytest.warns(ConvergenceWarning, match="too large to square in float32"):
        LogisticRegression(max_epochs=20).fit((X * 1e25).astype(np.float32), y)


def test_flat_cost_at_optimum_does_not_warn():
    X = np.zeros((10, 2))
    y = np.array([0, 1] * 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = LogisticRegression(optimizer="sgd", max_epochs=50).fit(X, y)
    assert_array_equal(model.coef_, 0.0)


@pytest.mark.parametrize("as_list", [False, True])
def test_missing_labels_are_rejected(as_list):
    X = np.arange(12, dtype=float).reshape(-1, 2)
    y = [0, 1, None, 0, 1, None]
    y = y if as_list else np.array(y, dtype=object)
    model = LogisticRegression()
    with pytest.raises(ValueError, match="y contains None at 2 position"):
        model.fit(X, y)
    assert not hasattr(model, "coef_")


def test_mixed_label_types_are_rejected():
    X = np.arange(6, dtype=float).reshape(-1, 1)
    y = np.array(["a", 1, "a", 1, "a", 1], dtype=object)
    with pytest.raises(
        ValueError, match=r"y mixes labels of different types \(int, str\)"
    ):
        LogisticRegression().fit(X, y)


def test_integer_zero_is_not_a_boolean_flag():
    X, y = blobs(n_samples=20)
    with pytest.raises(
        ValueError, match="fit_intercept must be one of True, False; got 0"
    ):
        LogisticRegression(fit_intercept=0).fit(X, y)


@pytest.mark.parametrize(
    "param", ["max_epochs", "batch_size", "n_threads", "n_iter_no_change"]
)
def test_huge_integer_parameters_name_the_range(param):
    X, y = blobs(n_samples=20)
    with pytest.raises(
        ValueError, match=rf"{param} must be .*an int in \[1, \d+\]; got 10+"
    ):
        LogisticRegression(**{param: 10**20}).fit(X, y)


@pytest.mark.parametrize("estimator", ["logistic", "mlp"])
def test_weights_at_any_address_give_same_bits(estimator):
    from fastml import MLPClassifier

    X, y = blobs(n_samples=3000)
    weights = np.random.default_rng(3).uniform(0.5, 2.0, 3000)
    fits = []
    for offset in range(4):
        # The same values stored at four different alignments.
        storage = np.empty(3000 + offset)
        shifted = storage[offset:]
        shifted[:] = weights
        model = (
            LogisticRegression(optimizer="sgd", max_epochs=3)
            if estimator == "logistic"
            else MLPClassifier(hidden_layer_sizes=(4,), max_epochs=2, random_state=0)
        )
        fits.append(fit_quietly(model, X, y, sample_weight=shifted))
    for other in fits[1:]:
        assert_array_equal(other.predict_proba(X), fits[0].predict_proba(X))
