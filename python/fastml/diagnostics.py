"""Bias-variance diagnosis from training and validation error.

The errors are the unpenalized costs of `fastml.model_selection`: mean log loss
for classifiers and J = 1/(2m) * sum(err^2) for regressors. A baseline, such as
human-level performance, must be given in the same unit.

The bias gap is the training error minus the baseline (zero when no baseline is
given). The variance gap is the validation error minus the training error.
Thresholds are fractions of the null cost of a data set: the cost of the best
constant prediction for that set (its mean, or its class frequencies), which
makes the default fractions usable for any unit of y.

- The bias gap is high when it exceeds ``bias_threshold`` times the training
  null cost.
- The variance gap is high when the validation error, as a fraction of the
  validation null cost, exceeds the training error, as a fraction of the
  training null cost, by more than ``variance_threshold``. For squared error
  these fractions are 1 - R^2. Comparing fractions keeps a validation set whose
  y happens to spread more than y_train from passing for high variance.
  `Diagnosis.variance_threshold` is the same rule as a limit on the variance gap.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from ._evaluation import (
    LOG_LOSS,
    SQUARED_ERROR,
    check_classification_targets,
    check_pair,
    clone,
    cost,
    is_classifier,
    null_cost,
)
from ._results import LearningCurve

__all__ = ["Diagnosis", "diagnose"]

BIAS_REMEDIES = (
    "add features or use a higher polynomial degree",
    "lower alpha (weaker regularization)",
    "use a bigger network (more hidden units or layers)",
    "train longer (raise max_epochs) if training stopped before converging",
    "more training data alone is unlikely to help while the training error is high",
)
VARIANCE_REMEDIES = (
    "get more training data",
    "raise alpha (stronger regularization)",
    "use a smaller model (fewer features, lower degree, fewer hidden units)",
    "use early stopping",
)
GOOD_FIT_REMEDIES = ("none needed: evaluate the chosen model once on the test set",)


@dataclass(frozen=True)
class Diagnosis:
    """Training and validation error, their gaps, and the verdict they give.

    ``verdict`` is one of "good fit", "high bias", "high variance" and
    "high bias and high variance". ``bias_threshold`` and
    ``variance_threshold`` are the limits the gaps were compared with, in the
    unit of the errors. ``null_cost`` and ``val_null_cost`` are the costs of the
    best constant prediction on the training and on the validation set.
    ``baseline`` is None when none was given, in which case the bias gap is
    measured from zero error.
    """

    train_error: float
    val_error: float
    baseline: float | None
    bias_gap: float
    variance_gap: float
    bias_threshold: float
    variance_threshold: float
    null_cost: float
    val_null_cost: float
    verdict: str
    remedies: tuple
    cost_name: str
    train_size: int

    @property
    def high_bias(self):
        """Whether the bias gap exceeds its threshold."""
        return self.bias_gap > self.bias_threshold

    @property
    def high_variance(self):
        """Whether the variance gap exceeds its threshold."""
        return self.variance_gap > self.variance_threshold

    def __str__(self):
        if self.baseline is None:
            baseline = "0 (none given, so noise in the target counts as bias)"
        else:
            baseline = f"{self.baseline:.4g}"
        lines = [
            f"Bias-variance diagnosis ({self.train_size} training samples)",
            f"  cost               {self.cost_name}, without the penalty",
            f"  null cost          {self.null_cost:.4g} training, "
            f"{self.val_null_cost:.4g} validation (best constant prediction)",
            f"  training error     {self.train_error:.4g}",
            f"  validation error   {self.val_error:.4g}",
            f"  baseline           {baseline}",
            _gap_line("bias gap", self.bias_gap, self.bias_threshold, self.high_bias),
            _gap_line(
                "variance gap",
                self.variance_gap,
                self.variance_threshold,
                self.high_variance,
            ),
            f"Verdict: {self.verdict}",
            "Remedies:",
        ]
        lines.extend(f"  - {remedy}" for remedy in self.remedies)
        return "\n".join(lines)


def _gap_line(name, gap, threshold, high):
    relation = "above" if high else "within"
    return f"  {name:<17}  {gap:.4g} ({relation} threshold {threshold:.4g})"


def diagnose(
    model_or_curve,
    X_train=None,
    y_train=None,
    X_val=None,
    y_val=None,
    *,
    baseline=None,
    bias_threshold=0.1,
    variance_threshold=0.1,
):
    """Diagnose high bias or high variance and return the verdict with remedies.

    Call it either as ``diagnose(model, X_train, y_train, X_val, y_val)`` or as
    ``diagnose(learning_curve_result)``.

    Parameters
    ----------
    model_or_curve : estimator or LearningCurve
        An estimator is cloned and fitted on (X_train, y_train), so the object
        passed in is not changed. A `LearningCurve` is read at its largest
        training size with finite costs.
    X_train, y_train, X_val, y_val : array-likes
        Training and validation data. Required with an estimator, rejected with
        a learning curve.
    baseline : float >= 0, default None
        Reference error, such as human-level performance, in the unit of the
        costs. None measures the bias gap from zero error.
    bias_threshold, variance_threshold : float > 0, default 0.1
        Fractions of the null cost above which the bias gap or the variance gap
        counts as high, as described in the module docstring.

    Returns
    -------
    Diagnosis
    """
    baseline = _check_baseline(baseline)
    bias_fraction = _check_fraction("bias_threshold", bias_threshold)
    variance_fraction = _check_fraction("variance_threshold", variance_threshold)
    data = (X_train, y_train, X_val, y_val)
    if isinstance(model_or_curve, LearningCurve):
        if any(item is not None for item in data):
            raise ValueError(
                "diagnose: X_train, y_train, X_val and y_val must be omitted when "
                "a LearningCurve is given, because its costs are already computed"
            )
        errors = _errors_from_curve(model_or_curve)
    else:
        if any(item is None for item in data):
            raise ValueError(
                "diagnose: X_train, y_train, X_val and y_val are required when "
                f"diagnosing an estimator ({type(model_or_curve).__name__})"
            )
        errors = _errors_from_model(model_or_curve, *data)

    train_error, val_error, train_null, val_null, cost_name, train_size = errors
    bias_gap = train_error - (0.0 if baseline is None else baseline)
    variance_gap = val_error - train_error
    bias_limit = bias_fraction * train_null
    # val/val_null - train/train_null > fraction, solved for val - train.
    spread_ratio = val_null / train_null if train_null > 0 else 1.0
    variance_limit = variance_fraction * val_null + train_error * (spread_ratio - 1)
    verdict, remedies = _verdict(bias_gap > bias_limit, variance_gap > variance_limit)
    return Diagnosis(
        train_error=train_error,
        val_error=val_error,
        baseline=baseline,
        bias_gap=bias_gap,
        variance_gap=variance_gap,
        bias_threshold=bias_limit,
        variance_threshold=variance_limit,
        null_cost=train_null,
        val_null_cost=val_null,
        verdict=verdict,
        remedies=remedies,
        cost_name=cost_name,
        train_size=train_size,
    )


def _verdict(high_bias, high_variance):
    if high_bias and high_variance:
        return "high bias and high variance", BIAS_REMEDIES[:-1] + VARIANCE_REMEDIES
    if high_bias:
        return "high bias", BIAS_REMEDIES
    if high_variance:
        return "high variance", VARIANCE_REMEDIES
    return "good fit", GOOD_FIT_REMEDIES


def _errors_from_curve(curve):
    finite = np.isfinite(curve.train_cost) & np.isfinite(curve.val_cost)
    if not finite.any():
        raise ValueError(
            "diagnose: the learning curve has no training size with finite costs; "
            "recompute it with larger train_sizes"
        )
    last = np.flatnonzero(finite)[-1]
    return (
        float(curve.train_cost[last]),
        float(curve.val_cost[last]),
        curve.null_cost,
        curve.val_null_cost,
        curve.cost_name,
        int(curve.train_sizes[last]),
    )


def _errors_from_model(model, X_train, y_train, X_val, y_val):
    check_pair(X_train, y_train, "X_train", "y_train")
    check_pair(X_val, y_val, "X_val", "y_val")
    classifier = is_classifier(model)
    if classifier:
        check_classification_targets(y_train, y_val)
    fitted = clone(model).fit(X_train, y_train)
    return (
        cost(fitted, X_train, y_train, classifier),
        cost(fitted, X_val, y_val, classifier),
        null_cost(y_train, classifier),
        null_cost(y_val, classifier),
        LOG_LOSS if classifier else SQUARED_ERROR,
        len(y_train),
    )


def _check_baseline(baseline):
    if baseline is None:
        return None
    valid = isinstance(baseline, numbers.Real) and not isinstance(baseline, bool)
    if not valid or not math.isfinite(baseline) or baseline < 0:
        raise ValueError(
            f"diagnose: baseline must be a finite number >= 0 in the unit of the "
            f"costs, or None, got {baseline!r}"
        )
    return float(baseline)


def _check_fraction(name, value):
    valid = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not valid or not math.isfinite(value) or value <= 0:
        raise ValueError(
            f"diagnose: {name} must be a finite number > 0 (a fraction of the "
            f"null cost), got {value!r}"
        )
    return float(value)
