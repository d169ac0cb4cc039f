"""Linear regression by least squares, with optional penalties."""

import numpy as np
from sklearn.base import RegressorMixin

from .._validation import as_float_array, check_X_y
from ._base import LinearModelBase


class LinearRegression(RegressorMixin, LinearModelBase):
    """Least-squares linear regression trained in the C++ core.

    The cost minimized over the m training samples is

        J(W, b) = sum_i s_i * ||y_i - W x_i - b||^2 / (2 * sum_i s_i)
                  + alpha * (l1_ratio * ||W||_1 + (1 - l1_ratio) / 2 * ||W||_F^2),

    with s_i the sample weights (1 by default, so the first term is
    1/(2m) * sum(err^2)), l1_ratio = 0 for ``penalty="l2"`` and 1 for
    ``"l1"``. The intercept b is never penalized. The same objective in
    other conventions:

    - scikit-learn ``Ridge(alpha=a)`` (``||y - Xw||^2 + a * ||w||^2``):
      ``penalty="l2", alpha=a / m``;
    - ``Lasso(alpha=a)``: ``penalty="l1", alpha=a``;
    - ``ElasticNet(alpha=a, l1_ratio=r)``: ``penalty="elasticnet",
      alpha=a, l1_ratio=r``;
    - the course form ``1/(2m) * sum(err^2) + lambda/(2m) * sum(w^2)``:
      ``penalty="l2", alpha=lambda / m``.

    With ``fit_intercept=True`` the solver subtracts the weighted means of X
    and y (computed in float64) before training and maps the coefficients
    back afterwards. Because the intercept is not penalized this changes
    nothing in the optimum, but it removes the large intercept direction
    that makes badly scaled data ill-conditioned, so float32 input reaches
    the float64 solution to about 1e-4. Features are not rescaled: first-order
    optimizers on features of very different scales need a small
    learning_rate or standardized features, whereas "lbfgs" adapts.

    Parameters
    ----------
    penalty : {"l2", "l1", "elasticnet"} or None, default=None
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
        Whether to learn an intercept.
    optimizer : str or update rule, default="lbfgs"
        "lbfgs" (full-batch L-BFGS with a strong Wolfe line search) or a
        first-order rule: "sgd", "momentum", "nesterov", "adagrad",
        "rmsprop", "adam", "adamw", or an object from
        :mod:`fastml.optimizers`, whose own learning rate then applies.
    learning_rate : float > 0, default=0.01
        Step size of a first-order optimizer given by name; unused by
        "lbfgs".
    schedule : str, schedule object or None, default=None
        Per-epoch learning-rate schedule from :mod:`fastml.optimizers`;
        None keeps the rate constant. Not allowed with "lbfgs".
    batch_size : int >= 1 or None, default=None
        Rows per gradient step; None is full-batch. Must be None for
        "lbfgs".
    max_epochs : int >= 1, default=1000
        Maximum number of passes over the data (L-BFGS iterations).
    tol : float >= 0, default=1e-6
        Stopping tolerance, as in :class:`LogisticRegression`: the decrease
        of the monitored cost or the full-batch gradient norm for
        first-order optimizers, the largest absolute gradient entry for
        "lbfgs". It is absolute where these are at least 1 at zero
        coefficients and relative to their values there below that, so a
        target on a small scale (1e-8, say) trains as far as a standardized
        one.
    n_iter_no_change : int >= 1, default=5
        Epochs without improvement before stopping; L-BFGS uses it only with
        ``early_stopping``.
    early_stopping : bool, default=False
        Monitor the validation loss, stop after ``n_iter_no_change`` epochs
        without improvement and keep the best coefficients. The validation
        data is ``X_val, y_val`` when given, else a random
        ``validation_fraction`` of the training data, whose validation loss
        is weighted by sample_weight; the weights of each part must not
        sum to 0.
    validation_fraction : float in (0, 1), default=0.1
        Share of the training data held out for early stopping.
    warm_start : bool, default=False
        Start ``fit`` from the previous coefficients and keep the optimizer
        state while the optimizer, penalty and data shape are unchanged.
    random_state : int, RandomState or None, default=None
        Seed of the mini-batch shuffling and of the validation split.
    n_threads : int >= 1 or None, default=None
        Threads that share each pass over fixed chunks of rows (64-row chunks
        for a mini-batch); None uses OpenMP's default (OMP_NUM_THREADS, else
        one per core). The fitted coefficients are bit for bit the same for
        any value.
    verbose : int or bool, default=0
        Show a tqdm progress bar over epochs when nonzero.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients; 1-D when y is 1-D, as in scikit-learn.
    intercept_ : float or ndarray of shape (n_targets,)
    n_features_in_ : int
    n_iter_ : int
        Epochs run (L-BFGS iterations); ``partial_fit`` adds 1 per call.
    history_ : dict of lists
        ``"train_loss"`` (mean of err^2 / 2, no penalty), ``"train_cost"``
        (with the penalty) and, with validation data, ``"val_loss"``.
    best_epoch_ : int
        With early stopping, the epoch (from 0) whose coefficients were kept.
    """

    def __init__(
        self,
        penalty=None,
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
        self.random_state = random_state
        self.n_threads = n_threads
        self.verbose = verbose

    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None):
        """Fit to X of shape (n_samples, n_features) and y of shape (n_samples,)
        or (n_samples, n_targets).

        ``X_val, y_val`` add ``"val_loss"`` to ``history_`` and are the data
        monitored by ``early_stopping``. A failed fit leaves the estimator as
        it was.
        """
        return self._fit(X, y, sample_weight, X_val, y_val, partial=False)

    def partial_fit(self, X, y, sample_weight=None):
        """Run one epoch over X and y, continuing from the previous state.

        The optimizer state and the learning-rate schedule continue across
        calls, the centring offsets of the first call are kept, and
        ``early_stopping`` is not used. With ``optimizer="lbfgs"`` each call
        is one L-BFGS iteration that keeps the curvature pairs of earlier
        calls, which describe earlier data; for a stream of different batches
        a first-order optimizer is the usual choice.
        """
        return self._fit(X, y, sample_weight, None, None, partial=True)

    def predict(self, X):
        """Predictions X @ coef_.T + intercept_, 1-D when y was 1-D."""
        X = self._check_fitted_X(X)
        predictions = self._logits(X)
        return predictions[:, 0] if self._y_ndim == 1 else predictions

    def _check_X_y(self, X, y, reset):
        return check_X_y(self, X, y, reset=reset, multi_output=True, y_numeric=True)

    def _encode_targets(self, y, dtype, first_call, partial, classes):
        """Targets of shape (n_samples, n_targets) in X's dtype."""
        y = np.asarray(y)
        if first_call:
            self._y_ndim = y.ndim
        elif y.ndim != self._y_ndim:
            raise ValueError(
                f"{type(self).__name__}: y is {y.ndim}-D but the model was fitted "
                f"with {self._y_ndim}-D y."
            )
        targets = np.ascontiguousarray(as_float_array(y, dtype, "y").reshape(y.shape[0], -1))
        return targets, "squared", targets.shape[1]

    def _encode_validation_targets(self, y_val, dtype, n_outputs):
        targets = as_float_array(y_val, dtype, "y_val")
        targets = targets.reshape(targets.shape[0], -1)
        if not np.all(np.isfinite(targets)):
            raise ValueError(f"{type(self).__name__}: y_val contains NaN or infinity.")
        if targets.shape[1] != n_outputs:
            raise ValueError(
                f"{type(self).__name__}: y_val has {targets.shape[1]} targets per "
                f"sample; y has {n_outputs}."
            )
        return np.ascontiguousarray(targets, dtype=dtype)

    def _offsets(self, X, targets, sample_weight):
        """Weighted means of the columns of X and of the targets, in float64."""
        weights = (
            None if sample_weight is None else np.asarray(sample_weight, np.float64)
        )
        # Values near the float64 limit can overflow the sums: that is
        # reported below rather than by numpy's warning.
        with np.errstate(over="ignore", invalid="ignore"):
            X_offset = np.average(np.asarray(X, dtype=np.float64), axis=0, weights=weights)
            target_offset = np.average(
                np.asarray(targets, dtype=np.float64), axis=0, weights=weights
            )
        for name, offset in (("X", X_offset), ("y", target_offset)):
            if not np.all(np.isfinite(offset)):
                raise ValueError(
                    f"{type(self).__name__}: the mean of {name} overflows float64, so "
                    f"{name} cannot be centred for the intercept. Rescale {name}, for "
                    "example with StandardScaler."
                )
        return X_offset, target_offset

    def _store(self, trainer, result, n_outputs, n_features, partial):
        super()._store(trainer, result, n_outputs, n_features, partial)
        if self._y_ndim == 1:
            self.coef_ = self.coef_[0]
            self.intercept_ = self.intercept_[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.sparse = False
        return tags
