"""Shared machinery of the linear models trained by the C++ core."""

import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .. import _core
from .._params import (
    InstanceOf,
    Interval,
    Options,
    validate_params,
    warn_ignored_optimizer_settings,
    warn_ignored_penalty_settings,
)
from .._training import run_trainer, zero_output_cost
from .._validation import as_float_array, check_sample_weight, check_X
from ..optimizers import resolve_optimizer, resolve_schedule
from ._control import split_validation

PENALTIES = (None, "l2", "l1", "elasticnet")

# Counts are passed to C++ as int (epochs, threads) or int64 (rows).
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1

# Allowed values of the training arguments that the linear models and the
# networks share; each estimator adds its own.
TRAINING_CONSTRAINTS = {
    "penalty": [Options(*PENALTIES)],
    "alpha": [Interval(numbers.Real, 0, None)],
    "l1_ratio": [Interval(numbers.Real, 0, 1)],
    "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
    "batch_size": [Options(None), Interval(numbers.Integral, 1, INT64_MAX)],
    "max_epochs": [Interval(numbers.Integral, 1, INT32_MAX)],
    "tol": [Interval(numbers.Real, 0, None)],
    "n_iter_no_change": [Interval(numbers.Integral, 1, INT32_MAX)],
    "early_stopping": [Options(True, False)],
    "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
    "warm_start": [Options(True, False)],
    "random_state": [
        Options(None),
        Interval(numbers.Integral, 0, 2**32 - 1),
        InstanceOf(np.random.RandomState),
    ],
    "n_threads": [Options(None), Interval(numbers.Integral, 1, INT32_MAX)],
    "verbose": [Interval(numbers.Integral, 0, None), Options(True, False)],
}


def trainer_class(dtype):
    """Return the C++ trainer class that computes in ``dtype`` (float32 or float64)."""
    return _core.LinearTrainer32 if dtype == np.float32 else _core.LinearTrainer64


class RestoreOnFailure:
    """Context manager that puts an estimator's attributes back if fit raises.

    A failed fit, whether from bad input or a diverging cost, leaves the
    estimator exactly as it was: fitted attributes of an earlier fit survive,
    and so does the C++ trainer kept for ``warm_start`` and ``partial_fit``
    with its optimizer state. The one exception: once the caller sets
    ``trainer_changed`` (the kept trainer has started training), a failure
    drops the trainer, because training changed it in place. A later call
    then starts a new one from the fitted attributes.
    """

    def __init__(self, estimator):
        self.estimator = estimator
        self.trainer_changed = False

    def __enter__(self):
        self.saved = dict(self.estimator.__dict__)
        return self

    def __exit__(self, exc_type, exc, traceback):
        if exc_type is not None:
            self.estimator.__dict__.clear()
            self.estimator.__dict__.update(self.saved)
            if self.trainer_changed:
                self.estimator.__dict__.pop("_trainer", None)
        return False


class LinearModelBase(BaseEstimator):
    """Hyperparameters and the fit loop common to every linear model.

    Subclasses define ``_encode_targets``, which turns y into the C++
    targets and returns the loss name and the number of outputs, and may
    define ``_offsets`` to centre the data inside the solver.
    """

    _parameter_constraints = {
        **TRAINING_CONSTRAINTS,
        "fit_intercept": [Options(True, False)],
    }

    def __getstate__(self):
        # The C++ trainer is not picklable. NOTE: an unpickled model keeps
        # coef_ and intercept_, but warm_start and partial_fit on it start
        # with fresh optimizer state (momentum, Adam moments, L-BFGS history).
        # A copy: the state that BaseEstimator returns can be the instance's
        # own __dict__, and the pickled model must keep its trainer.
        state = dict(super().__getstate__())
        state.pop("_trainer", None)
        return state

    def _validate_params(self):
        """Check the parameter table, the optimizer, the schedule and combinations.

        ``optimizer`` and ``schedule`` are checked by
        ``fastml.optimizers.resolve_optimizer`` and ``resolve_schedule``, whose
        errors are re-raised with the estimator's name.
        """
        validate_params(self)
        warn_ignored_penalty_settings(self)
        warn_ignored_optimizer_settings(self)
        name = type(self).__name__
        try:
            settings = self._optimizer_settings()
            schedule = resolve_schedule(self.schedule, self.max_epochs)
        except (TypeError, ValueError) as error:
            raise type(error)(f"{name}: {error}") from error
        lbfgs = settings["name"] == "lbfgs"
        if lbfgs and self.batch_size is not None:
            raise ValueError(
                f"{name}: optimizer='lbfgs' trains on the full batch, so batch_size "
                f"must be None; got {self.batch_size!r}."
            )
        if lbfgs and schedule["name"] != "constant":
            raise ValueError(
                f"{name}: optimizer='lbfgs' chooses its steps by line search and takes "
                f"no learning-rate schedule; got schedule={self.schedule!r}."
            )

    def _optimizer_settings(self):
        """Return the C++ optimizer config dict, without the learning rate."""
        settings = dict(resolve_optimizer(self.optimizer, self.learning_rate))
        settings.pop("learning_rate", None)
        return settings

    def _base_learning_rate(self):
        """Return the optimizer object's rate, else the estimator's learning_rate."""
        settings = resolve_optimizer(self.optimizer, self.learning_rate)
        return float(settings.get("learning_rate", self.learning_rate))

    def _penalty_strengths(self):
        """(alpha, l1_ratio) as the C++ penalty takes them."""
        if self.penalty is None:
            return 0.0, 0.0
        l1_ratio = {"l2": 0.0, "l1": 1.0, "elasticnet": self.l1_ratio}[self.penalty]
        return float(self.alpha), float(l1_ratio)

    def _seed(self):
        return int(
            check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        )

    def _offsets(self, X, targets, sample_weight):
        """Return (X_offset, target_offset) to subtract inside the solver, or None."""
        return None

    # Fitting

    def _fit(self, X, y, sample_weight, X_val, y_val, *, partial, classes=None):
        """Validate, train and store the fitted attributes.

        ``partial`` runs one epoch and continues from the kept trainer;
        otherwise a fresh fit runs, continuing from ``coef_`` when
        ``warm_start`` is set.
        """
        with RestoreOnFailure(self) as restore:
            self._validate_params()
            first_call = not (partial and hasattr(self, "coef_"))
            X, y = self._check_X_y(X, y, reset=first_call)
            sample_weight = check_sample_weight(sample_weight, X)
            targets, loss, n_outputs = self._encode_targets(
                y, X.dtype, first_call, partial, classes
            )
            sample_weight = self._weight_samples(
                targets, X.dtype, sample_weight, partial
            )
            validation = None
            if X_val is not None or y_val is not None:
                validation = self._check_validation(X_val, y_val, X.dtype, n_outputs)
            elif self.early_stopping and not partial:
                (X, targets, sample_weight), validation = split_validation(
                    X,
                    targets,
                    sample_weight,
                    self.validation_fraction,
                    self._seed(),
                    stratify=loss != "squared",
                )

            continuing = partial or self.warm_start
            trainer = self._trainer_for(
                X, targets, sample_weight, loss, n_outputs, continuing
            )
            restore.trainer_changed = True
            result = self._run(
                trainer, X, targets, sample_weight, validation, partial, loss, n_outputs
            )
            self._store(trainer, result, n_outputs, X.shape[1], partial)
        return self

    def _trainer_for(self, X, targets, sample_weight, loss, n_outputs, continuing):
        """Return the kept trainer if it matches, else a new one started from coef_."""
        alpha, l1_ratio = self._penalty_strengths()
        settings = self._optimizer_settings()
        key = (
            X.dtype.str,
            X.shape[1],
            n_outputs,
            loss,
            tuple(sorted(settings.items())),
            alpha,
            l1_ratio,
            bool(self.fit_intercept),
        )
        trainer = getattr(self, "_trainer", None)
        if continuing and trainer is not None and self._trainer_key == key:
            return trainer

        trainer = trainer_class(X.dtype)(
            n_features=X.shape[1],
            n_outputs=n_outputs,
            loss=loss,
            fit_intercept=bool(self.fit_intercept),
            optimizer=settings,
            alpha=alpha,
            l1_ratio=l1_ratio,
            seed=self._seed(),
        )
        offsets = (
            self._offsets(X, targets, sample_weight) if self.fit_intercept else None
        )
        if continuing and hasattr(self, "coef_"):
            trainer.params = self._params_from_fitted(
                n_outputs, X.shape[1], offsets, X.dtype
            )
        self._trainer = trainer
        self._trainer_key = key
        self._trainer_offsets = offsets
        return trainer

    def _params_from_fitted(self, n_outputs, n_features, offsets, dtype):
        """Return flat trainer parameters from coef_ and intercept_, in centred form."""
        coef = np.asarray(self.coef_, dtype=np.float64)
        if coef.size != n_outputs * n_features:
            raise ValueError(
                f"{type(self).__name__}: warm_start needs coef_ with "
                f"{n_outputs * n_features} values (n_outputs={n_outputs}, "
                f"n_features={n_features}); the previous fit left shape {coef.shape}. "
                "Set warm_start=False to start from zero."
            )
        coef = coef.reshape(n_outputs, n_features)
        intercept = np.broadcast_to(
            np.asarray(self.intercept_, dtype=np.float64), (n_outputs,)
        )
        if offsets is not None:
            X_offset, target_offset = offsets
            intercept = intercept - target_offset + coef @ X_offset
        return np.concatenate([coef.ravel(), intercept]).astype(dtype)

    def _centred(self, X, targets):
        """Return X and targets minus the trainer's offsets, in X's dtype."""
        if self._trainer_offsets is None:
            return X, targets
        X_offset, target_offset = self._trainer_offsets
        X = np.ascontiguousarray(X - X_offset, dtype=X.dtype)
        # Centred in float64, then checked against the range of X's dtype.
        centred = np.asarray(targets, dtype=np.float64) - target_offset
        targets = np.ascontiguousarray(as_float_array(centred, X.dtype, "y minus its mean"))
        return X, targets

    def _run(
        self, trainer, X, targets, sample_weight, validation, partial, loss, n_outputs
    ):
        X, targets = self._centred(X, targets)
        # The cost at zero parameters, where training starts; no fit should
        # end far above it, because the optimum is below it.
        reference = zero_output_cost(loss, targets, sample_weight, n_outputs)
        fit_arguments = dict(
            X=X,
            targets=targets,
            sample_weight=sample_weight,
            batch_size=0 if self.batch_size is None else int(self.batch_size),
            tol=float(self.tol),
            n_iter_no_change=int(self.n_iter_no_change),
            learning_rate=self._base_learning_rate(),
            n_threads=0 if self.n_threads is None else int(self.n_threads),
            early_stopping=bool(self.early_stopping) and not partial,
            schedule=resolve_schedule(self.schedule, self.max_epochs),
        )
        if validation is not None:
            X_val, targets_val, weights_val = validation
            X_val, targets_val = self._centred(X_val, targets_val)
            fit_arguments.update(
                X_val=X_val, targets_val=targets_val, sample_weight_val=weights_val
            )
        return run_trainer(
            trainer,
            self,
            fit_arguments,
            max_epochs=1 if partial else int(self.max_epochs),
            verbose=self.verbose,
            warn=not partial,
            stacklevel=5,
            reference_cost=reference,
        )

    def _store(self, trainer, result, n_outputs, n_features, partial):
        """Set coef_, intercept_, n_iter_ and history_ from the trainer."""
        params = trainer.params.astype(np.float64)
        n_coef = n_outputs * n_features
        coef = params[:n_coef].reshape(n_outputs, n_features)
        intercept = params[n_coef:]
        if self._trainer_offsets is not None:
            X_offset, target_offset = self._trainer_offsets
            intercept = intercept + target_offset - coef @ X_offset
        dtype = trainer.params.dtype
        self.coef_ = coef.astype(dtype)
        self.intercept_ = intercept.astype(dtype)

        history = {
            "train_loss": list(result["train_loss"]),
            "train_cost": list(result["train_cost"]),
        }
        if result["val_loss"]:
            history["val_loss"] = list(result["val_loss"])
        if partial and hasattr(self, "history_"):
            for name, values in history.items():
                self.history_.setdefault(name, []).extend(values)
            self.n_iter_ += int(result["n_epochs"])
        else:
            self.history_ = history
            self.n_iter_ = int(result["n_epochs"])
        if result["best_epoch"] >= 0:
            self.best_epoch_ = int(result["best_epoch"])

    def _check_validation(self, X_val, y_val, dtype, n_outputs):
        """Return the validated (X_val, targets_val, None) in the training dtype."""
        name = type(self).__name__
        if X_val is None or y_val is None:
            missing = "X_val" if X_val is None else "y_val"
            raise ValueError(
                f"{name}: X_val and y_val must be given together; {missing} is None."
            )
        X_val = check_X(self, X_val, name="X_val").astype(dtype, copy=False)
        if len(X_val) != len(y_val):
            raise ValueError(
                f"{name}: X_val has {len(X_val)} samples but y_val has {len(y_val)}."
            )
        targets_val = self._encode_validation_targets(
            np.asarray(y_val), dtype, n_outputs
        )
        return np.ascontiguousarray(X_val), targets_val, None

    def _weight_samples(self, targets, dtype, sample_weight, partial):
        """Return the sample weights times any class weights (none for regressors)."""
        return sample_weight

    def _logits(self, X):
        """Logits of validated X, shape (n_samples, n_outputs)."""
        coef = (
            np.asarray(self.coef_).reshape(-1, X.shape[1]).astype(X.dtype, copy=False)
        )
        intercept = np.broadcast_to(np.asarray(self.intercept_), (coef.shape[0],))
        params = np.concatenate([coef.ravel(), intercept.astype(X.dtype, copy=False)])
        n_threads = 0 if self.n_threads is None else int(self.n_threads)
        return _core.linear_decision_function(params, X, coef.shape[0], n_threads)

    def _check_fitted_X(self, X):
        check_is_fitted(self)
        return check_X(self, X)
