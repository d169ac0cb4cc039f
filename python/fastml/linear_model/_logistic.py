"""Logistic regression: a sigmoid for two classes, a softmax for more."""

import numpy as np
from sklearn.base import ClassifierMixin

from .. import _core
from .._params import InstanceOf, Options
from .._validation import check_X_y, encode_classes, label_indices
from ._base import LinearModelBase
from ._control import class_sample_weights


class LogisticRegression(ClassifierMixin, LinearModelBase):
    """Logistic regression trained in the C++ core by L-BFGS or gradient descent.

    Two classes are modelled with one logit and a sigmoid; K >= 3 classes
    with K logits and a softmax (multinomial, not one-vs-rest). The cost
    minimized over the n training samples is

        J(W, b) = sum_i s_i * loss_i / sum_i s_i
                  + alpha * (l1_ratio * ||W||_1 + (1 - l1_ratio) / 2 * ||W||_F^2),

    where loss_i is the cross-entropy of sample i computed from its logits,
    s_i its sample weight (1 by default) and the penalty uses l1_ratio = 0
    for ``penalty="l2"`` and 1 for ``"l1"``. The intercept b is never
    penalized. This matches scikit-learn's ``LogisticRegression(C=C)`` with
    ``alpha = 1 / (C * n)``, and the course form lambda / (2n) * sum(w^2)
    with ``alpha = lambda / n``.

    Parameters
    ----------
    penalty : {"l2", "l1", "elasticnet"} or None, default="l2"
        Penalty on the coefficients. The L1 part is applied orthant-wise
        after each step of a first-order optimizer: for ``"sgd"`` this is
        exactly soft thresholding with threshold
        ``learning_rate * alpha * l1_ratio``; adaptive optimizers keep their
        per-coordinate step and a weight stays at exactly 0 while its data
        gradient lies within ``[-alpha * l1_ratio, alpha * l1_ratio]``.
        With ``optimizer="lbfgs"`` an L1 part switches to OWL-QN, the
        orthant-wise L-BFGS, which also gives exact zeros.
    alpha : float >= 0, default=1e-4
        Penalty strength. ``penalty=None`` ignores it, with a warning when
        it is set to a value other than the default or 0.
    l1_ratio : float in [0, 1], default=0.15
        Share of the L1 part for ``penalty="elasticnet"``. Other penalties
        ignore it, with a warning when it is set to a value other than the
        default.
    fit_intercept : bool, default=True
        Whether to learn an intercept. Without one the decision surface
        passes through the origin.
    optimizer : str or update rule, default="lbfgs"
        "lbfgs" (full-batch L-BFGS with a strong Wolfe line search, history
        of 10 pairs) or a first-order rule: "sgd", "momentum", "nesterov",
        "adagrad", "rmsprop", "adam", "adamw", or an object from
        :mod:`fastml.optimizers`, whose own learning rate then applies.
        "lbfgs" reaches scikit-learn's lbfgs optimum in about as many
        iterations and needs no learning rate.
    learning_rate : float > 0, default=0.01
        Step size of a first-order optimizer given by name; unused by
        "lbfgs".
    schedule : str, schedule object or None, default=None
        Per-epoch learning-rate schedule from :mod:`fastml.optimizers`;
        None keeps the rate constant. Not allowed with "lbfgs".
    batch_size : int >= 1 or None, default=None
        Rows per gradient step. None uses every row (full-batch gradient
        descent), 1 is stochastic gradient descent, k uses mini-batches of
        k rows drawn from a new seeded permutation every epoch. Must be
        None for "lbfgs".
    max_epochs : int >= 1, default=1000
        Maximum number of passes over the training data (L-BFGS
        iterations for "lbfgs").
    tol : float >= 0, default=1e-6
        First-order optimizers stop once the monitored cost has failed to
        drop by more than ``tol`` below its best value for
        ``n_iter_no_change`` consecutive epochs, or, for full batches, once
        the gradient norm is at most ``tol``. L-BFGS stops once the largest
        absolute gradient entry is at most ``tol`` or the cost changes by
        less than 64 machine epsilons relative to it. Each threshold is
        multiplied by min(1, the same quantity at zero coefficients,
        measured by the first fit), so ``tol`` is absolute for problems on
        the usual scale and relative for features or targets on a small
        scale, which would otherwise stop training at once.
    n_iter_no_change : int >= 1, default=5
        Epochs without improvement before stopping; L-BFGS uses it only with
        ``early_stopping``.
    early_stopping : bool, default=False
        Monitor the mean loss on validation data instead of the training
        cost, stop after ``n_iter_no_change`` epochs without improvement
        and keep the coefficients of the best epoch. The validation data is
        ``X_val, y_val`` when given to ``fit``, else a stratified
        ``validation_fraction`` of the training data, whose validation loss
        is weighted by sample_weight; the weights of each part must not
        sum to 0.
    validation_fraction : float in (0, 1), default=0.1
        Share of the training data held out when ``early_stopping`` is set
        and no validation data is given.
    warm_start : bool, default=False
        Start ``fit`` from the previous ``coef_`` and ``intercept_`` and
        keep the optimizer state (momentum, Adam moments, L-BFGS history)
        while the optimizer, penalty and data shape are unchanged.
    class_weight : "balanced", dict or None, default=None
        Weights multiplying the sample weights of each class. "balanced"
        uses ``n_samples / (n_classes * count(class))``.
    random_state : int, RandomState or None, default=None
        Seed of the mini-batch shuffling and of the validation split.
        Coefficients start at 0, so with ``batch_size=None`` and no
        early stopping the result does not depend on it.
    n_threads : int >= 1 or None, default=None
        Threads that share each pass over fixed chunks of rows (64-row chunks
        for a mini-batch); None uses OpenMP's default (OMP_NUM_THREADS, else
        one per core). The fitted coefficients are bit for bit the same for
        any value.
    verbose : int or bool, default=0
        Show a tqdm progress bar over epochs when nonzero.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted; ``predict`` returns values from this array.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Coefficients, one row for two classes, one row per class otherwise.
    intercept_ : ndarray of shape (1,) or (n_classes,)
    n_features_in_ : int
    n_iter_ : int
        Epochs run (L-BFGS iterations for "lbfgs"); ``partial_fit`` adds 1
        per call.
    history_ : dict of lists
        Per epoch, ``"train_loss"`` (mean loss, no penalty),
        ``"train_cost"`` (loss plus penalty) and, with validation data,
        ``"val_loss"`` (mean validation loss after the epoch, no penalty).
        For full batches the training values are those at the start of the
        epoch; for mini-batches they are the mean of the batch losses seen
        during the epoch.
    best_epoch_ : int
        With early stopping, the epoch (from 0) whose coefficients were kept.

    Notes
    -----
    C-contiguous float32 and float64 arrays are read without a copy, and
    float32 input is trained in float32 (sums accumulate in float64). Other
    layouts (Fortran order, slices) are copied once to C-contiguous arrays of
    the same float type, and other dtypes (integers, float16) to float64.
    """

    _parameter_constraints = {
        **LinearModelBase._parameter_constraints,
        "class_weight": [
            Options(None, "balanced"),
            InstanceOf(dict, description="a dict of class label to weight"),
        ],
    }

    def __init__(
        self,
        penalty="l2",
        alpha=1e-4,
        l1_ratio=0.15,
        fit_intercept=True,
        optimizer="lbfgs",
        learning_rate=0.01,
        schedule=None,
        batch_size=None,
        max_epochs=1000,
        tol=1e-6,
        n_iter_no_change=5,
        early_stopping=False,
        validation_fraction=0.1,
        warm_start=False,
        class_weight=None,
        random_state=None,
        n_threads=None,
        verbose=0,
    ):
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.schedule = schedule
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.warm_start = warm_start
        self.class_weight = class_weight
        self.random_state = random_state
        self.n_threads = n_threads
        self.verbose = verbose

    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None):
        """Fit the model to X of shape (n_samples, n_features) and labels y.

        Labels may be of any type (strings, {-1, 1}, {2, 5, 7}); at least two
        classes are required. ``X_val, y_val`` add ``"val_loss"`` to
        ``history_`` and are the data monitored by ``early_stopping``; their
        labels must be classes of y. Raises ValueError for NaN or infinite
        values, mismatched lengths, empty or 3-D input; a failed fit leaves
        the estimator as it was.
        """
        return self._fit(X, y, sample_weight, X_val, y_val, partial=False)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Run one epoch over X and y, continuing from the previous state.

        The first call needs ``classes``, every label the model will see.
        The optimizer state (momentum, Adam moments) and the learning-rate
        schedule continue across calls; ``early_stopping`` is not used.
        ``class_weight="balanced"`` is rejected, because one batch cannot
        give the class frequencies: pass a dict computed on all the data.
        With ``optimizer="lbfgs"`` each call is one L-BFGS iteration that
        keeps the curvature pairs of earlier calls, which describe earlier
        data; for a stream of different batches a first-order optimizer is
        the usual choice.
        """
        return self._fit(X, y, sample_weight, None, None, partial=True, classes=classes)

    def _check_X_y(self, X, y, reset):
        return check_X_y(self, X, y, reset=reset)

    def _encode_targets(self, y, dtype, first_call, partial, classes):
        """Return (targets, loss, n_outputs) for y; set classes_ on the first call."""
        name = type(self).__name__
        if first_call and partial:
            if classes is None:
                raise ValueError(
                    f"{name}: classes must be given on the first call to partial_fit, "
                    "listing every label the model will see."
                )
            self.classes_, _ = encode_classes(self, np.asarray(classes))
        elif first_call:
            self.classes_, indices = encode_classes(self, y)
            return self._targets_from_indices(indices, dtype)
        elif classes is not None and not np.array_equal(
            np.unique(classes), self.classes_
        ):
            raise ValueError(
                f"{name}: classes={np.unique(classes).tolist()!r} differs from the "
                f"classes of the first partial_fit call, {self.classes_.tolist()!r}."
            )
        return self._targets_from_indices(self._indices_of(y, "y"), dtype)

    def _indices_of(self, y, name):
        """Return the positions of the labels y in classes_; unknown labels raise."""
        return label_indices(self.classes_, y, name, type(self).__name__)

    def _targets_from_indices(self, indices, dtype):
        if self.classes_.shape[0] == 2:
            return np.ascontiguousarray(indices, dtype=dtype), "logistic", 1
        return (
            np.ascontiguousarray(indices, dtype=np.int64),
            "softmax",
            self.classes_.shape[0],
        )

    def _encode_validation_targets(self, y_val, dtype, n_outputs):
        targets, _, _ = self._targets_from_indices(
            self._indices_of(y_val, "y_val"), dtype
        )
        return targets

    def _weight_samples(self, targets, dtype, sample_weight, partial):
        if self.class_weight is None:
            return sample_weight
        if partial and isinstance(self.class_weight, str):
            raise ValueError(
                f"{type(self).__name__}: class_weight='balanced' is not supported by "
                "partial_fit, because one batch does not give the class frequencies; "
                "pass a dict, for example from "
                "sklearn.utils.class_weight.compute_class_weight on all labels."
            )
        indices = np.asarray(targets, dtype=np.int64)
        weights = class_sample_weights(self.class_weight, self.classes_, indices)
        if sample_weight is not None:
            weights = weights * sample_weight
        return np.ascontiguousarray(weights, dtype=dtype)

    def decision_function(self, X):
        """Logits: shape (n_samples,) for two classes, else (n_samples, n_classes).

        For two classes a positive logit favours ``classes_[1]``.
        """
        X = self._check_fitted_X(X)
        logits = self._logits(X)
        return logits[:, 0] if logits.shape[1] == 1 else logits

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), in ``classes_`` order.

        Probabilities are float64 for every input dtype: float32 rounds
        1 - 1e-8 to 1, which would make them disagree with
        ``predict_log_proba`` for confident predictions.
        """
        logits = self._float64_logits(X)
        if logits.ndim == 1:
            # Both columns from the logit, so the smaller probability keeps its
            # precision instead of being computed as 1 - p.
            return np.stack([_core.sigmoid(-logits), _core.sigmoid(logits)], axis=1)
        return _core.softmax(logits)

    def predict_log_proba(self, X):
        """Log class probabilities in float64, from the logits without taking log(p)."""
        logits = self._float64_logits(X)
        if logits.ndim == 1:
            return np.stack(
                [_core.log_sigmoid(-logits), _core.log_sigmoid(logits)], axis=1
            )
        return _core.log_softmax(logits)

    def _float64_logits(self, X):
        return np.ascontiguousarray(self.decision_function(X), dtype=np.float64)

    def predict(self, X):
        """Predicted labels, values of ``classes_``."""
        logits = self.decision_function(X)
        if logits.ndim == 1:
            return self.classes_[(logits > 0).astype(np.intp)]
        return self.classes_[np.argmax(logits, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        tags.input_tags.sparse = False
        return tags
