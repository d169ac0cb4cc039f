"""Validated hyperparameter objects that become config dicts for the C++ core."""

import numbers

import numpy as np

from ._params import InstanceOf, Interval

POSITIVE = Interval(numbers.Real, 0, None, closed="neither")
NON_NEGATIVE = Interval(numbers.Real, 0, None)
UNIT_HALF_OPEN = Interval(numbers.Real, 0, 1, closed="left")
UNIT_OPEN = Interval(numbers.Real, 0, 1, closed="neither")
BOOL = InstanceOf(bool, np.bool_, description="a bool")


class Configurable:
    """Validated hyperparameters that become a config dict for the C++ core."""

    _parameter_constraints = {}

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

    def __hash__(self):
        return hash((type(self), tuple(sorted(vars(self).items()))))


def plain_number(value):
    """Return ``value`` as a Python int or float, so config dicts compare simply."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    return float(value)
