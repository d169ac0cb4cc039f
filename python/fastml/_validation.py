"""Checks and conversions of input arrays shared by the estimators.

C-contiguous float32 and float64 arrays are passed to the C++ core without a
copy. Any other layout (Fortran order, a strided slice) or dtype (integers,
booleans, object arrays of numbers) is converted once to a C-contiguous
float64 array, or float32 when the input is float32.
"""

import numbers
import re
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, validate_data

from . import _core
from ._params import _stacklevel_outside_package

FLOAT_DTYPES = (np.float64, np.float32)


def _not_numbers_error(name, error):
    """Return the ValueError for an argument that contains values other than numbers."""
    return ValueError(
        f"{name} must contain only numbers (int, float or bool); "
        f"converting it to float failed: {error}"
    )


def as_float_array(values, dtype, name):
    """Return ``values`` as an array of ``dtype``, naming ``name`` if that fails.

    Finite values beyond the range of ``dtype`` (float32) raise ValueError
    rather than becoming infinite.
    """
    try:
        array = np.asarray(values, dtype=np.float64)
    except (ValueError, TypeError) as error:
        raise _not_numbers_error(name, error) from error
    limit = np.finfo(dtype).max
    finite = array[np.isfinite(array)]
    if finite.size and np.abs(finite).max() > limit:
        raise ValueError(
            f"{name} has values of magnitude up to {np.abs(finite).max():.3g}, beyond the range of "
            f"{np.dtype(dtype).name} ({limit:.3g}) in which the model computes. Pass X "
            f"as float64 or rescale {name}."
        )
    return array.astype(dtype, copy=False)


def _converts_to_float(values):
    try:
        np.asarray(values, dtype=np.float64)
    except (ValueError, TypeError):
        return False
    return True


# Features whose largest root mean square lies below this are too small for
# gradient-based training: the gradient with respect to their coefficients
# is as small, so stopping rules fire long before the optimum.
TINY_FEATURE_SCALE = 1e-3


def warn_if_features_tiny(estimator, X):
    """Warn with a ConvergenceWarning when every feature of X is tiny.

    The scale is the root mean square of each column over at most the first
    256 rows, so the check costs no pass over a large X (under 1 ms for 784
    columns).
    """
    sample = np.asarray(X[:256], dtype=np.float64)
    if sample.size == 0:
        return
    with np.errstate(over="ignore"):  # huge features give inf: not tiny
        largest = float(np.sqrt(np.mean(np.square(sample), axis=0)).max())
    if largest == 0 or largest >= TINY_FEATURE_SCALE:
        return
    warnings.warn(
        f"{type(estimator).__name__}: the largest root mean square of a feature "
        f"is {largest:.3g}, below {TINY_FEATURE_SCALE:g}. Gradient-based "
        "training stops early on features this small, so standardize them "
        "(for example with sklearn.preprocessing.StandardScaler).",
        ConvergenceWarning,
        stacklevel=_stacklevel_outside_package(),
    )


def check_X_y(estimator, X, y, *, reset=True, multi_output=False, y_numeric=False):
    """Validate X and y as scikit-learn does, keeping float32 and C order.

    With ``reset`` (a fit that starts anew), features too small to train on
    give a ConvergenceWarning (see warn_if_features_tiny).
    """
    X, y = _validate_X_y(estimator, X, y, reset, multi_output, y_numeric)
    if reset:
        warn_if_features_tiny(estimator, X)
    return X, y


def _thread_count(estimator):
    """Return the estimator's valid n_threads, or 0 for all cores."""
    n_threads = getattr(estimator, "n_threads", None)
    if isinstance(n_threads, numbers.Integral) and n_threads > 0:
        return int(n_threads)
    return 0


def _check_finite(estimator, X, name):
    """Raise ValueError when X contains NaN or infinity, in scikit-learn's words.

    The C++ check reads X on the estimator's threads, about twice as fast as
    scikit-learn's single-threaded sum on 2 cores (5.6 against 10.9 ms for
    60,000 x 784 float32 values).
    """
    found = _core.find_non_finite(X, _thread_count(estimator))
    if found == "nan":
        raise ValueError(
            f"Input {name} contains NaN. {type(estimator).__name__} needs finite "
            "values: impute or drop the missing values first."
        )
    if found == "inf":
        raise ValueError(
            f"Input {name} contains infinity or a value too large for {X.dtype!r}. "
            f"{type(estimator).__name__} needs finite values."
        )


def _validate_X_y(estimator, X, y, reset, multi_output, y_numeric):
    try:
        # scikit-learn's finite check of y first sums the array, which can
        # overflow for values near the float limit before it checks them
        # one by one. Its numpy warning would tell the user nothing useful.
        with np.errstate(over="ignore", invalid="ignore"):
            X, y = validate_data(
                estimator,
                X,
                y,
                dtype=FLOAT_DTYPES,
                order="C",
                reset=reset,
                multi_output=multi_output,
                y_numeric=y_numeric,
                ensure_all_finite=False,
            )
    except ValueError as error:
        # NumPy's message names the value but not the argument.
        if not str(error).startswith("could not convert"):
            raise
        name = "X" if not _converts_to_float(X) else "y"
        raise _not_numbers_error(name, error) from error
    _check_finite(estimator, X, "X")
    return X, y


def check_X(estimator, X, *, reset=False, name="X"):
    """Validate X for prediction, with the feature count seen in ``fit``.

    ``name`` is the argument named in errors, such as "X_val".
    """
    try:
        X = validate_data(
            estimator,
            X,
            dtype=FLOAT_DTYPES,
            order="C",
            reset=reset,
            ensure_all_finite=False,
        )
    except ValueError as error:
        if str(error).startswith("could not convert"):
            raise _not_numbers_error(name, error) from error
        if name == "X":
            raise
        # scikit-learn's messages call the array X, or do not name it.
        message = re.sub(r"\bX\b", name, str(error))
        if name not in message:
            message = f"{name}: {message}"
        raise ValueError(message) from error
    _check_finite(estimator, X, name)
    return X


def check_sample_weight(sample_weight, X):
    """Return sample weights as a C-contiguous array of X's dtype.

    Weights must be finite and non-negative, one per row of X, with a positive
    sum. None means a weight of 1 for every row and returns None. Training
    depends only on the ratios of the weights, so weights whose sum would
    overflow, or that lie beyond the normal range of X's dtype, are divided
    by their largest value.
    """
    if sample_weight is None:
        return None
    try:
        weights = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
    except ValueError as error:
        # Some of scikit-learn's messages name "Sample weights" or no argument.
        if "sample_weight" in str(error):
            raise
        raise ValueError(f"sample_weight: {error}") from error
    if not np.all(np.isfinite(weights)):
        raise ValueError(
            "sample_weight contains NaN or infinity; weights must be finite."
        )
    largest = weights.max()
    if not largest > 0:
        raise ValueError(
            "sample_weight sums to 0; at least one sample needs a positive weight."
        )
    limits = np.finfo(X.dtype)
    if largest > limits.max / weights.size or largest < limits.tiny:
        weights = weights / largest
    return np.ascontiguousarray(weights, dtype=X.dtype)


def _single_class_error(estimator, label, detail=""):
    label = label.item() if isinstance(label, np.generic) else label
    return ValueError(
        f"y contains only one class ({label!r}){detail}; "
        f"{type(estimator).__name__} needs samples of at least two classes."
    )


def encode_classes(estimator, y, sample_weight=None):
    """Return (classes, indices) for classification labels of any type.

    ``classes`` is sorted and ``classes[indices]`` equals ``y``. Labels must
    hold at least two distinct values, also among the samples of positive
    weight; a single class raises the same ValueError in every fastml
    classifier.
    """
    values = np.asarray(y)
    if values.dtype == object:
        # scikit-learn's check would reject these as "Unknown label type: unknown",
        # a message that names neither the value nor its position.
        missing = [i for i, label in enumerate(np.ravel(values)) if label is None]
        if missing:
            raise ValueError(
                f"y contains None at {len(missing)} position(s), the first at index "
                f"{missing[0]}; class labels must be all strings or all numbers. "
                "Drop or fill the unlabelled samples."
            )
    try:
        check_classification_targets(y)
        classes, indices = np.unique(y, return_inverse=True)
    except TypeError:
        kinds = sorted({type(label).__name__ for label in np.ravel(y)})
        raise ValueError(
            f"y mixes labels of different types ({', '.join(kinds)}); class labels "
            "must be all strings or all numbers so that they can be sorted."
        ) from None
    if classes.shape[0] < 2:
        raise _single_class_error(estimator, classes[0])
    if sample_weight is not None:
        weighted = np.unique(indices[sample_weight > 0])
        if weighted.shape[0] < 2:
            raise _single_class_error(
                estimator, classes[weighted[0]], " among samples with positive weight"
            )
    return classes, indices.astype(np.int64, copy=False)


def label_indices(classes, y, name, estimator_name):
    """Return the positions of the labels ``y`` in the sorted ``classes``.

    Raises ValueError naming ``name`` and the labels not in ``classes``,
    also when they are of another type than the classes (strings among
    integer classes), which a sorted search cannot compare.
    """
    y = np.asarray(y)
    if y.ndim > 2 or (y.ndim == 2 and y.shape[1] != 1):
        raise ValueError(
            f"{estimator_name}: {name} must be one label per row; got shape {y.shape}."
        )
    y = np.ravel(y)
    try:
        indices = np.clip(np.searchsorted(classes, y), 0, len(classes) - 1)
        unknown = np.asarray(classes[indices] != y, dtype=bool)
    except TypeError:
        positions = {label: index for index, label in enumerate(classes.tolist())}
        indices = np.array([positions.get(label, -1) for label in y.tolist()], dtype=np.int64)
        unknown = indices < 0
    if unknown.shape != y.shape:
        unknown = np.ones(y.shape, dtype=bool)
    if np.any(unknown):
        labels = sorted({repr(label) for label in y[unknown].tolist()})
        listed = ", ".join(labels[:5]) + (", ..." if len(labels) > 5 else "")
        raise ValueError(
            f"{estimator_name}: {name} has labels [{listed}] that are not in "
            f"classes_ {classes.tolist()!r}."
        )
    return indices.astype(np.int64)
