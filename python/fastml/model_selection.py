"""Train/validation/test splitting, model selection and learning curves.

The workflow this module supports keeps the test set honest: split once with
`train_val_test_split`, compare models on the validation set with
`validation_curve`, `select_model` and `learning_curve`, and evaluate the chosen
model on the test set once, as a separate step. None of these functions takes
the test set.

Every cost reported here is the unpenalized training objective. For
classifiers it is the mean log loss. For regressors it is the squared-error cost
J = 1/(2m) * sum((prediction - y)^2).
"""

import math
import numbers
import warnings
from collections.abc import Mapping, Sequence
from itertools import product

import numpy as np
from sklearn.exceptions import FitFailedWarning

from ._evaluation import (
    LOG_LOSS,
    SQUARED_ERROR,
    check_classification_targets,
    check_pair,
    check_param_name,
    clone,
    concatenate,
    cost,
    is_classifier,
    null_cost,
    progress,
)
from ._params import InvalidParameterError
from ._results import LearningCurve, ModelSelection, ValidationCurve
from ._splitting import (
    allocate_stratified,
    as_label_array,
    make_rng,
    num_samples,
    take,
    train_val_test_split,
)

__all__ = [
    "LearningCurve",
    "ModelSelection",
    "ValidationCurve",
    "learning_curve",
    "select_model",
    "train_val_test_split",
    "validation_curve",
]


def validation_curve(
    estimator, X_train, y_train, X_val, y_val, param_name, param_range, *, verbose=0
):
    """Fit one model per parameter value and return their training and validation costs.

    Parameters
    ----------
    estimator : estimator
        A scikit-learn-style estimator or pipeline. It is cloned for each value,
        so the object passed in is not changed.
    X_train, y_train : array-likes
        Data the models are fitted on.
    X_val, y_val : array-likes
        Data the validation cost is computed on.
    param_name : str
        Parameter to vary, as accepted by ``set_params``. Nested names such as
        ``"polynomialfeatures__degree"`` work for pipelines.
    param_range : sequence
        Values of the parameter, in the order they are fitted and plotted.
    verbose : int, default 0
        If positive, show a progress bar when fitting takes more than a second.

    Returns
    -------
    ValidationCurve
        Costs without the penalty, one per value.
    """
    check_pair(X_train, y_train, "X_train", "y_train")
    check_pair(X_val, y_val, "X_val", "y_val")
    values = list(param_range)
    if not values:
        raise ValueError(
            "validation_curve: param_range is empty; pass at least one value"
        )
    check_param_name(estimator, param_name, "validation_curve")
    classifier = is_classifier(estimator)
    if classifier:
        check_classification_targets(y_train, y_val)

    train_costs, val_costs = [], []
    for value in progress(values, verbose, f"validation curve ({param_name})"):
        model = clone(estimator).set_params(**{param_name: value})
        model.fit(X_train, y_train)
        train_costs.append(cost(model, X_train, y_train, classifier))
        val_costs.append(cost(model, X_val, y_val, classifier))
    return ValidationCurve(
        param_name=param_name,
        param_range=values,
        train_cost=np.array(train_costs),
        val_cost=np.array(val_costs),
        cost_name=LOG_LOSS if classifier else SQUARED_ERROR,
    )


def select_model(
    candidates,
    X_train,
    y_train,
    X_val,
    y_val,
    *,
    estimator=None,
    refit=False,
    verbose=0,
):
    """Fit every candidate and pick the one with the lowest validation cost.

    The test set is deliberately not an argument: evaluate the chosen model on
    it once, after selection.

    Parameters
    ----------
    candidates : sequence of estimators, or parameter grid
        Either estimators to compare, or a grid for ``estimator``: a dict
        mapping parameter names to lists of values (every combination is a
        candidate), or a list of such dicts. Each value of a grid must be a
        list, tuple, range or 1-D array, so a single value is written
        ``{"alpha": [0.1]}``.
    X_train, y_train, X_val, y_val : array-likes
        Training data and validation data.
    estimator : estimator, default None
        Base estimator of a parameter grid. Required with a grid, and rejected
        with a sequence of estimators.
    refit : bool, default False
        If True, the chosen candidate is fitted again on the training and
        validation data together. Otherwise it stays fitted on the training data.
    verbose : int, default 0
        If positive, show a progress bar when fitting takes more than a second.

    Returns
    -------
    ModelSelection
        The chosen fitted model, its index and the costs of all candidates.
        Ties go to the earlier candidate, and candidates whose validation cost
        is NaN are never chosen.

    Raises
    ------
    ValueError
        If every candidate fails to fit, or every validation cost is NaN.
    InvalidParameterError
        (both a ValueError and a TypeError) if a grid value is not a sequence.

    Warns
    -----
    FitFailedWarning
        For each candidate whose ``fit`` raised ValueError or
        FloatingPointError (for example a diverging learning rate). Such a
        candidate gets NaN costs and its error in ``ModelSelection.errors``,
        and the search goes on, as scikit-learn's ``error_score=np.nan``.
    """
    check_pair(X_train, y_train, "X_train", "y_train")
    check_pair(X_val, y_val, "X_val", "y_val")
    models, settings = _expand_candidates(candidates, estimator)
    descriptions = [_describe(model, params) for model, params in zip(models, settings)]
    train_costs, val_costs, errors = [], [], []
    for model in progress(models, verbose, "model selection"):
        classifier = is_classifier(model)
        if classifier:
            check_classification_targets(y_train, y_val)
        try:
            model.fit(X_train, y_train)
        except (ValueError, FloatingPointError) as error:
            errors.append(error)
            train_costs.append(np.nan)
            val_costs.append(np.nan)
            continue
        errors.append(None)
        train_costs.append(cost(model, X_train, y_train, classifier))
        val_costs.append(cost(model, X_val, y_val, classifier))

    _report_failures(descriptions, errors)
    val_costs = np.array(val_costs)
    if np.isnan(val_costs).all():
        raise ValueError("select_model: every candidate has a NaN validation cost")
    best_index = int(np.nanargmin(val_costs))
    best = models[best_index]
    if refit:
        best = clone(best).fit(concatenate(X_train, X_val), concatenate(y_train, y_val))
    return ModelSelection(
        best_estimator=best,
        best_index=best_index,
        candidates=descriptions,
        params=settings,
        train_cost=np.array(train_costs),
        val_cost=val_costs,
        refitted=bool(refit),
        errors=[_error_text(error) for error in errors],
    )


def _report_failures(descriptions, errors):
    """Warn once per candidate that failed to fit; raise if every one failed."""
    failures = [
        (index, descriptions[index], error)
        for index, error in enumerate(errors)
        if error is not None
    ]
    if len(failures) == len(errors):
        details = "; ".join(
            f"candidate {index} ({text}): {_error_text(error)}"
            for index, text, error in failures
        )
        raise ValueError(
            f"select_model: every candidate failed to fit, so none can be chosen. "
            f"{details}"
        ) from failures[0][2]
    for index, text, error in failures:
        warnings.warn(
            f"select_model: candidate {index} ({text}) failed to fit, so its costs "
            f"are NaN and it cannot be chosen. {_error_text(error)}",
            FitFailedWarning,
            stacklevel=3,
        )


def _error_text(error):
    return None if error is None else f"{type(error).__name__}: {error}"


def _expand_candidates(candidates, estimator):
    """Return the unfitted candidate models and their grid settings (or None)."""
    invalid = ValueError(
        "select_model: candidates must be a list of estimators, a dict of "
        f"parameter lists or a list of such dicts, got {candidates!r}"
    )
    if isinstance(candidates, Mapping):
        grids = [candidates]
    elif not isinstance(candidates, Sequence) or isinstance(candidates, str):
        raise invalid
    elif not candidates:
        raise ValueError("select_model: candidates is empty; pass at least one")
    elif all(isinstance(c, Mapping) for c in candidates):
        grids = list(candidates)
    elif all(hasattr(c, "fit") for c in candidates):
        if estimator is not None:
            raise ValueError(
                "select_model: estimator is only used with a parameter grid, but "
                "candidates is a list of estimators; pass one or the other"
            )
        return [clone(c) for c in candidates], [None] * len(candidates)
    else:
        raise invalid

    if estimator is None:
        raise ValueError("select_model: a parameter grid needs estimator=")
    settings = []
    for grid in grids:
        for name in grid:
            check_param_name(estimator, name, "select_model")
            _check_grid_values(name, grid[name])
        names = list(grid)
        for values in product(*(list(grid[name]) for name in names)):
            settings.append(dict(zip(names, values)))
    if not settings:
        raise ValueError("select_model: the parameter grid has no combinations")
    return [clone(estimator).set_params(**params) for params in settings], settings


def _check_grid_values(name, values):
    """Raise unless ``values`` is a sequence of values to try (not a string)."""
    if isinstance(values, np.ndarray):
        sequence = values.ndim == 1
    else:
        sequence = isinstance(values, Sequence) and not isinstance(values, (str, bytes))
    if not sequence:
        raise InvalidParameterError(
            f"select_model: the grid values of {name!r} must be a list, tuple, range "
            f"or 1-D array of values to try; got {values!r} of type "
            f"{type(values).__name__}. Write [{values!r}] for a single value."
        )


def _describe(model, params):
    if params is not None:
        return ", ".join(f"{name}={value!r}" for name, value in params.items())
    text = " ".join(repr(model).split())
    return text if len(text) <= 60 else text[:57] + "..."


# ---------------------------------------------------------------------------
# Learning curves
# ---------------------------------------------------------------------------


def learning_curve(
    estimator,
    X_train,
    y_train,
    X_val,
    y_val,
    train_sizes=(0.1, 0.325, 0.55, 0.775, 1.0),
    *,
    random_state=0,
    verbose=0,
):
    """Fit on growing subsets of the training data and return the costs per size.

    Parameters
    ----------
    estimator : estimator
        A scikit-learn-style estimator or pipeline, cloned for each size.
    X_train, y_train : array-likes
        The pool the training subsets are drawn from.
    X_val, y_val : array-likes
        Data the validation cost is computed on, the same for every size.
    train_sizes : sequence of float in (0, 1] or int >= 1
        Subset sizes as fractions of the training data (rounded down, at least
        1) or as numbers of samples. They are sorted and duplicates are removed
        with a warning.
    random_state : int, numpy.random.Generator or None, default 0
        Seed of the subset draw.
    verbose : int, default 0
        If positive, show a progress bar when fitting takes more than a second.

    Returns
    -------
    LearningCurve
        Training cost (on the subset) and validation cost for each size.

    Notes
    -----
    For classifiers each subset is stratified: it contains every class in about
    its proportion of ``y_train`` and at least one sample of every class, with
    the rounding of `train_val_test_split`. So sorted labels still give a
    two-class subset of size 2. A subset smaller than the number of classes cannot
    contain every class, so its costs are NaN and a UserWarning is issued.
    """
    check_pair(X_train, y_train, "X_train", "y_train")
    check_pair(X_val, y_val, "X_val", "y_val")
    classifier = is_classifier(estimator)
    if classifier:
        n_classes = len(check_classification_targets(y_train, y_val))
    else:
        n_classes = 1
    sizes = _resolve_train_sizes(train_sizes, num_samples(y_train, "y_train"))
    draw_subset = _subset_sampler(y_train, classifier, random_state)

    train_costs = np.full(len(sizes), np.nan)
    val_costs = np.full(len(sizes), np.nan)
    for position, size in enumerate(progress(sizes, verbose, "learning curve")):
        if size < n_classes:
            warnings.warn(
                f"learning_curve: a training subset of size {size} cannot contain "
                f"all {n_classes} classes, so its costs are NaN; use sizes of "
                f"at least {n_classes}",
                UserWarning,
                stacklevel=2,
            )
            continue
        subset = draw_subset(size)
        X_subset, y_subset = take(X_train, subset), take(y_train, subset)
        model = clone(estimator).fit(X_subset, y_subset)
        train_costs[position] = cost(model, X_subset, y_subset, classifier)
        val_costs[position] = cost(model, X_val, y_val, classifier)
    return LearningCurve(
        train_sizes=sizes,
        train_cost=train_costs,
        val_cost=val_costs,
        cost_name=LOG_LOSS if classifier else SQUARED_ERROR,
        null_cost=null_cost(y_train, classifier),
        val_null_cost=null_cost(y_val, classifier),
    )


def _resolve_train_sizes(train_sizes, n_train):
    """Convert fractions and counts to sorted, unique sample counts."""
    # A list keeps each entry's type, where an array would turn 10 into 10.0.
    if isinstance(train_sizes, (list, tuple)):
        values = list(train_sizes)
    else:
        values = list(np.atleast_1d(np.asarray(train_sizes, dtype=object)))
    if not values:
        raise ValueError(
            f"learning_curve: train_sizes must be a non-empty sequence, got "
            f"{train_sizes!r}"
        )
    sizes = []
    for value in values:
        if isinstance(value, numbers.Integral) and not isinstance(
            value, (bool, np.bool_)
        ):
            valid = 1 <= value <= n_train
            size = int(value)
        elif isinstance(value, numbers.Real) and not isinstance(
            value, (bool, np.bool_)
        ):
            valid = 0.0 < value <= 1.0
            size = max(1, math.floor(round(float(value) * n_train, 9)))
        else:
            valid = False
        if not valid:
            raise ValueError(
                f"learning_curve: train_sizes must contain fractions in (0, 1] or "
                f"sample counts in [1, {n_train}] (the size of y_train), got {value!r}"
            )
        sizes.append(size)
    unique = np.unique(sizes)
    if len(unique) < len(sizes):
        warnings.warn(
            f"learning_curve: train_sizes {sizes} contain duplicates after "
            f"conversion to sample counts; using {unique.tolist()}",
            UserWarning,
            stacklevel=3,
        )
    return unique


def _subset_sampler(y_train, classifier, random_state):
    """Return a function that draws a seeded training subset of a given size.

    Samples are taken in the order of one seeded permutation (per class for a
    classifier), so a larger subset usually contains the smaller ones.
    Classifier subsets are stratified with the rounding of train_val_test_split.
    """
    rng = make_rng(random_state, "learning_curve")
    if not classifier:
        order = rng.permutation(num_samples(y_train, "y_train"))
        return lambda size: order[:size]

    labels = as_label_array(y_train, "y_train")
    _, class_of_sample, counts = np.unique(
        labels, return_inverse=True, return_counts=True
    )
    members = [
        rng.permutation(np.flatnonzero(class_of_sample == k))
        for k in range(len(counts))
    ]
    order_rng = np.random.default_rng(rng.integers(2**63))

    def draw_stratified(size):
        sizes = np.array([size, len(labels) - size])
        allocation = allocate_stratified(counts, sizes, np.array([True, False]))
        chosen = [m[:a] for m, a in zip(members, allocation[:, 0])]
        # Shuffle so that the subset is not sorted by class.
        return order_rng.permutation(np.concatenate(chosen))

    return draw_stratified
