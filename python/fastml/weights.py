"""Saving and loading the weights of fastml models in the safetensors format.

Networks (MLPClassifier, MLPRegressor) store their ``layers_``; the linear
models (LogisticRegression, LinearRegression) are stored as a network with
no hidden layer: ``coef_`` as ``layers.0.weight`` of shape (n_outputs,
n_features) and ``intercept_`` as ``layers.0.bias``, the layout of a single
PyTorch ``nn.Linear``.

Files are plain safetensors (never pickle), laid out like the ``state_dict``
of a PyTorch ``nn.Sequential`` that alternates ``nn.Linear`` layers and
activation modules: fastml's ``layers.{i}.weight`` (shape (out, in)) and
``layers.{i}.bias`` are stored as ``{2i}.weight`` and ``{2i}.bias``. So

    seq = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    seq.load_state_dict(safetensors.torch.load_file(path))

loads a file written by :func:`save_weights`. When loading, any name of the
form ``[prefix.]{j}.weight`` / ``[prefix.]{j}.bias`` is accepted: the
distinct indices j of one prefix, in increasing order, map to layers 0, 1,
2, ... of the network. A state_dict saved from PyTorch therefore loads
whether its Linear modules sit at 0, 2, 4 (activations in between), at
0, 1, 2, or inside a module attribute (``body.0.weight``), and fastml's own
``layers.0.weight`` names map to themselves.

The safetensors metadata contains ``format`` ("fastml.mlp"), ``format_version``
and ``config``, a JSON object with the estimator class, its parameters, the
layer sizes, the activation and the classes, which :func:`load_model` uses
to rebuild a fitted model. Parameters that JSON cannot write directly are
tagged objects: an optimizer or schedule object is
``{"__fastml__": "object", "class": <name in fastml.optimizers>, "params":
{...}}`` and a dict such as ``class_weight`` is ``{"__fastml__": "dict",
"items": [[key, value], ...]}``, which keeps int keys as ints.
"""

import errno
import inspect
import json
import numbers
import os
import re
import secrets
import stat
import warnings
from collections import namedtuple
from pathlib import Path

import numpy as np
import safetensors
import safetensors.numpy

from . import optimizers
from ._schedules import _Schedule
from .optimizers import _UpdateRule

FORMAT = "fastml.mlp"
FORMAT_VERSION = "2"
# Version 1 stored optimizer and schedule objects as null, which load_model
# now rejects as invalid, and class_weight dicts with string keys, which load
# as they are.
READABLE_VERSIONS = ("1", "2")
_TAG = "__fastml__"

_DTYPES = {"F64": np.dtype(np.float64), "F32": np.dtype(np.float32)}
_PARAMETER_NAME = re.compile(
    r"^(?:(?P<prefix>.*)\.)?(?P<index>\d+)\.(?P<kind>weight|bias)$"
)

LoadResult = namedtuple("LoadResult", ["missing", "unexpected", "mismatched"])
LoadResult.__doc__ = """Names that did not load: model names without a file tensor
(``missing``), file names without a model parameter (``unexpected``) and model
names whose file tensor has another shape or dtype (``mismatched``)."""


def file_tensor_name(model_name):
    """Return the name under which save_weights stores a model parameter."""
    match = re.fullmatch(r"layers\.(\d+)\.(weight|bias)", model_name)
    return f"{2 * int(match.group(1))}.{match.group(2)}"


def save_weights(model, path):
    """Write the fitted weights and configuration of a model to ``path``.

    ``model`` is a fitted MLPClassifier, MLPRegressor, LogisticRegression or
    LinearRegression. The file is safetensors with tensors named as in a
    PyTorch ``nn.Sequential`` (``0.weight``, ``0.bias``, ``2.weight``, ...)
    in the model's dtype, and the configuration as JSON metadata, including
    the column names of a model fitted on a DataFrame (``feature_names_in_``).

    The file is written to a temporary file in the same directory and then
    renamed to ``path``, so a reader never sees a partly written file. As
    with ``open(path, "w")``, a new file gets mode ``0o666 & ~umask`` and a
    file that is replaced keeps its permission bits.

    Raises TypeError when ``model`` is not one of those four fastml
    estimators. Raises ValueError when it is not fitted or has a parameter
    that cannot be stored (an optimizer or schedule class defined outside
    fastml.optimizers, or an object JSON cannot write), FileNotFoundError when the parent directory of ``path``
    does not exist, IsADirectoryError when ``path`` is a directory and
    another OSError, naming ``path``, when the file cannot be written. A
    RandomState given as ``random_state`` is stored as None with a
    UserWarning, because its state is not written to the file.
    """
    _check_fitted(model)
    _check_save_path(path)
    tensors = {
        file_tensor_name(name): np.ascontiguousarray(array)
        for name, array in _model_layers(model).items()
    }
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": json.dumps(_model_config(model)),
    }
    _write_atomically(path, safetensors.numpy.save(tensors, metadata=metadata))


def load_weights(model, path, strict=True):
    """Load weights from a safetensors file into a fitted fastml model.

    Every tensor's name, shape and dtype is checked before anything changes.
    With ``strict=True`` any missing, unexpected or mismatched tensor raises
    a ValueError that names each tensor and gives the file's shape then the
    model's, and the model is left untouched. With ``strict=False`` the
    tensors that match are loaded and the rest are reported.

    With ``strict=True`` a file written by :func:`save_weights` for another
    estimator class, or with another activation, is also rejected.

    Returns a LoadResult(missing, unexpected, mismatched) of name lists.
    Raises ValueError for a file that is not valid safetensors (corrupted or
    truncated) or contains NaN or infinite values, TypeError when ``strict``
    is not a bool, and FileNotFoundError or IsADirectoryError when ``path``
    is not a file.
    """
    if not isinstance(strict, (bool, np.bool_)):
        raise TypeError(
            f"load_weights: strict must be True or False; got {strict!r} of type "
            f"{type(strict).__name__}."
        )
    _check_fitted(model)
    file_tensors, metadata = _read(path)
    expected = _model_layers(model)
    mapping, unexpected = _map_file_names(file_tensors, len(expected) // 2)

    problems, mismatched, missing, loadable = [], [], [], {}
    for name, current in expected.items():
        if name not in mapping:
            missing.append(name)
            problems.append(f"{name} is missing from the file")
            continue
        file_name = mapping[name]
        shape, dtype = file_tensors[file_name]
        label = name if file_name == name else f"{name} (file tensor {file_name!r})"
        if shape != current.shape:
            mismatched.append(name)
            problems.append(
                f"{label}: the file has shape {shape} and the model {current.shape}"
            )
        elif dtype != current.dtype:
            mismatched.append(name)
            problems.append(
                f"{label}: the file has dtype {_dtype_name(dtype)} and the model "
                f"{current.dtype}"
            )
        else:
            loadable[name] = file_name
    problems += [
        f"{name} in the file matches no layer of the model" for name in unexpected
    ]
    if strict:
        problems += _config_problems(model, metadata)
        if problems:
            raise ValueError(
                f"cannot load {path} into {type(model).__name__}: "
                + "; ".join(problems)
                + ". The model was not changed. Pass strict=False to load the "
                "tensors that match."
            )

    values = _load_tensors(path, {loadable[name]: name for name in loadable})
    layers = {name: array.copy() for name, array in expected.items()}
    layers.update(values)
    _set_model_layers(model, layers)
    model.__dict__.pop("_trainer", None)
    return LoadResult(missing, unexpected, mismatched)


def load_model(path):
    """Rebuild a fitted fastml model from a file written by save_weights.

    The stored parameters are validated as ``fit`` validates them, and the
    classes, outputs and layer sizes in the metadata are checked against each
    other and against the tensors.

    Raises ValueError when the file lacks fastml's metadata (for example a
    state_dict saved from PyTorch: fit a model of the same architecture and
    use :func:`load_weights`), when the metadata is invalid or inconsistent,
    or when the file is corrupted or truncated. Raises FileNotFoundError or
    IsADirectoryError when ``path`` is not a file.
    """
    from .linear_model import LinearRegression, LogisticRegression
    from .neural_network import MLPClassifier, MLPRegressor

    file_tensors, metadata = _read(path)
    if metadata.get("format") != FORMAT:
        raise ValueError(
            f"{path} contains no fastml model metadata (format "
            f"{metadata.get('format')!r}, "
            f"expected {FORMAT!r}). Fit a model of the same architecture and call "
            "load_weights to load plain weights."
        )
    if metadata.get("format_version") not in READABLE_VERSIONS:
        raise ValueError(
            f"{path} has fastml format version {metadata.get('format_version')!r}; "
            f"this version of fastml reads versions {', '.join(READABLE_VERSIONS)}."
        )
    try:
        config = json.loads(metadata["config"])
        estimator_class = {
            "MLPClassifier": MLPClassifier,
            "MLPRegressor": MLPRegressor,
            "LogisticRegression": LogisticRegression,
            "LinearRegression": LinearRegression,
        }[config["estimator"]]
        model = estimator_class(**_decode_params(config["params"]))
        layer_sizes = _layer_sizes(config["layer_sizes"])
        _restore_targets(model, config)
        _check_architecture(model, config, layer_sizes)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{path} has invalid fastml metadata: {error}") from error

    dtypes = {dtype for _, dtype in file_tensors.values()}
    if len(dtypes) != 1 or next(iter(dtypes)) not in _DTYPES.values():
        raise ValueError(
            f"{path} must hold float32 or float64 tensors of one dtype; got "
            f"{sorted(_dtype_name(dtype) for dtype in dtypes)}."
        )
    dtype = next(iter(dtypes))
    model.n_features_in_ = layer_sizes[0]
    layers = {
        f"layers.{i}.{kind}": np.zeros(
            (layer_sizes[i + 1], layer_sizes[i])
            if kind == "weight"
            else (layer_sizes[i + 1],),
            dtype=dtype,
        )
        for i in range(len(layer_sizes) - 1)
        for kind in ("weight", "bias")
    }
    if _is_linear(model):
        _set_model_layers(model, layers)
    else:
        model.layer_sizes_ = layer_sizes
        model.layers_ = layers
    model.n_iter_ = int(config.get("n_iter", 0))
    load_weights(model, path, strict=True)
    return model


def _is_linear(model):
    """Return whether the model is a linear model (coef_ and intercept_)."""
    return type(model).__name__ in ("LogisticRegression", "LinearRegression")


def _model_layers(model):
    """Return the model's parameters as ``layers.{i}.weight`` and ``.bias`` arrays."""
    if not _is_linear(model):
        return model.layers_
    coef = np.asarray(model.coef_)
    weight = coef.reshape(-1, coef.shape[-1])
    return {
        "layers.0.weight": weight,
        "layers.0.bias": np.asarray(model.intercept_, dtype=coef.dtype).reshape(
            weight.shape[0]
        ),
    }


def _set_model_layers(model, layers):
    """Store ``layers`` in the model, in the shapes of coef_ for a linear model."""
    if not _is_linear(model):
        model.layers_ = layers
        return
    weight, bias = layers["layers.0.weight"], layers["layers.0.bias"]
    if type(model).__name__ == "LinearRegression" and model._y_ndim == 1:
        model.coef_, model.intercept_ = weight[0].copy(), bias.dtype.type(bias[0])
    else:
        model.coef_, model.intercept_ = weight.copy(), bias.copy()


def _check_fitted(model):
    from .linear_model import LinearRegression, LogisticRegression
    from .neural_network import MLPClassifier, MLPRegressor

    savable = (MLPClassifier, MLPRegressor, LogisticRegression, LinearRegression)
    if not isinstance(model, savable):
        names = [cls.__name__ for cls in savable]
        raise TypeError(
            f"model must be a fitted fastml {', '.join(names[:-1])} or {names[-1]}; "
            f"got {type(model).__module__}.{type(model).__qualname__}"
        )
    if _is_linear(model):
        if not hasattr(model, "coef_"):
            raise ValueError(
                f"{type(model).__name__} is not fitted, so it has no coefficients to "
                "save or load into. Fit it first, or rebuild a saved model with "
                "load_model."
            )
        return
    if not hasattr(model, "layers_"):
        raise ValueError(
            f"{type(model).__name__} is not fitted, so it has no layers to save or "
            "load into. Fit it first, or rebuild a saved model with load_model."
        )


def _check_save_path(path):
    """Raise an OSError naming ``path`` when a file cannot be written there."""
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(
            errno.EISDIR,
            "cannot save weights: the path is a directory; pass a file path such "
            "as model.safetensors",
            str(path),
        )
    parent = target.parent
    if not parent.is_dir():
        raise FileNotFoundError(
            errno.ENOENT,
            f"cannot save weights: the directory {str(parent)!r} does not exist; "
            "create it first",
            str(path),
        )


def _write_atomically(path, data):
    """Write the bytes ``data`` to ``path`` through a temporary file and a rename.

    safetensors.numpy.save_file (version 0.8) also renames a temporary file,
    but creates it with mode 0o600 whatever the umask. Here os.open creates
    it with mode 0o666, which the kernel reduces by the umask, as for
    open(path, "w"). A symbolic link is written through: its target is
    replaced and the link stays. An existing path that is not a regular file
    (a device, a FIFO) is rejected rather than replaced. An OSError names
    ``path``, never the temporary file.
    """
    target = Path(os.path.realpath(path))
    if target.exists() and not target.is_file():
        raise ValueError(
            f"cannot save weights to {str(path)!r}: it exists and is not a regular "
            "file; choose a file name"
        )
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
    try:
        existing_mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        existing_mode = None
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as error:
        raise OSError(error.errno, error.strerror, str(path)) from error
    try:
        with os.fdopen(descriptor, "wb") as handle:
            if existing_mode is not None:
                os.fchmod(handle.fileno(), existing_mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise OSError(error.errno, error.strerror, str(path)) from error
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _check_load_path(path):
    """Raise an OSError naming ``path`` unless it is an existing file."""
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(
            errno.EISDIR,
            "cannot load weights: the path is a directory, not a safetensors file",
            str(path),
        )
    if not target.exists():
        raise FileNotFoundError(
            errno.ENOENT, "cannot load weights: no such file", str(path)
        )


def _read(path):
    """Return ({name: (shape, dtype)}, metadata) from a safetensors header."""
    _check_load_path(path)
    try:
        with safetensors.safe_open(str(path), framework="np") as handle:
            metadata = handle.metadata() or {}
            tensors = {}
            for name in handle.keys():
                tensor = handle.get_slice(name)
                dtype = _DTYPES.get(tensor.get_dtype(), tensor.get_dtype())
                tensors[name] = (tuple(tensor.get_shape()), dtype)
    except safetensors.SafetensorError as error:
        raise ValueError(
            f"{path} is not a valid safetensors file (corrupted or truncated): {error}"
        ) from error
    return tensors, metadata


def _load_tensors(path, names):
    """Read the tensors ``names`` (file name to model name), checking values."""
    values = {}
    try:
        with safetensors.safe_open(str(path), framework="np") as handle:
            for file_name, model_name in names.items():
                values[model_name] = np.ascontiguousarray(handle.get_tensor(file_name))
    except safetensors.SafetensorError as error:
        raise ValueError(
            f"{path} is not a valid safetensors file (corrupted or truncated): {error}"
        ) from error
    for model_name, array in values.items():
        if not np.isfinite(array).all():
            raise ValueError(
                f"{path}: tensor {model_name} contains NaN or infinity, so nothing "
                "was loaded."
            )
    return values


def _map_file_names(file_tensors, n_layers):
    """Return ({model name: file name}, unexpected file names)."""
    keys = {}
    unexpected = []
    for name in file_tensors:
        match = _PARAMETER_NAME.match(name)
        if match is None:
            unexpected.append(name)
        else:
            keys[name] = (
                match.group("prefix") or "",
                int(match.group("index")),
                match.group("kind"),
            )
    prefixes = sorted({prefix for prefix, _, _ in keys.values()})
    prefix = prefixes[0] if prefixes else ""
    indices = sorted({index for p, index, _ in keys.values() if p == prefix})
    rank = {index: layer for layer, index in enumerate(indices)}
    mapping = {}
    for name, (p, index, kind) in keys.items():
        if p != prefix or rank[index] >= n_layers:
            unexpected.append(name)
        else:
            mapping[f"layers.{rank[index]}.{kind}"] = name
    return mapping, sorted(unexpected)


def _dtype_name(dtype):
    return str(dtype) if isinstance(dtype, np.dtype) else f"{dtype} (safetensors)"


def _model_config(model):
    if _is_linear(model):
        weight = _model_layers(model)["layers.0.weight"]
        layer_sizes = [int(weight.shape[1]), int(weight.shape[0])]
        activation = None
    else:
        layer_sizes = [int(size) for size in model.layer_sizes_]
        activation = model.activation
    config = {
        "estimator": type(model).__name__,
        "params": _encode_params(model),
        "layer_sizes": layer_sizes,
        "activation": activation,
        "n_iter": int(getattr(model, "n_iter_", 0)),
    }
    if hasattr(model, "feature_names_in_"):
        # A loaded model then rejects reordered or renamed DataFrame columns,
        # as the fitted one does.
        config["feature_names_in"] = [str(name) for name in model.feature_names_in_]
    if hasattr(model, "classes_"):
        classes = np.asarray(model.classes_)
        config["classes"] = classes.tolist()
        config["classes_dtype"] = classes.dtype.str
        config["multilabel"] = bool(getattr(model, "multilabel_", False))
    else:
        config["n_outputs"] = layer_sizes[-1]
        config["y_ndim"] = int(model._y_ndim)
    try:
        json.dumps(config)
    except TypeError as error:
        raise ValueError(
            f"cannot store the configuration of {type(model).__name__} as JSON: "
            f"{error}. "
            "classes_ must be numbers or strings."
        ) from error
    return config


def _encode_params(model):
    """Return the constructor parameters of ``model`` as JSON values.

    NOTE: a RandomState given as random_state is stored as None, with a
    UserWarning, so a loaded model draws from a fresh random stream.
    """
    estimator = type(model).__name__
    encoded = {}
    for name, value in model.get_params(deep=False).items():
        if isinstance(value, np.random.RandomState):
            warnings.warn(
                f"{estimator}: random_state is a RandomState, whose state cannot be "
                "stored in a weights file, so the file records random_state=None. "
                "Pass an int random_state to make refits of the loaded model "
                "reproducible.",
                UserWarning,
                stacklevel=4,
            )
            value = None
        encoded[name] = _encode_value(estimator, name, value)
    return encoded


def _encode_value(estimator, name, value):
    """Return ``value`` as JSON data, tagging objects and dicts."""
    if isinstance(value, (_UpdateRule, _Schedule)):
        return _encode_object(estimator, name, value)
    if isinstance(value, dict):
        items = [
            [_encode_scalar(estimator, name, key), _encode_scalar(estimator, name, v)]
            for key, v in value.items()
        ]
        return {_TAG: "dict", "items": items}
    if isinstance(value, (list, tuple)):
        return [_encode_scalar(estimator, name, item) for item in value]
    return _encode_scalar(estimator, name, value)


def _encode_object(estimator, name, value):
    """Return an optimizer or schedule object as its class name and arguments."""
    cls = type(value)
    if getattr(optimizers, cls.__name__, None) is not cls:
        raise ValueError(
            f"cannot save {estimator}: {name}={value!r} is an instance of "
            f"{cls.__module__}.{cls.__qualname__}, and only the classes of "
            "fastml.optimizers can be rebuilt from a file."
        )
    arguments = [
        parameter
        for parameter in inspect.signature(cls.__init__).parameters
        if parameter != "self"
    ]
    return {
        _TAG: "object",
        "class": cls.__name__,
        "params": {
            argument: _encode_scalar(estimator, name, getattr(value, argument))
            for argument in arguments
        },
    }


def _encode_scalar(estimator, name, value):
    """Return a JSON scalar (None, bool, int, float or str) for ``value``."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, numbers.Integral, float, str)):
        return value
    raise ValueError(
        f"cannot save {estimator}: parameter {name} contains {value!r} of type "
        f"{type(value).__name__}, which the file's JSON metadata cannot store. "
        "Use None, bools, numbers, strings, or lists and dicts of them."
    )


def _decode_params(params):
    decoded = {name: _decode_value(value) for name, value in params.items()}
    if isinstance(decoded.get("hidden_layer_sizes"), list):
        decoded["hidden_layer_sizes"] = tuple(decoded["hidden_layer_sizes"])
    return decoded


def _decode_value(value):
    """Rebuild a parameter from its JSON form; the inverse of _encode_value."""
    if not isinstance(value, dict):
        return value
    kind = value.get(_TAG)
    if kind == "dict":
        return {key: item for key, item in value["items"]}
    if kind == "object":
        cls = getattr(optimizers, value["class"], None)
        if not (isinstance(cls, type) and issubclass(cls, (_UpdateRule, _Schedule))):
            raise ValueError(
                f"{value['class']!r} is not an optimizer or schedule class of "
                "fastml.optimizers"
            )
        return cls(**value["params"])
    if kind is None:
        # Version 1 wrote dicts as plain JSON objects, with string keys.
        return dict(value)
    raise ValueError(
        f"invalid tagged value {kind!r} in the parameters; expected 'dict' or 'object'"
    )


def _restore_targets(model, config):
    if "feature_names_in" in config:
        names = config["feature_names_in"]
        if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            raise ValueError(
                f"feature_names_in must be a list of strings; got {names!r}"
            )
        if len(names) != config["layer_sizes"][0]:
            raise ValueError(
                f"feature_names_in has {len(names)} names for "
                f"{config['layer_sizes'][0]} input features"
            )
        model.feature_names_in_ = np.asarray(names, dtype=object)
    if "classes" in config:
        model.classes_ = np.asarray(
            config["classes"], dtype=np.dtype(config["classes_dtype"])
        )
        if not _is_linear(model):
            model.multilabel_ = bool(config["multilabel"])
    else:
        if not _is_linear(model):
            model.n_outputs_ = int(config["n_outputs"])
        model._y_ndim = int(config["y_ndim"])


def _config_problems(model, metadata):
    """Estimator and architecture differences recorded in the file's metadata."""
    if metadata.get("format") != FORMAT or "config" not in metadata:
        return []
    try:
        config = json.loads(metadata["config"])
    except ValueError:
        return ["the file's fastml metadata is not valid JSON"]
    problems = []
    estimator = config.get("estimator")
    if estimator is not None and estimator != type(model).__name__:
        problems.append(
            f"the file holds a {estimator} and the model is a {type(model).__name__}"
        )
    activation = config.get("activation")
    if activation is not None and activation != getattr(model, "activation", None):
        problems.append(
            f"the file's activation is {activation!r} and the model's "
            f"{getattr(model, 'activation', None)!r}"
        )
    return problems


def _layer_sizes(sizes):
    """Return the metadata's layer sizes as a tuple of at least two ints >= 1."""
    valid = (
        isinstance(sizes, list)
        and len(sizes) >= 2
        and all(
            isinstance(size, int) and not isinstance(size, bool) and size >= 1
            for size in sizes
        )
    )
    if not valid:
        raise ValueError(
            f"layer_sizes must be a list of at least two ints >= 1; got {sizes!r}"
        )
    return tuple(sizes)


def _check_architecture(model, config, layer_sizes):
    """Check the parameters, classes and layer sizes of a rebuilt model.

    Raises ValueError (InvalidParameterError for a parameter) on the first
    inconsistency, so that a loaded model can predict and train again.
    """
    name = type(model).__name__
    hidden = model._validate_params()
    if _is_linear(model):
        if len(layer_sizes) != 2:
            raise ValueError(
                f"layer_sizes {list(layer_sizes)} describe {len(layer_sizes) - 1} "
                f"layers, but {name} has exactly one"
            )
    else:
        if tuple(layer_sizes[1:-1]) != hidden:
            raise ValueError(
                f"layer_sizes {list(layer_sizes)} do not match "
                f"hidden_layer_sizes={model.hidden_layer_sizes!r}"
            )
        if config.get("activation") != model.activation:
            raise ValueError(
                f"activation {config.get('activation')!r} does not match the "
                f"parameter activation={model.activation!r}"
            )
    n_outputs = layer_sizes[-1]
    expected = _expected_outputs(model, config)
    if n_outputs != expected:
        raise ValueError(
            f"the output layer has {n_outputs} units, but "
            f"{_targets_text(model, config)} need {expected}"
        )


def _expected_outputs(model, config):
    """Return the number of output units that the model's targets need."""
    if not hasattr(model, "classes_"):
        n_outputs = int(config["n_outputs"])
        if model._y_ndim not in (1, 2) or (model._y_ndim == 1 and n_outputs != 1):
            raise ValueError(
                f"y_ndim={model._y_ndim} and n_outputs={n_outputs} do not match; "
                "1-D targets have one output and 2-D targets any number"
            )
        return n_outputs
    classes = model.classes_
    if classes.ndim != 1 or not np.array_equal(np.unique(classes), classes):
        raise ValueError(
            "classes must be a sorted list of distinct labels; got "
            f"{classes.tolist()!r}"
        )
    if getattr(model, "multilabel_", False):
        return len(classes)
    if len(classes) < 2:
        raise ValueError(
            f"a classifier needs at least two classes; got {classes.tolist()!r}"
        )
    return 1 if len(classes) == 2 else len(classes)


def _targets_text(model, config):
    if hasattr(model, "classes_"):
        return f"the classes {model.classes_.tolist()!r}"
    return f"n_outputs={config['n_outputs']}"
