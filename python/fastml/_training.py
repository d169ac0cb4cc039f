"""Runs a C++ trainer from Python: progress bars, warnings and errors.

The C++ loop returns the epochs run, whether it converged or diverged, and
the per-epoch history. This module turns that into a tqdm progress bar when
``verbose`` is on, a ConvergenceWarning when training stopped at
``max_epochs``, and an error when the cost became NaN or infinite.
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning


class ProgressBar:
    """Per-epoch callback that advances a tqdm bar and shows the cost."""

    def __init__(self, total, description, enabled):
        self._bar = None
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=description, unit="epoch", leave=False)

    def __call__(self, epoch, train_loss, train_cost):
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix(cost=f"{train_cost:.6g}", refresh=False)
        return True

    def close(self):
        if self._bar is not None:
            self._bar.close()


def _made_no_progress(result, estimator):
    """Whether the cost ended above its start or never fell below it.

    A cost that stays flat at a point where the gradient vanishes is an
    optimum, not a failure, so the gradient norm must exceed ``tol`` too.
    """
    costs = result["train_cost"]
    if len(costs) < 2:
        return False
    stalled = min(costs[1:]) >= costs[0] or costs[-1] > costs[0]
    return stalled and result["gradient_norm"] > max(float(estimator.tol), 1e-8)


def run_trainer(trainer, estimator, fit_arguments, *, max_epochs, verbose):
    """Call ``trainer.fit(**fit_arguments)`` and check how training ended.

    Raises FloatingPointError when the cost became NaN or infinite. Warns
    with a ConvergenceWarning when the cost ended above its starting value or
    never fell below it, or when ``max_epochs`` ran out before the cost
    stopped improving by ``tol``. Returns the trainer's result dict.
    """
    name = type(estimator).__name__
    progress = ProgressBar(max_epochs, name, enabled=bool(verbose))
    try:
        result = trainer.fit(**fit_arguments, max_epochs=max_epochs, callback=progress)
    finally:
        progress.close()

    if result["diverged"]:
        epoch = result["n_epochs"]
        raise FloatingPointError(
            f"{name}: the training cost became {result['train_cost'][-1]} at epoch "
            f"{epoch}, so training stopped and the model was left as before fit. "
            f"Use a smaller learning_rate (now {estimator.learning_rate!r}) or "
            "standardize the features."
        )
    largest_squarable = np.sqrt(np.finfo(fit_arguments["X"].dtype).max)
    if not result["gradient_norm"] < largest_squarable:
        warnings.warn(
            f"{name}: the gradient norm reached {result['gradient_norm']:.3g}, too large "
            f"to square in {fit_arguments['X'].dtype}, so optimizers that keep squared "
            "gradients (Adam, RMSprop, AdaGrad) stop moving those parameters. "
            "Standardize the features.",
            ConvergenceWarning,
            stacklevel=4,
        )
    elif _made_no_progress(result, estimator):
        costs = result["train_cost"]
        warnings.warn(
            f"{name} made no progress: the training cost went from {costs[0]:.6g} "
            f"at the start to {costs[-1]:.6g} (best {min(costs):.6g}) and the "
            f"gradient norm is {result['gradient_norm']:.3g}. Lower learning_rate "
            f"(now {estimator.learning_rate!r}) and standardize the features; "
            "features of very large magnitude can also overflow the optimizer state.",
            ConvergenceWarning,
            stacklevel=4,
        )
    elif not result["converged"] and not result["interrupted"]:
        warnings.warn(
            f"{name} did not converge in max_epochs={max_epochs} epochs: the last "
            f"training cost was {result['train_cost'][-1]:.6g} and the gradient norm "
            f"{result['gradient_norm']:.3g}. Increase max_epochs, raise "
            "learning_rate if the cost falls slowly, raise tol, or standardize the "
            "features.",
            ConvergenceWarning,
            stacklevel=4,
        )
    return result
