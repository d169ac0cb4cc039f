"""Shared machinery of the linear models trained by the C++ core."""

import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state

from .. import _core
from .._params import InstanceOf, Interval, Options, validate_params
from .._training import run_trainer

OPTIMIZERS = ("sgd", "adam")

# Counts are passed to C++ as int (epochs, threads) or int64 (rows).
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
PENALTIES = (None, "l2", "l1", "elasticnet")


def trainer_class(dtype):
    """The C++ trainer that computes in ``dtype`` (float32 or float64)."""
    return _core.LinearTrainer32 if dtype == np.float32 else _core.LinearTrainer64


class RestoreOnFailure:
    """Context manager that puts an estimator's attributes back if fit raises.

    A failed fit, whether from bad input or a diverging cost, leaves the
    estimator exactly as it was: fitted attributes of an earlier fit survive.
    """

    def __init__(self, estimator):
        self.estimator = estimator

    def __enter__(self):
        self.saved = dict(self.estimator.__dict__)
        return self

    def __exit__(self, exc_type, exc, traceback):
        if exc_type is not None:
            self.estimator.__dict__.clear()
            self.estimator.__dict__.update(self.saved)
        return False


class LinearModelBase(BaseEstimator):
    """Hyperparameters and the fit loop common to every linear model."""

    _parameter_constraints = {
        "penalty": [Options(*PENALTIES)],
        "alpha": [Interval(numbers.Real, 0, None)],
        "l1_ratio": [Interval(numbers.Real, 0, 1)],
        "fit_intercept": [Options(True, False)],
        "optimizer": [Options(*OPTIMIZERS)],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "batch_size": [Options(None), Interval(numbers.Integral, 1, INT64_MAX)],
        "max_epochs": [Interval(numbers.Integral, 1, INT32_MAX)],
        "tol": [Interval(numbers.Real, 0, None)],
        "n_iter_no_change": [Interval(numbers.Integral, 1, INT32_MAX)],
        "random_state": [
            Options(None),
            Interval(numbers.Integral, 0, 2**32 - 1),
            InstanceOf(np.random.RandomState),
        ],
        "n_threads": [Options(None), Interval(numbers.Integral, 1, INT32_MAX)],
        "verbose": [Interval(numbers.Integral, 0, None), Options(True, False)],
    }

    def _penalty_strengths(self):
        """(alpha, l1_ratio) as the C++ penalty takes them."""
        if self.penalty is None:
            return 0.0, 0.0
        l1_ratio = {"l2": 0.0, "l1": 1.0, "elasticnet": self.l1_ratio}[self.penalty]
        return float(self.alpha), float(l1_ratio)

    def _seed(self):
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _train(self, X, targets, sample_weight, n_outputs, loss):
        """Train from zero coefficients and store the fitted attributes."""
        alpha, l1_ratio = self._penalty_strengths()
        trainer = trainer_class(X.dtype)(
            n_features=X.shape[1],
            n_outputs=n_outputs,
            loss=loss,
            fit_intercept=bool(self.fit_intercept),
            optimizer=self.optimizer,
            alpha=alpha,
            l1_ratio=l1_ratio,
            seed=self._seed(),
        )
        fit_arguments = dict(
            X=X,
            targets=targets,
            sample_weight=sample_weight,
            batch_size=0 if self.batch_size is None else int(self.batch_size),
            tol=float(self.tol),
            n_iter_no_change=int(self.n_iter_no_change),
            learning_rate=float(self.learning_rate),
            n_threads=0 if self.n_threads is None else int(self.n_threads),
        )
        result = run_trainer(
            trainer,
            self,
            fit_arguments,
            max_epochs=int(self.max_epochs),
            verbose=self.verbose,
        )
        params = trainer.params
        n_coef = n_outputs * X.shape[1]
        self.coef_ = params[:n_coef].reshape(n_outputs, X.shape[1])
        self.intercept_ = params[n_coef:]
        self.n_iter_ = int(result["n_epochs"])
        self.history_ = {
            "train_loss": list(result["train_loss"]),
            "train_cost": list(result["train_cost"]),
        }

    def _validate_params(self):
        validate_params(self)

    def _logits(self, X):
        """Logits of validated X, shape (n_samples, n_outputs), in the dtype of coef_.

        A model predicts in the precision it was trained in; X of the other
        float dtype is converted.
        """
        coef = self.coef_
        X = X.astype(coef.dtype, copy=False)
        params = np.concatenate([coef.ravel(), self.intercept_.astype(coef.dtype, copy=False)])
        n_threads = 0 if self.n_threads is None else int(self.n_threads)
        return _core.linear_decision_function(params, X, coef.shape[0], n_threads)
