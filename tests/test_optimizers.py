"""Update rules and learning-rate schedules against independent references.

Each rule steps parameters through the C++ stepper while a NumPy version,
written here from the published update equations, runs the same problem in
float64. Where PyTorch is installed, torch.optim runs it too.
"""

import inspect
import math
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from fastml import LogisticRegression, MLPClassifier, MLPRegressor, _core
from fastml.optimizers import (
    OPTIMIZER_NAMES,
    SCHEDULE_NAMES,
    SGD,
    AdaGrad,
    Adam,
    AdamW,
    ConstantSchedule,
    CosineDecay,
    ExponentialDecay,
    InverseTimeDecay,
    Momentum,
    Nesterov,
    RMSprop,
    StepDecay,
    resolve_optimizer,
    resolve_schedule,
)

N_STEPS = 20
# Tolerances of a 20-step trajectory against the float64 NumPy reference.
TOLERANCES = {
    np.float64: {"rtol": 1e-12, "atol": 1e-12},
    np.float32: {"rtol": 1e-5, "atol": 1e-5},
}
DTYPES = [np.float64, np.float32]

# One configuration per rule, with non-default hyperparameters so that each
# of them matters.
RULES = {
    "sgd": SGD(learning_rate=0.1),
    "momentum": Momentum(learning_rate=0.05, momentum=0.9),
    "nesterov": Nesterov(learning_rate=0.05, momentum=0.8),
    "adagrad": AdaGrad(learning_rate=0.3, epsilon=1e-10, initial_accumulator_value=0.1),
    "rmsprop": RMSprop(learning_rate=0.02, rho=0.9, epsilon=1e-8),
    "adam": Adam(learning_rate=0.05, beta1=0.8, beta2=0.99, epsilon=1e-8),
    "adamw": AdamW(
        learning_rate=0.05, beta1=0.8, beta2=0.99, epsilon=1e-8, weight_decay=0.1
    ),
}


def learning_rate_at_step(rule, t):
    """Return a rate that changes every step, so rules that keep old rates differ."""
    return rule.learning_rate / (1.0 + 0.1 * t)


# NumPy references, written from the update equations of the papers and of
# the torch.optim documentation (PyTorch 2.13). `state` starts as {} and `t`
# counts steps from 1.


def reference_step(rule, state, w, g, lr, t):
    """Return w after one step of `rule`, updating `state` in place."""
    name = rule.name
    if name == "sgd":
        return w - lr * g

    if name in ("momentum", "nesterov"):
        mu = rule.momentum
        state["b"] = g.copy() if t == 1 else mu * state["b"] + g
        if name == "nesterov":
            return w - lr * (g + mu * state["b"])
        return w - lr * state["b"]

    if name == "adagrad":
        s = state.get("s", np.full_like(w, rule.initial_accumulator_value))
        state["s"] = s + g**2
        return w - lr * g / (np.sqrt(state["s"]) + rule.epsilon)

    if name == "rmsprop":
        v = state.get("v", np.zeros_like(w))
        state["v"] = rule.rho * v + (1 - rule.rho) * g**2
        return w - lr * g / (np.sqrt(state["v"]) + rule.epsilon)

    if name == "adamw":
        w = w - lr * rule.weight_decay * w

    # Adam, Kingma and Ba (ICLR 2015), Algorithm 1.
    m = state.get("m", np.zeros_like(w))
    v = state.get("v", np.zeros_like(w))
    state["m"] = rule.beta1 * m + (1 - rule.beta1) * g
    state["v"] = rule.beta2 * v + (1 - rule.beta2) * g**2
    m_hat = state["m"] / (1 - rule.beta1**t)
    v_hat = state["v"] / (1 - rule.beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + rule.epsilon)


# The two problems: a fixed quadratic and a fixed logistic regression.


class Quadratic:
    """f(w) = (w - c)^T A (w - c) / 2 with a fixed positive definite A."""

    segment_sizes = [5]

    def __init__(self):
        rng = np.random.default_rng(0)
        m = rng.normal(size=(5, 5))
        self.A = m @ m.T / 5 + 0.5 * np.eye(5)
        self.c = rng.normal(size=5)
        self.w0 = rng.normal(size=5)

    def cost(self, w):
        d = w - self.c
        return 0.5 * d @ self.A @ d

    def gradient(self, w):
        return self.A @ (w - self.c)


class Logistic:
    """Mean logistic loss of [coef (4), intercept (1)] on fixed data."""

    segment_sizes = [4, 1]

    def __init__(self):
        rng = np.random.default_rng(1)
        self.X = rng.normal(size=(40, 4))
        logits = self.X @ np.array([1.5, -2.0, 0.5, 0.0]) + 0.3
        self.y = (logits + rng.normal(scale=0.5, size=40) > 0).astype(np.float64)
        self.w0 = np.array([0.2, -0.1, 0.0, 0.3, -0.2])

    def cost(self, w):
        z = self.X @ w[:4] + w[4]
        return np.mean(np.logaddexp(0, z) - self.y * z)

    def gradient(self, w):
        z = self.X @ w[:4] + w[4]
        residual = 0.5 * (1 + np.tanh(z / 2)) - self.y
        return np.append(self.X.T @ residual / len(self.y), residual.mean())


PROBLEMS = {"quadratic": Quadratic(), "logistic": Logistic()}


def run_fastml(rule, problem, dtype):
    """Return the parameters after each of N_STEPS steps of the C++ stepper."""
    stepper = rule.make_stepper(problem.segment_sizes, dtype=dtype)
    w = problem.w0.astype(dtype)
    trajectory = []
    for t in range(1, N_STEPS + 1):
        g = problem.gradient(w.astype(np.float64)).astype(dtype)
        stepper.step(w, g, learning_rate_at_step(rule, t))
        trajectory.append(w.astype(np.float64))
    return np.array(trajectory)


def run_reference(rule, problem):
    """Return the float64 NumPy trajectory of `rule` on `problem`."""
    w = problem.w0.copy()
    trajectory = []
    states = [{} for _ in problem.segment_sizes]
    bounds = np.cumsum([0, *problem.segment_sizes])
    for t in range(1, N_STEPS + 1):
        g = problem.gradient(w)
        parts = []
        for state, begin, end in zip(states, bounds[:-1], bounds[1:]):
            lr = learning_rate_at_step(rule, t)
            parts.append(reference_step(rule, state, w[begin:end], g[begin:end], lr, t))
        w = np.concatenate(parts)
        trajectory.append(w)
    return np.array(trajectory)


def make_torch_optimizer(torch, rule, params):
    name = rule.name
    lr = rule.learning_rate
    if name in ("sgd", "momentum", "nesterov"):
        momentum = 0.0 if name == "sgd" else rule.momentum
        nesterov = name == "nesterov"
        return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=nesterov)
    if name == "adagrad":
        return torch.optim.Adagrad(
            params,
            lr=lr,
            eps=rule.epsilon,
            initial_accumulator_value=rule.initial_accumulator_value,
        )
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=rule.rho, eps=rule.epsilon)
    betas = (rule.beta1, rule.beta2)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas, eps=rule.epsilon)
    return torch.optim.AdamW(
        params, lr=lr, betas=betas, eps=rule.epsilon, weight_decay=rule.weight_decay
    )


def run_torch(torch, rule, problem, dtype):
    """Return the trajectory of torch.optim, one tensor per segment."""
    torch_dtype = torch.float64 if dtype == np.float64 else torch.float32
    bounds = np.cumsum([0, *problem.segment_sizes])
    params = [
        torch.tensor(problem.w0[begin:end], dtype=torch_dtype, requires_grad=True)
        for begin, end in zip(bounds[:-1], bounds[1:])
    ]
    optimizer = make_torch_optimizer(torch, rule, params)
    trajectory = []
    for t in range(1, N_STEPS + 1):
        w = torch.cat([p.detach() for p in params]).double().numpy()
        g = problem.gradient(w)
        for p, begin, end in zip(params, bounds[:-1], bounds[1:]):
            p.grad = torch.tensor(g[begin:end], dtype=torch_dtype)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate_at_step(rule, t)
        optimizer.step()
        trajectory.append(torch.cat([p.detach() for p in params]).double().numpy())
    return np.array(trajectory)


# Trajectories


@pytest.mark.parametrize("problem_name", PROBLEMS)
def test_problem_gradients_match_finite_differences(problem_name):
    problem = PROBLEMS[problem_name]
    w = problem.w0 + 0.1
    h = 1e-6
    numeric = np.array(
        [
            (problem.cost(w + h * e) - problem.cost(w - h * e)) / (2 * h)
            for e in np.eye(len(w))
        ]
    )
    np.testing.assert_allclose(problem.gradient(w), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("problem_name", PROBLEMS)
@pytest.mark.parametrize("rule_name", RULES)
def test_trajectory_matches_numpy_reference(rule_name, problem_name, dtype):
    rule = RULES[rule_name]
    problem = PROBLEMS[problem_name]

    expected = run_reference(rule, problem)
    actual = run_fastml(rule, problem, dtype)

    np.testing.assert_allclose(actual, expected, **TOLERANCES[dtype])


@pytest.mark.parametrize("problem_name", PROBLEMS)
@pytest.mark.parametrize("rule_name", RULES)
def test_trajectory_reduces_cost(rule_name, problem_name):
    problem = PROBLEMS[problem_name]
    trajectory = run_fastml(RULES[rule_name], problem, np.float64)

    assert problem.cost(trajectory[-1]) < problem.cost(problem.w0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("problem_name", PROBLEMS)
@pytest.mark.parametrize("rule_name", RULES)
def test_trajectory_matches_torch(rule_name, problem_name, dtype):
    torch = pytest.importorskip("torch")
    rule = RULES[rule_name]
    problem = PROBLEMS[problem_name]

    expected = run_torch(torch, rule, problem, dtype)
    actual = run_fastml(rule, problem, dtype)

    np.testing.assert_allclose(actual, expected, **TOLERANCES[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_sgd_name_selects_momentum_rules(dtype):
    problem = PROBLEMS["quadratic"]
    pairs = [
        (SGD(learning_rate=0.05, momentum=0.9), RULES["momentum"]),
        (SGD(learning_rate=0.05, momentum=0.8, nesterov=True), RULES["nesterov"]),
    ]
    for sgd, named in pairs:
        assert sgd.name == named.name
        np.testing.assert_array_equal(
            run_fastml(sgd, problem, dtype), run_fastml(named, problem, dtype)
        )


# Where Adam adds epsilon: after the square root of the corrected v_hat.


@pytest.mark.parametrize("dtype", DTYPES)
def test_adam_first_step_tiny_gradient(dtype):
    stepper = Adam().make_stepper(1, dtype=dtype)
    w = np.zeros(1, dtype=dtype)

    stepper.step(w, np.array([1e-8], dtype=dtype), 1e-3)

    # m_hat = 1e-8 and sqrt(v_hat) = 1e-8, so the step is lr / 2. Adding eps
    # to the uncorrected sqrt(v) would give about 3.065e-5.
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(-w, [5.0e-4], rtol=rtol, atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_adam_first_step_unit_gradient(dtype):
    stepper = Adam().make_stepper(1, dtype=dtype)
    w = np.zeros(1, dtype=dtype)

    stepper.step(w, np.ones(1, dtype=dtype), 1e-3)

    # lr / (1 + eps) = 9.9999999e-4, which float32 rounds at about 1e-7.
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(-w, [9.9999999e-4], rtol=rtol, atol=0)


# Zero and extreme gradients


def all_rules_without_decay():
    rules = dict(RULES)
    rules["adamw"] = AdamW(learning_rate=0.05, weight_decay=0.0)
    rules["default_adagrad"] = AdaGrad()
    rules["default_rmsprop"] = RMSprop()
    return rules


SPECIAL_VALUES = [0.0, -0.0, 1.0, -2.5, 1e-30, -1e30, 1e-300, 1e300]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rule_name", all_rules_without_decay())
def test_zero_gradient_leaves_params_unchanged(rule_name, dtype):
    rule = all_rules_without_decay()[rule_name]
    stepper = rule.make_stepper([4, 4], dtype=dtype)
    with np.errstate(over="ignore", under="ignore"):
        w = np.array(SPECIAL_VALUES, dtype=dtype)
    before = w.copy()

    for _ in range(5):
        stepper.step(w, np.zeros_like(w), 0.1)

    assert w.tobytes() == before.tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
def test_adamw_zero_gradient_only_decays(dtype):
    stepper = AdamW(weight_decay=0.1).make_stepper(3, dtype=dtype)
    w = np.array([1.0, -2.0, 0.5], dtype=dtype)
    expected = w * dtype(1 - 0.01 * 0.1)

    stepper.step(w, np.zeros_like(w), 0.01)

    np.testing.assert_array_equal(w, expected)


def extreme_gradient_cases(dtype):
    big = 1e300 if dtype == np.float64 else 1e30
    largest = np.finfo(dtype).max
    return {
        "huge": np.full(4, 1e30),
        "big": np.array([big, -big, big, -big]),
        "largest": np.array([largest, -largest, largest, -largest]),
        "tiny": np.full(4, 1e-30),
        "mixed": np.array([1e30, -1e-30, 0.0, 1.0]),
        "subnormal": np.full(4, np.finfo(dtype).smallest_subnormal),
    }


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rule", [AdaGrad(epsilon=1e-10), RMSprop(rho=0.9, epsilon=1e-8)])
def test_first_step_takes_a_correctly_rounded_square_root(rule, dtype):
    # From w = 0 and zero state, each value of the first step is one product,
    # one square root, one sum and one quotient, each rounded once in
    # `dtype`. NumPy's square root is correctly rounded, so the steps must
    # agree bit for bit; an estimated square root differs by an ulp here and
    # there. 1,003 values cover whole SIMD packets and a partial one.
    rng = np.random.default_rng(5)
    g = (rng.random(1003) + 0.5).astype(dtype)
    stepper = rule.make_stepper(g.size, dtype=dtype)
    w = np.zeros_like(g)
    stepper.step(w, g, 1.0)

    rate = dtype(1)
    square = g * g if rule.name == "adagrad" else dtype(1 - rule.rho) * (g * g)
    expected = -((rate * g) / (np.sqrt(square) + dtype(rule.epsilon)))
    np.testing.assert_array_equal(w, expected)


# 4 values fit in less than one SIMD packet; 68 fill several whole packets
# of float32 and float64 and leave a partial one, so that both code paths of
# the update see every extreme value.
@pytest.mark.parametrize("n_params", [4, 68])
@pytest.mark.parametrize("alternate_sign", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rule_name", RULES)
def test_extreme_gradients_never_give_nan(rule_name, dtype, alternate_sign, n_params):
    for case, gradient in extreme_gradient_cases(dtype).items():
        stepper = RULES[rule_name].make_stepper(n_params, dtype=dtype)
        w = np.ones(n_params, dtype=dtype)
        g = np.resize(gradient, n_params).astype(dtype)
        for _ in range(N_STEPS):
            stepper.step(w, g, 0.01)
            # A sign change after an overflow to inf would expose inf - inf.
            if alternate_sign:
                g = -g

        assert not np.isnan(w).any(), f"{case}: {w}"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rule_name", RULES)
def test_moderate_extremes_stay_finite(rule_name, dtype):
    for case in ["huge", "big", "tiny", "mixed", "subnormal"]:
        stepper = RULES[rule_name].make_stepper(4, dtype=dtype)
        w = np.ones(4, dtype=dtype)
        g = extreme_gradient_cases(dtype)[case].astype(dtype)
        for _ in range(N_STEPS):
            stepper.step(w, g, 0.01)

        assert np.isfinite(w).all(), f"{case}: {w}"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rule_name", ["adagrad", "rmsprop", "adam", "adamw"])
def test_adaptive_steps_stay_bounded_for_tiny_gradients(rule_name, dtype):
    stepper = RULES[rule_name].make_stepper(4, dtype=dtype)
    w = np.ones(4, dtype=dtype)

    stepper.step(w, np.full(4, 1e-30, dtype=dtype), 0.01)

    assert np.isfinite(w).all()
    assert np.all(np.abs(w - 1) <= 0.01 * 10)


# Frozen segments


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rule_name", RULES)
def test_frozen_segment_keeps_values(rule_name, dtype):
    stepper = RULES[rule_name].make_stepper([3, 2], dtype=dtype)
    w = np.array([1.0, 2.0, 3.0, 4.0, 5.0], dtype=dtype)
    g = np.array([0.5, -0.5, 1.0, 2.0, -3.0], dtype=dtype)

    # Train both segments, then freeze segment 1 with a stale state.
    for _ in range(3):
        stepper.step(w, g, 0.1)
    frozen = w[3:].copy()
    for _ in range(10):
        stepper.step(w, g, 0.1, segments=[0])

    assert w[3:].tobytes() == frozen.tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rule_name", RULES)
def test_segment_thawed_later_starts_fresh(rule_name, dtype):
    rule = RULES[rule_name]
    stepper = rule.make_stepper([2, 2], dtype=dtype)
    w = np.array([1.0, -1.0, 0.5, 2.0], dtype=dtype)
    g = np.array([0.3, -0.2, 0.7, -1.5], dtype=dtype)
    for _ in range(5):
        stepper.step(w, g, 0.1, segments=[0])

    fresh = rule.make_stepper(2, dtype=dtype)
    expected = w[2:].copy()
    fresh.step(expected, g[2:].copy(), 0.1)
    stepper.step(w, g, 0.1, segments=[1])

    # Adam's step counter is per segment, so the first step of segment 1 gets
    # the bias correction of t = 1.
    np.testing.assert_array_equal(w[2:], expected)


@pytest.mark.parametrize(
    "params, grad, message",
    [
        (np.ones(4, np.float32), np.ones(4), "params must be .* of float64.*got C-contiguous float32"),
        (np.ones(8)[::2], np.ones(4), "params must be .*got non-contiguous float64"),
        (np.ones(4), [1.0, 2.0, 3.0, 4.0], "grad must be .*got an object of type list"),
    ],
)
def test_stepper_names_array_of_wrong_kind(params, grad, message):
    stepper = Adam().make_stepper(4)
    with pytest.raises(TypeError, match=message):
        stepper.step(params, grad, 0.1)


@pytest.mark.parametrize("rate", [np.float32(0.5), np.float64(0.5), np.int64(1)])
def test_stepper_takes_numpy_scalar_rate(rate):
    stepper = SGD().make_stepper([2, 2])
    w = np.ones(4)
    stepper.step(w, np.ones(4), rate)
    np.testing.assert_allclose(w, 1.0 - float(rate))
    stepper.step(w, np.ones(4), rate, (1,))
    np.testing.assert_allclose(w, [1.0 - float(rate)] * 2 + [1.0 - 2 * float(rate)] * 2)


@pytest.mark.parametrize("rate", ["0.1", b"0.1", None, [0.1]])
def test_stepper_rejects_rate_that_is_not_a_number(rate):
    stepper = SGD().make_stepper(4)
    with pytest.raises(TypeError, match="learning_rate|expected step"):
        stepper.step(np.ones(4), np.ones(4), rate)


@pytest.mark.parametrize("segments", [[1.5], ["0"], np.array([0.0]), 3, [2**70]])
def test_stepper_names_segments_of_wrong_type(segments):
    stepper = SGD().make_stepper([2, 2])
    w = np.ones(4)
    with pytest.raises(TypeError, match="segments must be a sequence of segment numbers"):
        stepper.step(w, np.ones(4), 0.1, segments)
    np.testing.assert_array_equal(w, np.ones(4))


def test_stepper_rejects_rate_beyond_float():
    stepper = SGD().make_stepper(4)
    with pytest.raises(ValueError, match="learning_rate is too large for a float"):
        stepper.step(np.ones(4), np.ones(4), 10**400)


def test_stepper_rejects_repeated_segment():
    stepper = SGD().make_stepper([2, 2])
    w = np.ones(4)
    with pytest.raises(ValueError, match="segments must not repeat a segment; got 0 twice"):
        stepper.step(w, np.ones(4), 0.1, [0, 0])
    np.testing.assert_array_equal(w, np.ones(4))


def test_adamw_excluded_segment_gets_no_decay():
    rule = AdamW(weight_decay=0.5)
    stepper = rule.make_stepper([2, 1])
    stepper.exclude_from_weight_decay(1)
    plain = Adam().make_stepper([2, 1])
    w = np.array([1.0, 2.0, 3.0])
    w_plain = w.copy()
    g = np.array([0.1, 0.2, 0.3])

    stepper.step(w, g, 0.1)
    plain.step(w_plain, g, 0.1)

    assert w[2] == w_plain[2]
    assert np.all(w[:2] < w_plain[:2])


def test_adamw_network_decays_weights_only():
    # One full-batch step from the same fitted start, whose biases are not
    # 0: AdamW's step is Adam's plus lr * weight_decay * w0 on each weight,
    # and exactly Adam's on each bias. Adam's first step is
    # lr * g / (|g| + eps), within 1% of lr here, which checks the recovered
    # w0 = (w_adam - w_adamw) / (lr * weight_decay).
    rng = np.random.default_rng(2)
    X = rng.normal(size=(60, 5))
    y = rng.integers(0, 3, 60)
    rate, decay = 0.01, 0.5
    settings = dict(hidden_layer_sizes=(7,), activation="tanh", batch_size=60, random_state=0)
    fits = {}
    for name, rule in [
        ("adam", Adam(learning_rate=rate)),
        ("adamw", AdamW(learning_rate=rate, weight_decay=decay)),
    ]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = MLPClassifier(max_epochs=5, **settings).fit(X, y)
            model.set_params(warm_start=True, optimizer=rule, max_epochs=1, alpha=0.0)
            fits[name] = model.fit(X, y).layers_
    for name, after_adam in fits["adam"].items():
        after_adamw = fits["adamw"][name]
        if name.endswith("bias"):
            assert np.all(after_adam != 0), name
            np.testing.assert_array_equal(after_adamw, after_adam, err_msg=name)
            continue
        start = (after_adam - after_adamw) / (rate * decay)
        np.testing.assert_allclose(np.abs(after_adam - start), rate, rtol=1e-2, err_msg=name)


def test_momentum_frozen_scalar_stays_put():
    # A frozen scalar with zero data gradient and a stale buffer does not move.
    stepper = Momentum(learning_rate=0.1, momentum=0.9).make_stepper([1, 1])
    w = np.array([1.0, 1.0])
    stepper.step(w, np.array([0.5, 0.5]), 0.1)
    frozen = w[1]

    for _ in range(10):
        stepper.step(w, np.array([0.0, 0.0]), 0.1, segments=[0])

    assert w[1] == frozen


# Schedules


def closed_form_rate(config, base, e):
    name = config["name"]
    if name == "constant":
        return base
    if name == "step":
        return base * config["gamma"] ** (e // config["step_size"])
    if name == "exponential":
        return base * config["gamma"] ** e
    if name == "inverse_time":
        return base / (1 + config["decay_rate"] * e)
    t_max, low = config["t_max"], config["min_learning_rate"]
    if e >= t_max:
        return low
    return low + (base - low) * (1 + math.cos(math.pi * e / t_max)) / 2


SCHEDULES = {
    "constant": ConstantSchedule(),
    "step": StepDecay(step_size=3, gamma=0.5),
    "exponential": ExponentialDecay(gamma=0.9),
    "inverse_time": InverseTimeDecay(decay_rate=0.25),
    "cosine": CosineDecay(t_max=12, min_learning_rate=0.001),
}


@pytest.mark.parametrize("schedule_name", SCHEDULES)
def test_schedule_matches_closed_form(schedule_name):
    schedule = SCHEDULES[schedule_name]
    config = schedule.get_config()
    base = 0.1

    for e in range(30):
        expected = closed_form_rate(config, base, e)
        actual = schedule.learning_rate_at(base, e)
        assert actual == pytest.approx(expected, rel=1e-14, abs=1e-15), e


def test_schedule_values_at_known_epochs():
    assert StepDecay(3, 0.5).learning_rate_at(1.0, 2) == 1.0
    assert StepDecay(3, 0.5).learning_rate_at(1.0, 3) == 0.5
    assert ExponentialDecay(0.5).learning_rate_at(1.0, 3) == 0.125
    assert InverseTimeDecay(0.5).learning_rate_at(1.0, 2) == 0.5
    assert CosineDecay(t_max=4).learning_rate_at(1.0, 2) == pytest.approx(
        0.5, abs=1e-15
    )
    assert CosineDecay(t_max=4).learning_rate_at(1.0, 4) == 0.0
    assert CosineDecay(t_max=4).learning_rate_at(1.0, 9) == 0.0


def torch_scheduler(torch, schedule, optimizer):
    schedulers = torch.optim.lr_scheduler
    config = schedule.get_config()
    name = config["name"]
    if name == "constant":
        return schedulers.LambdaLR(optimizer, lambda e: 1.0)
    if name == "step":
        return schedulers.StepLR(optimizer, config["step_size"], config["gamma"])
    if name == "exponential":
        return schedulers.ExponentialLR(optimizer, config["gamma"])
    if name == "inverse_time":
        rate = config["decay_rate"]
        return schedulers.LambdaLR(optimizer, lambda e: 1 / (1 + rate * e))
    return schedulers.CosineAnnealingLR(
        optimizer, T_max=config["t_max"], eta_min=config["min_learning_rate"]
    )


@pytest.mark.parametrize("schedule_name", SCHEDULES)
def test_schedule_matches_torch(schedule_name):
    torch = pytest.importorskip("torch")
    schedule = SCHEDULES[schedule_name]
    base = 0.1
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base)
    scheduler = torch_scheduler(torch, schedule, optimizer)
    # PyTorch's cosine rises again after t_max; fastml stays at the minimum.
    n_epochs = 13 if schedule_name == "cosine" else 30

    for e in range(n_epochs):
        expected = optimizer.param_groups[0]["lr"]
        actual = schedule.learning_rate_at(base, e)
        assert actual == pytest.approx(expected, rel=1e-12, abs=1e-15), e
        optimizer.step()
        scheduler.step()


# Name resolution


def test_resolve_name_uses_estimator_rate():
    config = resolve_optimizer("adam", 0.05)

    assert config == {
        "name": "adam",
        "learning_rate": 0.05,
        "beta1": 0.9,
        "beta2": 0.999,
        "epsilon": 1e-8,
    }


def test_resolve_object_uses_own_rate():
    config = resolve_optimizer(RMSprop(learning_rate=0.003, rho=0.9), 0.5)

    assert config["learning_rate"] == 0.003
    assert config["rho"] == 0.9


def test_resolve_lbfgs_returns_marker():
    assert resolve_optimizer("lbfgs", 0.1) == {"name": "lbfgs"}


@pytest.mark.parametrize("name", [n for n in OPTIMIZER_NAMES if n != "lbfgs"])
def test_resolved_names_build_steppers(name):
    config = resolve_optimizer(name, 0.01)
    settings = {key: value for key, value in config.items() if key != "learning_rate"}

    stepper = _core.Optimizer64([3], **settings)

    assert stepper.name == name
    assert stepper.n_params == 3


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
def test_resolved_schedule_names_evaluate(name):
    config = resolve_schedule(name, max_epochs=20)
    rate = _core.scheduled_learning_rate(0.1, 0, **config)

    assert rate == 0.1


def test_resolve_schedule_none_is_constant():
    assert resolve_schedule(None) == {"name": "constant"}


def test_cosine_without_t_max_takes_max_epochs():
    assert resolve_schedule(CosineDecay(), max_epochs=7)["t_max"] == 7
    assert resolve_schedule("cosine", max_epochs=7)["t_max"] == 7
    assert resolve_schedule(CosineDecay(t_max=3), max_epochs=7)["t_max"] == 3


def test_cosine_without_any_length_raises():
    with pytest.raises(ValueError, match="t_max is None"):
        resolve_schedule("cosine")


def test_repr_and_equality():
    assert repr(Adam()) == (
        "Adam(learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-08)"
    )
    assert repr(Nesterov()) == "Nesterov(learning_rate=0.01, momentum=0.9)"
    assert Adam(beta1=0.5) == Adam(beta1=0.5)
    assert Adam(beta1=0.5) != Adam()


# Invalid hyperparameters, names and arrays

BAD_RULES = [
    (lambda: Adam(beta1=1.0), "Adam: beta1 must be a float in [0, 1); got 1.0."),
    (lambda: Adam(beta1=-0.1), "Adam: beta1 must be a float in [0, 1); got -0.1."),
    (lambda: Adam(beta2=1.0), "Adam: beta2 must be a float in [0, 1); got 1.0."),
    (lambda: Adam(epsilon=0.0), "Adam: epsilon must be a float in (0, inf); got 0.0."),
    (
        lambda: Adam(epsilon=-1e-8),
        "Adam: epsilon must be a float in (0, inf); got -1e-08",
    ),
    (lambda: Adam(learning_rate=0), "Adam: learning_rate must be a float in (0, inf)"),
    (lambda: AdamW(beta2=1.5), "AdamW: beta2 must be a float in [0, 1); got 1.5."),
    (
        lambda: AdamW(weight_decay=-1),
        "AdamW: weight_decay must be a float in [0, inf); got -1.",
    ),
    (lambda: SGD(momentum=1.0), "SGD: momentum must be a float in [0, 1); got 1.0."),
    (lambda: SGD(nesterov=True), "SGD: nesterov=True requires momentum in (0, 1)"),
    (lambda: SGD(nesterov="yes"), "SGD: nesterov must be a bool; got 'yes'."),
    (lambda: Momentum(momentum=0.0), "Momentum: momentum must be a float in (0, 1)"),
    (lambda: Nesterov(momentum=0.0), "Nesterov: momentum must be a float in (0, 1)"),
    (
        lambda: AdaGrad(epsilon=0),
        "AdaGrad: epsilon must be a float in (0, inf); got 0.",
    ),
    (
        lambda: AdaGrad(initial_accumulator_value=-1.0),
        "AdaGrad: initial_accumulator_value must be a float in [0, inf); got -1.0.",
    ),
    (lambda: RMSprop(rho=1.0), "RMSprop: rho must be a float in [0, 1); got 1.0."),
    (lambda: RMSprop(epsilon=float("nan")), "RMSprop: epsilon must be a float"),
    (lambda: StepDecay(step_size=0), "StepDecay: step_size must be an int in [1, "),
    (
        lambda: StepDecay(gamma=0.0),
        "StepDecay: gamma must be a float in (0, 1]; got 0.0.",
    ),
    (lambda: ExponentialDecay(gamma=1.5), "ExponentialDecay: gamma must be a float"),
    (lambda: InverseTimeDecay(decay_rate=-1), "InverseTimeDecay: decay_rate must be"),
    (
        lambda: CosineDecay(t_max=0),
        "CosineDecay: t_max must be one of None or an int in [1, ",
    ),
]


@pytest.mark.parametrize("make, message", BAD_RULES)
def test_invalid_hyperparameter_message(make, message):
    with pytest.raises(ValueError) as error:
        make()

    assert message in str(error.value)


BAD_CPP_RULES = [
    ({"name": "adam", "beta1": 1.0}, "Adam: beta1 must be in [0, 1); got 1"),
    ({"name": "adam", "beta2": -0.5}, "Adam: beta2 must be in [0, 1); got -0.5"),
    ({"name": "adam", "epsilon": 0.0}, "Adam: epsilon must be finite and > 0; got 0"),
    ({"name": "adamw", "beta1": 2.0}, "AdamW: beta1 must be in [0, 1); got 2"),
    ({"name": "adamw", "weight_decay": -1.0}, "AdamW: weight_decay must be finite"),
    (
        {"name": "momentum", "momentum": 0.0},
        "Momentum: momentum must be in (0, 1); got 0",
    ),
    (
        {"name": "nesterov", "momentum": 1.0},
        "Nesterov: momentum must be in (0, 1); got 1",
    ),
    ({"name": "sgd", "nesterov": True}, "nesterov = true requires momentum in (0, 1)"),
    ({"name": "sgd", "momentum": 1.0}, "Momentum: momentum must be in (0, 1); got 1"),
    ({"name": "adagrad", "epsilon": -1.0}, "AdaGrad: epsilon must be finite and > 0"),
    (
        {"name": "adagrad", "initial_accumulator_value": -1.0},
        "AdaGrad: initial_accumulator_value must be finite and >= 0; got -1",
    ),
    ({"name": "rmsprop", "rho": 1.0}, "RMSprop: rho must be in [0, 1); got 1"),
    (
        {"name": "rmsprop", "epsilon": math.inf},
        "RMSprop: epsilon must be finite and > 0",
    ),
    ({"name": "lbfgs"}, "unknown optimizer 'lbfgs'; expected one of 'sgd'"),
]


@pytest.mark.parametrize("settings, message", BAD_CPP_RULES)
def test_cpp_rule_rejects_invalid_hyperparameter(settings, message):
    with pytest.raises(ValueError) as error:
        _core.Optimizer64([2], **settings)

    assert message in str(error.value)


BAD_SCHEDULES = [
    ({"name": "step", "step_size": 0}, "step_size must be >= 1; got 0"),
    ({"name": "step", "gamma": 0.0}, "gamma must be in (0, 1]; got 0"),
    ({"name": "exponential", "gamma": 2.0}, "gamma must be in (0, 1]; got 2"),
    (
        {"name": "inverse_time", "decay_rate": -1.0},
        "decay_rate must be finite and >= 0",
    ),
    ({"name": "cosine", "t_max": 0}, "t_max must be >= 1; got 0"),
    ({"name": "cosine", "min_learning_rate": 0.5}, "min_learning_rate must be in [0, "),
    ({"name": "linear"}, "unknown schedule 'linear'; expected one of 'constant'"),
]


@pytest.mark.parametrize("settings, message", BAD_SCHEDULES)
def test_cpp_schedule_rejects_invalid_parameter(settings, message):
    with pytest.raises(ValueError) as error:
        _core.scheduled_learning_rate(0.1, 0, **settings)

    assert message in str(error.value)


@pytest.mark.parametrize(
    "base_rate, epoch, message",
    [
        (0.0, 0, "base_rate must be finite and > 0; got 0"),
        (math.nan, 0, "base_rate must be finite and > 0; got nan"),
        (0.1, -1, "epoch must be >= 0; got -1"),
    ],
)
def test_schedule_rejects_invalid_rate_or_epoch(base_rate, epoch, message):
    with pytest.raises(ValueError) as error:
        _core.scheduled_learning_rate(base_rate, epoch)

    assert message in str(error.value)


def test_resolve_rejects_unknown_names():
    with pytest.raises(
        ValueError, match="optimizer must be one of 'sgd', .*got 'adamax'"
    ):
        resolve_optimizer("adamax", 0.1)
    with pytest.raises(
        ValueError, match="schedule must be None or one of .*got 'linear'"
    ):
        resolve_schedule("linear")


def test_resolve_rejects_other_types():
    with pytest.raises(TypeError, match="optimizer must be a name or an object"):
        resolve_optimizer(3, 0.1)
    with pytest.raises(TypeError, match="schedule must be None, a name or an object"):
        resolve_schedule(0.5)


@pytest.mark.parametrize("learning_rate", [0.0, -1.0, math.nan, math.inf, None, "0.1"])
def test_resolve_name_rejects_bad_rate(learning_rate):
    with pytest.raises(ValueError, match="learning_rate must be a finite float > 0"):
        resolve_optimizer("sgd", learning_rate)


def test_stepper_rejects_bad_arrays():
    stepper = Adam().make_stepper([2, 1])
    w = np.zeros(3)

    with pytest.raises(ValueError, match="params must have 3 values; got 2"):
        stepper.step(np.zeros(2), np.zeros(2), 0.1)
    with pytest.raises(ValueError, match="grad must have 3 values; got 4"):
        stepper.step(w, np.zeros(4), 0.1)
    with pytest.raises(
        ValueError, match="learning_rate must be finite and >= 0; got -1"
    ):
        stepper.step(w, np.zeros(3), -1.0)
    with pytest.raises(ValueError, match=r"segment must be in \[0, 2\); got 2"):
        stepper.step(w, np.zeros(3), 0.1, segments=[2])
    with pytest.raises(TypeError):
        stepper.step(w.astype(np.float32), np.zeros(3), 0.1)


def test_stepper_rejects_read_only_params():
    stepper = SGD().make_stepper(2)
    w = np.zeros(2)
    w.setflags(write=False)

    with pytest.raises(ValueError, match="params must be a writable array"):
        stepper.step(w, np.ones(2), 0.1)


def test_stepper_rejects_bad_layout():
    with pytest.raises(ValueError, match=r"segment_sizes\[1\] must be >= 0; got -1"):
        _core.Optimizer64([2, -1], name="sgd")
    with pytest.raises(ValueError, match="dtype must be float32 or float64; got int64"):
        SGD().make_stepper(2, dtype=np.int64)


# get_params and set_params

ALL_OBJECTS = [
    SGD(learning_rate=0.1, momentum=0.5, nesterov=True),
    Momentum(learning_rate=0.05, momentum=0.8),
    Nesterov(learning_rate=0.05, momentum=0.8),
    AdaGrad(learning_rate=0.3, initial_accumulator_value=0.1),
    RMSprop(learning_rate=0.02, rho=0.9),
    Adam(learning_rate=0.05, beta1=0.8),
    AdamW(learning_rate=0.05, weight_decay=0.1),
    ConstantSchedule(),
    StepDecay(step_size=3, gamma=0.5),
    ExponentialDecay(gamma=0.9),
    InverseTimeDecay(decay_rate=0.2),
    CosineDecay(t_max=None, min_learning_rate=1e-4),
]
OBJECT_IDS = [type(obj).__name__ for obj in ALL_OBJECTS]


@pytest.mark.parametrize("obj", ALL_OBJECTS, ids=OBJECT_IDS)
def test_get_params_returns_constructor_arguments(obj):
    arguments = inspect.signature(type(obj).__init__).parameters
    expected = {name: getattr(obj, name) for name in arguments if name != "self"}

    assert obj.get_params() == expected
    assert obj.get_params(deep=False) == expected
    assert type(obj)(**obj.get_params()) == obj


@pytest.mark.parametrize("obj", ALL_OBJECTS, ids=OBJECT_IDS)
def test_clone_gives_equal_independent_object(obj):
    copy = clone(obj)

    assert copy == obj
    assert copy is not obj


def test_set_params_changes_arguments():
    adam = Adam()

    result = adam.set_params(learning_rate=0.1, beta2=0.99)

    assert result is adam
    assert adam.learning_rate == 0.1
    assert adam.beta2 == 0.99
    assert adam.get_config()["beta2"] == 0.99


def test_set_params_rejects_unknown_name():
    adam = Adam()

    with pytest.raises(ValueError) as error:
        adam.set_params(momentum=0.9)

    message = str(error.value)
    assert "Adam: invalid parameter 'momentum'" in message
    assert "'beta1', 'beta2', 'epsilon', 'learning_rate'" in message
    assert adam == Adam()


def test_set_params_rejects_argument_the_constructor_lacks():
    # Momentum stores nesterov=False but does not take it as an argument.
    with pytest.raises(ValueError, match="Momentum: invalid parameter 'nesterov'"):
        Momentum().set_params(nesterov=True)


def test_set_params_rejects_invalid_value_and_keeps_old():
    adam = Adam(learning_rate=0.05)

    with pytest.raises(ValueError, match=r"Adam: beta1 must be a float in \[0, 1\)"):
        adam.set_params(learning_rate=0.1, beta1=1.5)

    assert adam == Adam(learning_rate=0.05)


def test_set_params_checks_arguments_together():
    sgd = SGD()

    sgd.set_params(nesterov=True, momentum=0.5)

    assert sgd.name == "nesterov"
    with pytest.raises(ValueError, match="nesterov=True requires momentum in"):
        sgd.set_params(momentum=0.0)
    assert sgd.momentum == 0.5


def small_binary_problem():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = (X[:, 0] - 0.5 * X[:, 1] > 0).astype(int)
    return X, y


def test_estimator_set_params_reaches_optimizer():
    model = LogisticRegression(optimizer=Adam())

    model.set_params(optimizer__learning_rate=0.1, optimizer__beta2=0.99)

    assert model.optimizer.learning_rate == 0.1
    assert model.optimizer.beta2 == 0.99
    assert model.get_params()["optimizer__learning_rate"] == 0.1


def test_estimator_set_params_rejects_unknown_optimizer_name():
    model = MLPClassifier(optimizer=Adam())

    with pytest.raises(ValueError, match="Adam: invalid parameter 'rho'"):
        model.set_params(optimizer__rho=0.9)


@pytest.mark.parametrize("estimator", [LogisticRegression, MLPClassifier])
def test_cloned_estimator_gets_own_optimizer(estimator):
    original = estimator(optimizer=Adam(learning_rate=0.05), schedule=StepDecay())

    copy = clone(original)
    copy.set_params(optimizer__learning_rate=0.1, schedule__gamma=0.5)

    assert copy.optimizer is not original.optimizer
    assert copy.schedule is not original.schedule
    assert original.optimizer == Adam(learning_rate=0.05)
    assert original.schedule == StepDecay()


@pytest.mark.parametrize("estimator", [LogisticRegression, MLPRegressor])
def test_fit_leaves_optimizer_object_unchanged(estimator):
    X, y = small_binary_problem()
    optimizer = AdamW(learning_rate=0.05, weight_decay=0.1)
    schedule = CosineDecay()
    model = estimator(optimizer=optimizer, schedule=schedule, max_epochs=5, tol=0.0)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
        model.partial_fit(X, y)

    assert model.optimizer is optimizer
    assert vars(optimizer) == vars(AdamW(learning_rate=0.05, weight_decay=0.1))
    assert model.schedule is schedule
    assert schedule.t_max is None


def test_grid_search_tunes_optimizer_learning_rate():
    X, y = small_binary_problem()
    optimizer = Adam(learning_rate=1e-4)
    # With 3 epochs a rate of 1e-4 barely moves the weights from zero, so
    # the larger rate scores better.
    model = LogisticRegression(optimizer=optimizer, max_epochs=3, tol=0.0)
    search = GridSearchCV(
        model, {"optimizer__learning_rate": [1e-4, 0.5]}, cv=3, scoring="neg_log_loss"
    )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)

    assert search.best_params_ == {"optimizer__learning_rate": 0.5}
    assert search.best_estimator_.optimizer.learning_rate == 0.5
    assert search.best_estimator_.optimizer is not optimizer
    assert optimizer == Adam(learning_rate=1e-4)
    assert model.optimizer is optimizer
