"""Shared machinery of the dense networks trained by the C++ core."""

import math
import numbers
import os
import re

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .. import _core
from .._params import (
    InstanceOf,
    Interval,
    InvalidParameterError,
    Options,
    validate_params,
    warn_ignored_optimizer_settings,
    warn_ignored_penalty_settings,
)
from .._training import run_trainer, zero_output_cost
from .._validation import check_X
from ..linear_model._base import TRAINING_CONSTRAINTS
from ..linear_model._control import hold_out_rows
from ..optimizers import (
    OPTIMIZER_NAMES,
    _UpdateRule,
    resolve_optimizer,
    resolve_schedule,
)

ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid", "linear")

_SEGMENT_NAME = re.compile(r"^layers\.(\d+)(?:\.(weight|bias))?$")


def trainer_class(dtype):
    """Return the C++ network trainer class for ``dtype`` (float32 or float64)."""
    return _core.NetworkTrainer32 if dtype == np.float32 else _core.NetworkTrainer64


def layer_names(n_layers):
    """Parameter names in training order: layers.0.weight, layers.0.bias, ..."""
    return [
        f"layers.{i}.{kind}" for i in range(n_layers) for kind in ("weight", "bias")
    ]


def flatten_layers(layers, dtype):
    """Concatenate the parameters of ``layers`` into the C++ flat layout."""
    n_layers = len(layers) // 2
    parts = [
        np.asarray(layers[name], dtype=dtype).ravel() for name in layer_names(n_layers)
    ]
    return np.ascontiguousarray(np.concatenate(parts))


def unflatten_layers(params, layer_sizes):
    """Split flat parameters into a dict of (out, in) weights and (out,) biases."""
    layers = {}
    offset = 0
    for i in range(len(layer_sizes) - 1):
        fan_in, fan_out = layer_sizes[i], layer_sizes[i + 1]
        weight = params[offset : offset + fan_out * fan_in].reshape(fan_out, fan_in)
        offset += fan_out * fan_in
        layers[f"layers.{i}.weight"] = weight.copy()
        layers[f"layers.{i}.bias"] = params[offset : offset + fan_out].copy()
        offset += fan_out
    return layers


def resolve_freeze(freeze, n_layers, estimator_name):
    """Return one trainable flag per segment (W_0, b_0, W_1, ...) for ``freeze``.

    ``freeze`` is None, "hidden" (every layer but the output layer), a layer
    index (negative counts from the output layer), a name ("layers.0",
    "layers.0.weight", "layers.0.bias") or a list of these. Raises
    ValueError when nothing would be left to train.
    """
    trainable = [True] * (2 * n_layers)
    if freeze is None:
        return trainable
    entries = freeze if isinstance(freeze, (list, tuple)) else [freeze]
    for entry in entries:
        if isinstance(entry, str) and entry == "hidden":
            segments = range(2 * n_layers - 2)
        else:
            segments = _segments_of(entry, n_layers, estimator_name)
        for segment in segments:
            trainable[segment] = False
    if not any(trainable):
        raise ValueError(
            f"{estimator_name}: freeze={freeze!r} freezes every parameter of this "
            f"network of {n_layers} layer(s), so fit would change nothing; leave at "
            "least one layer unfrozen (for example the output layer, with "
            "freeze='hidden')."
        )
    return trainable


def _segments_of(entry, n_layers, estimator_name):
    if isinstance(entry, numbers.Integral) and not isinstance(entry, bool):
        if -n_layers <= entry < n_layers:
            layer = int(entry) % n_layers
            return [2 * layer, 2 * layer + 1]
    elif isinstance(entry, str):
        match = _SEGMENT_NAME.match(entry)
        if match and int(match.group(1)) < n_layers:
            layer = int(match.group(1))
            kind = match.group(2)
            if kind is None:
                return [2 * layer, 2 * layer + 1]
            return [2 * layer + (kind == "bias")]
    raise ValueError(
        f"{estimator_name}: freeze entry {entry!r} is not a layer of this network; "
        f"expected an index in [{-n_layers}, {n_layers}), 'hidden', or a name such "
        "as 'layers.0', 'layers.0.weight' or 'layers.0.bias'."
    )


def _parameter_count(layer_sizes):
    """Return the number of weights and biases, as an exact Python int."""
    return sum(
        (int(inputs) + 1) * int(outputs)
        for inputs, outputs in zip(layer_sizes[:-1], layer_sizes[1:])
    )


def _physical_memory_bytes():
    """Return the machine's memory in bytes, or None where it is not known."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


class MLPBase(BaseEstimator):
    """Hyperparameters and the training loop common to MLPClassifier and MLPRegressor.

    Subclasses provide ``_output`` and the target encoding.
    """

    _parameter_constraints = {
        **TRAINING_CONSTRAINTS,
        "hidden_layer_sizes": [
            Interval(numbers.Integral, 1, None),
            InstanceOf(tuple, list, description="a tuple of ints >= 1"),
        ],
        "activation": [Options(*ACTIVATIONS)],
        # Checked by fastml.optimizers.resolve_schedule in _validate_params.
        "schedule": [Options(None), InstanceOf(object)],
        "optimizer": [
            Options(*(name for name in OPTIMIZER_NAMES if name != "lbfgs")),
            InstanceOf(_UpdateRule, description="an object from fastml.optimizers"),
        ],
        "freeze": [
            Options(None),
            InstanceOf(
                numbers.Integral,
                str,
                list,
                tuple,
                description="a layer index, "
                "a layer name, 'hidden' or a list of indices and names",
            ),
        ],
    }

    def _validate_params(self):
        validate_params(self)
        warn_ignored_penalty_settings(self)
        warn_ignored_optimizer_settings(self)
        try:
            resolve_optimizer(self.optimizer, self.learning_rate)
            resolve_schedule(self.schedule, self.max_epochs)
        except (TypeError, ValueError) as error:
            raise InvalidParameterError(f"{type(self).__name__}: {error}") from None
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, numbers.Integral) else tuple(sizes)
        for size in sizes:
            if (
                isinstance(size, bool)
                or not isinstance(size, numbers.Integral)
                or size < 1
            ):
                raise ValueError(
                    f"{type(self).__name__}: hidden_layer_sizes must hold ints >= 1; "
                    f"got {self.hidden_layer_sizes!r}."
                )
        return tuple(int(size) for size in sizes)

    def _penalty_strengths(self):
        """(alpha, l1_ratio) as the C++ penalty takes them."""
        if self.penalty is None:
            return 0.0, 0.0
        l1_ratio = {"l2": 0.0, "l1": 1.0, "elasticnet": self.l1_ratio}[self.penalty]
        return float(self.alpha), float(l1_ratio)

    def _optimizer_settings(self):
        """Return the C++ optimizer config of ``optimizer``, without the rate."""
        settings = dict(resolve_optimizer(self.optimizer, self.learning_rate))
        settings.pop("learning_rate", None)
        return settings

    def _base_learning_rate(self):
        """Return the optimizer object's own rate, else ``learning_rate``."""
        settings = resolve_optimizer(self.optimizer, self.learning_rate)
        return float(settings.get("learning_rate", self.learning_rate))

    def _new_trainer(self, dtype, layer_sizes, seed):
        alpha, l1_ratio = self._penalty_strengths()
        self._check_network_fits_in_memory(dtype, layer_sizes)
        try:
            return trainer_class(dtype)(
                layer_sizes=list(layer_sizes),
                activations=[self.activation] * (len(layer_sizes) - 2),
                output=self._output,
                optimizer=self._optimizer_settings(),
                alpha=alpha,
                l1_ratio=l1_ratio,
                seed=seed,
            )
        except MemoryError as error:
            raise self._network_memory_error(dtype, layer_sizes, str(error)) from error

    def _network_memory_error(self, dtype, layer_sizes, reason):
        n_params = _parameter_count(layer_sizes)
        size = n_params * np.dtype(dtype).itemsize
        return MemoryError(
            f"{type(self).__name__}: cannot allocate a network of layer sizes "
            f"{tuple(int(n) for n in layer_sizes)}: {n_params} parameters, "
            f"{size / 2**30:.3g} GiB for each copy of them ({reason}). Use "
            f"smaller hidden_layer_sizes (now {self.hidden_layer_sizes!r})."
        )

    def _check_network_fits_in_memory(self, dtype, layer_sizes):
        """Raise MemoryError before allocating a network that cannot fit in memory.

        Training keeps the parameters, their gradient and up to two optimizer
        buffers, so four copies must fit. A larger request would otherwise end
        the process: the system kills it, or a size that wraps around crashes it.
        """
        needed = 4 * _parameter_count(layer_sizes) * np.dtype(dtype).itemsize
        available = _physical_memory_bytes()
        if available is not None and needed > available:
            raise self._network_memory_error(
                dtype,
                layer_sizes,
                f"training needs about {needed / 2**30:.3g} GiB, more than the "
                f"{available / 2**30:.3g} GiB of memory of this machine",
            )

    def _start_network(self, dtype, layer_sizes):
        """Draw the initial weights of the first partial_fit call."""
        trainer = self._new_trainer(dtype, layer_sizes, self._seed())
        self._trainer = trainer
        self.layer_sizes_ = tuple(int(size) for size in layer_sizes)
        self.layers_ = unflatten_layers(trainer.params, layer_sizes)

    def _trainer_from_layers(self, dtype):
        """Build a trainer that starts from ``layers_``, with fresh optimizer state."""
        trainer = self._new_trainer(dtype, self.layer_sizes_, self._seed())
        trainer.params = flatten_layers(self.layers_, dtype)
        return trainer

    def _seed(self):
        return int(
            check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        )

    def _zero_output_cost(self, targets, sample_weight, layer_sizes):
        """Return the training cost of this network with a zero output layer."""
        output = "logistic" if self._output == "sigmoid" else self._output
        return zero_output_cost(output, targets, sample_weight, layer_sizes[-1])

    def _cost_of(self, params, X, targets, sample_weight, layer_sizes):
        """Return the training cost of the flat ``params``: one pass over X."""
        loss_sum, _ = _core.network_loss_gradient(
            params,
            X,
            targets,
            sample_weight,
            list(layer_sizes),
            [self.activation] * (len(layer_sizes) - 2),
            self._output,
            0 if self.n_threads is None else int(self.n_threads),
        )
        total_weight = len(X) if sample_weight is None else float(np.sum(sample_weight))
        alpha, l1_ratio = self._penalty_strengths()
        weights = [
            value
            for name, value in unflatten_layers(params, layer_sizes).items()
            if name.endswith("weight")
        ]
        l1 = sum(float(np.abs(w).sum(dtype=np.float64)) for w in weights)
        l2 = sum(float(np.square(w, dtype=np.float64).sum()) for w in weights)
        return loss_sum / total_weight + alpha * (l1_ratio * l1 + (1 - l1_ratio) / 2 * l2)

    def _fit_arguments(self, X, targets, sample_weight, validation):
        X_val, targets_val = validation if validation is not None else (None, None)
        early_stopping = bool(self.early_stopping) and X_val is not None
        return dict(
            X=X,
            targets=targets,
            sample_weight=sample_weight,
            X_val=X_val,
            targets_val=targets_val,
            batch_size=0 if self.batch_size is None else int(self.batch_size),
            tol=float(self.tol),
            n_iter_no_change=int(self.n_iter_no_change),
            learning_rate=self._base_learning_rate(),
            n_threads=0 if self.n_threads is None else int(self.n_threads),
            early_stopping=early_stopping,
            schedule=resolve_schedule(self.schedule, self.max_epochs),
        )

    def _split_validation(self, X, y, targets, sample_weight, seed):
        """Hold out ``validation_fraction`` of the rows for early stopping."""
        stratify = y if self._stratify_validation(y) else None
        train, held_out = hold_out_rows(
            X.shape[0], self.validation_fraction, seed, stratify, sample_weight
        )
        weights = (
            None
            if sample_weight is None
            else np.ascontiguousarray(sample_weight[train])
        )
        return (
            np.ascontiguousarray(X[train]),
            np.ascontiguousarray(targets[train]),
            weights,
            (
                np.ascontiguousarray(X[held_out]),
                np.ascontiguousarray(targets[held_out]),
            ),
        )

    def _stratify_validation(self, y):
        return False

    def _train(
        self, X, y, targets, sample_weight, validation, layer_sizes, initial_layers=None
    ):
        """Train a network and store the fitted attributes.

        ``validation`` is (X_val, targets_val) or None. ``initial_layers``
        maps parameter names to arrays that replace the random initial
        values; with ``warm_start`` the fitted ``layers_`` are the start.
        """
        if initial_layers is None:
            # Set by fastml.transfer.fine_tune for the duration of one fit.
            initial_layers = getattr(self, "_initial_layers", None)
        seed = self._seed()
        if validation is None and self.early_stopping:
            X, targets, sample_weight, validation = self._split_validation(
                X, y, targets, sample_weight, seed
            )
        trainer = self._new_trainer(X.dtype, layer_sizes, seed)
        start = self._initial_params(trainer, layer_sizes, initial_layers)
        if start is not None:
            trainer.params = start.astype(X.dtype, copy=False)
        trainer.trainable = resolve_freeze(
            self.freeze, len(layer_sizes) - 1, type(self).__name__
        )

        # A random start can cost more than twice the zero-output
        # reference, so run_trainer also compares the end with the start.
        reference = self._zero_output_cost(targets, sample_weight, layer_sizes)
        start_params = np.array(trainer.params, copy=True)

        def start_cost():
            return self._cost_of(start_params, X, targets, sample_weight, layer_sizes)

        result = run_trainer(
            trainer,
            self,
            self._fit_arguments(X, targets, sample_weight, validation),
            max_epochs=int(self.max_epochs),
            verbose=self.verbose,
            reference_cost=reference,
            raise_above_reference=False,
            start_cost=start_cost,
        )
        self._trainer = trainer
        self.layer_sizes_ = tuple(int(size) for size in layer_sizes)
        self.layers_ = unflatten_layers(trainer.params, layer_sizes)
        self.n_iter_ = int(result["n_epochs"])
        self.history_ = self._history(result)
        self.best_epoch_ = (
            int(result["best_epoch"]) if result["best_epoch"] >= 0 else None
        )

    def _initial_params(self, trainer, layer_sizes, initial_layers):
        """Flat starting parameters, or None to keep the trainer's random draw."""
        if initial_layers is None and not (
            self.warm_start and hasattr(self, "layers_")
        ):
            return None
        expected = unflatten_layers(trainer.params, layer_sizes)
        source = initial_layers if initial_layers is not None else self.layers_
        for name, value in source.items():
            if name not in expected or expected[name].shape != np.shape(value):
                shape = expected[name].shape if name in expected else None
                raise ValueError(
                    f"{type(self).__name__}: cannot start from the existing {name} of "
                    f"shape {np.shape(value)}; this fit needs shape {shape}. Use "
                    "warm_start=False to start from random weights."
                )
            expected[name] = np.asarray(value)
        return flatten_layers(expected, trainer.params.dtype)

    @staticmethod
    def _history(result):
        history = {
            "train_loss": list(result["train_loss"]),
            "train_cost": list(result["train_cost"]),
        }
        if result["validation_loss"]:
            history["val_loss"] = list(result["validation_loss"])
        return history

    def _partial_train(self, X, targets, sample_weight, dtype):
        """Run one epoch on (X, targets), keeping the trainer and its optimizer state.

        NOTE: after unpickling or load_weights the trainer is rebuilt from
        ``layers_``, so Adam's moment estimates start again from 0.
        """
        trainer = getattr(self, "_trainer", None)
        if trainer is None or trainer.params.dtype != dtype:
            trainer = self._trainer_from_layers(dtype)
        trainer.trainable = resolve_freeze(
            self.freeze, len(self.layer_sizes_) - 1, type(self).__name__
        )
        arguments = self._fit_arguments(X, targets, sample_weight, None)
        result = trainer.fit(**arguments, max_epochs=1)
        cost = result["train_cost"][-1]
        previous = getattr(self, "history_", {}).get("train_cost", [])
        reference = self._zero_output_cost(targets, sample_weight, self.layer_sizes_)
        # After a first epoch, a cost above twice both the last one and a
        # zero output layer's has run away, as linear models judge it. The
        # first call starts from random weights, which may cost more.
        ran_away = bool(previous) and cost > 2 * max(previous[-1], reference)
        if result["diverged"] or ran_away:
            # The cost uses the parameters the epoch started from, so it can
            # be finite while the parameters the epoch ended with are not.
            if ran_away and not result["diverged"]:
                failure = (
                    f"the training cost rose from {previous[-1]:.6g} to {cost:.6g}"
                )
            elif math.isfinite(cost):
                failure = "the parameters overflowed to infinity or NaN"
            else:
                failure = f"the training cost became {cost}"
            raise FloatingPointError(
                f"{type(self).__name__}: {failure} in partial_fit, so the model was "
                "left as before the call. Use a smaller learning_rate (now "
                f"{self.learning_rate!r}) or standardize the features."
            )
        self._trainer = trainer
        self.layers_ = unflatten_layers(trainer.params, self.layer_sizes_)
        self.n_iter_ = getattr(self, "n_iter_", 0) + 1
        history = getattr(self, "history_", {"train_loss": [], "train_cost": []})
        history["train_loss"].extend(result["train_loss"])
        history["train_cost"].extend(result["train_cost"])
        self.history_ = history

    def _logits(self, X):
        """Logits of X, shape (n_samples, n_outputs), after validating X."""
        check_is_fitted(self)
        X = check_X(self, X)
        params = flatten_layers(self.layers_, X.dtype)
        n_threads = 0 if self.n_threads is None else int(self.n_threads)
        activations = [self.activation] * (len(self.layer_sizes_) - 2)
        return _core.network_forward(
            params, X, list(self.layer_sizes_), activations, n_threads
        )

    def __getstate__(self):
        # The C++ trainer cannot be pickled; partial_fit rebuilds it from layers_.
        state = dict(self.__dict__)
        state.pop("_trainer", None)
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.non_deterministic = False
        return tags
