"""Read CSV files of numeric features and one target column for the CLI."""

import csv
import math

import numpy as np

# A numeric target with at most this many distinct integer values is taken as
# class labels when --model is not given or is mlp.
MAX_INFERRED_CLASSES = 10

# The command line standardizes features and numeric targets, which squares
# them. Values beyond this magnitude would make the squares overflow, so
# they are rejected as the file is read.
MAX_MAGNITUDE = 1e100


class InputError(Exception):
    """Invalid input file or option, reported as one line with exit code 2."""


def read_csv(path, target):
    """Return the feature names, the float64 feature matrix and the target strings.

    Raises InputError naming the file, line and column of the first problem.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            rows = [(number, row) for number, row in _numbered_rows(file, path) if row]
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text") from None
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None

    if not rows:
        raise InputError(f"{path} is empty; expected a header row and data rows")
    _, header = rows[0]
    header = [name.strip() for name in header]
    for name in header:
        if header.count(name) > 1:
            raise InputError(f"{path}: column {name!r} appears twice in the header")
    if target not in header:
        raise InputError(
            f"{path}: target column {target!r} not found; the columns are "
            f"{', '.join(header)}"
        )
    if len(header) == 1:
        raise InputError(f"{path} has no feature columns besides {target!r}")
    if len(rows) == 1:
        raise InputError(f"{path} has a header but no data rows")

    target_index = header.index(target)
    features = [name for name in header if name != target]
    X = np.empty((len(rows) - 1, len(features)))
    raw_target = []
    for row_index, (line, row) in enumerate(rows[1:]):
        if len(row) != len(header):
            raise InputError(
                f"{path} line {line} has {len(row)} fields, expected {len(header)}"
            )
        values = [value.strip() for value in row]
        raw_target.append(values[target_index])
        if not raw_target[-1]:
            raise InputError(f"{path} line {line}: the target {target!r} is missing")
        feature_values = values[:target_index] + values[target_index + 1 :]
        for column, (name, text) in enumerate(zip(features, feature_values)):
            X[row_index, column] = _parse_feature(text, path, line, name)
    return features, X, raw_target


def _numbered_rows(file, path):
    reader = csv.reader(file)
    try:
        for row in reader:
            yield reader.line_num, row
    except csv.Error as error:
        message = f"{path} line {reader.line_num} is not valid CSV: {error}"
        raise InputError(message) from None


def _parse_feature(text, path, line, name):
    if not text:
        raise InputError(
            f"{path} line {line}: column {name!r} is missing a value; fill or drop "
            "incomplete rows"
        )
    try:
        value = float(text)
    except ValueError:
        raise InputError(
            f"{path} line {line}: column {name!r} has the non-numeric value "
            f"{text!r}; feature columns must be numeric"
        ) from None
    if not math.isfinite(value):
        raise InputError(
            f"{path} line {line}: column {name!r} has the value {text!r}; "
            "NaN and infinity are not allowed"
        )
    if abs(value) > MAX_MAGNITUDE:
        raise InputError(
            f"{path} line {line}: column {name!r} has the value {text!r}, beyond "
            f"the {MAX_MAGNITUDE:g} that standardizing allows; rescale the column"
        )
    return value


def choose_task(name, raw_target, target):
    """Choose the task and model name for --model and return them with the target.

    Raises InputError when the model does not suit the target column.
    """
    numbers = _parse_numbers(raw_target)
    distinct = sorted(set(raw_target))
    integral = numbers is not None and bool(np.all(numbers == np.round(numbers)))
    looks_like_labels = numbers is None or (
        integral and len(np.unique(numbers)) <= MAX_INFERRED_CLASSES
    )
    if name in ("logistic", "softmax") or (name in (None, "mlp") and looks_like_labels):
        task = "classification"
    else:
        task = "regression"

    if task == "regression":
        if numbers is None:
            bad = next(text for text in raw_target if _parse_numbers([text]) is None)
            raise InputError(
                f"--model {name or 'linear'} needs a numeric target, but column "
                f"{target!r} has the value {bad!r}"
            )
        largest = int(np.argmax(np.abs(numbers)))
        if abs(numbers[largest]) > MAX_MAGNITUDE:
            raise InputError(
                f"column {target!r} has the value {raw_target[largest]!r}, beyond the "
                f"{MAX_MAGNITUDE:g} that standardizing allows; rescale the target"
            )
        return task, name or "linear", numbers

    y = np.asarray(raw_target) if numbers is None else numbers
    if integral:
        y = _integer_labels(raw_target, numbers)
    n_classes = len(np.unique(y))
    if n_classes < 2:
        raise InputError(
            f"column {target!r} contains only one class ({distinct[0]}); "
            "a classifier needs at least two"
        )
    if name == "logistic" and n_classes > 2:
        quantity = (
            ", or --model linear if it is a quantity rather than labels"
            if n_classes > MAX_INFERRED_CLASSES
            else ""
        )
        raise InputError(
            f"--model logistic is binary, but column {target!r} has {n_classes} "
            f"classes; use --model softmax{quantity}"
        )
    if name is None:
        name = "logistic" if n_classes == 2 else "softmax"
    return task, name, y


def _integer_labels(texts, numbers):
    """Return integral class labels as int64, or as the file's text.

    Integer texts are read with int(), so labels above 2**53 keep every
    digit. Other integral texts ("5.0", "1e3") go through float64, which
    is exact up to 2**53. Labels that int64 cannot represent exactly keep
    the text: casting would round or wrap them, and scikit-learn takes
    floats that large for a continuous target.
    """
    try:
        values = [int(text) for text in texts]
    except ValueError:
        values = None
    if values is not None and all(-(2**63) <= value < 2**63 for value in values):
        return np.array(values, dtype=np.int64)
    if values is None and bool(np.all(np.abs(numbers) <= 2.0**53)):
        return numbers.astype(np.int64)
    return np.asarray(texts)


def _parse_numbers(texts):
    """Return the texts as a float64 array, or None if one is not a finite number."""
    try:
        values = np.array([float(text) for text in texts])
    except ValueError:
        return None
    return values if np.all(np.isfinite(values)) else None
