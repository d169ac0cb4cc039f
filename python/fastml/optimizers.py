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
  ``learning_rate`` is not used, and fit warns when it is set to a value
  other than its default and the object's rate. Set the rate on the
  object, or pass a name.

The objects have scikit-learn's ``get_params`` and ``set_params``, so
``sklearn.base.clone`` gives a cloned estimator its own copy of the object,
and ``set_params(optimizer__learning_rate=0.1)`` or a ``GridSearchCV`` grid
over ``optimizer__beta2`` tunes the object's arguments. Fit reads the object
and never changes it.

"lbfgs" is a full-batch solver with a line search, not an update rule; it is
accepted by ``resolve_optimizer`` and handled by the estimators.

Schedules scale the rate once per epoch, as a ``torch.optim.lr_scheduler``
stepped at the end of every epoch: epoch 0 uses the base rate and every
step of epoch ``e`` uses the rate for ``e``. The base rate is the learning
rate chosen by the rule above.

To step your own float64 parameter array ``w`` in place, build a stepper
from an update rule and pass the rate of each step::

    opt = Adam(learning_rate=0.01)
    schedule = CosineDecay(t_max=n_epochs)
    stepper = opt.make_stepper([w.size])
    for epoch in range(n_epochs):
        rate = schedule.learning_rate_at(opt.learning_rate, epoch)
        stepper.step(w, gradient(w), rate)
"""

import numbers

import numpy as np

from . import _core
from ._configurable import (
    BOOL,
    NON_NEGATIVE,
    POSITIVE,
    UNIT_HALF_OPEN,
    UNIT_OPEN,
    Configurable,
)
from ._params import validate_params
from ._schedules import (
    SCHEDULE_NAMES,
    ConstantSchedule,
    CosineDecay,
    ExponentialDecay,
    InverseTimeDecay,
    StepDecay,
    resolve_schedule,
)

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
    "OPTIMIZER_NAMES",
    "SCHEDULE_NAMES",
    "resolve_optimizer",
    "resolve_schedule",
]


class _UpdateRule(Configurable):
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
        "learning_rate": [POSITIVE],
        "momentum": [UNIT_HALF_OPEN],
        "nesterov": [BOOL],
    }

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False):
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterov = nesterov
        self._validate_params()

    def _validate_params(self):
        validate_params(self)
        if self.nesterov and self.momentum == 0:
            raise ValueError(
                f"{type(self).__name__}: nesterov=True requires momentum in (0, 1); "
                f"got momentum={self.momentum!r}."
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
        "learning_rate": [POSITIVE],
        "momentum": [UNIT_OPEN],
        "nesterov": [BOOL],
    }

    def __init__(self, learning_rate=0.01, momentum=0.9):
        super().__init__(learning_rate=learning_rate, momentum=momentum)

    def __repr__(self):
        rate, momentum = self.learning_rate, self.momentum
        return f"Momentum(learning_rate={rate!r}, momentum={momentum!r})"


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
        rate, momentum = self.learning_rate, self.momentum
        return f"Nesterov(learning_rate={rate!r}, momentum={momentum!r})"


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
        "learning_rate": [POSITIVE],
        "epsilon": [POSITIVE],
        "initial_accumulator_value": [NON_NEGATIVE],
    }

    def __init__(
        self, learning_rate=0.01, epsilon=1e-10, initial_accumulator_value=0.0
    ):
        self.learning_rate = learning_rate
        self.epsilon = epsilon
        self.initial_accumulator_value = initial_accumulator_value
        validate_params(self)


class RMSprop(_UpdateRule):
    """RMSprop: a running mean of squared gradients scales each step.

    ``v <- rho * v + (1 - rho) * g^2``, then
    ``w <- w - lr * g / (sqrt(v) + epsilon)``.

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
        "learning_rate": [POSITIVE],
        "rho": [UNIT_HALF_OPEN],
        "epsilon": [POSITIVE],
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
        "learning_rate": [POSITIVE],
        "beta1": [UNIT_HALF_OPEN],
        "beta2": [UNIT_HALF_OPEN],
        "epsilon": [POSITIVE],
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
    shrinks the weights. Estimators keep the decay off the intercept and
    off the biases of a network.

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
        Fraction of ``lr * w`` removed from the weights at every step. It
        acts whatever the estimator's ``penalty`` is and is not part of the
        reported cost: it pulls the weights toward 0 with a force that grows
        with them, so a model whose weights must be large (a target of 1e4
        on standardized features, say) stops far from the fit. Set it to 0,
        or use :class:`Adam`, for an unpenalized fit.
    """

    name = "adamw"
    _parameter_constraints = {
        **Adam._parameter_constraints,
        "weight_decay": [NON_NEGATIVE],
    }

    def __init__(
        self,
        learning_rate=0.001,
        beta1=0.9,
        beta2=0.999,
        epsilon=1e-8,
        weight_decay=0.01,
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
    if not POSITIVE.accepts(learning_rate):
        raise ValueError(
            f"learning_rate must be a finite float > 0 with optimizer={optimizer!r}; "
            f"got {learning_rate!r}."
        )
    return _RULES_BY_NAME[optimizer](learning_rate=learning_rate).get_config()
