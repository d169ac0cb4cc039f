"""Optimizer comparison on real data, for the command-line demo.

``optimizer_report`` trains one softmax model per optimizer on the digits
data and a Lasso on the diabetes data. It returns the measurements as rows
of plain values, which the demo formats.
"""

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from .datasets import load_diabetes, load_digits
from .linear_model import LinearRegression, LogisticRegression

# Step sizes that train the standardized digits data in mini-batches of 64
# rows. Adaptive rules take per-coordinate steps near the learning rate, so
# they get smaller ones.
SOFTMAX_SETTINGS = {
    "sgd": dict(learning_rate=0.05),
    "momentum": dict(learning_rate=0.01),
    "nesterov": dict(learning_rate=0.01),
    "adagrad": dict(learning_rate=0.05),
    "rmsprop": dict(learning_rate=0.001),
    "adam": dict(learning_rate=0.001),
    "adamw": dict(learning_rate=0.001),
    "lbfgs": dict(),
}
LASSO_ALPHA = 1.0
SEED = 0


def standardized_split(X, y, stratify):
    """75/25 split with a fixed seed, both parts scaled by the training statistics."""
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=SEED, stratify=y if stratify else None
    )
    mean = X_train.mean(axis=0)
    scale = X_train.std(axis=0)
    scale[scale == 0] = 1.0
    return (X_train - mean) / scale, (X_test - mean) / scale, y_train, y_test


def timed_fit(estimator, X, y):
    """Fit and return (seconds, converged); a ConvergenceWarning means not converged."""
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        estimator.fit(X, y)
    seconds = time.perf_counter() - start
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return seconds, converged


def optimizer_report(quick=False):
    """Train one digits softmax model per optimizer and a diabetes Lasso.

    Parameters
    ----------
    quick : bool, default=False
        Cap the softmax runs at 20 epochs (L-BFGS iterations) instead of
        200, for a fast demo. Rows whose run reached the cap report
        ``converged=False``.

    Returns
    -------
    rows : list of dict
        One row per optimizer ("sgd", "momentum", "nesterov", "adagrad",
        "rmsprop", "adam", "adamw", "lbfgs") with keys ``model``
        ("softmax"), ``optimizer``, ``epochs``, ``fit_seconds``,
        ``test_accuracy`` and ``converged``, then one Lasso row with
        ``model`` ("lasso"), ``optimizer``, ``alpha``, ``epochs``,
        ``fit_seconds``, ``zero_coefficients`` (exactly 0.0),
        ``n_coefficients``, ``test_r2`` and ``converged``. Wall-clock
        seconds depend on the machine and its load.
    """
    max_epochs = 20 if quick else 200
    X, y = load_digits()
    X_train, X_test, y_train, y_test = standardized_split(X, y, stratify=True)
    rows = []
    for optimizer, settings in SOFTMAX_SETTINGS.items():
        batch_size = None if optimizer == "lbfgs" else 64
        estimator = LogisticRegression(
            optimizer=optimizer,
            batch_size=batch_size,
            max_epochs=max_epochs,
            tol=1e-3,
            random_state=SEED,
            **settings,
        )
        seconds, converged = timed_fit(estimator, X_train, y_train)
        rows.append(
            dict(
                model="softmax",
                optimizer=optimizer,
                epochs=int(estimator.n_iter_),
                fit_seconds=seconds,
                test_accuracy=float(estimator.score(X_test, y_test)),
                converged=converged,
            )
        )
    # The Lasso takes about a millisecond, so quick mode keeps its full run.
    rows.append(lasso_row(200))
    return rows


def lasso_row(max_epochs):
    """Fit a Lasso by OWL-QN (L-BFGS with an L1 part) on standardized diabetes data."""
    X, y = load_diabetes()
    X_train, X_test, y_train, y_test = standardized_split(X, y, stratify=False)
    estimator = LinearRegression(
        penalty="l1",
        alpha=LASSO_ALPHA,
        optimizer="lbfgs",
        max_epochs=max_epochs,
        tol=1e-8,
    )
    seconds, converged = timed_fit(estimator, X_train, y_train)
    return dict(
        model="lasso",
        optimizer="lbfgs",
        alpha=LASSO_ALPHA,
        epochs=int(estimator.n_iter_),
        fit_seconds=seconds,
        zero_coefficients=int(np.sum(estimator.coef_ == 0.0)),
        n_coefficients=int(estimator.coef_.size),
        test_r2=float(estimator.score(X_test, y_test)),
        converged=converged,
    )
