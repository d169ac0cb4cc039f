"""Declarative checks of estimator hyperparameters.

Each estimator lists the allowed values of every constructor argument in a
``_parameter_constraints`` table. ``validate_params`` checks them all once,
at the start of ``fit``. A bad value raises an InvalidParameterError (both a
ValueError and a TypeError) that names the estimator, the argument, what is
allowed and the value received.
"""

import inspect
import math
import numbers
import os
import sys
import warnings

import numpy as np


class Interval:
    """Real or integer numbers between ``low`` and ``high`` (None: unbounded)."""

    def __init__(self, kind, low, high, closed="both"):
        self.kind = kind
        self.low = low
        self.high = high
        self.closed = closed

    def accepts(self, value):
        if isinstance(value, (bool, np.bool_)):
            return False
        if self.kind is numbers.Integral and not isinstance(value, numbers.Integral):
            return False
        if not isinstance(value, numbers.Real):
            return False
        if not isinstance(value, numbers.Integral) and not math.isfinite(value):
            return False
        low_ok = self.low is None or (
            value >= self.low if self.closed in ("both", "left") else value > self.low
        )
        high_ok = self.high is None or (
            value <= self.high
            if self.closed in ("both", "right")
            else value < self.high
        )
        return low_ok and high_ok

    def __str__(self):
        name = "an int" if self.kind is numbers.Integral else "a float"
        left = "[" if self.closed in ("both", "left") and self.low is not None else "("
        right = (
            "]" if self.closed in ("both", "right") and self.high is not None else ")"
        )
        low = "-inf" if self.low is None else self.low
        high = "inf" if self.high is None else self.high
        return f"{name} in {left}{low}, {high}{right}"


class Options:
    """One of a fixed set of values, compared with ``==``."""

    def __init__(self, *values):
        self.values = values

    def accepts(self, value):
        return any(self._matches(value, option) for option in self.values)

    @staticmethod
    def _matches(value, option):
        if option is None:
            return value is None
        if isinstance(option, bool):
            # 0 == False in Python, but 0 is not a valid boolean flag.
            return isinstance(value, (bool, np.bool_)) and bool(value) == option
        if isinstance(value, str) != isinstance(option, str):
            return False
        try:
            return bool(value == option)
        except (TypeError, ValueError):  # an array compares elementwise
            return False

    def __str__(self):
        return "one of " + ", ".join(repr(v) for v in self.values)


class InstanceOf:
    """An instance of one of the given types."""

    def __init__(self, *types, description=None):
        self.types = types
        self.description = description

    def accepts(self, value):
        return isinstance(value, self.types)

    def __str__(self):
        if self.description:
            return self.description
        return "an instance of " + " or ".join(t.__name__ for t in self.types)


class InvalidParameterError(ValueError, TypeError):
    """A constructor argument outside its allowed values or of the wrong type.

    It derives from both ValueError and TypeError, so callers can catch either.
    """


def validate_params(estimator):
    """Check every constructor argument of ``estimator`` against its table."""
    name = type(estimator).__name__
    for param, allowed in estimator._parameter_constraints.items():
        value = getattr(estimator, param)
        if any(spec.accepts(value) for spec in allowed):
            continue
        choices = " or ".join(str(spec) for spec in allowed)
        raise InvalidParameterError(
            f"{name}: {param} must be {choices}; got {value!r}."
        )


def warn_ignored_penalty_settings(estimator):
    """Warn when alpha or l1_ratio is set to a value that the penalty ignores.

    ``penalty=None`` ignores ``alpha`` and ``l1_ratio``, and ``"l1"`` or
    ``"l2"`` ignores ``l1_ratio``. A value other than the constructor's
    default is taken as a request that the fit would silently drop.
    """
    defaults = inspect.signature(type(estimator).__init__).parameters
    penalty = estimator.penalty
    ignored = []
    if penalty is None:
        ignored.append("alpha")
    if penalty != "elasticnet":
        ignored.append("l1_ratio")
    # alpha=0 requests no penalty, which penalty=None gives.
    changed = [
        f"{name}={getattr(estimator, name)!r}"
        for name in ignored
        if name in defaults
        and getattr(estimator, name) != defaults[name].default
        and not (name == "alpha" and getattr(estimator, name) == 0)
    ]
    if changed:
        if any(text.startswith("l1_ratio") for text in changed):
            remedy = "penalty='elasticnet'"
        else:
            remedy = "penalty to 'l2', 'l1' or 'elasticnet'"
        warnings.warn(
            f"{type(estimator).__name__}: penalty={penalty!r} ignores "
            f"{' and '.join(changed)}. Set {remedy} to use "
            f"{'them' if len(changed) > 1 else 'it'}.",
            UserWarning,
            stacklevel=4,
        )


def warn_ignored_optimizer_settings(estimator):
    """Warn when an optimizer object overrides the estimator's learning_rate.

    An object from ``fastml.optimizers`` carries its own ``learning_rate``,
    which fit uses. A ``learning_rate`` other than the constructor's default
    is taken as a request that the fit would silently drop, unless it
    equals the object's rate. ``learning_rate`` is the only optimizer
    setting that the estimators take directly.
    """
    # Imported here because fastml.optimizers imports this module.
    from .optimizers import _UpdateRule

    optimizer = getattr(estimator, "optimizer", None)
    if not isinstance(optimizer, _UpdateRule):
        return
    parameter = inspect.signature(type(estimator).__init__).parameters.get(
        "learning_rate"
    )
    if parameter is None:
        return
    requested = estimator.learning_rate
    if requested == parameter.default or requested == optimizer.learning_rate:
        return
    warnings.warn(
        f"{type(estimator).__name__}: learning_rate={requested!r} is ignored "
        f"because optimizer={optimizer!r} has its own "
        f"learning_rate={optimizer.learning_rate!r}, which fit uses. Set the rate "
        "on the optimizer object (optimizer__learning_rate in set_params) and "
        f"leave learning_rate at its default of {parameter.default!r}, or pass "
        "the optimizer by name to use learning_rate.",
        UserWarning,
        stacklevel=_stacklevel_outside_package(),
    )


def _stacklevel_outside_package():
    """Return the warnings stacklevel of the nearest caller outside fastml.

    Level 1 is the function that calls this one and calls warnings.warn.
    """
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and os.path.abspath(
        frame.f_code.co_filename
    ).startswith(package):
        frame = frame.f_back
        level += 1
    return level
