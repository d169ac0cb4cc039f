"""Validation splits and class weights for training the linear models."""

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils.class_weight import compute_class_weight


def split_validation(X, targets, sample_weight, validation_fraction, seed, *, stratify):
    """Split rows into a training part and a validation part for early stopping.

    Returns ``((X, targets, sample_weight), (X_val, targets_val, weights_val))``
    with C-contiguous arrays. With ``stratify`` the classes in ``targets``
    keep their proportions in both parts; scikit-learn's ValueError explains
    a class with too few samples for that.
    """
    indices = np.arange(X.shape[0])
    train, validation = train_test_split(
        indices,
        test_size=validation_fraction,
        random_state=seed,
        stratify=targets if stratify else None,
    )
    train.sort()
    validation.sort()

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
    per_class = compute_class_weight(class_weight, classes=classes, y=classes[indices])
    return per_class[indices]
