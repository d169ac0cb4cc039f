"""Gradient-descent update rules and learning-rate schedules.

Every update rule runs in the C++ core and follows the equations of
``torch.optim`` (PyTorch 2.13) with dampening 0, no built-in weight decay
except AdamW's decoupled decay, and ``amsgrad``, ``centered`` and
``lr_decay`` off. Each class below states its update.

An estimator's ``optimizer`` argument takes a name or an object:

- A name ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam",
  "adamw") uses that rule's default hyperparameters and the estimator's
  ``learning_rate``.
- An object (``Adam(learning_rate=0.01, beta2=0.99)``) carries its own
  ``learning_rate``, which takes precedence: the estimator's
  ``learning_rate`` is not used. Set the rate on the object, or pass a name.

"lbfgs" is a full-batch solver with a line search, not an update rule; it is
accepted by ``resolve_optimizer`` and handled by the estimators.

Schedules scale the rate once per epoch, as a ``torch.optim.lr_scheduler``
stepped at the end of every epoch: epoch 0 uses the base rate and every
step of epoch ``e`` uses the rate for ``e``. The base rate is the learning
rate chosen by the rule above.

To step your own parameters, build a stepper from an update rule::

    opt = Adam(learning_rate=0.01)
    stepper = opt.make_stepper([w.size])
    for epoch in range(n_epochs):
        stepper.step(w, gradient(w), opt.learning_rate)
"""

import numbers

import numpy as np

from . import _core
from ._params import InstanceOf, Interval, Options, validate_params

__all__ = [
    "SGD",
    "Momentum",
    "Nesterov",
    "AdaGrad",
    "RMSprop",
    "Adam",
    "AdamW",
    "ConstantSchedule",
    "StepDecay",
    "ExponentialDecay",
    "InverseTimeDecay",
    "CosineDecay",
    "resolve_optimizer",
    "resolve_schedule",
]

_POSITIVE = Interval(numbers.Real, 0, None, closed="neither")
_NON_NEGATIVE = Interval(numbers.Real, 0, None)
_UNIT_HALF_OPEN = Interval(numbers.Real, 0, 1, closed="left")
_UNIT_OPEN = Interval(numbers.Real, 0, 1, closed="neither")
_BOOL = InstanceOf(bool, np.bool_, description="a bool")


class _Configurable:
    """Validated hyperparameters that become a config dict for the C++ core."""

    _parameter_constraints = {}

    def _parameter_names(self):
        return list(self._parameter_constraints)

    def get_config(self):
        """Return the hyperparameters as a dict of the C++ config fields."""
        config = {"name": self.name}
        for param in self._parameter_names():
            config[param] = _plain_number(getattr(self, param))
        return config

    def __repr__(self):
        args = ", ".join(f"{p}={getattr(self, p)!r}" for p in self._parameter_names())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        return type(self) is type(other) and vars(self) == vars(other)

    def __hash__(self):
        return hash((type(self), tuple(sorted(vars(self).items()))))


def _plain_number(value):
    """Return ``value`` as a Python int or float, so config dicts compare simply."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    return float(value)


# Update rules


class _UpdateRule(_Configurable):
    """Base of the update rules: a learning rate and the rule's state layout."""

    def make_stepper(self, segment_sizes, dtype=np.float64):
        """Build a C++ stepper that applies this rule to a flat parameter array.

        Parameters
        ----------
        segment_sizes : int or sequence of int
            Sizes of the consecutive segments of the flat array (for example
            ``[n_coef, n_intercept]``). Rules with a step counter count it per
            segment, and ``stepper.step(params, grad, lr, segments=[0])``
            updates only segment 0 while the others keep their values and
            their state.
        dtype : {numpy.float64, numpy.float32}, default=numpy.float64
            dtype of the parameter and gradient arrays the stepper accepts.

        Returns
        -------
        stepper : fastml._core.Optimizer64 or fastml._core.Optimizer32
            Its ``step(params, grad, learning_rate)`` updates ``params`` in
            place. ``params`` and ``grad`` must be C-contiguous arrays of
            ``dtype``; the learning rate is passed on every call, so a
            schedule can change it.
        """
        if isinstance(segment_sizes, numbers.Integral):
            segment_sizes = [segment_sizes]
        dtype = np.dtype(dtype)
        if dtype == np.float64:
            stepper_class = _core.Optimizer64
        elif dtype == np.float32:
            stepper_class = _core.Optimizer32
        else:
            raise ValueError(f"dtype must be float32 or float64; got {dtype}.")
        settings = self.get_config()
        del settings["learning_rate"]
        return stepper_class([int(size) for size in segment_sizes], **settings)


class SGD(_UpdateRule):
    """Stochastic gradient descent, optionally with momentum.

    With ``momentum = 0``: ``w <- w - lr * g``. With ``momentum = mu > 0``,
    the buffer ``b`` starts at 0 and each step does ``b <- mu * b + g``,
    then ``w <- w - lr * b`` (heavy ball) or, with ``nesterov=True``,
    ``w <- w - lr * (g + mu * b)``. This is ``torch.optim.SGD`` with
    dampening 0.

    Parameters
    ----------
    learning_rate : float > 0, default=0.01
        Step size; it takes precedence over an estimator's ``learning_rate``.
    momentum : float in [0, 1), default=0.0
        Decay factor ``mu`` of the momentum buffer.
    nesterov : bool, default=False
        Use the Nesterov form; requires ``momentum > 0``.
    """

    _parameter_constraints = {
        "learning_rate": [_POSITIVE],
        "momentum": [_UNIT_HALF_OPEN],
        "nesterov": [_BOOL],
    }

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False):
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterov = nesterov
        validate_params(self)
        if nesterov and momentum == 0:
            raise ValueError(
                f"{type(self).__name__}: nesterov=True requires momentum in (0, 1); "
                f"got momentum={momentum!r}."
            )

    @property
    def name(self):
        """Name of the C++ rule: "sgd", "momentum" or "nesterov"."""
        if self.nesterov:
            return "nesterov"
        return "momentum" if self.momentum > 0 else "sgd"

    def _parameter_names(self):
        if self.name == "sgd":
            return ["learning_rate"]
        return ["learning_rate", "momentum"]

    def __repr__(self):
        return (
            f"{type(self).__name__}(learning_rate={self.learning_rate!r}, "
            f"momentum={self.momentum!r}, nesterov={self.nesterov!r})"
        )


class Momentum(SGD):
    """SGD with heavy-ball momentum: ``b <- mu * b + g``, ``w <- w - lr * b``.

    The same rule as ``SGD(learning_rate, momentum)``, with ``momentum``
    defaulting to 0.9.

    Parameters
    ----------
    learning_rate : float > 0, default=0.01
        Step size; it takes precedence over an estimator's ``learning_rate``.
    momentum : float in (0, 1), default=0.9
        Decay factor ``mu`` of the momentum buffer.
    """

    _parameter_constraints = {
        "learning_rate": [_POSITIVE],
        "momentum": [_UNIT_OPEN],
        "nesterov": [_BOOL],
    }

    def __init__(self, learning_rate=0.01, momentum=0.9):
        super().__init__(learning_rate=learning_rate, momentum=momentum)

    def __repr__(self):
        return (
            f"Momentum(learning_rate={self.learning_rate!r}, momentum={self.momentum!r})"
        )


class Nesterov(SGD):
    """SGD with Nesterov momentum: ``b <- mu * b + g``, ``w <- w - lr * (g + mu * b)``.

    The same rule as ``SGD(learning_rate, momentum, nesterov=True)``, with
    ``momentum`` defaulting to 0.9. The form is that of ``torch.optim.SGD``,
    after Sutskever et al., "On the importance of initialization and
    momentum in deep learning" (ICML 2013).

    Parameters
    ----------
    learning_rate : float > 0, default=0.01
        Step size; it takes precedence over an estimator's ``learning_rate``.
    momentum : float in (0, 1), default=0.9
        Decay factor ``mu`` of the momentum buffer.
    """

    _parameter_constraints = Momentum._parameter_constraints

    def __init__(self, learning_rate=0.01, momentum=0.9):
        super().__init__(learning_rate=learning_rate, momentum=momentum, nesterov=True)

    def __repr__(self):
        return (
            f"Nesterov(learning_rate={self.learning_rate!r}, momentum={self.momentum!r})"
        )


class AdaGrad(_UpdateRule):
    """AdaGrad: ``s <- s + g^2``, ``w <- w - lr * g / (sqrt(s) + epsilon)``.

    ``s`` starts at ``initial_accumulator_value``. Epsilon is added after the
    square root, as in ``torch.optim.Adagrad`` (Duchi, Hazan and Singer,
    JMLR 2011).

    Parameters
    ----------
    learning_rate : float > 0, default=0.01
        Step size; it takes precedence over an estimator's ``learning_rate``.
    epsilon : float > 0, default=1e-10
        Added to ``sqrt(s)`` so that the first steps stay finite.
    initial_accumulator_value : float >= 0, default=0.0
        Starting value of every sum of squared gradients.
    """

    name = "adagrad"
    _parameter_constraints = {
        "learning_rate": [_POSITIVE],
        "epsilon": [_POSITIVE],
        "initial_accumulator_value": [_NON_NEGATIVE],
    }

    def __init__(self, learning_rate=0.01, epsilon=1e-10, initial_accumulator_value=0.0):
        self.learning_rate = learning_rate
        self.epsilon = epsilon
        self.initial_accumulator_value = initial_accumulator_value
        validate_params(self)


class RMSprop(_UpdateRule):
    """RMSprop: ``v <- rho * v + (1 - rho) * g^2``, ``w <- w - lr * g / (sqrt(v) + epsilon)``.

    ``v`` starts at 0. This is ``torch.optim.RMSprop`` (not centered, no
    momentum), whose ``alpha`` is ``rho`` here. Epsilon is added after the
    square root, as in PyTorch; TensorFlow adds it inside.

    Parameters
    ----------
    learning_rate : float > 0, default=0.01
        Step size; it takes precedence over an estimator's ``learning_rate``.
    rho : float in [0, 1), default=0.99
        Decay factor of the running mean of squared gradients.
    epsilon : float > 0, default=1e-8
        Added to ``sqrt(v)``.
    """

    name = "rmsprop"
    _parameter_constraints = {
        "learning_rate": [_POSITIVE],
        "rho": [_UNIT_HALF_OPEN],
        "epsilon": [_POSITIVE],
    }

    def __init__(self, learning_rate=0.01, rho=0.99, epsilon=1e-8):
        self.learning_rate = learning_rate
        self.rho = rho
        self.epsilon = epsilon
        validate_params(self)


class Adam(_UpdateRule):
    """Adam, as Algorithm 1 of Kingma and Ba (ICLR 2015).

    ``m <- beta1 * m + (1 - beta1) * g`` and
    ``v <- beta2 * v + (1 - beta2) * g^2``, both starting at 0, then
    ``w <- w - lr * m_hat / (sqrt(v_hat) + epsilon)`` with the bias-corrected
    ``m_hat = m / (1 - beta1^t)`` and ``v_hat = v / (1 - beta2^t)``, where
    ``t`` counts the steps. Epsilon is added after the square root of the
    corrected ``v_hat``, as in the paper and ``torch.optim.Adam``. For a first
    gradient of 1e-8 with the defaults and ``lr = 1e-3`` the step is 5e-4;
    the variant that adds epsilon to the uncorrected ``sqrt(v)`` would step
    about 3.1e-5.

    Parameters
    ----------
    learning_rate : float > 0, default=0.001
        Step size; it takes precedence over an estimator's ``learning_rate``.
    beta1 : float in [0, 1), default=0.9
        Decay factor of the first-moment estimate.
    beta2 : float in [0, 1), default=0.999
        Decay factor of the second-moment estimate.
    epsilon : float > 0, default=1e-8
        Added to ``sqrt(v_hat)``.
    """

    name = "adam"
    _parameter_constraints = {
        "learning_rate": [_POSITIVE],
        "beta1": [_UNIT_HALF_OPEN],
        "beta2": [_UNIT_HALF_OPEN],
        "epsilon": [_POSITIVE],
    }

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
        self.learning_rate = learning_rate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        validate_params(self)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter, ICLR 2019).

    Each step first shrinks the weights, ``w <- w - lr * weight_decay * w``,
    then takes the Adam step of :class:`Adam`. The decay never enters the
    moment estimates. As in ``torch.optim.AdamW`` it is scaled by the
    scheduled learning rate. With ``weight_decay > 0`` a zero gradient still
    shrinks the weights. Estimators keep the decay off the intercept.

    Parameters
    ----------
    learning_rate : float > 0, default=0.001
        Step size; it takes precedence over an estimator's ``learning_rate``.
    beta1 : float in [0, 1), default=0.9
        Decay factor of the first-moment estimate.
    beta2 : float in [0, 1), default=0.999
        Decay factor of the second-moment estimate.
    epsilon : float > 0, default=1e-8
        Added to ``sqrt(v_hat)``.
    weight_decay : float >= 0, default=0.01
        Fraction of ``lr * w`` removed from the weights at every step.
    """

    name = "adamw"
    _parameter_constraints = {
        **Adam._parameter_constraints,
        "weight_decay": [_NON_NEGATIVE],
    }

    def __init__(
        self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8, weight_decay=0.01
    ):
        self.weight_decay = weight_decay
        super().__init__(
            learning_rate=learning_rate, beta1=beta1, beta2=beta2, epsilon=epsilon
        )


_RULES_BY_NAME = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adagrad": AdaGrad,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
}
LBFGS_NAME = "lbfgs"
OPTIMIZER_NAMES = (*_RULES_BY_NAME, LBFGS_NAME)


def resolve_optimizer(optimizer, learning_rate):
    """Turn an estimator's ``optimizer`` argument into a C++ config dict.

    Parameters
    ----------
    optimizer : str or update rule object
        One of ``OPTIMIZER_NAMES`` or an instance of :class:`SGD`,
        :class:`AdaGrad`, :class:`RMSprop`, :class:`Adam` or their subclasses.
    learning_rate : float > 0 or None
        The estimator's learning rate. A name uses it, so it must then be a
        positive finite number; an object uses its own rate and ignores it.

    Returns
    -------
    config : dict
        ``{"name": ..., "learning_rate": ..., <the rule's hyperparameters>}``
        with the field names of the C++ ``OptimizerConfig``. For "lbfgs" the
        dict is ``{"name": "lbfgs"}``, a marker for the estimator's own solver.
    """
    if isinstance(optimizer, _UpdateRule):
        return optimizer.get_config()
    if not isinstance(optimizer, str):
        raise TypeError(
            "optimizer must be a name or an object from fastml.optimizers; "
            f"got {optimizer!r} of type {type(optimizer).__name__}."
        )
    if optimizer == LBFGS_NAME:
        return {"name": LBFGS_NAME}
    if optimizer not in _RULES_BY_NAME:
        names = ", ".join(repr(name) for name in OPTIMIZER_NAMES)
        raise ValueError(f"optimizer must be one of {names}; got {optimizer!r}.")
    if not _POSITIVE.accepts(learning_rate):
        raise ValueError(
            f"learning_rate must be a finite float > 0 with optimizer={optimizer!r}; "
            f"got {learning_rate!r}."
        )
    return _RULES_BY_NAME[optimizer](learning_rate=learning_rate).get_config()


# Learning-rate schedules


class _Schedule(_Configurable):
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
    _parameter_constraints = {"decay_rate": [_NON_NEGATIVE]}

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
        "min_learning_rate": [_NON_NEGATIVE],
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
            raise ValueError(f"schedule must be None or one of {names}; got {schedule!r}.")
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

