"""Result classes of learning curves, validation curves and model selection."""

import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LearningCurve:
    """Training and validation cost per training-set size.

    ``train_cost[i]`` is the cost on the subset of ``train_sizes[i]`` samples
    that the model was fitted on, and ``val_cost[i]`` the cost of that model on
    the validation set. NaN marks a size that could not be fitted.
    ``null_cost`` is the cost on the whole training set of the best constant
    prediction for it (the mean, or the class frequencies), which sets the scale
    of the costs. ``val_null_cost`` is the same for the validation set.
    """

    train_sizes: np.ndarray
    train_cost: np.ndarray
    val_cost: np.ndarray
    cost_name: str
    null_cost: float
    val_null_cost: float

    def __str__(self):
        rows = [f"{'train size':>10}  {'training cost':>14}  {'validation cost':>15}"]
        for size, train, val in zip(self.train_sizes, self.train_cost, self.val_cost):
            rows.append(f"{size:>10d}  {train:>14.6g}  {val:>15.6g}")
        rows.append(f"(costs: {self.cost_name}, without the penalty)")
        return "\n".join(rows)

    def plot(self, path=None, *, ax=None, baseline=None, figsize=(6.4, 4.8), dpi=100):
        """Plot both costs against the training-set size and return the figure.

        If ``path`` is given, the figure is also saved there (PNG by default,
        or the format of the file extension) at ``dpi``, so a PNG is
        ``figsize[0] * dpi`` by ``figsize[1] * dpi`` pixels. ``baseline`` adds a
        horizontal line at a reference cost. No display is needed.
        """
        figure, axes = _new_axes(ax, figsize, dpi)
        axes.plot(self.train_sizes, self.train_cost, "o-", label="training cost")
        axes.plot(self.train_sizes, self.val_cost, "s-", label="validation cost")
        if baseline is not None:
            axes.axhline(baseline, color="gray", linestyle="--", label="baseline")
        axes.set_xlabel("training set size")
        axes.set_ylabel(self.cost_name)
        axes.set_title("Learning curve")
        axes.legend()
        return _finish(figure, path, dpi)


@dataclass(frozen=True)
class ValidationCurve:
    """Training and validation cost per value of one parameter."""

    param_name: str
    param_range: list
    train_cost: np.ndarray
    val_cost: np.ndarray
    cost_name: str

    @property
    def best_index(self):
        """Index of the lowest validation cost (the first one on ties)."""
        return int(np.nanargmin(self.val_cost))

    @property
    def best_value(self):
        """Parameter value with the lowest validation cost."""
        return self.param_range[self.best_index]

    def __str__(self):
        width = max(len(self.param_name), *(len(repr(v)) for v in self.param_range))
        header = f"{self.param_name:>{width}}  {'training cost':>14}"
        rows = [f"{header}  {'validation cost':>15}"]
        for value, train, val in zip(self.param_range, self.train_cost, self.val_cost):
            rows.append(f"{value!r:>{width}}  {train:>14.6g}  {val:>15.6g}")
        rows.append(f"(costs: {self.cost_name}, without the penalty)")
        return "\n".join(rows)

    def plot(self, path=None, *, ax=None, xscale=None, figsize=(6.4, 4.8), dpi=100):
        """Plot both costs against the parameter value and return the figure.

        ``xscale`` defaults to "log" when every value is a positive number and
        the largest is at least 100 times the smallest, else "linear". Values
        that are not numbers are placed at equal spacing. ``path`` and ``dpi``
        work as in `LearningCurve.plot`.
        """
        figure, axes = _new_axes(ax, figsize, dpi)
        numeric = all(
            isinstance(v, numbers.Real) and not isinstance(v, bool)
            for v in self.param_range
        )
        positions = (
            np.asarray(self.param_range, dtype=float)
            if numeric
            else np.arange(len(self.param_range))
        )
        axes.plot(positions, self.train_cost, "o-", label="training cost")
        axes.plot(positions, self.val_cost, "s-", label="validation cost")
        if not numeric:
            axes.set_xticks(positions, [str(v) for v in self.param_range])
        elif xscale is None:
            positive = bool(np.all(positions > 0))
            xscale = (
                "log"
                if positive and positions.max() >= 100 * positions.min()
                else "linear"
            )
        if numeric:
            axes.set_xscale(xscale)
        axes.set_xlabel(self.param_name)
        axes.set_ylabel(self.cost_name)
        axes.set_title("Validation curve")
        axes.legend()
        return _finish(figure, path, dpi)


@dataclass(frozen=True)
class ModelSelection:
    """Outcome of `select_model`: the chosen model and the costs of every candidate.

    ``best_estimator`` is fitted on the training data, or on training and
    validation data together when ``refitted`` is True. ``params[i]`` is the
    grid setting of candidate i, or None when candidates were estimators.
    ``errors[i]`` is None, or the error of candidate i's failed fit as
    "ExceptionType: message", in which case both its costs are NaN. An
    empty ``errors`` means that no candidate failed.
    """

    best_estimator: Any
    best_index: int
    candidates: list
    params: list
    train_cost: np.ndarray
    val_cost: np.ndarray
    refitted: bool = field(default=False)
    errors: list = field(default_factory=list)

    @property
    def best_params(self):
        """Grid setting of the chosen candidate, or None."""
        return self.params[self.best_index]

    def error(self, index):
        """Return the fit error of candidate ``index``, or None if it was fitted."""
        return self.errors[index] if self.errors else None

    @property
    def table(self):
        """One dict per candidate: description, params, both costs and fit error."""
        return [
            {
                "candidate": text,
                "params": params,
                "train_cost": float(train),
                "val_cost": float(val),
                "error": self.error(index),
            }
            for index, (text, params, train, val) in enumerate(
                zip(self.candidates, self.params, self.train_cost, self.val_cost)
            )
        ]

    def __str__(self):
        width = max(len("candidate"), *(len(text) for text in self.candidates))
        rows = [
            f"  {'candidate':<{width}}  {'training cost':>14}  {'validation cost':>15}"
        ]
        failures = []
        for index, text in enumerate(self.candidates):
            marker = "*" if index == self.best_index else " "
            if self.error(index) is None:
                costs = (
                    f"{self.train_cost[index]:>14.6g}  {self.val_cost[index]:>15.6g}"
                )
            else:
                costs = f"{'fit failed':>14}  {'fit failed':>15}"
                failures.append(f"candidate {index} ({text}): {self.error(index)}")
            rows.append(f"{marker} {text:<{width}}  {costs}")
        rows.append("(* lowest validation cost)")
        if failures:
            rows.append("Failed fits:")
            rows.extend(f"  {failure}" for failure in failures)
        return "\n".join(rows)


def _new_axes(ax, figsize, dpi):
    if ax is not None:
        return ax.figure, ax
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            "plotting needs matplotlib, which is not installed; "
            "install it with `pip install matplotlib`"
        ) from error
    # A Figure made without pyplot needs no display and leaves pyplot's state
    # alone. savefig renders PNG files with Agg.
    figure = Figure(figsize=figsize, dpi=dpi, layout="tight")
    return figure, figure.add_subplot()


def _finish(figure, path, dpi):
    if path is not None:
        figure.savefig(path, dpi=dpi)
    return figure
