"""Runs a C++ trainer from Python: progress bars, warnings and errors.

The C++ loop returns the epochs run, whether it converged or diverged, and
the per-epoch history. This module turns that into a tqdm progress bar when
``verbose`` is on, a ConvergenceWarning when training stopped at
``max_epochs``, and an error when the cost became NaN or infinite.
"""

import math
import warnings

import numpy as np
from sklearn.base import is_regressor
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
    """Return whether the cost ended above its start or never fell below it.

    A cost that stays flat at a point where the gradient vanishes is an
    optimum, not a failure, so the gradient norm must exceed ``tol`` too.
    """
    costs = result["train_cost"]
    if len(costs) < 2:
        return False
    stalled = min(costs[1:]) >= costs[0] or costs[-1] > costs[0]
    return stalled and result["gradient_norm"] > max(float(estimator.tol), 1e-8)


def zero_output_cost(output, targets, sample_weight, n_outputs):
    """Return the training cost of a model whose outputs (logits) are all 0.

    That is where a linear model starts, and a network can reach it by
    zeroing its output layer, so a trained model should not end far above
    it. ``output`` is "softmax", "logistic" (one sigmoid per output) or
    "squared" (half the squared error, summed over the outputs of a row).
    The cost is the weighted mean over the rows, without the penalty.
    """
    if output == "softmax":
        return math.log(n_outputs)
    if output == "logistic":
        return n_outputs * math.log(2.0)
    values = np.asarray(targets, dtype=np.float64).reshape(len(targets), -1)
    # Targets near the float64 limit give an infinite reference, which is
    # what the divergence check needs, so numpy's overflow warning is muted.
    with np.errstate(over="ignore"):
        per_row = 0.5 * np.square(values).sum(axis=1)
    return float(np.average(per_row, weights=sample_weight))


def _epochs(count):
    """Return "1 epoch" or "N epochs"."""
    return f"{count} epoch" if count == 1 else f"{count} epochs"


def _remedy(estimator, fit_arguments):
    """Advice for a cost that ran away or made no progress."""
    scale = "the features and the target" if is_regressor(estimator) else "the features"
    alpha = getattr(estimator, "alpha", 0.0)
    if getattr(estimator, "penalty", None) is not None and alpha > 1e3:
        # A penalty this strong makes the steps overflow whatever the rate.
        return f"Use a smaller alpha (now {alpha!r}); values above about 1 are rarely useful."
    if getattr(estimator, "optimizer", None) == "lbfgs":
        if hasattr(estimator, "class_weight"):
            weights = "sample_weight and class_weight"
        else:
            weights = "sample_weight"
        return (
            f"L-BFGS needs no learning rate: standardize {scale} and check "
            f"{weights} for extreme values."
        )
    return (
        f"Use a smaller learning_rate (now {fit_arguments['learning_rate']!r}) or "
        f"standardize {scale}."
    )


# L-BFGS also stops where the cost no longer changes at float64 precision,
# as scikit-learn's does. A gradient norm this many times max(tol, 1e-6) at
# that point means the cost is flat to rounding while far from the optimum:
# an ill-conditioned problem, such as a feature of 1e10 next to features
# near 1. The floor of 1e-6 keeps a tol of 1e-10 on features of a few
# thousand, which ends with gradients near 1e-6, from warning.
# NOTE: the gradient is not scaled by the features, so a fit on features of
# 1e6 or more that did reach its optimum may warn too.
_ILL_CONDITIONED_FACTOR = 1e3


def _warn_if_ill_conditioned(name, estimator, result, dtype, stacklevel):
    """Warn when L-BFGS stopped on an unchanging cost with a large gradient."""
    if getattr(estimator, "optimizer", None) != "lbfgs":
        return
    # A float32 fit ends where float32 rounding stops the line search, with
    # a gradient set by that rounding rather than by the distance to the
    # optimum.
    if dtype != np.float64:
        return
    tol = getattr(estimator, "tol", None)
    if tol is None:
        return
    # Scaled by the size of the targets, sqrt(2 * the cost at zero
    # coefficients), where that is above 1: float64 resolves the gradient of
    # targets of 1e8 only to the same relative level. A badly scaled feature
    # leaves that cost as it is, so it still warns.
    scale = max(1.0, math.sqrt(2 * max(result.get("cost_at_zero", 0.0), 0.0)))
    threshold = _ILL_CONDITIONED_FACTOR * max(float(tol), 1e-6) * scale
    if not result["gradient_norm"] > threshold:
        return
    warnings.warn(
        f"{name}: L-BFGS stopped because the training cost "
        f"{result['train_cost'][-1]:.6g} no longer changes at float64 precision, "
        f"but the gradient norm is still {result['gradient_norm']:.3g} "
        f"(tol={tol:g}), so the fit is far from the optimum. Features of very "
        "different scales make the cost flat along most directions: standardize "
        "the features.",
        ConvergenceWarning,
        stacklevel=stacklevel,
    )


def _distinct_costs(first, second):
    """Return two different costs as texts with 6 significant digits, or 17
    where 6 would print the same number."""
    texts = f"{first:.6g}", f"{second:.6g}"
    if texts[0] == texts[1] and first != second:
        texts = f"{first:.17g}", f"{second:.17g}"
    return texts


def run_trainer(
    trainer,
    estimator,
    fit_arguments,
    *,
    max_epochs,
    verbose,
    warn=True,
    stacklevel=4,
    reference_cost=None,
    raise_above_reference=True,
    start_cost=None,
):
    """Call ``trainer.fit(**fit_arguments)`` and check how training ended.

    Raises FloatingPointError when the cost became NaN or infinite, rose to
    more than twice its first epoch's value, or ended above twice
    ``reference_cost`` (see zero_output_cost). The reference catches a cost
    that blew up within the first epoch, whose mean already contains the
    blow-up. Without ``raise_above_reference`` (networks, whose random start
    can cost more than the reference), a cost that ends above twice the
    reference gives a ConvergenceWarning that training diverged instead of
    the error, when it also ended above the cost of the parameters fit
    started from: a cost that fell below its start did not diverge.
    ``start_cost`` returns that cost when called without arguments (a pass
    over the data, made only in this case); without it, the first epoch's
    cost is used. A network that stopped improving above twice the
    reference also warns. With early stopping the cost of the kept epoch is
    judged. With ``warn``, it issues a ConvergenceWarning in four more cases:

    - the gradient is too large to square in the input dtype;
    - the cost ended above its start or never fell below it;
    - ``max_epochs`` ran out before a stopping rule was met;
    - L-BFGS could not decrease the cost any further.

    ``stacklevel`` is passed to ``warnings.warn`` and should point at the
    caller's call to ``fit``. Returns the trainer's result dict.
    """
    name = type(estimator).__name__
    progress = ProgressBar(max_epochs, name, enabled=bool(verbose))
    try:
        result = trainer.fit(**fit_arguments, max_epochs=max_epochs, callback=progress)
    finally:
        progress.close()

    costs = result["train_cost"]
    best_epoch = result.get("best_epoch", -1)
    # With early stopping the model keeps the parameters of its best epoch,
    # so that epoch's cost is the one to judge. The later ones are gone.
    if 0 <= best_epoch < len(costs):
        final_cost = costs[best_epoch]
    elif costs:
        final_cost = costs[-1]
    else:
        final_cost = math.nan
    finite = math.isfinite(final_cost)
    above_reference = (
        reference_cost is not None and finite and final_cost > 2 * reference_cost
    )
    ran_away = (
        len(costs) > 1 and best_epoch < 0 and finite and costs[-1] > 2 * costs[0]
    ) or (above_reference and raise_above_reference)
    if result["diverged"] or ran_away:
        if not math.isfinite(costs[-1]):
            failure = f"training cost became {costs[-1]} at epoch {len(costs)}"
        elif costs[-1] > costs[0]:
            first, last = _distinct_costs(costs[0], costs[-1])
            failure = f"training cost rose from {first} to {last} over {_epochs(len(costs))}"
        elif above_reference:
            failure = (
                f"training cost ended at {final_cost:.6g} after {_epochs(len(costs))}, "
                f"more than twice the {reference_cost:.6g} of a model whose "
                "outputs are all zero"
            )
        else:
            failure = f"parameters overflowed to infinity or NaN at epoch {len(costs)}"
        raise FloatingPointError(
            f"{name}: the {failure}, so training stopped and the model was left as "
            f"before fit. {_remedy(estimator, fit_arguments)}"
        )
    if not warn or result["interrupted"]:
        return result
    if above_reference:
        # A network's random start can cost more than twice the reference.
        # A cost that ended below its start is still falling, and the checks
        # below judge whether it converged.
        start = costs[0] if start_cost is None else start_cost()
        if final_cost > start:
            final_text, start_text = _distinct_costs(final_cost, start)
            warnings.warn(
                f"{name}: the training cost ended at {final_text}, above the "
                f"{start_text} it started from and more than twice the "
                f"{reference_cost:.6g} of the same network with a zero output "
                "layer, so training most likely diverged. "
                f"{_remedy(estimator, fit_arguments)}",
                ConvergenceWarning,
                stacklevel=stacklevel,
            )
            return result
        if result["converged"]:
            # Stopped by tol while still above the reference: for example a
            # regression target on a scale far below the first outputs.
            warnings.warn(
                f"{name}: the training cost stopped improving at {final_cost:.6g}, "
                f"more than twice the {reference_cost:.6g} of the same network with "
                "a zero output layer, so the model fits worse than predicting 0. "
                f"{_remedy(estimator, fit_arguments)}",
                ConvergenceWarning,
                stacklevel=stacklevel,
            )
            return result
    largest_squarable = np.sqrt(np.finfo(fit_arguments["X"].dtype).max)
    if not result["gradient_norm"] < largest_squarable:
        warnings.warn(
            f"{name}: the gradient norm reached {result['gradient_norm']:.3g}, "
            "too large "
            f"to square in {fit_arguments['X'].dtype}; updates overflow and "
            "parameters stop moving. Standardize the features.",
            ConvergenceWarning,
            stacklevel=stacklevel,
        )
        return result
    if _made_no_progress(result, estimator):
        costs = result["train_cost"]
        warnings.warn(
            f"{name} made no progress: the training cost went from {costs[0]:.6g} "
            f"at the start to {costs[-1]:.6g} (best {min(costs):.6g}) and the "
            f"gradient norm is {result['gradient_norm']:.3g}. "
            f"{_remedy(estimator, fit_arguments)}",
            ConvergenceWarning,
            stacklevel=stacklevel,
        )
        return result
    if result["converged"]:
        dtype = np.dtype(fit_arguments["X"].dtype)
        _warn_if_ill_conditioned(name, estimator, result, dtype, stacklevel + 1)
        return result
    if result.get("stalled", False):
        dtype = np.dtype(fit_arguments["X"].dtype)
        dtype_advice = "" if dtype == np.float64 else "use float64 input, "
        warnings.warn(
            f"{name}: the L-BFGS line search found no step that lowers the training "
            f"cost {result['train_cost'][-1]:.6g} at epoch {result['n_epochs']}, while "
            f"the gradient norm is {result['gradient_norm']:.3g}. The cost is at the "
            f"rounding limit of {dtype}, or features of very different scales make "
            f"it flat along the gradient: {dtype_advice}standardize the features, or "
            "raise tol.",
            ConvergenceWarning,
            stacklevel=stacklevel,
        )
    else:
        rate_advice = (
            ""
            if getattr(estimator, "optimizer", None) == "lbfgs"
            else "raise learning_rate if the cost falls slowly, "
        )
        warnings.warn(
            f"{name} did not converge in max_epochs={max_epochs} epochs: the last "
            f"training cost was {result['train_cost'][-1]:.6g} and the gradient norm "
            f"{result['gradient_norm']:.3g}. Increase max_epochs, {rate_advice}raise "
            "tol, or standardize the features.",
            ConvergenceWarning,
            stacklevel=stacklevel,
        )
    return result
