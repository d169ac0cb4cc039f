"""Tests of splitting, validation curves, model selection and learning curves.

The estimators are fastml's own, except where a test needs a scikit-learn
model with a property fastml's lack (no logits, or margins that are not
logits).
"""

import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import Ridge
from sklearn.metrics import log_loss
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from fastml import LinearRegression, LogisticRegression, _evaluation
from fastml.model_selection import (
    LearningCurve,
    ValidationCurve,
    learning_curve,
    select_model,
    train_val_test_split,
    validation_curve,
)

# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def quadratic_data(n_samples, seed=0, noise=0.3):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, n_samples)
    return x[:, None], x**2 + rng.normal(0, noise, n_samples)


def blobs(n_per_class, n_classes, seed=0):
    rng = np.random.default_rng(seed)
    centers = (
        3.0 * np.eye(n_classes, 2)
        if n_classes <= 2
        else rng.normal(0, 3, (n_classes, 2))
    )
    X = np.concatenate([rng.normal(c, 1.0, (n_per_class, 2)) for c in centers])
    y = np.repeat(np.arange(n_classes), n_per_class)
    return X, y


def png_size(path):
    """Return (width, height) from a PNG file's IHDR chunk, checking the signature."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


# ---------------------------------------------------------------------------
# train_val_test_split
# ---------------------------------------------------------------------------


def test_split_sizes_from_fractions_and_counts():
    X = np.arange(20).reshape(10, 2)
    y = np.arange(10)

    parts = train_val_test_split(X, y, val_size=0.25, test_size=2, random_state=0)

    assert len(parts) == 6
    X_train, X_val, X_test, y_train, y_val, y_test = parts
    assert (len(X_train), len(X_val), len(X_test)) == (5, 3, 2)
    assert (len(y_train), len(y_val), len(y_test)) == (5, 3, 2)
    for X_part, y_part in ((X_train, y_train), (X_val, y_val), (X_test, y_test)):
        np.testing.assert_array_equal(X_part[:, 0], 2 * y_part)


def test_split_parts_are_disjoint_and_complete():
    indices = np.arange(37)
    train, val, test = train_val_test_split(indices, random_state=3)
    combined = np.concatenate([train, val, test])
    np.testing.assert_array_equal(np.sort(combined), indices)


def test_split_is_deterministic_for_a_seed():
    data = np.arange(50)
    first = train_val_test_split(data, random_state=7)
    second = train_val_test_split(data, random_state=7)
    other = train_val_test_split(data, random_state=8)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])


def test_split_without_shuffle_is_consecutive():
    train, val, test = train_val_test_split(list(range(10)), shuffle=False)
    assert train == [0, 1, 2, 3, 4, 5]
    assert val == [6, 7]
    assert test == [8, 9]


def test_split_fractions_round_up():
    # 0.07 * 100 is 7.000000000000001 in floating point, which must stay 7.
    train, val, test = train_val_test_split(
        np.arange(100), val_size=0.07, test_size=0.001
    )
    assert (len(train), len(val), len(test)) == (92, 7, 1)


@pytest.mark.parametrize(
    "counts, val_size, test_size",
    [
        ((10, 10), 0.2, 0.2),
        ((70, 20, 10), 0.2, 0.2),
        ((3, 3, 3), 3, 3),
        ((94, 3, 3), 0.05, 0.05),
        ((50, 7, 3, 3, 3), 0.15, 0.1),
        ((2, 2, 2, 2), 0, 0.5),
    ],
)
def test_stratified_split_keeps_sizes_and_classes(counts, val_size, test_size):
    y = np.repeat(np.arange(len(counts)), counts)
    n = len(y)
    expected_val = val_size if isinstance(val_size, int) else int(np.ceil(val_size * n))
    expected_test = (
        test_size if isinstance(test_size, int) else int(np.ceil(test_size * n))
    )

    y_train, y_val, y_test = train_val_test_split(
        y, val_size=val_size, test_size=test_size, stratify=y, random_state=0
    )

    assert len(y_val) == expected_val
    assert len(y_test) == expected_test
    assert len(y_train) == n - expected_val - expected_test
    for part in (y_train, y_val, y_test):
        if len(part):
            assert set(part) == set(range(len(counts)))
    np.testing.assert_array_equal(
        np.bincount(np.concatenate([y_train, y_val, y_test])), counts
    )


def test_stratified_split_random_cases():
    rng = np.random.default_rng(0)
    for _ in range(300):
        counts = rng.integers(3, 40, size=rng.integers(1, 6))
        y = np.repeat(np.arange(len(counts)), counts)
        n_classes = len(counts)
        val_size = int(rng.integers(n_classes, len(y) // 3 + 1))
        test_size = int(rng.integers(n_classes, len(y) // 3 + 1))

        parts = train_val_test_split(
            y, val_size=val_size, test_size=test_size, stratify=y, random_state=0
        )

        assert [len(part) for part in parts[1:]] == [val_size, test_size]
        for part in parts:
            assert len(np.unique(part)) == n_classes


def test_stratified_split_is_proportional():
    y = np.repeat([0, 1, 2], [60, 30, 10])
    y_train, y_val, y_test = train_val_test_split(y, stratify=y, random_state=1)
    np.testing.assert_array_equal(np.bincount(y_train), [36, 18, 6])
    np.testing.assert_array_equal(np.bincount(y_val), [12, 6, 2])
    np.testing.assert_array_equal(np.bincount(y_test), [12, 6, 2])


def test_stratified_split_with_string_labels():
    y = np.array(["cat", "dog", "eel"] * 4)
    y_train, y_val, y_test = train_val_test_split(y, stratify=y, random_state=0)
    for part in (y_train, y_val, y_test):
        assert set(part) == {"cat", "dog", "eel"}


def test_stratified_split_names_rare_class():
    y = [0, 0, 0, 0, 1]
    with pytest.raises(ValueError, match=r"class 1 \(1 member\)"):
        train_val_test_split(np.arange(5), y, test_size=0.4, stratify=y)


def test_stratified_split_names_every_rare_class():
    y = ["a"] * 8 + ["b"] * 2 + ["c"]
    with pytest.raises(
        ValueError, match=r"classes 'b' \(2 members\), 'c' \(1 member\)"
    ):
        train_val_test_split(y, stratify=y)


def test_stratified_split_without_validation_needs_two():
    y = [0, 0, 0, 1]
    with pytest.raises(ValueError, match=r"class 1 \(1 member\).*at least 2 members"):
        train_val_test_split(y, val_size=0, test_size=2, stratify=y)


def test_stratified_split_test_smaller_than_classes():
    y = [0, 0, 0, 1, 1, 1, 2, 2, 2]
    with pytest.raises(
        ValueError, match="test_size=2 gives 2 test samples, fewer than the 3 classes"
    ):
        train_val_test_split(np.arange(9), y, test_size=2, stratify=y)


def test_stratified_split_validation_smaller_than_classes():
    y = np.repeat([0, 1, 2], 5)
    with pytest.raises(ValueError, match="val_size=0.1 gives 2 validation samples"):
        train_val_test_split(y, val_size=0.1, test_size=3, stratify=y)


def test_stratified_split_train_smaller_than_classes():
    y = np.repeat([0, 1, 2], 3)
    with pytest.raises(ValueError, match="leave 2 train samples"):
        train_val_test_split(y, val_size=4, test_size=3, stratify=y)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"val_size": -0.1},
            r"val_size must be a float in \[0, 1\) or an int in \[0, 10\], got -0.1",
        ),
        ({"test_size": 1.0}, "test_size must be a float"),
        ({"test_size": True}, "got True"),
        ({"val_size": "0.2"}, "got '0.2'"),
        ({"val_size": 11}, r"val_size=11 is outside \[0, 10\]"),
        ({"val_size": 5, "test_size": 5}, "leave 0 of 10 samples for training"),
        ({"shuffle": "yes"}, "shuffle must be True or False"),
        ({"random_state": "seed"}, "random_state must be an int"),
        ({"stratify": [0, 1] * 5, "shuffle": False}, "stratify requires shuffle=True"),
        ({"stratify": [0, 1]}, "stratify has 2 labels but the arrays have 10 samples"),
    ],
)
def test_split_rejects_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        train_val_test_split(np.arange(10), **kwargs)


def test_split_rejects_arrays_of_different_lengths():
    with pytest.raises(
        ValueError, match=r"arrays\[1\] has 4 samples but arrays\[0\] has 5"
    ):
        train_val_test_split(np.arange(5), np.arange(4))


def test_split_rejects_negative_seed():
    with pytest.raises(ValueError, match="random_state must be an int >= 0"):
        train_val_test_split(np.arange(10), random_state=-1)


def test_split_accepts_sparse_matrices():
    scipy_sparse = pytest.importorskip("scipy.sparse")
    X = scipy_sparse.csr_matrix(np.arange(20.0).reshape(10, 2))
    X_train, X_val, X_test = train_val_test_split(X, random_state=0)
    assert X_train.shape == (6, 2)
    assert X_val.shape == (2, 2)
    assert X_test.shape == (2, 2)


def test_split_requires_an_array():
    with pytest.raises(ValueError, match="at least one array"):
        train_val_test_split()


# ---------------------------------------------------------------------------
# Costs
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n_classes", [2, 3])
def test_log_loss_matches_reference(n_classes):
    X, y = blobs(30, n_classes)
    model = LogisticRegression().fit(X, y)
    expected = log_loss(y, model.predict_proba(X))
    assert _evaluation.cost(model, X, y, classifier=True) == pytest.approx(
        expected, rel=1e-9, abs=1e-12
    )


def test_log_loss_from_probabilities_only():
    X, y = blobs(30, 3)
    model = GaussianNB().fit(X, y)
    expected = log_loss(y, model.predict_proba(X))
    assert _evaluation.cost(model, X, y, classifier=True) == pytest.approx(
        expected, rel=1e-9, abs=1e-12
    )


class MarginClassifier(ClassifierMixin, BaseEstimator):
    """Binary classifier whose decision_function is three times its logit."""

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        return self

    def decision_function(self, X):
        return 3.0 * X[:, 0]

    def predict_proba(self, X):
        positive = 1.0 / (1.0 + np.exp(-X[:, 0]))
        return np.column_stack([1.0 - positive, positive])


def test_log_loss_ignores_margins_that_are_not_logits():
    X = np.linspace(-2, 2, 9)[:, None]
    y = np.array([0, 1, 0, 0, 1, 1, 0, 1, 1])
    model = MarginClassifier().fit(X, y)
    expected = log_loss(y, model.predict_proba(X))
    assert _evaluation.cost(model, X, y, classifier=True) == pytest.approx(
        expected, rel=1e-9, abs=1e-12
    )


def test_log_loss_needs_scores():
    class LabelsOnly(ClassifierMixin, BaseEstimator):
        def fit(self, X, y):
            self.classes_ = np.unique(y)
            return self

    model = LabelsOnly().fit(None, [0, 1])
    with pytest.raises(ValueError, match="LabelsOnly has neither decision_function"):
        _evaluation.cost(model, np.zeros((2, 1)), np.array([0, 1]), True)


def test_squared_error_cost_is_half_mean_square():
    X, y = quadratic_data(40)
    model = Ridge(alpha=1.0).fit(X, y)
    expected = np.sum((model.predict(X) - y) ** 2) / (2 * len(y))
    assert _evaluation.cost(model, X, y, classifier=False) == pytest.approx(
        expected, rel=1e-12, abs=0
    )


class FixedLogitsClassifier(ClassifierMixin, BaseEstimator):
    """Classifier whose decision_function returns the logits it was given."""

    def __init__(self, logits=None, classes=(0, 1)):
        self.logits = logits
        self.classes = classes

    def fit(self, X, y):
        self.classes_ = np.asarray(self.classes)
        return self

    def decision_function(self, X):
        return np.asarray(self.logits, dtype=float)


@pytest.mark.parametrize(
    "logits, y, expected",
    [
        ([-np.inf], [0], 0.0),
        ([np.inf], [1], 0.0),
        ([np.inf, 1.0], [1, 0], 0.6566308),
        ([-100.0], [0], 3.720076e-44),
        ([1000.0], [0], 1000.0),
        ([[-431.0, 279.0, 427.0]], [0], 858.0),
        ([[np.inf, 0.0, -np.inf]], [0], 0.0),
        ([[-1047.0, -981.0, 1891.0]], [2], 0.0),
    ],
)
def test_log_loss_from_extreme_logits(logits, y, expected):
    classes = (0, 1) if np.ndim(logits) == 1 else (0, 1, 2)
    model = FixedLogitsClassifier(logits, classes).fit(None, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = _evaluation.cost(model, np.zeros((len(y), 1)), np.asarray(y), True)
    assert value == pytest.approx(expected, rel=1e-6, abs=1e-300)


def test_log_loss_rejects_unknown_label():
    model = FixedLogitsClassifier([0.0, 0.0]).fit(None, [0, 1])
    with pytest.raises(ValueError, match="label 2 is not among the classes"):
        _evaluation.cost(model, np.zeros((2, 1)), np.array([0, 2]), True)


# ---------------------------------------------------------------------------
# validation_curve
# ---------------------------------------------------------------------------


def poly_ridge(degree=1, alpha=1e-6):
    return make_pipeline(
        PolynomialFeatures(degree), StandardScaler(), Ridge(alpha=alpha)
    )


def test_validation_curve_matches_manual_fits():
    X, y = quadratic_data(80)
    X_train, X_val, y_train, y_val = X[:50], X[50:], y[:50], y[50:]
    estimator = poly_ridge()

    curve = validation_curve(
        estimator,
        X_train,
        y_train,
        X_val,
        y_val,
        "polynomialfeatures__degree",
        [1, 2, 3],
    )

    assert isinstance(curve, ValidationCurve)
    for degree, train_cost, val_cost in zip(
        [1, 2, 3], curve.train_cost, curve.val_cost
    ):
        model = poly_ridge(degree).fit(X_train, y_train)
        assert train_cost == pytest.approx(
            np.mean((model.predict(X_train) - y_train) ** 2) / 2
        )
        assert val_cost == pytest.approx(
            np.mean((model.predict(X_val) - y_val) ** 2) / 2
        )
    assert curve.best_value != 1
    assert estimator.get_params()["polynomialfeatures__degree"] == 1
    assert "polynomialfeatures__degree" in str(curve)


def test_validation_curve_costs_exclude_penalty():
    X, y = quadratic_data(60)
    curve = validation_curve(Ridge(), X, y, X, y, "alpha", [1e-3, 1e3])
    model = Ridge(alpha=1e3).fit(X, y)
    unpenalized = np.sum((model.predict(X) - y) ** 2) / (2 * len(y))
    assert curve.train_cost[1] == pytest.approx(unpenalized, rel=1e-12, abs=0)


def test_validation_curve_rejects_unknown_parameter():
    X, y = quadratic_data(20)
    with pytest.raises(
        ValueError,
        match="'degree' is not a parameter of Ridge; valid parameters: alpha",
    ):
        validation_curve(Ridge(), X, y, X, y, "degree", [1, 2])


def test_validation_curve_rejects_empty_range():
    X, y = quadratic_data(20)
    with pytest.raises(ValueError, match="param_range is empty"):
        validation_curve(Ridge(), X, y, X, y, "alpha", [])


def test_validation_curve_rejects_mismatched_data():
    X, y = quadratic_data(20)
    with pytest.raises(ValueError, match="X_val has 20 samples but y_val has 19"):
        validation_curve(Ridge(), X, y, X, y[:-1], "alpha", [1.0])


def test_validation_curve_plot_writes_png(tmp_path):
    X, y = quadratic_data(40)
    curve = validation_curve(Ridge(), X, y, X, y, "alpha", [1e-3, 1e-1, 10.0])
    path = tmp_path / "validation.png"

    figure = curve.plot(path)

    assert figure.axes[0].get_xscale() == "log"
    assert png_size(path) == (640, 480)


# ---------------------------------------------------------------------------
# select_model
# ---------------------------------------------------------------------------


def test_select_model_picks_lowest_validation_cost():
    X, y = quadratic_data(120, seed=1)
    X_train, X_val, y_train, y_val = X[:80], X[80:], y[:80], y[80:]
    candidates = [LinearRegression(), poly_ridge(2), Ridge(alpha=100.0)]

    result = select_model(candidates, X_train, y_train, X_val, y_val)

    assert result.best_index == 1
    assert result.best_index == int(np.argmin(result.val_cost))
    assert len(result.candidates) == 3
    assert result.best_params is None
    assert result.best_estimator.predict(X_val).shape == (40,)
    assert "*" in str(result)


def test_select_model_chooses_degree_from_grid():
    X, y = quadratic_data(150, seed=2)
    X_train, X_val, y_train, y_val = X[:100], X[100:], y[:100], y[100:]
    grid = {"polynomialfeatures__degree": [1, 2, 3, 4], "ridge__alpha": [1e-6, 1.0]}

    result = select_model(grid, X_train, y_train, X_val, y_val, estimator=poly_ridge())

    assert len(result.params) == 8
    assert result.params[0] == {"polynomialfeatures__degree": 1, "ridge__alpha": 1e-6}
    assert result.best_params["polynomialfeatures__degree"] >= 2
    assert result.table[0]["candidate"] == (
        "polynomialfeatures__degree=1, ridge__alpha=1e-06"
    )
    assert result.table[0]["val_cost"] == result.val_cost[0]
    assert result.val_cost[result.best_index] == np.min(result.val_cost)


def test_select_model_refit_uses_train_and_validation():
    X, y = quadratic_data(60, seed=3)
    X_train, X_val, y_train, y_val = X[:40], X[40:], y[:40], y[40:]

    result = select_model(
        [Ridge(alpha=0.1)], X_train, y_train, X_val, y_val, refit=True
    )

    expected = Ridge(alpha=0.1).fit(X, y)
    assert result.refitted
    np.testing.assert_allclose(
        result.best_estimator.coef_, expected.coef_, rtol=1e-12, atol=0
    )


@pytest.mark.parametrize(
    "candidates, kwargs, message",
    [
        ({"alpha": [1.0]}, {}, "a parameter grid needs estimator="),
        (
            [Ridge()],
            {"estimator": Ridge()},
            "estimator is only used with a parameter grid",
        ),
        ("Ridge", {}, "candidates must be a list of estimators"),
        ([], {}, "candidates is empty"),
        ({"alpha": []}, {"estimator": Ridge()}, "no combinations"),
        (
            {"degree": [1]},
            {"estimator": Ridge()},
            "'degree' is not a parameter of Ridge",
        ),
    ],
)
def test_select_model_rejects_invalid_candidates(candidates, kwargs, message):
    X, y = quadratic_data(20)
    with pytest.raises(ValueError, match=message):
        select_model(candidates, X, y, X, y, **kwargs)


def test_select_model_rejects_unseen_validation_class():
    X, y = blobs(10, 3)
    with pytest.raises(
        ValueError, match="y_val contains class 2, which y_train does not contain"
    ):
        select_model([LogisticRegression()], X[:20], y[:20], X, y)


@pytest.mark.parametrize(
    "grid, shown",
    [
        ({"alpha": 0.1}, "0.1 of type float"),
        ({"penalty": "l1"}, "'l1' of type str"),
        ({"penalty": ["l2"], "alpha": None}, "None of type NoneType"),
        ({"alpha": np.float64(0.5)}, "of type float64"),
        ({"alpha": np.array(0.5)}, "of type ndarray"),
        ({"alpha": {0.1, 1.0}}, "of type set"),
    ],
)
def test_select_model_rejects_scalar_grid_values(grid, shown):
    X, y = quadratic_data(20)
    with pytest.raises(TypeError, match="the grid values of '(alpha|penalty)' must"):
        select_model(grid, X, y, X, y, estimator=LinearRegression())
    with pytest.raises(ValueError, match=shown):
        select_model(grid, X, y, X, y, estimator=LinearRegression())


def test_select_model_accepts_grid_sequences():
    X, y = quadratic_data(40)
    grid = {
        "alpha": np.array([0.0, 0.1]),
        "penalty": ("l2",),
        "max_epochs": range(5, 7),
    }
    result = select_model(grid, X, y, X, y, estimator=LinearRegression())
    assert len(result.params) == 4
    assert result.params[0]["penalty"] == "l2"
    assert result.errors == [None] * 4


# The candidates that do not diverge stop at max_epochs before converging.
IGNORE_CONVERGENCE = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)


def diverging_grid_search(learning_rates):
    X, y = quadratic_data(80, seed=4)
    grid = {"learning_rate": learning_rates}
    estimator = LinearRegression(optimizer="sgd", max_epochs=50)
    return select_model(grid, X[:60], y[:60], X[60:], y[60:], estimator=estimator)


@IGNORE_CONVERGENCE
def test_select_model_skips_failed_candidate():
    with pytest.warns(FitFailedWarning) as record:
        result = diverging_grid_search([0.05, 100.0, 0.01])
    failures = [w for w in record if issubclass(w.category, FitFailedWarning)]
    assert len(failures) == 1
    message = str(failures[0].message)
    assert "candidate 1 (learning_rate=100.0) failed to fit" in message
    assert "FloatingPointError: LinearRegression: the training cost rose" in message
    assert np.isnan(result.train_cost[1])
    assert np.isnan(result.val_cost[1])
    assert np.isfinite(result.val_cost[[0, 2]]).all()
    assert result.best_index in (0, 2)
    assert result.errors[0] is None
    assert result.errors[1].startswith("FloatingPointError: ")
    assert result.table[1]["error"] == result.errors[1]
    assert result.table[0]["error"] is None


@IGNORE_CONVERGENCE
def test_select_model_shows_failed_candidates():
    with pytest.warns(FitFailedWarning):
        result = diverging_grid_search([0.05, 100.0])
    text = str(result)
    failed_row = next(line for line in text.splitlines() if "=100.0" in line)
    assert "fit failed" in failed_row
    assert "nan" not in failed_row
    assert "Failed fits:" in text
    assert "candidate 1 (learning_rate=100.0): FloatingPointError" in text


@IGNORE_CONVERGENCE
def test_select_model_raises_when_all_fail():
    with pytest.raises(ValueError, match="every candidate failed to fit") as error:
        diverging_grid_search([100.0, 1000.0])
    assert "candidate 0 (learning_rate=100.0): FloatingPointError" in str(error.value)
    assert "candidate 1 (learning_rate=1000.0): FloatingPointError" in str(error.value)
    assert isinstance(error.value.__cause__, FloatingPointError)


def test_select_model_records_invalid_parameter_as_failure():
    X, y = quadratic_data(40)
    with pytest.warns(FitFailedWarning, match="alpha must be a float in"):
        result = select_model(
            {"alpha": [-1.0, 0.0]}, X, y, X, y, estimator=LinearRegression()
        )
    assert result.best_index == 1
    assert result.errors[0].startswith("InvalidParameterError: ")


# ---------------------------------------------------------------------------
# learning_curve
# ---------------------------------------------------------------------------


class RecordingLogisticRegression(LogisticRegression):
    """LogisticRegression that records the labels of every fit."""

    fitted_labels = []

    def fit(self, X, y, sample_weight=None):
        RecordingLogisticRegression.fitted_labels.append(np.asarray(y).copy())
        return super().fit(X, y, sample_weight=sample_weight)


def test_learning_curve_on_sorted_labels():
    X = np.arange(20.0).reshape(-1, 1)
    y = np.repeat([0, 1], 10)
    RecordingLogisticRegression.fitted_labels = []

    curve = learning_curve(
        RecordingLogisticRegression(), X, y, X, y, train_sizes=[2, 5, 10]
    )

    np.testing.assert_array_equal(curve.train_sizes, [2, 5, 10])
    assert np.all(np.isfinite(curve.train_cost))
    assert np.all(np.isfinite(curve.val_cost))
    counts = [
        np.bincount(labels, minlength=2)
        for labels in RecordingLogisticRegression.fitted_labels
    ]
    # Ties in the proportional share go to the first class.
    np.testing.assert_array_equal(counts, [[1, 1], [3, 2], [5, 5]])


def test_learning_curve_too_small_subset_gives_nan():
    X, y = blobs(10, 3)

    with pytest.warns(UserWarning, match="cannot contain all 3 classes") as record:
        curve = learning_curve(
            LogisticRegression(), X, y, X, y, train_sizes=[1, 2, 3, 9]
        )

    messages = [str(warning.message) for warning in record]
    assert len(messages) == 2
    assert "subset of size 1" in messages[0]
    assert "subset of size 2" in messages[1]
    assert np.all(np.isnan(curve.train_cost[:2]))
    assert np.all(np.isnan(curve.val_cost[:2]))
    assert np.all(np.isfinite(curve.train_cost[2:]))
    assert np.all(np.isfinite(curve.val_cost[2:]))


def test_learning_curve_subsets_are_stratified():
    X, y = blobs(40, 2)
    y = y.copy()
    y[:] = 0
    y[::5] = 1  # 16 of 80 samples, one in five
    RecordingLogisticRegression.fitted_labels = []

    learning_curve(RecordingLogisticRegression(), X, y, X, y, train_sizes=[10, 40])

    counts = [
        np.bincount(labels) for labels in RecordingLogisticRegression.fitted_labels
    ]
    np.testing.assert_array_equal(counts, [[8, 2], [32, 8]])


def test_learning_curve_is_deterministic_for_a_seed():
    X, y = quadratic_data(60)
    model = poly_ridge(2)
    first = learning_curve(model, X[:40], y[:40], X[40:], y[40:], random_state=5)
    second = learning_curve(model, X[:40], y[:40], X[40:], y[40:], random_state=5)
    np.testing.assert_array_equal(first.train_cost, second.train_cost)
    np.testing.assert_array_equal(first.val_cost, second.val_cost)


def test_learning_curve_fractions_and_regression_costs():
    X, y = quadratic_data(100)
    curve = learning_curve(
        poly_ridge(2), X[:50], y[:50], X[50:], y[50:], train_sizes=[0.1, 0.5, 1.0]
    )
    np.testing.assert_array_equal(curve.train_sizes, [5, 25, 50])
    model = poly_ridge(2).fit(X[:50], y[:50])
    expected_val = np.sum((model.predict(X[50:]) - y[50:]) ** 2) / (2 * 50)
    assert curve.val_cost[-1] == pytest.approx(expected_val, rel=1e-12, abs=0)
    assert curve.null_cost == pytest.approx(np.var(y[:50]) / 2, rel=1e-12, abs=0)
    assert curve.val_null_cost == pytest.approx(np.var(y[50:]) / 2, rel=1e-12, abs=0)
    assert "train size" in str(curve)


def test_learning_curve_verbose_gives_same_costs():
    X, y = quadratic_data(60)
    data = (X[:40], y[:40], X[40:], y[40:])
    quiet = learning_curve(poly_ridge(2), *data)
    verbose = learning_curve(poly_ridge(2), *data, verbose=1)
    np.testing.assert_array_equal(quiet.val_cost, verbose.val_cost)


def test_learning_curve_warns_on_duplicate_sizes():
    X, y = quadratic_data(20)
    with pytest.warns(UserWarning, match=r"duplicates .* using \[10, 20\]"):
        curve = learning_curve(Ridge(), X, y, X, y, train_sizes=[0.5, 10, 1.0])
    np.testing.assert_array_equal(curve.train_sizes, [10, 20])


@pytest.mark.parametrize(
    "sizes", [[0], [21], [0.0], [1.5], [True], ["5"], [], [[1, 2]]]
)
def test_learning_curve_rejects_invalid_sizes(sizes):
    X, y = quadratic_data(20)
    with pytest.raises(ValueError, match="train_sizes must"):
        learning_curve(Ridge(), X, y, X, y, train_sizes=sizes)


def test_learning_curve_rejects_single_class():
    X = np.arange(6.0).reshape(-1, 1)
    y = np.zeros(6, dtype=int)
    with pytest.raises(ValueError, match=r"y_train contains only one class \(0\)"):
        learning_curve(LogisticRegression(), X, y, X, y)


@pytest.mark.parametrize(
    "figsize, dpi, expected", [((6.4, 4.8), 100, (640, 480)), ((4, 3), 50, (200, 150))]
)
def test_learning_curve_plot_writes_png(tmp_path, figsize, dpi, expected):
    X, y = quadratic_data(60)
    curve = learning_curve(poly_ridge(2), X[:40], y[:40], X[40:], y[40:])
    path = tmp_path / "curve.png"

    figure = curve.plot(path, baseline=0.05, figsize=figsize, dpi=dpi)

    assert png_size(path) == expected
    assert figure.axes[0].get_xlabel() == "training set size"


def test_learning_curve_plot_on_given_axes():
    from matplotlib.figure import Figure

    X, y = quadratic_data(40)
    curve = learning_curve(Ridge(), X[:30], y[:30], X[30:], y[30:])
    figure = Figure()
    left, right = figure.subplots(1, 2)

    returned = curve.plot(ax=right)

    assert returned is figure
    assert len(right.lines) == 2
    assert len(left.lines) == 0


def test_learning_curve_result_fields():
    curve = LearningCurve(
        train_sizes=np.array([2, 4]),
        train_cost=np.array([np.nan, 0.1]),
        val_cost=np.array([np.nan, 0.2]),
        cost_name="log loss",
        null_cost=0.69,
        val_null_cost=0.68,
    )
    assert "nan" in str(curve)


def test_stratify_error_names_at_most_five_classes():
    # A continuous target read as classes: one "class" per value.
    y = np.arange(40) // 2
    with pytest.raises(ValueError, match="cannot stratify") as raised:
        train_val_test_split(y, val_size=0.25, test_size=0.25, stratify=y, random_state=0)
    message = str(raised.value)
    assert message.count("members)") == 5
    assert "and 15 more of the 20 classes" in message
