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
to rebuild a fitted model.
"""

import json
import re
from collections import namedtuple

import numpy as np
import safetensors
import safetensors.numpy

FORMAT = "fastml.mlp"
FORMAT_VERSION = "1"

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
    """Write the fitted weights of an MLP and its configuration to ``path``.

    The file is safetensors with tensors named as in a PyTorch
    ``nn.Sequential`` (``0.weight``, ``0.bias``, ``2.weight``, ...) in the
    model's dtype, and the configuration as JSON metadata.
    """
    _check_fitted(model)
    tensors = {
        file_tensor_name(name): np.ascontiguousarray(array)
        for name, array in _model_layers(model).items()
    }
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": json.dumps(_model_config(model)),
    }
    safetensors.numpy.save_file(tensors, str(path), metadata=metadata)


def load_weights(model, path, strict=True):
    """Load weights from a safetensors file into a fitted MLP.

    Every tensor's name, shape and dtype is checked before anything changes.
    With ``strict=True`` any missing, unexpected or mismatched tensor raises
    a ValueError that names each tensor and gives the file's shape then the
    model's, and the model is left untouched. With ``strict=False`` the
    tensors that match are loaded and the rest are reported.

    Returns a LoadResult(missing, unexpected, mismatched) of name lists.
    Raises ValueError for a file that is not valid safetensors (corrupted or
    truncated) or contains NaN or infinite values.
    """
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

    Raises ValueError when the file lacks fastml's metadata (for example a
    state_dict saved from PyTorch: fit a model of the same architecture and
    use :func:`load_weights`), or is corrupted or truncated.
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
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} has fastml format version {metadata.get('format_version')!r}; "
            f"this version of fastml reads version {FORMAT_VERSION}."
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
        layer_sizes = tuple(int(size) for size in config["layer_sizes"])
        _restore_targets(model, config)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{path} has invalid fastml metadata: {error!r}.") from error

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
        if len(layer_sizes) != 2:
            raise ValueError(
                f"{path} describes {len(layer_sizes) - 1} layers, but "
                f"{type(model).__name__} has exactly one."
            )
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


def _read(path):
    """Return ({name: (shape, dtype)}, metadata) from a safetensors header."""
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
        "params": _encode_params(model.get_params()),
        "layer_sizes": layer_sizes,
        "activation": activation,
        "n_iter": int(getattr(model, "n_iter_", 0)),
    }
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


def _encode_params(params):
    """Constructor parameters as JSON values.

    NOTE: a RandomState given as random_state and a class_weight dict whose
    keys are not strings cannot be written as JSON and are stored as None.
    """
    encoded = {}
    for name, value in params.items():
        if isinstance(value, tuple):
            value = list(value)
        try:
            json.dumps(value)
        except TypeError:
            value = None
        encoded[name] = value
    return encoded


def _decode_params(params):
    decoded = dict(params)
    if isinstance(decoded.get("hidden_layer_sizes"), list):
        decoded["hidden_layer_sizes"] = tuple(decoded["hidden_layer_sizes"])
    return decoded


def _restore_targets(model, config):
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
    """Architecture differences recorded in the file's metadata."""
    if metadata.get("format") != FORMAT or "config" not in metadata:
        return []
    try:
        config = json.loads(metadata["config"])
    except ValueError:
        return ["the file's fastml metadata is not valid JSON"]
    activation = config.get("activation")
    if activation is not None and activation != getattr(model, "activation", None):
        return [
            f"the file's activation is {activation!r} and the model's "
            f"{model.activation!r}"
        ]
    return []
