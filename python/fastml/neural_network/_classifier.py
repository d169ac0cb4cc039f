"""Multi-layer perceptron classifier with softmax, sigmoid or multi-label outputs."""

import warnings

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.multiclass import type_of_target

from .. import _core
from .._params import InstanceOf, Options
from .._validation import (
    check_sample_weight,
    check_X,
    check_X_y,
    encode_classes,
    label_indices,
)
from ..linear_model._control import class_sample_weights
from ..linear_model._base import RestoreOnFailure
from ._base import MLPBase


class MLPClassifier(ClassifierMixin, MLPBase):
    """Dense feed-forward network classifier trained by the C++ core.

    Each hidden layer computes ``f(A @ W.T + b)`` with the chosen activation;
    the output layer gives logits, from which the loss is computed:

    - 1-D ``y`` with K >= 3 classes: K logits, softmax cross-entropy.
    - 1-D ``y`` with 2 classes: one logit, sigmoid and binary cross-entropy
      (the same model as a 2-logit softmax with half the output weights).
      A positive logit favours ``classes_[1]``.
    - 2-D 0/1 indicator ``y`` of shape (n_samples, n_labels): multi-label,
      one independent sigmoid per label. The loss of a sample is the sum of
      its per-label binary cross-entropies.

    The cost minimized is ``sum_i s_i * loss_i / sum_i s_i + penalty(W)``
    with sample weights s_i and ``penalty(W) = alpha * (l1_ratio * ||W||_1 +
    (1 - l1_ratio) / 2 * ||W||^2)`` over all weight matrices; biases are not
    penalized. scikit-learn's MLPClassifier adds
    ``alpha_sklearn / (2 * batch_size) * ||W||^2`` per batch, which is
    ``alpha = alpha_sklearn / batch_size`` here.

    Parameters
    ----------
    hidden_layer_sizes : tuple or list of int, or int, default=(100,)
        Width of each hidden layer; an int is one hidden layer. An empty
        tuple gives a linear model.
    activation : {"relu", "leaky_relu", "tanh", "sigmoid", "linear"}, default="relu"
        Activation of every hidden layer. leaky_relu has slope 0.01 below 0.
        Weights start from He uniform initialization for relu and leaky_relu
        and Glorot uniform otherwise, the output layer included; biases at 0.
    penalty : {"l2", "l1", "elasticnet"} or None, default="l2"
    alpha : float >= 0, default=1e-4
        Penalty strength. ``penalty=None`` ignores it, with a warning when
        it is set to a value other than the default or 0.
    l1_ratio : float in [0, 1], default=0.15
        Share of the L1 part for ``penalty="elasticnet"``. Other penalties
        ignore it, with a warning when it is set to a value other than the
        default.
    optimizer : str or update rule object, default="adam"
        "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"
        or an object from ``fastml.optimizers``; L-BFGS is for linear models.
    learning_rate : float > 0, default=1e-3
    schedule : str, schedule object or None, default=None
        Learning-rate schedule from ``fastml.optimizers`` ("step",
        "exponential", "inverse_time", "cosine" or an object), applied per
        epoch to the base rate; None keeps the rate constant.
    batch_size : int >= 1 or None, default=200
        Rows per step, drawn from a new seeded permutation every epoch;
        values above n_samples use every row. None: full-batch.
    max_epochs : int >= 1, default=200
    tol : float >= 0, default=1e-4
        Training stops once the training cost (the validation loss with
        early stopping) has failed to drop by more than ``tol`` below its
        best value for ``n_iter_no_change`` consecutive epochs. ``tol`` is
        multiplied by min(1, the first epoch's cost of the first fit), so it
        is relative for costs on a small scale.
    n_iter_no_change : int >= 1, default=10
    early_stopping : bool, default=False
        Stop on the mean loss of validation rows (``X_val``/``y_val`` given
        to fit, else a seeded, stratified ``validation_fraction`` of the
        training rows) and keep the weights of the epoch with the lowest
        validation loss. The validation loss is unweighted: sample_weight
        applies to the training rows only, whose weights must not sum to 0.
    validation_fraction : float in (0, 1), default=0.1
    class_weight : dict, "balanced" or None, default=None
        Weights multiplied into the sample weights per class, for 1-D ``y``.
    freeze : int, str, list or None, default=None
        Parameters left bit for bit unchanged by training, including their
        optimizer state: layer indices (negative counts from the output
        layer), names ("layers.0", "layers.0.weight", "layers.0.bias") or
        "hidden" for every layer but the output layer.
    warm_start : bool, default=False
        Start fit from the fitted ``layers_`` (optimizer state starts fresh).
    random_state : int, RandomState or None, default=None
        Seed of the initial weights, the shuffling and the validation split.
    n_threads : int >= 1 or None, default=None
        Threads that share each step: a mini-batch is split into fixed
        chunks of 64 rows, and the update into fixed ranges of parameters.
        None uses OpenMP's default (OMP_NUM_THREADS, else one per core).
        Fitted weights are bit for bit the same for any value. On a machine
        whose cores are busy with other work, fewer threads can be faster.
    verbose : int or bool, default=0
        Show a tqdm progress bar over epochs when nonzero.

    Attributes
    ----------
    classes_ : ndarray
        Class labels, sorted; for multi-label ``y`` the label indices.
    layers_ : dict of str to ndarray
        ``layers.{i}.weight`` of shape (out, in) and ``layers.{i}.bias`` of
        shape (out,), the same layout as torch.nn.Linear.
    layer_sizes_ : tuple of int
        n_features, the hidden widths and the number of outputs.
    n_iter_ : int
        Epochs run by the last fit (with fine_tune, both phases).
    history_ : dict of lists
        ``train_loss`` and ``train_cost`` per epoch, and ``val_loss`` when
        validation rows were used.
    best_epoch_ : int or None
        With early stopping, the epoch whose weights were kept.
    """

    _parameter_constraints = {
        **MLPBase._parameter_constraints,
        "class_weight": [Options(None, "balanced"), InstanceOf(dict)],
    }

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
        class_weight=None,
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
        self.class_weight = class_weight
        self.freeze = freeze
        self.warm_start = warm_start
        self.random_state = random_state
        self.n_threads = n_threads
        self.verbose = verbose

    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None):
        """Fit the network to X of shape (n_samples, n_features) and labels y.

        ``X_val`` and ``y_val``, given together, are validation rows: their
        mean loss is recorded in ``history_["val_loss"]`` each epoch and, with
        ``early_stopping``, decides when to stop. A failed fit leaves the
        estimator as it was.
        """
        with RestoreOnFailure(self):
            hidden = self._validate_params()
            warm = bool(self.warm_start) and hasattr(self, "layers_")
            X, y = check_X_y(self, X, y, reset=not warm, multi_output=True)
            sample_weight = check_sample_weight(sample_weight, X)
            targets, n_outputs = self._encode_fit_targets(y, X.dtype, warm)
            sample_weight = self._apply_class_weight(y, sample_weight, X.dtype)
            validation = self._validation_rows(X_val, y_val, X.dtype)
            layer_sizes = (X.shape[1], *hidden, n_outputs)
            self._train(X, y, targets, sample_weight, validation, layer_sizes)
        return self

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Run one epoch over (X, y), continuing from the current weights.

        The first call fixes the architecture and the classes: for 1-D y,
        ``classes`` must list every label that any call may contain (a
        multi-label indicator y gives its columns). Later calls may repeat
        the same ``classes``. The optimizer state carries over between
        calls, and ``freeze`` is read at every call. Early stopping does not
        apply: each call runs exactly one epoch.
        """
        with RestoreOnFailure(self) as restore:
            hidden = self._validate_params()
            first_call = not hasattr(self, "layers_")
            X, y = check_X_y(self, X, y, reset=first_call, multi_output=True)
            sample_weight = check_sample_weight(sample_weight, X)
            name = type(self).__name__
            if first_call:
                if classes is None and np.ndim(y) == 1:
                    raise ValueError(
                        f"{name}: classes must be given on the first call to "
                        "partial_fit, listing every label the model will see."
                    )
                labels = y if classes is None else np.asarray(classes)
                if np.ndim(y) == 2:
                    labels = y
                _, n_outputs = self._encode_fit_targets(labels, X.dtype, warm=False)
                self._start_network(X.dtype, (X.shape[1], *hidden, n_outputs))
            elif classes is not None and not self.multilabel_:
                if not np.array_equal(np.unique(classes), self.classes_):
                    raise ValueError(
                        f"{name}: classes={np.unique(classes).tolist()!r} differs "
                        "from the classes of the first partial_fit call, "
                        f"{self.classes_.tolist()!r}."
                    )
            targets = self._encode_targets(y, X.dtype, "y")
            sample_weight = self._apply_class_weight(y, sample_weight, X.dtype)
            restore.trainer_changed = True
            self._partial_train(X, targets, sample_weight, X.dtype)
        return self

    def _encode_fit_targets(self, y, dtype, warm):
        """Set classes_ and the output from y; return (targets, n_outputs)."""
        if np.ndim(y) == 2 and y.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected; it is "
                "treated as 1-D labels. Change the shape of y to (n_samples,), for "
                "example with ravel(), or pass a 2-D indicator matrix for multi-label.",
                DataConversionWarning,
                stacklevel=3,
            )
            y = np.ravel(y)
        if np.ndim(y) == 2 and y.shape[1] > 1:
            if type_of_target(y) != "multilabel-indicator":
                raise ValueError(
                    f"{type(self).__name__}: a 2-D y must be a 0/1 indicator matrix "
                    f"for multi-label classification; got type {type_of_target(y)!r}."
                )
            classes = np.arange(y.shape[1])
            multilabel = True
        else:
            y = np.ravel(y)
            classes, _ = encode_classes(self, y)
            multilabel = False
        if warm and not (
            multilabel == self.multilabel_ and np.array_equal(classes, self.classes_)
        ):
            raise ValueError(
                f"{type(self).__name__}: warm_start needs the classes of the "
                f"earlier fit ({self.classes_!r}); got {classes!r}. Use "
                "warm_start=False."
            )
        self.classes_ = classes
        self.multilabel_ = multilabel
        if multilabel:
            n_outputs = y.shape[1]
        elif len(classes) == 2:
            n_outputs = 1
        else:
            n_outputs = len(classes)
        return self._encode_targets(y, dtype, "y"), n_outputs

    def _encode_targets(self, y, dtype, name):
        """Targets for the C++ trainer from labels, checked against classes_."""
        if self.multilabel_:
            y = np.asarray(y)
            if y.ndim != 2 or y.shape[1] != len(self.classes_):
                raise ValueError(
                    f"{name} must be a 0/1 indicator matrix with {len(self.classes_)} "
                    f"columns; got shape {y.shape}."
                )
            if not np.isin(y, (0, 1)).all():
                raise ValueError(
                    f"{name} must hold only 0 and 1 for multi-label targets."
                )
            return np.ascontiguousarray(y, dtype=dtype)
        indices = label_indices(self.classes_, y, name, type(self).__name__)
        if len(self.classes_) == 2:
            return np.ascontiguousarray(indices, dtype=dtype)
        return np.ascontiguousarray(indices, dtype=np.int64)

    def _apply_class_weight(self, y, sample_weight, dtype):
        if self.class_weight is None:
            return sample_weight
        if self.multilabel_:
            raise ValueError(
                f"{type(self).__name__}: class_weight applies to 1-D y only; got a "
                "multi-label indicator matrix. Pass sample_weight instead."
            )
        indices = np.searchsorted(self.classes_, np.ravel(y))
        per_sample = class_sample_weights(self.class_weight, self.classes_, indices)
        weights = per_sample.astype(dtype)
        if sample_weight is not None:
            weights *= sample_weight
        return np.ascontiguousarray(weights)

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

    @property
    def _output(self):
        return "sigmoid" if self.multilabel_ or len(self.classes_) == 2 else "softmax"

    def _stratify_validation(self, y):
        return not self.multilabel_

    def decision_function(self, X):
        """Logits: shape (n_samples,) for two classes, else (n_samples, n_outputs)."""
        logits = self._logits(X)
        return logits[:, 0] if logits.shape[1] == 1 and not self.multilabel_ else logits

    def predict_proba(self, X):
        """Class probabilities, or per-label probabilities for multi-label y.

        Shape (n_samples, n_classes) with columns in ``classes_`` order.
        For multi-label y each column is an independent sigmoid.
        """
        logits = self.decision_function(X)
        if self.multilabel_:
            return _core.sigmoid(logits)
        if logits.ndim == 1:
            return np.stack([_core.sigmoid(-logits), _core.sigmoid(logits)], axis=1)
        return _core.softmax(logits)

    def predict_log_proba(self, X):
        """Log of predict_proba, computed from the logits without taking log(p)."""
        logits = self.decision_function(X)
        if self.multilabel_:
            return _core.log_sigmoid(logits)
        if logits.ndim == 1:
            return np.stack(
                [_core.log_sigmoid(-logits), _core.log_sigmoid(logits)], axis=1
            )
        return _core.log_softmax(logits)

    def predict(self, X):
        """Predicted labels from ``classes_``, or a 0/1 matrix for multi-label y."""
        logits = self.decision_function(X)
        if self.multilabel_:
            return (logits > 0).astype(np.int64)
        if logits.ndim == 1:
            return self.classes_[(logits > 0).astype(np.intp)]
        return self.classes_[np.argmax(logits, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        tags.classifier_tags.multi_label = True
        return tags
