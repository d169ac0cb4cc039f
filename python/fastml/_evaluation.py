"""Unpenalized costs of fitted estimators and the checks and helpers around fitting."""

import numpy as np

from . import losses
from ._splitting import as_label_array, format_label, format_labels, num_samples, take

LOG_LOSS = "log loss"
SQUARED_ERROR = "squared-error cost J = 1/(2m) sum(err^2)"


def cost(estimator, X, y, classifier):
    """Return the unpenalized cost of a fitted estimator on (X, y)."""
    if classifier:
        return _log_loss(estimator, X, y)
    return _squared_error_cost(estimator.predict(X), y)


def _squared_error_cost(predictions, y):
    y = np.asarray(y, dtype=np.float64)
    predictions = np.asarray(predictions, dtype=np.float64).reshape(y.shape)
    return float(losses.squared_error(predictions, y))


def _log_loss(estimator, X, y):
    """Return the mean log loss, computed from logits where possible.

    ``decision_function`` is taken as logits unless the estimator also has
    ``predict_proba`` and the two disagree (as for SVC, whose decision function
    is a margin). A classifier with neither method raises ValueError.
    Probabilities are clipped to [eps, 1] with eps the float64
    machine epsilon, so that a probability of exactly 0 costs -log(eps) = 36.04
    instead of infinity.
    """
    if not (
        hasattr(estimator, "decision_function") or hasattr(estimator, "predict_proba")
    ):
        raise ValueError(
            f"{type(estimator).__name__} has neither decision_function nor "
            "predict_proba, so its log loss cannot be computed"
        )
    class_index = _class_indices(estimator.classes_, y)
    logits = _logits_if_consistent(estimator, X)
    if logits is not None:
        return float(np.mean(_log_loss_from_logits(logits, class_index)))
    probabilities = np.asarray(estimator.predict_proba(X), dtype=np.float64)
    picked = probabilities[np.arange(len(class_index)), class_index]
    eps = np.finfo(np.float64).eps
    return float(np.mean(-np.log(np.clip(picked, eps, 1.0))))


def _logits_if_consistent(estimator, X):
    if not hasattr(estimator, "decision_function"):
        return None
    logits = np.asarray(estimator.decision_function(X), dtype=np.float64)
    if not hasattr(estimator, "predict_proba"):
        return logits
    # Five rows are compared. Scores that are not logits, such as SVC margins,
    # disagree with predict_proba on almost every row.
    rows = np.arange(min(5, len(logits)))
    from_logits = _probabilities_from_logits(logits[rows])
    reported = np.asarray(estimator.predict_proba(take(X, rows)))
    if from_logits.shape == reported.shape and np.allclose(
        from_logits, reported, rtol=1e-6, atol=1e-9
    ):
        return logits
    return None


def _probabilities_from_logits(logits):
    if logits.ndim == 1:
        positive = 0.5 * (1.0 + np.tanh(0.5 * logits))
        return np.column_stack([1.0 - positive, positive])
    shifted = logits - logits.max(axis=1, keepdims=True)
    exponentials = np.exp(shifted)
    return exponentials / exponentials.sum(axis=1, keepdims=True)


def _log_loss_from_logits(logits, class_index):
    """Return the per-sample log loss of binary (n,) or multi-class (n, K) logits."""
    if logits.ndim == 1:
        targets = np.asarray(class_index, dtype=np.float64)
        return losses.binary_cross_entropy(logits, targets, reduction="none")
    return losses.softmax_cross_entropy(logits, class_index, reduction="none")


def _class_indices(classes, y):
    """Return the position of each label of ``y`` in ``classes``."""
    classes = np.asarray(classes)
    labels = as_label_array(y, "y")
    order = np.argsort(classes, kind="stable")
    sorted_classes = classes[order]
    positions = np.clip(np.searchsorted(sorted_classes, labels), 0, len(classes) - 1)
    unknown = sorted_classes[positions] != labels
    if unknown.any():
        raise ValueError(
            f"label {format_label(labels[unknown][0])} is not among the classes "
            f"the model was trained on ({format_labels(classes)})"
        )
    return order[positions]


def null_cost(y, classifier):
    """Return the cost on ``y`` of the best constant prediction fitted to ``y``."""
    if classifier:
        _, counts = np.unique(as_label_array(y, "y"), return_counts=True)
        frequencies = counts / counts.sum()
        return float(-np.sum(frequencies * np.log(frequencies)))
    y = np.asarray(y, dtype=np.float64)
    return _squared_error_cost(np.broadcast_to(y.mean(axis=0), y.shape), y)


def concatenate(first, second):
    """Stack the samples of two arrays, lists, sparse matrices or pandas objects."""
    if hasattr(first, "iloc"):
        import pandas

        return pandas.concat([first, second])
    if hasattr(first, "tocsr"):
        import scipy.sparse

        return scipy.sparse.vstack([first, second]).tocsr()
    if hasattr(first, "shape"):
        return np.concatenate([first, np.asarray(second)])
    return list(first) + list(second)


def check_pair(X, y, x_name, y_name):
    n_x = num_samples(X, x_name)
    n_y = num_samples(y, y_name)
    if n_x != n_y:
        raise ValueError(f"{x_name} has {n_x} samples but {y_name} has {n_y}")
    if n_x == 0:
        raise ValueError(f"{x_name} and {y_name} are empty")


def check_classification_targets(y_train, y_val):
    """Return the classes of ``y_train`` after checking that ``y_val`` uses them."""
    classes = np.unique(as_label_array(y_train, "y_train"))
    if len(classes) < 2:
        raise ValueError(
            f"y_train contains only one class ({format_label(classes[0])}); "
            "a classifier needs at least two"
        )
    unseen = np.setdiff1d(np.unique(as_label_array(y_val, "y_val")), classes)
    if unseen.size:
        raise ValueError(
            f"y_val contains class {format_labels(unseen)}, which y_train does "
            "not contain, so the validation cost is undefined"
        )
    return classes


def check_param_name(estimator, name, caller):
    valid = estimator.get_params(deep=True)
    if name not in valid:
        raise ValueError(
            f"{caller}: {name!r} is not a parameter of {type(estimator).__name__}; "
            f"valid parameters: {', '.join(sorted(valid))}"
        )


def is_classifier(estimator):
    """Return whether ``estimator`` is a classifier.

    scikit-learn's ``is_classifier`` raises for objects without scikit-learn
    tags, so those fall back to the older ``_estimator_type`` attribute.
    """
    if hasattr(estimator, "__sklearn_tags__"):
        from sklearn.base import is_classifier as sklearn_is_classifier

        return sklearn_is_classifier(estimator)
    return getattr(estimator, "_estimator_type", None) == "classifier"


def clone(estimator):
    """Return an unfitted copy of ``estimator`` with the same parameters."""
    from sklearn.base import clone as sklearn_clone

    return sklearn_clone(estimator)


def progress(items, verbose, description):
    """Wrap ``items`` in a tqdm bar if ``verbose``, shown once a second has passed."""
    if not verbose:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=description, delay=1.0, leave=False)
