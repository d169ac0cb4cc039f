"""Tests of the bias-variance diagnosis, with fastml's own estimators."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from fastml import LinearRegression, LogisticRegression
from fastml.diagnostics import Diagnosis, diagnose
from fastml.model_selection import LearningCurve, learning_curve


def quadratic_data(n_samples, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, n_samples)
    return x[:, None], x**2 + rng.normal(0, 0.5, n_samples)


def sine_data(n_samples, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n_samples)
    return x[:, None], np.sin(3 * x) + rng.normal(0, 0.2, n_samples)


def polynomial(degree):
    return make_pipeline(
        PolynomialFeatures(degree), StandardScaler(), LinearRegression()
    )


def make_curve(train_cost, val_cost, null_cost=1.0, val_null_cost=None):
    return LearningCurve(
        train_sizes=np.arange(1, len(train_cost) + 1) * 10,
        train_cost=np.asarray(train_cost, dtype=float),
        val_cost=np.asarray(val_cost, dtype=float),
        cost_name="squared-error cost",
        null_cost=null_cost,
        val_null_cost=null_cost if val_null_cost is None else val_null_cost,
    )


def test_linear_on_quadratic_is_high_bias():
    X, y = quadratic_data(200)

    result = diagnose(LinearRegression(), X[:100], y[:100], X[100:], y[100:])

    assert result.verdict == "high bias"
    assert result.high_bias
    assert not result.high_variance
    assert "add features or use a higher polynomial degree" in result.remedies
    assert "lower alpha (weaker regularization)" in result.remedies


def test_degree_15_on_20_points_is_high_variance():
    X, y = sine_data(120)

    # A degree-15 polynomial on 20 points is ill-conditioned, so L-BFGS may
    # stop at max_epochs; the interpolating fit is what matters here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = diagnose(polynomial(15), X[:20], y[:20], X[20:], y[20:])

    assert result.verdict == "high variance"
    assert result.high_variance
    assert not result.high_bias
    assert "get more training data" in result.remedies
    assert "raise alpha (stronger regularization)" in result.remedies
    assert "use early stopping" in result.remedies


def test_suitable_degree_is_good_fit():
    X, y = sine_data(120)
    result = diagnose(polynomial(3), X[:60], y[:60], X[60:], y[60:])
    assert result.verdict == "good fit"


def test_both_gaps_high():
    result = diagnose(make_curve([0.5, 0.4], [1.0, 0.9]))
    assert result.verdict == "high bias and high variance"
    assert "get more training data" in result.remedies
    assert "add features or use a higher polynomial degree" in result.remedies


def test_gaps_and_thresholds():
    result = diagnose(
        make_curve([0.3], [0.5], null_cost=2.0),
        baseline=0.1,
        bias_threshold=0.05,
        variance_threshold=0.2,
    )
    assert result.bias_gap == pytest.approx(0.2, rel=1e-12, abs=1e-15)
    assert result.variance_gap == pytest.approx(0.2, rel=1e-12, abs=1e-15)
    assert result.bias_threshold == pytest.approx(0.1, rel=1e-12, abs=0)
    assert result.variance_threshold == pytest.approx(0.4, rel=1e-12, abs=0)
    assert result.verdict == "high bias"


def test_wider_validation_spread_is_not_variance():
    # Relative to their own null costs the errors are 0.9 and 1.4 / 1.5 = 0.93.
    result = diagnose(make_curve([0.9], [1.4], null_cost=1.0, val_null_cost=1.5))
    assert result.variance_gap == pytest.approx(0.5, rel=1e-12, abs=0)
    assert result.variance_threshold == pytest.approx(0.6, rel=1e-12, abs=0)
    assert result.verdict == "high bias"


def test_narrower_validation_spread_lowers_limit():
    # Relative errors 0.5 and 0.5 / 0.8 = 0.625 differ by more than 0.1.
    result = diagnose(make_curve([0.5], [0.5], null_cost=1.0, val_null_cost=0.8))
    assert result.variance_threshold == pytest.approx(-0.02, rel=1e-12, abs=1e-15)
    assert result.verdict == "high bias and high variance"


def test_baseline_explains_training_error():
    curve = make_curve([0.3], [0.32])
    assert diagnose(curve).verdict == "high bias"
    assert diagnose(curve, baseline=0.28).verdict == "good fit"


def test_curve_uses_largest_finite_size():
    curve = make_curve([np.nan, 0.01, 0.02, np.nan], [np.nan, 0.9, 0.03, 0.5])
    result = diagnose(curve)
    assert result.train_size == 30
    assert result.train_error == 0.02
    assert result.val_error == 0.03


def test_curve_and_model_give_same_errors():
    X, y = quadratic_data(200)
    X_train, X_val, y_train, y_val = X[:100], X[100:], y[:100], y[100:]

    curve = learning_curve(LinearRegression(), X_train, y_train, X_val, y_val)
    from_curve = diagnose(curve)
    from_model = diagnose(LinearRegression(), X_train, y_train, X_val, y_val)

    assert from_curve.train_error == pytest.approx(from_model.train_error, rel=1e-12)
    assert from_curve.val_error == pytest.approx(from_model.val_error, rel=1e-12)
    assert from_curve.null_cost == pytest.approx(from_model.null_cost, rel=1e-12)
    assert from_curve.verdict == from_model.verdict


def test_classifier_penalty_moves_verdict():
    rng = np.random.default_rng(0)
    X = rng.normal(0, 1, (200, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    data = (X[:100], y[:100], X[100:], y[100:])

    # alpha = 1 / (C * n) maps scikit-learn's C=0.01 and C=100 on 100 rows.
    strong_penalty = diagnose(LogisticRegression(alpha=1.0), *data)
    weak_penalty = diagnose(LogisticRegression(alpha=1e-4), *data)

    assert strong_penalty.cost_name == "log loss"
    assert strong_penalty.null_cost == pytest.approx(np.log(2), rel=0, abs=0.01)
    assert strong_penalty.verdict == "high bias"
    assert weak_penalty.verdict == "good fit"


def test_model_passed_in_is_not_fitted():
    X, y = quadratic_data(40)
    model = LinearRegression()
    diagnose(model, X[:20], y[:20], X[20:], y[20:])
    assert not hasattr(model, "coef_")


def test_report_is_readable():
    text = str(diagnose(make_curve([0.5], [0.55]), baseline=0.1))
    assert "Verdict: high bias" in text
    assert "training error     0.5" in text
    assert "baseline           0.1" in text
    assert "above threshold 0.1" in text
    assert "  - add features" in text
    assert "0 (none given, so noise" in str(diagnose(make_curve([0.5], [0.55])))


def test_result_type():
    assert isinstance(diagnose(make_curve([0.0], [0.0])), Diagnosis)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"baseline": -0.1}, "baseline must be a finite number >= 0"),
        ({"baseline": float("nan")}, "baseline must be a finite number >= 0"),
        ({"baseline": "0.1"}, "got '0.1'"),
        ({"bias_threshold": 0}, "bias_threshold must be a finite number > 0"),
        ({"variance_threshold": True}, "variance_threshold must be"),
    ],
)
def test_rejects_invalid_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        diagnose(make_curve([0.1], [0.2]), **kwargs)


def test_rejects_data_with_curve():
    X, y = quadratic_data(10)
    with pytest.raises(ValueError, match="must be omitted when a LearningCurve"):
        diagnose(make_curve([0.1], [0.2]), X, y, X, y)


def test_rejects_model_without_data():
    with pytest.raises(
        ValueError, match=r"required when diagnosing an estimator \(LinearRegression\)"
    ):
        diagnose(LinearRegression())


def test_rejects_curve_without_finite_costs():
    with pytest.raises(ValueError, match="no training size with finite costs"):
        diagnose(make_curve([np.nan], [np.nan]))
