"""The ``fastml diagnose`` and ``fastml train`` commands for CSV data.

Both commands read a CSV file with a header row, take one column as the target
and every other column as a numeric feature, and split the rows into train,
validation and test parts with `train_val_test_split` (stratified for
classifiers). ``diagnose`` never looks at the test part, so that ``train`` with
the same split options can still report an honest test cost.

Invalid input (a missing file, a missing column, a non-numeric feature, an
empty file, an impossible split, an output path that cannot be written) and a
fit that fails (an invalid ``--param``, a diverging fit) end the command with
one error line on stderr and exit code 2. Output paths are checked before the
data is read, so a bad path fails before any training.
"""

import argparse
import ast
import copy
import logging
import math
import os
import sys
import tempfile
from typing import Any, NamedTuple

import numpy as np
import safetensors
from sklearn.compose import TransformedTargetRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ._csv_data import MAX_INFERRED_CLASSES, InputError, choose_task, read_csv
from ._evaluation import cost, is_classifier
from .diagnostics import diagnose
from .model_selection import learning_curve, train_val_test_split

logger = logging.getLogger(__name__)

MODEL_NAMES = ("logistic", "softmax", "linear", "mlp")

# The largest seed that numpy.random.RandomState, and so every estimator's
# random_state, accepts.
MAX_SEED = 2**32 - 1

# The file format that save_weights writes, and the suffix --out requires.
WEIGHTS_SUFFIX = ".safetensors"

# Errors that fit raises because of the data or the --param values: an
# invalid parameter (ValueError), a fit whose cost diverged
# (FloatingPointError) or a network too large for memory (MemoryError).
FIT_ERRORS = (ValueError, FloatingPointError, MemoryError)

_NO_MATPLOTLIB = (
    "--plot needs matplotlib, which is not installed; install it with "
    "pip install matplotlib (or fastml[plot])"
)

# fastml class behind each (--model, task) pair, looked up by name when the
# command runs, so that this module imports without the compiled core.
_MODEL_CLASSES = {
    ("logistic", "classification"): "LogisticRegression",
    ("softmax", "classification"): "LogisticRegression",
    ("linear", "regression"): "LinearRegression",
    ("mlp", "classification"): "MLPClassifier",
    ("mlp", "regression"): "MLPRegressor",
}


def add_diagnose_parser(subparsers):
    """Add the ``diagnose`` subcommand to an argparse subparsers object."""
    parser = subparsers.add_parser(
        "diagnose",
        help="plot a learning curve and diagnose high bias or high variance",
        description=(
            "Fit the model on growing subsets of the training part, print the "
            "training and validation cost per size and the bias-variance verdict "
            "with remedies. The test part is held out and not used."
        ),
    )
    _add_data_arguments(parser)
    parser.add_argument(
        "--baseline",
        type=_non_negative_float,
        metavar="ERROR",
        help=(
            "reference error such as human-level performance, in the unit of the "
            "cost (mean log loss for classifiers, J = 1/(2m) sum(err^2) for "
            "regressors); default: 0"
        ),
    )
    parser.add_argument(
        "--plot",
        metavar="PNG",
        help=(
            "also write the learning curve to this PNG file; .png is appended to "
            "a name without a suffix"
        ),
    )
    parser.set_defaults(handler=run_diagnose)
    return parser


def add_train_parser(subparsers):
    """Add the ``train`` subcommand to an argparse subparsers object."""
    parser = subparsers.add_parser(
        "train",
        help="fit a model and report its validation and test metrics",
        description=(
            "Fit the model on the training part and print its cost and score on "
            "the validation and test parts."
        ),
    )
    _add_data_arguments(parser)
    parser.add_argument(
        "--out",
        metavar="PATH",
        help=(
            "save the fitted model's weights to this safetensors file; the name "
            "must end in .safetensors"
        ),
    )
    parser.set_defaults(handler=run_train)
    return parser


def _add_data_arguments(parser):
    parser.add_argument(
        "--data", required=True, metavar="FILE", help="CSV file with a header row"
    )
    parser.add_argument(
        "--target", required=True, metavar="COLUMN", help="name of the target column"
    )
    parser.add_argument(
        "--model",
        choices=MODEL_NAMES,
        help=(
            "logistic (binary), softmax (multi-class), linear (regression) or mlp. "
            "Default: a classifier if the target is non-numeric or has at most "
            f"{MAX_INFERRED_CLASSES} distinct integer values, else linear. mlp "
            "chooses classifier or regressor by the same rule."
        ),
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a model parameter, e.g. --param alpha=0.01 (repeatable)",
    )
    parser.add_argument(
        "--val-size",
        type=_part_size,
        default=0.2,
        help="validation part as a fraction (0.2) or a number of rows (default 0.2)",
    )
    parser.add_argument(
        "--test-size",
        type=_part_size,
        default=0.2,
        help="test part as a fraction (0.2) or a number of rows (default 0.2)",
    )
    parser.add_argument(
        "--random-state",
        type=_seed,
        default=0,
        help=(
            "seed of the split, the model and, for diagnose, the learning-curve "
            "subsets (default 0)"
        ),
    )


def run_diagnose(args):
    """Run ``fastml diagnose`` and return the exit code."""
    try:
        plot_path = None
        if args.plot is not None:
            plot_path = check_plot_path(args.plot)
            _require_matplotlib()
        problem = _prepare(args, verbose=0)
        if len(problem.y_val) == 0:
            raise InputError(
                f"--val-size {args.val_size} leaves no validation rows; diagnose "
                "compares training and validation costs, so give --val-size a "
                "fraction above 0 or a number of rows of at least 1"
            )
    except InputError as error:
        return _fail("diagnose", error)

    _write(problem.summary)
    try:
        curve = learning_curve(
            problem.model,
            problem.X_train,
            problem.y_train,
            problem.X_val,
            problem.y_val,
            random_state=args.random_state,
            verbose=_progress_level(),
        )
    except FIT_ERRORS as error:
        return _fit_failed("diagnose", problem.model, error)
    _write(str(curve))
    _write("")
    _write(str(diagnose(curve, baseline=args.baseline)))
    if plot_path is not None:
        try:
            curve.plot(plot_path, baseline=args.baseline)
        except ImportError:
            return _fail("diagnose", _NO_MATPLOTLIB)
        except OSError as error:
            return _fail(
                "diagnose",
                f"--plot {plot_path}: cannot write the file: {error.strerror}",
            )
        _write(f"learning curve written to {plot_path}")
    return 0


def run_train(args):
    """Run ``fastml train`` and return the exit code."""
    try:
        saver = None
        if args.out is not None:
            check_out_path(args.out, data=args.data)
            saver = find_weight_saver()
        problem = _prepare(args, verbose=_progress_level())
    except InputError as error:
        return _fail("train", error)

    _write(problem.summary)
    try:
        model = problem.model.fit(problem.X_train, problem.y_train)
    except FIT_ERRORS as error:
        return _fit_failed("train", problem.model, error)
    classifier = is_classifier(model)
    score_name = "accuracy" if classifier else "R^2"
    _write(f"{'':<12}{'cost':>12}{score_name:>12}")
    for part, X, y in (
        ("validation", problem.X_val, problem.y_val),
        ("test", problem.X_test, problem.y_test),
    ):
        if len(y) == 0:
            _write(f"{part:<12}{'(no rows)':>12}")
            continue
        part_cost = cost(model, X, y, classifier)
        # A space before each column keeps them apart even when a diverged
        # model's numbers outgrow the width.
        _write(f"{part:<12} {part_cost:>11.6g} {model.score(X, y):>11.4g}")
    _write(f"(cost: {'log loss' if classifier else 'J = 1/(2m) sum(err^2)'})")
    if saver is not None:
        try:
            saved = fold_standardization(model)
            # The CSV header names the columns, so a loaded model checks the
            # names and order of a DataFrame's columns as a fitted one does.
            saved.feature_names_in_ = np.asarray(problem.feature_names, dtype=object)
            saver(saved, args.out)
        except (OSError, ValueError, safetensors.SafetensorError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            return _fail("train", f"--out {args.out}: cannot write the file: {reason}")
        _write(f"model saved to {args.out}")
    return 0


def check_plot_path(path):
    """Return the PNG file that ``--plot path`` writes, raising InputError if invalid.

    A file name without a suffix gets .png appended. Any other suffix is
    rejected, because the plot is always written as PNG.
    """
    if not path:
        raise InputError("--plot needs a file name such as curve.png")
    name = os.path.basename(path)
    if os.path.isdir(path) or name in ("", ".", ".."):
        raise InputError(
            f"--plot {path}: is a directory; pass a file name such as curve.png"
        )
    suffix = os.path.splitext(name)[1]
    if suffix.lower() == ".png":
        plot_path = path
    elif name.lower().endswith(".png"):
        # os.path.splitext gives no suffix for ".png", which would become a
        # hidden file named ".png.png".
        raise InputError(
            f"--plot {path}: the file name is only the suffix .png; pass a name "
            "such as curve.png"
        )
    elif suffix == "":
        plot_path = path + ".png"
    else:
        raise InputError(
            f"--plot {path}: invalid suffix {suffix!r}; the plot is written as PNG, "
            "so the file name must end in .png or have no suffix (then .png is "
            "appended)"
        )
    if os.path.isdir(plot_path):
        raise InputError(f"--plot {path}: {plot_path} is a directory")
    _check_writable_directory("--plot", plot_path)
    if os.path.exists(plot_path) and not os.access(plot_path, os.W_OK):
        raise InputError(
            f"--plot {plot_path}: the file exists and is not writable; change its "
            "permissions or choose another name"
        )
    return plot_path


def check_out_path(path, data=None):
    """Raise InputError unless ``--out path`` names a file that can be written.

    The file must not be the ``--data`` file, its name must end in
    .safetensors (the format save_weights writes), and an existing path must
    be a regular file (saving replaces it).
    """
    if not path:
        raise InputError("--out needs a file name such as model.safetensors")
    if data is not None and os.path.exists(path) and os.path.exists(data):
        if os.path.samefile(path, data):
            raise InputError(
                f"--out {path}: is the --data file; saving would overwrite the data. "
                "Choose another name, such as model.safetensors"
            )
    name = os.path.basename(path)
    if os.path.isdir(path) or name in ("", ".", ".."):
        raise InputError(
            f"--out {path}: is a directory; pass a file name such as model.safetensors"
        )
    if os.path.exists(path) and not os.path.isfile(path):
        raise InputError(
            f"--out {path}: exists and is not a regular file; choose a file name "
            "such as model.safetensors"
        )
    _check_weights_suffix(path, name)
    # save_weights renames a new file over the old one, so only the directory
    # needs to be writable.
    _check_writable_directory("--out", path)


def _check_weights_suffix(path, name):
    """Raise InputError unless the file name ``name`` ends in .safetensors."""
    if name.lower() == WEIGHTS_SUFFIX:
        raise InputError(
            f"--out {path}: the file name is only the suffix {WEIGHTS_SUFFIX}; pass "
            "a name such as model.safetensors"
        )
    if not name.lower().endswith(WEIGHTS_SUFFIX):
        suffix = os.path.splitext(name)[1]
        found = f"suffix {suffix!r}" if suffix else "no suffix"
        raise InputError(
            f"--out {path}: the file name has {found}, but the weights are "
            f"written in the safetensors format, so it must end in {WEIGHTS_SUFFIX} "
            "(for example model.safetensors)"
        )


def _check_writable_directory(option, path):
    """Raise InputError unless a file can be created in the directory of ``path``.

    It creates and removes a probe file, because os.access reports success
    for root even on /proc, where no file can be created.
    """
    directory = os.path.dirname(path) or "."
    if not os.path.exists(directory):
        raise InputError(
            f"{option} {path}: the directory {directory} does not exist; create it "
            "first"
        )
    if not os.path.isdir(directory):
        raise InputError(f"{option} {path}: {directory} is not a directory")
    try:
        descriptor, probe = tempfile.mkstemp(prefix=".fastml-probe-", dir=directory)
    except OSError as error:
        raise InputError(
            f"{option} {path}: cannot create a file in the directory {directory}: "
            f"{error.strerror}; choose a writable directory"
        ) from None
    os.close(descriptor)
    os.unlink(probe)


def _require_matplotlib():
    try:
        import matplotlib.figure  # noqa: F401
    except ImportError:
        raise InputError(_NO_MATPLOTLIB) from None


def make_model(name, task, verbose=0):
    """Return an unfitted fastml estimator for a ``--model`` name and task."""
    class_name = _MODEL_CLASSES[(name, task)]
    import fastml

    model_class = getattr(fastml, class_name, None)
    if model_class is None:
        raise InputError(
            f"--model {name} needs fastml.{class_name}, which this installation "
            "of fastml does not provide"
        )
    model = model_class()
    # fastml.LogisticRegression shows a tqdm bar over epochs when verbose.
    if verbose and "verbose" in model.get_params():
        model.set_params(verbose=verbose)
    return model


def _final_estimator(model):
    """Return the fastml estimator inside the CLI's pipeline and target transformer."""
    if isinstance(model, TransformedTargetRegressor):
        model = model.regressor
    return model[-1] if hasattr(model, "steps") else model


def fold_standardization(fitted):
    """Return a copy of the fitted model that takes and gives unscaled values.

    A linear layer applied to standardized features (x - mean) / scale equals
    the same layer with weights W / scale and bias b - (W / scale) @ mean on
    the raw features. Likewise a standardized target is undone by scaling
    the last layer: W * scale_y and b * scale_y + mean_y. The saved model so
    needs no separate scalers.
    """
    target_scaler = None
    if isinstance(fitted, TransformedTargetRegressor):
        target_scaler, fitted = fitted.transformer_, fitted.regressor_
    model = _fold_feature_scaler(fitted[0], copy.deepcopy(fitted[-1]))
    if target_scaler is not None:
        _fold_target_scaler(target_scaler, model)
    return model


def _fold_target_scaler(scaler, model):
    scale, mean = float(scaler.scale_[0]), float(scaler.mean_[0])
    if hasattr(model, "coef_"):
        dtype = np.asarray(model.coef_).dtype
        model.coef_ = (np.asarray(model.coef_) * scale).astype(dtype)
        model.intercept_ = (np.asarray(model.intercept_) * scale + mean).astype(dtype)
        return
    layers = dict(model.layers_)
    last = len(layers) // 2 - 1
    weight, bias = layers[f"layers.{last}.weight"], layers[f"layers.{last}.bias"]
    layers[f"layers.{last}.weight"] = (weight * scale).astype(weight.dtype)
    layers[f"layers.{last}.bias"] = (bias * scale + mean).astype(bias.dtype)
    model.layers_ = layers


def _fold_feature_scaler(scaler, model):
    inverse_scale = 1.0 / scaler.scale_
    if hasattr(model, "coef_"):
        coef = np.asarray(model.coef_)
        scaled = (coef * inverse_scale).astype(coef.dtype)
        model.intercept_ = model.intercept_ - scaled @ scaler.mean_.astype(coef.dtype)
        model.coef_ = scaled
        return model
    if hasattr(model, "layers_"):
        layers = dict(model.layers_)
        weight = layers["layers.0.weight"]
        scaled = (weight * inverse_scale).astype(weight.dtype)
        layers["layers.0.bias"] = layers[
            "layers.0.bias"
        ] - scaled @ scaler.mean_.astype(weight.dtype)
        layers["layers.0.weight"] = scaled
        model.layers_ = layers
        model.__dict__.pop("_trainer", None)
        return model
    raise InputError(
        f"--out cannot save a {type(model).__name__}: it has neither coef_ nor "
        "layers_ to take the standardization into"
    )


def find_weight_saver():
    """Return fastml.save_weights, the function that saves a fitted model's weights."""
    import fastml

    saver = getattr(fastml, "save_weights", None)
    if saver is None:
        raise InputError(
            "--out needs fastml.save_weights, which this installation of fastml "
            "does not provide; run without --out"
        )
    return saver


class _Problem(NamedTuple):
    """A CSV file split into parts, with the model chosen for it."""

    model: Any
    X_train: Any
    X_val: Any
    X_test: Any
    y_train: Any
    y_val: Any
    y_test: Any
    summary: str
    feature_names: tuple  # the CSV's feature columns, in order


def _prepare(args, verbose):
    """Read and split the CSV file and build the model, raising InputError."""
    features, X, raw_target = read_csv(args.data, args.target)
    task, name, y = choose_task(args.model, raw_target, args.target)
    model = make_model(name, task, verbose=verbose)
    # The same --random-state seeds the split and the model, so a command
    # gives the same numbers every run; --param random_state=... overrides.
    if "random_state" in model.get_params():
        model.set_params(random_state=args.random_state)
    _set_params(model, args.param)
    # Features of a CSV file come in arbitrary units; gradient descent needs
    # them on a common scale, learned from the training part only. A
    # regression target is standardized too, so that a network's default
    # learning rate suits any unit of y; predictions come back in y's unit.
    model = make_pipeline(StandardScaler(), model)
    if task == "regression":
        model = TransformedTargetRegressor(
            regressor=model, transformer=StandardScaler()
        )
    try:
        parts = train_val_test_split(
            X,
            y,
            val_size=args.val_size,
            test_size=args.test_size,
            stratify=y if task == "classification" else None,
            random_state=args.random_state,
        )
    except ValueError as error:
        message = str(error)
        n_values = len(np.unique(y))
        if task == "classification" and n_values > MAX_INFERRED_CLASSES:
            message = (
                f"{message.rstrip('.')}. Column {args.target!r} has {n_values} "
                "distinct values: if it is a quantity rather than labels, use "
                "--model linear (or mlp)"
            )
        raise InputError(f"cannot split {args.data}: {message}") from None
    scaled = "features and target" if task == "regression" else "features"
    summary = (
        f"model: {name} (standardized {scaled}, "
        f"{type(_final_estimator(model)).__name__}), "
        f"{task} of {args.target!r} from "
        f"{len(features)} features; {len(parts[3])} train, {len(parts[4])} "
        f"validation, {len(parts[5])} test rows"
    )
    return _Problem(model, *parts, summary, tuple(features))


def _set_params(model, assignments):
    params = {}
    for assignment in assignments:
        name, separator, text = assignment.partition("=")
        if not separator or not name:
            raise InputError(
                f"--param must have the form NAME=VALUE, got {assignment!r}"
            )
        params[name.strip()] = _parse_param_value(text.strip())
    try:
        model.set_params(**params)
        # Values are checked here, before any training, not by the first fit.
        model._validate_params()
    except (ValueError, TypeError) as error:
        raise InputError(f"invalid --param: {error}") from None


def _parse_param_value(text):
    """Read a Python literal such as 0.1, 100, True or (10, 5), else keep the text.

    true, false and none are read as True, False and None in any case, as
    command lines and configuration files usually spell them.
    """
    words = {"true": True, "false": False, "none": None}
    if text.lower() in words:
        return words[text.lower()]
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _part_size(text):
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a fraction such as 0.2 or a number of rows, got {text!r}"
        ) from None


def _seed(text):
    """Read a --random-state value: an int that NumPy and the estimators accept."""
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(
            f"expected an int in [0, {MAX_SEED}], got {text!r}"
        )
    return value


def _non_negative_float(text):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def _fit_failed(command, model, error):
    # Invalid --param values usually surface here, when fit validates them.
    name = type(_final_estimator(model)).__name__
    logger.debug("fitting %s failed", name, exc_info=True)
    if isinstance(error, MemoryError):
        return _fail(
            command,
            f"fitting {name} failed: not enough memory (MemoryError: {error}); "
            "use smaller hidden_layer_sizes or fewer rows",
        )
    # Estimator errors start with the estimator's name, so drop that prefix
    # to print the name once.
    message = str(error).removeprefix(f"{name}: ")
    return _fail(command, f"fitting {name} failed: {message}")


def _progress_level():
    """1 (show tqdm bars) when stderr is a terminal, else 0 to keep logs clean."""
    return 1 if sys.stderr.isatty() else 0


def _write(text):
    sys.stdout.write(text + "\n")


def _fail(command, error):
    sys.stderr.write(f"fastml {command}: error: {error}\n")
    return 2
