"""Splitting into train, validation and test parts, with exact stratification."""

import math
import numbers

import numpy as np

_PART_NAMES = ("train", "validation", "test")


def train_val_test_split(
    *arrays,
    val_size=0.2,
    test_size=0.2,
    stratify=None,
    random_state=None,
    shuffle=True,
):
    """Split arrays into train, validation and test parts.

    Parameters
    ----------
    *arrays : array-likes with the same number of samples
        NumPy arrays, lists, SciPy sparse matrices or pandas objects.
    val_size, test_size : float in [0, 1) or int >= 0, default 0.2
        A float is a fraction of the samples, rounded up, so that a positive
        fraction never gives an empty part. An int is a number of samples. The
        training part gets the remaining samples and must not be empty.
    stratify : array-like of shape (n_samples,), default None
        Class labels. Each part then contains every class in about its
        proportion of the whole data. Every class must have at least one member in every
        non-empty part, so with a validation and a test part each class needs at
        least three members, and with ``val_size=0`` at least two.
    random_state : int, numpy.random.Generator or None, default None
        Seed of the shuffle. The same int gives the same split.
    shuffle : bool, default True
        If False, the parts are consecutive blocks in input order (train first).
        Stratification needs ``shuffle=True``.

    Returns
    -------
    list
        For each array in turn its train, validation and test parts:
        ``X_train, X_val, X_test, y_train, y_val, y_test`` for two arrays.
        The validation part is empty when ``val_size=0``.

    Raises
    ------
    ValueError
        On an invalid argument, or on a stratified split that is impossible: a
        class with too few members (the message names the class and its count)
        or a part smaller than the number of classes.

    Notes
    -----
    A stratified split gives the parts exactly the requested sizes. Class k,
    with c_k of the n samples, gets floor(c_k * n_part / n) samples of each part,
    but at least one. The samples left over go one at a time to the class and
    part furthest below their proportional share, ties going to the earlier class
    (in sorted label order) and then to the earlier part (train, validation, test).
    Where the at-least-one rule takes a class or a part over its total, samples
    are first taken back from the cells of that class or part that are furthest
    above their share.
    """
    if not arrays:
        raise ValueError("train_val_test_split: at least one array is required")
    n_samples = num_samples(arrays[0], "arrays[0]")
    for position, array in enumerate(arrays[1:], start=1):
        n_other = num_samples(array, f"arrays[{position}]")
        if n_other != n_samples:
            raise ValueError(
                f"train_val_test_split: arrays[{position}] has {n_other} samples "
                f"but arrays[0] has {n_samples}; all arrays need the same number"
            )
    n_val = _resolve_part_size("val_size", val_size, n_samples)
    n_test = _resolve_part_size("test_size", test_size, n_samples)
    n_train = n_samples - n_val - n_test
    if n_train < 1:
        raise ValueError(
            f"train_val_test_split: val_size={val_size!r} and test_size="
            f"{test_size!r} leave {n_train} of {n_samples} samples for training; "
            "the training part needs at least one sample"
        )
    if not isinstance(shuffle, (bool, np.bool_)):
        raise ValueError(
            f"train_val_test_split: shuffle must be True or False, got {shuffle!r}"
        )
    rng = make_rng(random_state, "train_val_test_split")

    sizes = np.array([n_train, n_val, n_test])
    if stratify is not None:
        if not shuffle:
            raise ValueError(
                "train_val_test_split: stratify requires shuffle=True, "
                "got shuffle=False"
            )
        parts = _stratified_parts(
            stratify, n_samples, sizes, (val_size, test_size), rng
        )
    elif shuffle:
        parts = np.split(rng.permutation(n_samples), np.cumsum(sizes)[:-1])
    else:
        parts = np.split(np.arange(n_samples), np.cumsum(sizes)[:-1])

    result = []
    for array in arrays:
        result.extend(take(array, indices) for indices in parts)
    return result


def _resolve_part_size(name, value, n_samples):
    """Convert ``val_size`` or ``test_size`` to a number of samples."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(
            f"train_val_test_split: {name} must be a float in [0, 1) or an int "
            f"in [0, {n_samples}], got {value!r}"
        )
    if isinstance(value, numbers.Integral):
        if not 0 <= value <= n_samples:
            raise ValueError(
                f"train_val_test_split: {name}={value} is outside [0, {n_samples}], "
                f"the range of sample counts for {n_samples} samples"
            )
        return int(value)
    if isinstance(value, numbers.Real) and 0.0 <= value < 1.0:
        # Rounding the product first keeps 0.07 * 100 = 7.000000000000001 at 7.
        return math.ceil(round(float(value) * n_samples, 9))
    raise ValueError(
        f"train_val_test_split: {name} must be a float in [0, 1) or an int "
        f"in [0, {n_samples}], got {value!r}"
    )


def _stratified_parts(stratify, n_samples, sizes, size_arguments, rng):
    labels = as_label_array(stratify, "stratify")
    if labels.shape[0] != n_samples:
        raise ValueError(
            f"train_val_test_split: stratify has {labels.shape[0]} labels but the "
            f"arrays have {n_samples} samples"
        )
    classes, class_of_sample, counts = np.unique(
        labels, return_inverse=True, return_counts=True
    )
    required = sizes > 0
    _check_stratification(classes, counts, sizes, required, size_arguments)

    allocation = allocate_stratified(counts, sizes, required)
    parts = [[] for _ in sizes]
    for k in range(len(classes)):
        members = rng.permutation(np.flatnonzero(class_of_sample == k))
        bounds = np.cumsum(allocation[k])[:-1]
        for part, chunk in zip(parts, np.split(members, bounds)):
            part.append(chunk)
    # Shuffle within each part so that samples are not grouped by class.
    return [rng.permutation(np.concatenate(part)) for part in parts]


def _check_stratification(classes, counts, sizes, required, size_arguments):
    """Raise ValueError unless every class fits into every non-empty part."""
    n_required = int(required.sum())
    part_list = ", ".join(name for name, needed in zip(_PART_NAMES, required) if needed)
    too_small = [
        f"{format_label(label)} ({count} member{'s' if count != 1 else ''})"
        for label, count in zip(classes, counts)
        if count < n_required
    ]
    if too_small:
        subject = "class" if len(too_small) == 1 else "classes"
        verb = "has" if len(too_small) == 1 else "have"
        # A continuous target has a "class" per value: name a few and count the rest.
        listed = ", ".join(too_small[:5])
        if len(too_small) > 5:
            listed += f" and {len(too_small) - 5} more of the {len(classes)} classes"
        raise ValueError(
            f"train_val_test_split: cannot stratify because {subject} "
            f"{listed} {verb} fewer than {n_required} members; a "
            f"stratified split into {part_list} parts needs at least {n_required} "
            "members of every class. Remove or merge rare classes, or split "
            "without stratify."
        )

    val_size, test_size = size_arguments
    requests = {
        2: f"test_size={test_size!r} gives",
        1: f"val_size={val_size!r} gives",
        0: f"val_size={val_size!r} and test_size={test_size!r} leave",
    }
    n_classes = len(classes)
    for index in (2, 1, 0):
        if required[index] and sizes[index] < n_classes:
            raise ValueError(
                f"train_val_test_split: {requests[index]} {sizes[index]} "
                f"{_PART_NAMES[index]} samples, fewer than the {n_classes} classes "
                "in stratify; a stratified split needs at least one sample of "
                "every class in each part"
            )


def allocate_stratified(counts, sizes, required):
    """Return the number of samples of each class in each part.

    The result has shape (n_classes, n_parts), row sums ``counts`` and column
    sums ``sizes``. Cells of required parts are at least 1, which the caller
    has checked to be feasible. The rounding rule is described in the Notes of
    `train_val_test_split`.
    """
    counts = np.asarray(counts, dtype=np.int64)
    sizes = np.asarray(sizes, dtype=np.int64)
    share = np.outer(counts, sizes) / counts.sum()
    lower = np.broadcast_to(np.asarray(required, dtype=np.int64), share.shape)
    allocation = np.maximum(np.floor(share).astype(np.int64), lower)

    while True:
        row_excess = allocation.sum(axis=1) > counts
        column_excess = allocation.sum(axis=0) > sizes
        if not (row_excess.any() or column_excess.any()):
            break
        reducible = allocation > lower
        both = row_excess[:, None] & column_excess[None, :] & reducible
        either = (row_excess[:, None] | column_excess[None, :]) & reducible
        mask = both if both.any() else either
        surplus = np.where(mask, allocation - share, -np.inf)
        allocation[np.unravel_index(np.argmax(surplus), surplus.shape)] -= 1

    while True:
        row_deficit = allocation.sum(axis=1) < counts
        if not row_deficit.any():
            break
        column_deficit = allocation.sum(axis=0) < sizes
        mask = row_deficit[:, None] & column_deficit[None, :]
        shortfall = np.where(mask, share - allocation, -np.inf)
        allocation[np.unravel_index(np.argmax(shortfall), shortfall.shape)] += 1
    return allocation


def num_samples(array, name):
    shape = getattr(array, "shape", None)
    if shape is not None:
        if len(shape) == 0:
            raise ValueError(f"{name} must be an array of samples, got a scalar")
        return int(shape[0])
    try:
        return len(array)
    except TypeError:
        raise ValueError(
            f"{name} must be an array-like of samples, got {type(array).__name__}"
        ) from None


def take(array, indices):
    """Return the rows ``indices`` of an array, list, sparse matrix or pandas object."""
    if hasattr(array, "iloc"):
        return array.iloc[indices]
    if hasattr(array, "shape"):
        return array[indices]
    return [array[i] for i in indices]


def as_label_array(y, name):
    labels = np.asarray(y)
    if labels.ndim != 1:
        raise ValueError(f"{name} must be 1-D class labels, got shape {labels.shape}")
    return labels


def make_rng(random_state, caller):
    """Return a numpy Generator seeded by an int >= 0, a Generator or None."""
    is_seed = isinstance(random_state, numbers.Integral) and not isinstance(
        random_state, (bool, np.bool_)
    )
    valid = (
        random_state is None
        or isinstance(random_state, np.random.Generator)
        or (is_seed and random_state >= 0)
    )
    if not valid:
        raise ValueError(
            f"{caller}: random_state must be an int >= 0, a numpy.random.Generator "
            f"or None, got {random_state!r}"
        )
    return np.random.default_rng(random_state)


def format_label(label):
    if isinstance(label, np.generic):
        label = label.item()
    return repr(label)


def format_labels(labels):
    return ", ".join(format_label(label) for label in labels)
