"""Logistic regression: a sigmoid for two classes, a softmax for more."""

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from .. import _core
from .._validation import check_sample_weight, check_X, check_X_y, encode_classes
from ._base import LinearModelBase, RestoreOnFailure


class LogisticRegression(ClassifierMixin, LinearModelBase):
    """Logistic regression trained by gradient descent in the C++ core.

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
        Penalty on the coefficients. The L1 part is applied by soft
        thresholding after each update, with threshold
        ``learning_rate * alpha * l1_ratio``.
    alpha : float >= 0, default=1e-4
        Penalty strength.
    l1_ratio : float in [0, 1], default=0.15
        Share of the L1 part for ``penalty="elasticnet"``.
    fit_intercept : bool, default=True
        Whether to learn an intercept. Without one the decision surface
        passes through the origin.
    optimizer : {"adam", "sgd"}, default="adam"
        Update rule. Adam follows Kingma and Ba (2015), Algorithm 1: both
        moments are bias-corrected and epsilon (1e-8) is added after the
        square root of the corrected second moment.
    learning_rate : float > 0, default=0.01
        Step size.
    batch_size : int >= 1 or None, default=None
        Rows per gradient step. None uses every row (full-batch gradient
        descent), 1 is stochastic gradient descent, k uses mini-batches of
        k rows drawn from a new seeded permutation every epoch.
    max_epochs : int >= 1, default=1000
        Maximum number of passes over the training data.
    tol : float >= 0, default=1e-4
        Training stops once the training cost has failed to drop by more
        than ``tol`` below its best value for ``n_iter_no_change``
        consecutive epochs.
    n_iter_no_change : int >= 1, default=5
        Epochs without improvement before stopping.
    random_state : int, RandomState or None, default=None
        Seed of the mini-batch shuffling. Coefficients start at 0, so with
        ``batch_size=None`` the result does not depend on it.
    n_threads : int >= 1 or None, default=None
        OpenMP threads; None uses OpenMP's default. The fitted coefficients
        are bit for bit the same for any value.
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
        Epochs run.
    history_ : dict of lists
        Per epoch, ``"train_loss"`` (mean loss, no penalty) and
        ``"train_cost"`` (loss plus penalty). For full batches the value is
        that at the start of the epoch; for mini-batches it is the mean of
        the batch losses seen during the epoch.

    Notes
    -----
    C-contiguous float32 and float64 arrays are read without a copy, and
    float32 input is trained in float32 (sums accumulate in float64). Other
    layouts and dtypes are converted once to C-contiguous float64.
    """

    def __init__(
        self,
        penalty="l2",
        alpha=1e-4,
        l1_ratio=0.15,
        fit_intercept=True,
        optimizer="adam",
        learning_rate=0.01,
        batch_size=None,
        max_epochs=1000,
        tol=1e-4,
        n_iter_no_change=5,
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
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.n_threads = n_threads
        self.verbose = verbose

    def fit(self, X, y, sample_weight=None):
        """Fit the model to X of shape (n_samples, n_features) and labels y.

        Labels may be of any type (strings, {-1, 1}, {2, 5, 7}); at least two
        classes are required. Raises ValueError for NaN or infinite values,
        mismatched lengths, empty or 3-D input; a failed fit leaves the
        estimator as it was.
        """
        with RestoreOnFailure(self):
            self._validate_params()
            X, y = check_X_y(self, X, y)
            sample_weight = check_sample_weight(sample_weight, X)
            classes, indices = encode_classes(self, y, sample_weight)
            if classes.shape[0] == 2:
                targets = indices.astype(X.dtype)
                self._train(X, targets, sample_weight, n_outputs=1, loss="logistic")
            else:
                self._train(X, indices, sample_weight, n_outputs=classes.shape[0], loss="softmax")
            self.classes_ = classes
        return self

    def decision_function(self, X):
        """Logits: shape (n_samples,) for two classes, else (n_samples, n_classes).

        For two classes a positive logit favours ``classes_[1]``.
        """
        check_is_fitted(self)
        X = check_X(self, X)
        logits = self._logits(X)
        return logits[:, 0] if logits.shape[1] == 1 else logits

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        logits = self.decision_function(X)
        if logits.ndim == 1:
            # Both columns from the logit, so the smaller probability keeps its
            # precision instead of being computed as 1 - p.
            return np.stack([_core.sigmoid(-logits), _core.sigmoid(logits)], axis=1)
        return _core.softmax(logits)

    def predict_log_proba(self, X):
        """Log class probabilities, computed from the logits without taking log(p)."""
        logits = self.decision_function(X)
        if logits.ndim == 1:
            return np.stack([_core.log_sigmoid(-logits), _core.log_sigmoid(logits)], axis=1)
        return _core.log_softmax(logits)

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
