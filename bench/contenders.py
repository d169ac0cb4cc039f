"""Training loops of every contender in the side-by-side comparison.

Each ``run_<name>(X, y, settings)`` returns a dict with the measured epoch
times (seconds, one entry per repeat), what one "epoch" means for it, the
time to reach the target cost (or None with a reason), the final cost and
training accuracy. Every contender starts from zero coefficients, applies
the same L2 penalty ``ALPHA / 2 * ||W||^2`` to the weights only, and is
scored by ``workloads.training_cost``. Time spent scoring inside a training
run is excluded from the clock.
"""

import time
import warnings
from dataclasses import dataclass

import numpy as np
from workloads import ALPHA, accuracy, training_cost

BATCH = 128


@dataclass
class Settings:
    threads: int
    repeats: int  # timed runs per measurement, after one warm-up run
    full_steps: int  # full-batch steps per timed run
    target: float | None  # cost to reach, scikit-learn lbfgs's final cost times 1.01
    cap_seconds: float  # give up on the target after this much training time


class Clock:
    """Wall clock that can leave out the time spent scoring."""

    def __init__(self):
        self.start = time.perf_counter()
        self.excluded = 0.0

    def elapsed(self):
        return time.perf_counter() - self.start - self.excluded

    def exclude(self, function, *args):
        begin = time.perf_counter()
        value = function(*args)
        self.excluded += time.perf_counter() - begin
        return value


def n_outputs(y):
    k = int(y.max()) + 1
    return 1 if k == 2 else k


# Memory of the last warm-up run, filled by timed_runs: the growth of the
# resident set and the peak of the allocations that tracemalloc records.
MEMORY = {}


def memory_status():
    """(current, peak) resident set size in bytes, from /proc/self/status."""
    values = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) * 1024
    return values.get("VmRSS", 0), values.get("VmHWM", 0)


def reset_peak_memory():
    """Reset the peak resident set size (Linux 4.0 and later); False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def timed_runs(run_once, settings):
    """Call ``run_once()`` once to warm up, then ``settings.repeats`` times; each
    call returns its own seconds per epoch. The warm-up run also measures the
    memory of training into MEMORY, so that tracing slows no timed run."""
    import tracemalloc

    rss_before, _ = memory_status()
    peak_reset = reset_peak_memory()
    tracemalloc.start()
    run_once()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    _, rss_peak = memory_status()
    MEMORY["rss_growth_bytes"] = int(rss_peak - rss_before) if peak_reset else None
    MEMORY["traced_peak_bytes"] = int(traced_peak)
    return [run_once() for _ in range(settings.repeats)]


def chase_target(settings, step, score):
    """Run ``step()`` (one epoch) until ``score()`` reaches the target.

    ``score`` may return None to be called again after the next step. Returns
    (seconds or None, final cost).
    """
    clock = Clock()
    cost = np.inf
    while clock.elapsed() < settings.cap_seconds:
        step()
        value = clock.exclude(score)
        if value is None:
            continue
        cost = value
        if settings.target is not None and cost <= settings.target:
            return clock.elapsed(), cost
    return None, cost


# fastml ----------------------------------------------------------------------


def fastml_trainer(X, y, optimizer):
    from fastml import _core

    trainer_class = (
        _core.LinearTrainer32 if X.dtype == np.float32 else _core.LinearTrainer64
    )
    k = n_outputs(y)
    return trainer_class(
        n_features=X.shape[1],
        n_outputs=k,
        loss="logistic" if k == 1 else "softmax",
        fit_intercept=True,
        optimizer={"name": optimizer},
        alpha=ALPHA,
        l1_ratio=0.0,
        seed=0,
    )


def fastml_split(trainer, X, y):
    params = trainer.params
    k = n_outputs(y)
    d = X.shape[1]
    return params[: k * d].reshape(k, d), params[k * d :]


def run_fastml(X, y, settings, batch, optimizer, learning_rates):
    """fastml's C++ trainer, called directly (no input validation in the clock)."""
    import fastml  # noqa: F401  (imported here, so its import is not counted as fit memory)

    targets = y.astype(X.dtype) if n_outputs(y) == 1 else y
    batch_size = 0 if batch is None else batch
    steps = settings.full_steps if batch is None else 1

    def fit(trainer, epochs, learning_rate, callback=None):
        return trainer.fit(
            X,
            targets,
            None,
            batch_size,
            epochs,
            0.0,
            10**9,
            learning_rate,
            settings.threads,
            callback,
        )

    def epoch_once():
        trainer = fastml_trainer(X, y, optimizer)
        begin = time.perf_counter()
        fit(trainer, steps, learning_rates[0])
        return (time.perf_counter() - begin) / steps

    result = {"epoch_seconds": timed_runs(epoch_once, settings)}
    result.update(fastml_chase(X, y, settings, fit, optimizer, learning_rates, batch))
    return result


def fastml_chase(X, y, settings, fit, optimizer, learning_rates, batch):
    """Train with each learning rate until the target; keep the fastest."""
    result = {"target_seconds": None, "final_cost": np.inf}
    for learning_rate in learning_rates:
        trainer = fastml_trainer(X, y, optimizer)
        clock = Clock()
        state = {"seconds": None, "cost": np.inf}

        def on_epoch(epoch, loss, cost, trainer=trainer, clock=clock, state=state):
            if batch is not None:
                cost = clock.exclude(
                    lambda: training_cost(X, y, *fastml_split(trainer, X, y))
                )
            # For full batches `cost` is the cost before this epoch's step.
            state["cost"] = cost
            if settings.target is not None and cost <= settings.target:
                state["seconds"] = clock.elapsed()
                return False
            return clock.elapsed() < settings.cap_seconds

        fit(trainer, 10**6, learning_rate, on_epoch)
        record_attempt(
            result, state["seconds"], state["cost"], f"{optimizer} lr={learning_rate}"
        )
        result["accuracy"] = accuracy(X, y, *fastml_split(trainer, X, y))
    return result


def record_attempt(result, seconds, cost, setting):
    """Keep the fastest time to the target and the lowest cost over attempts."""
    result["final_cost"] = min(result["final_cost"], cost)
    if seconds is None:
        return
    if result["target_seconds"] is None or seconds < result["target_seconds"]:
        result["target_seconds"] = seconds
        result["target_setting"] = setting


# NumPy -----------------------------------------------------------------------


def numpy_gradient(X, y, W, b):
    """Cost before the step and the gradient of the penalized mean cross-entropy."""
    Z = X @ W.T + b
    n = X.shape[0]
    if W.shape[0] == 1:
        z = Z[:, 0]
        loss = np.logaddexp(0, -np.abs(z)) + np.maximum(z, 0) - y * z
        G = (0.5 * (1 + np.tanh(0.5 * z)) - y)[:, None]
    else:
        Z -= Z.max(axis=1, keepdims=True)
        E = np.exp(Z)
        total = E.sum(axis=1, keepdims=True)
        loss = np.log(total[:, 0]) - Z[np.arange(n), y]
        G = E / total
        G[np.arange(n), y] -= 1
    cost = float(loss.mean(dtype=np.float64)) + 0.5 * ALPHA * float(
        np.sum(W * W, dtype=np.float64)
    )
    return cost, G.T @ X / n + ALPHA * W, G.mean(axis=0)


class NumpyAdam:
    def __init__(self, shapes, dtype, learning_rate):
        self.m = [np.zeros(s, dtype) for s in shapes]
        self.v = [np.zeros(s, dtype) for s in shapes]
        self.t = 0
        self.learning_rate = learning_rate

    def step(self, params, grads):
        self.t += 1
        c1, c2 = 1 - 0.9**self.t, 1 - 0.999**self.t
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m *= 0.9
            m += 0.1 * g
            v *= 0.999
            v += 0.001 * g * g
            p -= self.learning_rate * (m / c1) / (np.sqrt(v / c2) + 1e-8)


def run_numpy(X, y, settings, batch, learning_rates):
    """A plain NumPy implementation of the same model with Adam."""
    k, d = n_outputs(y), X.shape[1]
    targets = y.astype(X.dtype) if k == 1 else y
    rng = np.random.default_rng(0)

    def new_model(learning_rate):
        W = np.zeros((k, d), X.dtype)
        b = np.zeros(k, X.dtype)
        return W, b, NumpyAdam([W.shape, b.shape], X.dtype, learning_rate)

    def epoch(W, b, adam):
        if batch is None:
            cost, gW, gb = numpy_gradient(X, targets, W, b)
            adam.step([W, b], [gW, gb])
            return cost
        order = rng.permutation(X.shape[0])
        for begin in range(0, X.shape[0], batch):
            rows = order[begin : begin + batch]
            _, gW, gb = numpy_gradient(X[rows], targets[rows], W, b)
            adam.step([W, b], [gW, gb])
        return None

    steps = settings.full_steps if batch is None else 1

    def epoch_once():
        W, b, adam = new_model(learning_rates[0])
        begin = time.perf_counter()
        for _ in range(steps):
            epoch(W, b, adam)
        return (time.perf_counter() - begin) / steps

    result = {"epoch_seconds": timed_runs(epoch_once, settings)}
    result.update({"target_seconds": None, "final_cost": np.inf})
    for learning_rate in learning_rates:
        W, b, adam = new_model(learning_rate)
        last = {}

        def step(W=W, b=b, adam=adam, last=last):
            last["cost"] = epoch(W, b, adam)

        def score(W=W, b=b, last=last):
            if batch is None:
                return last["cost"]
            return training_cost(X, y, W, b)

        seconds, cost = chase_target(settings, step, score)
        record_attempt(result, seconds, cost, f"adam lr={learning_rate}")
        result["accuracy"] = accuracy(X, y, W, b)
    return result


# scikit-learn ----------------------------------------------------------------


def run_sklearn_lbfgs(X, y, settings):
    """LogisticRegression(solver="lbfgs") at its default tolerance; the time of
    a whole fit is its time to its own final cost."""
    from sklearn.linear_model import LogisticRegression

    C = 1.0 / (ALPHA * X.shape[0])
    fits = []

    def fit_once():
        model = LogisticRegression(C=C, solver="lbfgs", max_iter=1000)
        begin = time.perf_counter()
        model.fit(X, y)
        fits.append((time.perf_counter() - begin, model))
        return fits[-1][0] / max(int(model.n_iter_[0]), 1)

    result = {
        "epoch_seconds": timed_runs(fit_once, settings),
        "epoch_kind": "lbfgs iteration",
    }
    seconds, model = fits[-1]
    result["fit_seconds"] = sorted(s for s, _ in fits[1:])
    result["target_seconds"] = float(np.median(result["fit_seconds"]))
    result["n_iter"] = int(model.n_iter_[0])
    result["final_cost"] = training_cost(X, y, model.coef_, model.intercept_)
    result["accuracy"] = accuracy(X, y, model.coef_, model.intercept_)
    return result


def run_sklearn_sgd(X, y, settings):
    """SGDClassifier(loss="log_loss"): one sample per step, one epoch per call."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDClassifier

    def new_model():
        return SGDClassifier(
            loss="log_loss",
            penalty="l2",
            alpha=ALPHA,
            max_iter=1,
            tol=None,
            random_state=0,
        )

    def epoch_once():
        model = new_model()
        begin = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)
        return time.perf_counter() - begin

    result = {"epoch_seconds": timed_runs(epoch_once, settings)}
    if n_outputs(y) > 1:
        result["target_seconds"] = None
        result["target_note"] = "one-vs-rest binary models, not the softmax objective"
        return result
    model = new_model()
    classes = np.unique(y)
    seconds, cost = chase_target(
        settings,
        lambda: model.partial_fit(X, y, classes=classes),
        lambda: training_cost(X, y, model.coef_, model.intercept_),
    )
    result.update({"target_seconds": seconds, "final_cost": cost})
    result["accuracy"] = accuracy(X, y, model.coef_, model.intercept_)
    return result
