"""Validated hyperparameter objects that become config dicts for the C++ core."""

import inspect
import numbers

import numpy as np

from ._params import InstanceOf, Interval, validate_params

POSITIVE = Interval(numbers.Real, 0, None, closed="neither")
NON_NEGATIVE = Interval(numbers.Real, 0, None)
UNIT_HALF_OPEN = Interval(numbers.Real, 0, 1, closed="left")
UNIT_OPEN = Interval(numbers.Real, 0, 1, closed="neither")
BOOL = InstanceOf(bool, np.bool_, description="a bool")


class Configurable:
    """Validated hyperparameters that become a config dict for the C++ core.

    ``get_params`` and ``set_params`` follow scikit-learn's estimator
    conventions, so ``sklearn.base.clone`` copies an object by its
    constructor arguments, and an estimator's ``set_params`` and
    ``GridSearchCV`` reach them as ``optimizer__learning_rate``.
    """

    _parameter_constraints = {}

    @classmethod
    def _get_param_names(cls):
        """Return the sorted names of the constructor arguments."""
        signature = inspect.signature(cls.__init__)
        return sorted(
            name
            for name, parameter in signature.parameters.items()
            if name != "self" and parameter.kind is parameter.POSITIONAL_OR_KEYWORD
        )

    def get_params(self, deep=True):
        """Return the constructor arguments as a dict of name to value.

        ``deep`` is accepted for scikit-learn's interface and changes
        nothing, because no argument contains a nested object.
        """
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        """Set constructor arguments by name, validate them and return self.

        Unknown names raise a ValueError that lists the valid ones. The new
        values are checked together, as the constructor checks them. An
        invalid value raises the constructor's error and leaves every
        argument as it was.
        """
        valid_names = self._get_param_names()
        for name in params:
            if name not in valid_names:
                raise ValueError(
                    f"{type(self).__name__}: invalid parameter {name!r}; valid "
                    f"parameters are {', '.join(map(repr, valid_names))}."
                )
        previous = dict(vars(self))
        for name, value in params.items():
            setattr(self, name, value)
        try:
            self._validate_params()
        except (TypeError, ValueError):
            vars(self).clear()
            vars(self).update(previous)
            raise
        return self

    def _validate_params(self):
        """Check the arguments against the table (subclasses add combinations)."""
        validate_params(self)

    def _parameter_names(self):
        return list(self._parameter_constraints)

    def get_config(self):
        """Return the hyperparameters as a dict of the C++ config fields."""
        config = {"name": self.name}
        for param in self._parameter_names():
            config[param] = plain_number(getattr(self, param))
        return config

    def __repr__(self):
        args = ", ".join(f"{p}={getattr(self, p)!r}" for p in self._parameter_names())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        return type(self) is type(other) and vars(self) == vars(other)

    # NOTE: the hash follows the arguments, which set_params can change, so an
    # object changed after it was put in a set or a dict key is not found there.
    def __hash__(self):
        return hash((type(self), tuple(sorted(vars(self).items()))))


def plain_number(value):
    """Return ``value`` as a Python int or float, so config dicts compare simply."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    return float(value)
