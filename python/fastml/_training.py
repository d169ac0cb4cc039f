"""Runs a C++ trainer from Python: progress bars, warnings and errors.

The C++ loop returns the epochs run, whether it converged or diverged, and
the per-epoch history. This module turns that into a tqdm progress bar when
``verbose`` is on, a ConvergenceWarning when training stopped at
``max_epochs``, and an error when the cost became NaN or infinite.
"""

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


def run_trainer(trainer, estimator, fit_arguments, *, max_epochs, verbose):
    """Call ``trainer.fit(**fit_arguments)`` and check how training ended.

    Raises FloatingPointError when the cost became NaN or infinite, and warns
    with a ConvergenceWarning when ``max_epochs`` ran out before the cost
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
    if not result["converged"] and not result["interrupted"]:
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
