"""Learning-rate schedules, evaluated once per epoch by the C++ core.

The rate of epoch ``e`` (0 for the first) is the rate that a
``torch.optim.lr_scheduler`` gives after ``e`` calls of ``scheduler.step()``,
one at the end of each epoch. Every step of epoch ``e`` uses that rate.
"""

import numbers

from . import _core
from ._configurable import NON_NEGATIVE, Configurable
from ._params import Interval, Options, validate_params


class _Schedule(Configurable):
    """Base of the schedules: a per-epoch factor on the base learning rate."""

    def learning_rate_at(self, base_rate, epoch):
        """Return the learning rate of epoch ``epoch`` (0 for the first)."""
        return _core.scheduled_learning_rate(base_rate, epoch, **self.get_config())


class ConstantSchedule(_Schedule):
    """The base rate in every epoch."""

    name = "constant"

    def __init__(self):
        pass


class StepDecay(_Schedule):
    """``lr0 * gamma ** (epoch // step_size)``, as ``torch.optim.lr_scheduler.StepLR``.

    Parameters
    ----------
    step_size : int >= 1, default=10
        Epochs between two decays.
    gamma : float in (0, 1], default=0.1
        Factor applied at each decay.
    """

    name = "step"
    _parameter_constraints = {
        "step_size": [Interval(numbers.Integral, 1, 2**31 - 1)],
        "gamma": [Interval(numbers.Real, 0, 1, closed="right")],
    }

    def __init__(self, step_size=10, gamma=0.1):
        self.step_size = step_size
        self.gamma = gamma
        validate_params(self)


class ExponentialDecay(_Schedule):
    """``lr0 * gamma ** epoch``, as ``torch.optim.lr_scheduler.ExponentialLR``.

    Parameters
    ----------
    gamma : float in (0, 1], default=0.95
        Factor applied every epoch.
    """

    name = "exponential"
    _parameter_constraints = {"gamma": [Interval(numbers.Real, 0, 1, closed="right")]}

    def __init__(self, gamma=0.95):
        self.gamma = gamma
        validate_params(self)


class InverseTimeDecay(_Schedule):
    """``lr0 / (1 + decay_rate * epoch)``.

    Parameters
    ----------
    decay_rate : float >= 0, default=0.1
        Growth per epoch of the divisor; after ``1 / decay_rate`` epochs the
        rate is halved.
    """

    name = "inverse_time"
    _parameter_constraints = {"decay_rate": [NON_NEGATIVE]}

    def __init__(self, decay_rate=0.1):
        self.decay_rate = decay_rate
        validate_params(self)


class CosineDecay(_Schedule):
    """Cosine annealing from the base rate ``lr0`` to ``min_learning_rate``.

    The rate of epoch ``e`` is
    ``min_lr + (lr0 - min_lr) * (1 + cos(pi * e / t_max)) / 2`` up to
    ``e = t_max``, as ``torch.optim.lr_scheduler.CosineAnnealingLR``, and
    ``min_lr`` after it (PyTorch's rate would rise again).

    Parameters
    ----------
    t_max : int >= 1 or None, default=None
        Epochs of the decay. None uses the estimator's ``max_epochs``.
    min_learning_rate : float >= 0, default=0.0
        Final rate; it must not exceed the base rate.
    """

    name = "cosine"
    _parameter_constraints = {
        "t_max": [Options(None), Interval(numbers.Integral, 1, 2**31 - 1)],
        "min_learning_rate": [NON_NEGATIVE],
    }

    def __init__(self, t_max=None, min_learning_rate=0.0):
        self.t_max = t_max
        self.min_learning_rate = min_learning_rate
        validate_params(self)

    def get_config(self):
        """Return the C++ config dict; raise ValueError while t_max is None."""
        if self.t_max is None:
            raise ValueError(
                "CosineDecay: t_max is None, so the schedule needs the number of "
                "epochs; pass t_max, or let the estimator resolve it from max_epochs."
            )
        return super().get_config()

    def with_t_max(self, t_max):
        """Return a copy whose t_max is ``t_max`` where this one has None."""
        if self.t_max is not None:
            return self
        return CosineDecay(t_max=t_max, min_learning_rate=self.min_learning_rate)


_SCHEDULES_BY_NAME = {
    "constant": ConstantSchedule,
    "step": StepDecay,
    "exponential": ExponentialDecay,
    "inverse_time": InverseTimeDecay,
    "cosine": CosineDecay,
}
SCHEDULE_NAMES = tuple(_SCHEDULES_BY_NAME)


def resolve_schedule(schedule, max_epochs=None):
    """Turn an estimator's ``schedule`` argument into a C++ config dict.

    Parameters
    ----------
    schedule : None, str or schedule object
        None (the constant schedule), one of ``SCHEDULE_NAMES`` with its
        default parameters, or an instance of a schedule class.
    max_epochs : int >= 1 or None, default=None
        The estimator's epoch limit, used as ``t_max`` by a cosine schedule
        whose ``t_max`` is None (including the name "cosine").

    Returns
    -------
    config : dict
        ``{"name": ..., <the schedule's parameters>}`` with the field names
        of the C++ ``ScheduleConfig``.
    """
    if schedule is None:
        schedule = ConstantSchedule()
    elif isinstance(schedule, str):
        if schedule not in _SCHEDULES_BY_NAME:
            names = ", ".join(repr(name) for name in SCHEDULE_NAMES)
            raise ValueError(
                f"schedule must be None or one of {names}; got {schedule!r}."
            )
        schedule = _SCHEDULES_BY_NAME[schedule]()
    elif not isinstance(schedule, _Schedule):
        raise TypeError(
            "schedule must be None, a name or an object from fastml.optimizers; "
            f"got {schedule!r} of type {type(schedule).__name__}."
        )
    if isinstance(schedule, CosineDecay) and schedule.t_max is None:
        if max_epochs is None:
            raise ValueError(
                "CosineDecay: t_max is None and no max_epochs was given; "
                "pass t_max=<number of epochs>."
            )
        schedule = schedule.with_t_max(int(max_epochs))
    return schedule.get_config()
