"""Multi-layer perceptron regressor: linear outputs and squared error."""

import numpy as np
from sklearn.base import RegressorMixin

from .._validation import as_float_array, check_sample_weight, check_X, check_X_y
from ..linear_model._base import RestoreOnFailure
from ._base import MLPBase


class MLPRegressor(RegressorMixin, MLPBase):
    """Dense feed-forward network regressor trained by the C++ core.

    The output layer is linear, and the loss of a sample is half the sum of
    squared errors over its outputs. The cost, penalty and every parameter
    except ``class_weight`` are those of :class:`MLPClassifier`; early
    stopping holds out an unstratified ``validation_fraction``.

    Parameters
    ----------
    hidden_layer_sizes, activation, penalty, alpha, l1_ratio, optimizer,
    learning_rate, schedule, batch_size, max_epochs, tol, n_iter_no_change,
    early_stopping, validation_fraction, freeze, warm_start, random_state,
    n_threads, verbose
        As in :class:`MLPClassifier`.

    Attributes
    ----------
    layers_ : dict of str to ndarray
        ``layers.{i}.weight`` of shape (out, in) and ``layers.{i}.bias``.
    layer_sizes_ : tuple of int
        n_features, the hidden widths and the number of outputs.
    n_outputs_ : int
    n_iter_ : int
        Epochs run by the last fit (with fine_tune, both phases).
    history_ : dict of lists
        ``train_loss`` and ``train_cost`` per epoch, and ``val_loss`` when
        validation rows were used.
    best_epoch_ : int or None
        With early stopping, the epoch whose weights were kept.
    """

    _output = "squared"

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        penalty="l2",
        alpha=1e-4,
        l1_ratio=0.15,
        optimizer="adam",
        learning_rate=1e-3,
        schedule=None,
        batch_size=200,
        max_epochs=200,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        freeze=None,
        warm_start=False,
        random_state=None,
        n_threads=None,
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.schedule = schedule
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.freeze = freeze
        self.warm_start = warm_start
        self.random_state = random_state
        self.n_threads = n_threads
        self.verbose = verbose

    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None):
        """Fit the network to X of shape (n_samples, n_features) and real y.

        y has shape (n_samples,) or (n_samples, n_outputs). ``X_val`` and
        ``y_val``, given together, are validation rows, as in
        :meth:`MLPClassifier.fit`. A failed fit leaves the estimator as it was.
        """
        with RestoreOnFailure(self):
            hidden = self._validate_params()
            warm = bool(self.warm_start) and hasattr(self, "layers_")
            X, y = check_X_y(
                self, X, y, reset=not warm, multi_output=True, y_numeric=True
            )
            sample_weight = check_sample_weight(sample_weight, X)
            targets = self._encode_fit_targets(y, X.dtype, warm)
            validation = self._validation_rows(X_val, y_val, X.dtype)
            layer_sizes = (X.shape[1], *hidden, self.n_outputs_)
            self._train(X, y, targets, sample_weight, validation, layer_sizes)
        return self

    def partial_fit(self, X, y, sample_weight=None):
        """Run one epoch over (X, y), continuing from the current weights.

        The first call fixes the architecture. The optimizer state carries
        over between calls, and ``freeze`` is read at every call. Early
        stopping does not apply: each call runs exactly one epoch.
        """
        with RestoreOnFailure(self) as restore:
            hidden = self._validate_params()
            first_call = not hasattr(self, "layers_")
            X, y = check_X_y(
                self, X, y, reset=first_call, multi_output=True, y_numeric=True
            )
            sample_weight = check_sample_weight(sample_weight, X)
            if first_call:
                self._encode_fit_targets(y, X.dtype, warm=False)
                self._start_network(X.dtype, (X.shape[1], *hidden, self.n_outputs_))
            targets = self._encode_targets(y, X.dtype, "y")
            restore.trainer_changed = True
            self._partial_train(X, targets, sample_weight, X.dtype)
        return self

    def _encode_fit_targets(self, y, dtype, warm):
        n_outputs = 1 if np.ndim(y) == 1 else y.shape[1]
        if warm and n_outputs != self.n_outputs_:
            raise ValueError(
                f"{type(self).__name__}: warm_start needs {self.n_outputs_} outputs "
                "as in "
                f"the earlier fit; got {n_outputs}. Use warm_start=False."
            )
        self.n_outputs_ = n_outputs
        self._y_ndim = np.ndim(y)
        return self._encode_targets(y, dtype, "y")

    def _encode_targets(self, y, dtype, name):
        y = as_float_array(y, dtype, name)
        width = 1 if y.ndim == 1 else y.shape[1]
        if width != self.n_outputs_:
            raise ValueError(
                f"{name} must have {self.n_outputs_} output columns; got shape "
                f"{y.shape}."
            )
        if not np.isfinite(y).all():
            raise ValueError(
                f"{name} contains NaN or infinity; all values must be finite."
            )
        return np.ascontiguousarray(y.reshape(-1, width))

    def _validation_rows(self, X_val, y_val, dtype):
        if X_val is None and y_val is None:
            return None
        if X_val is None or y_val is None:
            raise ValueError(
                "X_val and y_val must be given together; got only one of them."
            )
        X_val = check_X(self, X_val, name="X_val").astype(dtype, copy=False)
        targets = self._encode_targets(y_val, dtype, "y_val")
        if targets.shape[0] != X_val.shape[0]:
            raise ValueError(
                f"X_val has {X_val.shape[0]} rows but y_val has {targets.shape[0]}."
            )
        return np.ascontiguousarray(X_val), targets

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def predict(self, X):
        """Predictions of shape (n_samples,) for 1-D y, else (n_samples, n_outputs)."""
        outputs = self._logits(X)
        return outputs[:, 0] if self._y_ndim == 1 else outputs
