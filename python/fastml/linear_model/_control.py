"""Validation splits and class weights for training the linear models."""

import math
import numbers

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils.class_weight import compute_class_weight


def hold_out_rows(
    n_samples, validation_fraction, seed, stratify, sample_weight=None, weighted_parts=("training",)
):
    """Return sorted (train, validation) row indices for early stopping.

    ``stratify`` is None or the labels whose proportions both parts keep.
    Raises a ValueError that names early_stopping and validation_fraction
    when the rows are too few to hold a validation set out, or when the
    ``sample_weight`` of a part named in ``weighted_parts`` ("training",
    "validation") sums to 0.
    """
    try:
        train, validation = train_test_split(
            np.arange(n_samples),
            test_size=validation_fraction,
            random_state=seed,
            stratify=stratify,
        )
    except ValueError as error:
        raise ValueError(
            f"early_stopping cannot hold out validation_fraction="
            f"{validation_fraction} of {n_samples} samples: {str(error).rstrip('.')}. "
            "Pass X_val and y_val, raise validation_fraction, or set "
            "early_stopping=False."
        ) from None
    if sample_weight is not None:
        for part, rows in (("training", train), ("validation", validation)):
            if part in weighted_parts and not sample_weight[rows].sum() > 0:
                raise ValueError(
                    f"early_stopping: the sample_weight of the {part} part left by "
                    f"validation_fraction={validation_fraction} sums to 0, so that part "
                    "cannot be used. Give weight to more rows, pass X_val and y_val, or "
                    "set early_stopping=False."
                )
    return np.sort(train), np.sort(validation)


def split_validation(X, targets, sample_weight, validation_fraction, seed, *, stratify):
    """Split rows into a training part and a validation part for early stopping.

    Returns ``((X, targets, sample_weight), (X_val, targets_val, weights_val))``
    with C-contiguous arrays. With ``stratify`` the classes in ``targets``
    keep their proportions in both parts; scikit-learn's ValueError explains
    a class with too few samples for that.
    """
    train, validation = hold_out_rows(
        X.shape[0],
        validation_fraction,
        seed,
        targets if stratify else None,
        sample_weight,
        weighted_parts=("training", "validation"),
    )

    def take(rows):
        weights = (
            None if sample_weight is None else np.ascontiguousarray(sample_weight[rows])
        )
        return (
            np.ascontiguousarray(X[rows]),
            np.ascontiguousarray(targets[rows]),
            weights,
        )

    return take(train), take(validation)


def class_sample_weights(class_weight, classes, indices):
    """Per-sample weights from ``class_weight`` ("balanced", a dict or None).

    "balanced" gives class c the weight n_samples / (n_classes * count(c)),
    as scikit-learn's ``compute_class_weight``. A dict maps labels to
    weights; labels missing from it get weight 1, and keys that are not
    classes of y raise ValueError. Returns None for ``class_weight=None``.
    """
    if class_weight is None:
        return None
    if isinstance(class_weight, dict):
        unknown = [
            label for label in class_weight if label not in set(classes.tolist())
        ]
        if unknown:
            raise ValueError(
                f"class_weight has labels {unknown!r} that are not classes of y; "
                f"the classes are {classes.tolist()!r}."
            )
        for label, weight in class_weight.items():
            valid = isinstance(weight, numbers.Real) and not isinstance(weight, bool)
            if not (valid and math.isfinite(weight) and weight >= 0):
                raise ValueError(
                    f"class_weight[{label!r}] is {weight!r}; class weights must be "
                    "finite numbers >= 0."
                )
    per_class = compute_class_weight(class_weight, classes=classes, y=classes[indices])
    return per_class[indices]
