"""Runs a C++ trainer from Python: progress bars, warnings and errors.

The C++ loop returns the epochs run, whether it converged or diverged, and
the per-epoch history. This module turns that into a tqdm progress bar when
``verbose`` is on, a ConvergenceWarning when training stopped at
``max_epochs``, and an error when the cost became NaN or infinite.
"""

import math
import warnings

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


def run_trainer(
    trainer, estimator, fit_arguments, *, max_epochs, verbose, warn=True, stacklevel=4
):
    """Call ``trainer.fit(**fit_arguments)`` and check how training ended.

    Raises FloatingPointError when the cost became NaN or infinite. With
    ``warn``, issues a ConvergenceWarning when ``max_epochs`` ran out before
    a stopping rule was met, or when L-BFGS could not decrease the cost any
    further. ``stacklevel`` is passed to ``warnings.warn`` and should point
    at the caller's call to ``fit``. Returns the trainer's result dict.
    """
    name = type(estimator).__name__
    progress = ProgressBar(max_epochs, name, enabled=bool(verbose))
    try:
        result = trainer.fit(**fit_arguments, max_epochs=max_epochs, callback=progress)
    finally:
        progress.close()

    if result["diverged"]:
        costs = result["train_cost"]
        if math.isfinite(costs[-1]):
            what = (
                f"rose from {costs[0]:.6g} to {costs[-1]:.6g} over {len(costs)} epochs"
            )
        else:
            what = f"became {costs[-1]} at epoch {len(costs)}"
        raise FloatingPointError(
            f"{name}: the training cost {what}, so training stopped and the model "
            f"was left as before fit. Use a smaller learning_rate (now "
            f"{fit_arguments['learning_rate']!r}) or standardize the features."
        )
    if not warn or result["converged"] or result["interrupted"]:
        return result
    if result["stalled"]:
        warnings.warn(
            f"{name}: the L-BFGS line search found no step that lowers the training "
            f"cost {result['train_cost'][-1]:.6g} at epoch {result['n_epochs']}, while "
            f"the gradient norm is {result['gradient_norm']:.3g}. The cost is at the "
            "rounding limit of the input dtype: use float64 input, standardize the "
            "features, or raise tol.",
            ConvergenceWarning,
            stacklevel=stacklevel,
        )
    else:
        warnings.warn(
            f"{name} did not converge in max_epochs={max_epochs} epochs: the last "
            f"training cost was {result['train_cost'][-1]:.6g} and the gradient norm "
            f"{result['gradient_norm']:.3g}. Increase max_epochs, raise "
            "learning_rate if the cost falls slowly, raise tol, or standardize the "
            "features.",
            ConvergenceWarning,
            stacklevel=stacklevel,
        )
    return result
