"""Losses computed from logits by the C++ core.

Each function takes raw scores (logits), never probabilities, because
log(p) loses all precision once p rounds to 0 or 1: the cross-entropies are
evaluated as softplus and log-sum-exp of the logits instead. Logits may be
+-inf; the loss is then 0 or +inf, never NaN. float32 logits are computed in
float32, everything else in float64.

``reduction`` is "mean" (the cost: the mean of the per-sample losses, summed
in float64), "sum", or "none" (the per-sample losses). With
``return_grad=True`` the gradient of the reduced value with respect to the
logits is returned as well, with the logits' shape.
"""

import numpy as np

from . import _core
from ._arrays import as_float_array, check_finite, check_no_nan

REDUCTIONS = ("mean", "sum", "none")


def _check_options(reduction, return_grad):
    if not (isinstance(reduction, str) and reduction in REDUCTIONS):
        raise ValueError(f"reduction must be one of {REDUCTIONS}; got {reduction!r}.")
    if not isinstance(return_grad, (bool, np.bool_)):
        raise TypeError(f"return_grad must be True or False; got {return_grad!r}.")


def _check_rows_sum_to_one(rows, name):
    """Raise ValueError unless every row of ``rows`` sums to 1."""
    tolerance = 1e-4 if rows.dtype == np.float32 else 1e-6
    sums = rows.sum(axis=1, dtype=np.float64)
    bad = np.flatnonzero(np.abs(sums - 1) > tolerance)
    if bad.size:
        raise ValueError(
            f"each row of {name} must sum to 1; "
            f"row {bad[0]} sums to {sums[bad[0]]:.6g}."
        )


def _reduce(losses, grad, reduction, n_samples, return_grad):
    if reduction == "none":
        value = losses
    else:
        total = np.sum(losses, dtype=np.float64)
        value = total / n_samples if reduction == "mean" else total
        value = losses.dtype.type(value)
        if reduction == "mean":
            grad = grad / grad.dtype.type(n_samples)
    return (value, grad) if return_grad else value


def _check_targets_in_unit_interval(targets, name):
    check_finite(targets, name)
    if targets.size and (targets.min() < 0 or targets.max() > 1):
        raise ValueError(
            f"{name} must lie in [0, 1]; "
            f"got values from {targets.min()} to {targets.max()}."
        )


def binary_cross_entropy(logits, targets, reduction="mean", return_grad=False):
    """Binary cross-entropy of logits z against targets y in [0, 1].

    loss = -(y * log(sigmoid(z)) + (1 - y) * log(1 - sigmoid(z))), computed
    as log1p(exp(-|z|)) plus max(z, 0) or max(-z, 0) terms. The gradient
    with respect to z is sigmoid(z) - y (divided by n for the mean).
    """
    _check_options(reduction, return_grad)
    z = as_float_array(logits, "logits")
    y = as_float_array(targets, "targets", dtype=z.dtype)
    check_no_nan(z, "logits")
    _check_targets_in_unit_interval(y, "targets")
    if z.shape != y.shape:
        raise ValueError(
            f"logits and targets must have the same shape; got {z.shape} and {y.shape}."
        )
    if z.size == 0:
        raise ValueError("logits is empty; at least one sample is required.")
    losses, grad = _core.binary_cross_entropy(z, y)
    return _reduce(losses, grad, reduction, z.size, return_grad)


def softmax_cross_entropy(logits, targets, reduction="mean", return_grad=False):
    """Softmax cross-entropy of logits of shape (n_samples, n_classes).

    ``targets`` are class indices of shape (n_samples,), integers in
    [0, n_classes), or probability rows of shape (n_samples, n_classes).
    loss_i = logsumexp(z_i) - z_i[y_i] for indices and
    -sum_j y_ij * log_softmax(z_i)_j for rows; the gradient with respect to
    z_i is softmax(z_i) - y_i. A 1-D ``logits`` is one sample.
    """
    _check_options(reduction, return_grad)
    z = as_float_array(logits, "logits")
    targets = np.asarray(targets)
    if z.ndim == 1:
        if targets.ndim > 1:
            raise ValueError(
                f"targets of one sample must be a class index or a probability row; "
                f"got shape {targets.shape}."
            )
        z = z[np.newaxis, :]
        # One sample's class index may come as a scalar or a 1-element array.
        targets = (
            targets.reshape(1) if targets.shape == (1,) else targets[np.newaxis, ...]
        )
        squeeze = True
    else:
        squeeze = False
    if z.ndim != 2:
        raise ValueError(
            f"logits must be 2-D (n_samples, n_classes); got shape {z.shape}."
        )
    if z.shape[0] == 0 or z.shape[1] == 0:
        raise ValueError(
            f"logits must hold at least one sample and one class; got shape {z.shape}."
        )
    check_no_nan(z, "logits")
    y = np.asarray(targets)
    if y.shape == z.shape:
        y = as_float_array(y, "targets", dtype=z.dtype)
        _check_targets_in_unit_interval(y, "targets")
        _check_rows_sum_to_one(y, "targets")
        losses, grad = _core.softmax_cross_entropy_soft(z, y)
    elif y.shape == z.shape[:1]:
        if y.dtype.kind not in "iu" and not (
            y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y))
        ):
            raise ValueError(
                f"class-index targets must be integers; got dtype {y.dtype}."
            )
        indices = np.ascontiguousarray(y, dtype=np.int64)
        bad = (indices < 0) | (indices >= z.shape[1])
        if bad.any():
            raise ValueError(
                f"targets must be class indices in [0, {z.shape[1]}); "
                f"got {indices[bad][0]} at position {int(np.flatnonzero(bad)[0])}."
            )
        losses, grad = _core.softmax_cross_entropy(z, indices)
    else:
        raise ValueError(
            f"targets must have shape {z.shape[:1]} (class indices) or {z.shape} "
            f"(probability rows); got {y.shape}."
        )
    value = _reduce(losses, grad, reduction, z.shape[0], return_grad)
    if squeeze and reduction == "none":
        value = (value[0][0], value[1][0]) if return_grad else value[0]
    elif squeeze and return_grad:
        value = (value[0], value[1][0])
    return value


def squared_error(predictions, targets, reduction="mean", return_grad=False):
    """Half squared error (z - y)^2 / 2 per element, gradient z - y.

    The mean over n samples is the cost J = 1/(2n) * sum((z - y)^2).
    """
    _check_options(reduction, return_grad)
    z = as_float_array(predictions, "predictions")
    y = as_float_array(targets, "targets", dtype=z.dtype)
    check_finite(z, "predictions")
    check_finite(y, "targets")
    if z.shape != y.shape:
        raise ValueError(
            "predictions and targets must have the same shape; "
            f"got {z.shape} and {y.shape}."
        )
    if z.size == 0:
        raise ValueError("predictions is empty; at least one sample is required.")
    losses, grad = _core.squared_error(z, y)
    n_samples = z.shape[0] if z.ndim else 1
    if reduction == "mean" and z.ndim == 2:
        losses = losses.sum(axis=1, dtype=np.float64).astype(z.dtype)
    return _reduce(losses, grad, reduction, n_samples, return_grad)


def log_loss(targets, probabilities, reduction="mean"):
    """Cross-entropy of predicted probabilities, without clipping.

    ``probabilities`` is either the probability of the positive class, shape
    (n_samples,), with 0/1 (or [0, 1]) targets, or probability rows of shape
    (n_samples, n_classes) with class-index targets. Probabilities are turned
    into logits (log(p) - log(1 - p), or log(p) for rows, which must sum
    to 1) and passed to the losses above. A confident correct prediction
    (p exactly 0 or 1 on the right side) costs 0 and a confident wrong one
    costs +inf, because probabilities are not clipped to a small epsilon.
    Integer arrays are accepted.
    """
    p = as_float_array(probabilities, "probabilities", dtype=np.float64)
    t = np.asarray(targets)
    if p.size == 0:
        raise ValueError("probabilities is empty; at least one sample is required.")
    check_finite(p, "probabilities")
    if p.min() < 0 or p.max() > 1:
        raise ValueError(
            f"probabilities must lie in [0, 1]; got values from {p.min()} to {p.max()}."
        )
    if p.ndim == 2:
        if t.shape != p.shape[:1]:
            raise ValueError(
                f"targets must hold one class index per row of probabilities "
                f"{p.shape}; got shape {t.shape}."
            )
        _check_rows_sum_to_one(p, "probabilities")
        with np.errstate(divide="ignore"):
            logits = np.log(p)
        return softmax_cross_entropy(logits, t, reduction=reduction)
    if t.shape != p.shape:
        raise ValueError(
            f"targets and probabilities must have the same shape; got {t.shape} "
            f"and {p.shape}."
        )
    with np.errstate(divide="ignore"):
        logits = np.log(p) - np.log1p(-p)
    return binary_cross_entropy(logits, t, reduction=reduction)
