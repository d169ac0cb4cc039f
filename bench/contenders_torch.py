"""PyTorch peers and the W3 network workload of the side-by-side comparison.

The linear models are ``torch.nn.Linear`` with ``BCEWithLogitsLoss`` or
``CrossEntropyLoss``, zero-initialized like fastml's, and the L2 penalty as
``weight_decay`` on the weight only (for SGD and Adam, weight decay adds
``ALPHA * W`` to the gradient, the gradient of ``ALPHA / 2 * ||W||^2``).
L-BFGS has no weight decay, so its closure adds the penalty to the loss.
"""

import time
import warnings

import numpy as np
from contenders import BATCH, Clock, chase_target, n_outputs, record_attempt, timed_runs
from workloads import ALPHA, accuracy, training_cost


def torch_linear(X, y, optimizer, learning_rate):
    import torch

    k = n_outputs(y)
    model = torch.nn.Linear(
        X.shape[1], k, dtype=torch.float32 if X.dtype == np.float32 else torch.float64
    )
    with torch.no_grad():
        model.weight.zero_()
        model.bias.zero_()
    groups = [
        {"params": [model.weight], "weight_decay": ALPHA},
        {"params": [model.bias], "weight_decay": 0.0},
    ]
    if optimizer == "adam":
        opt = torch.optim.Adam(groups, lr=learning_rate)
    elif optimizer == "sgd":
        opt = torch.optim.SGD(groups, lr=learning_rate)
    else:
        opt = torch.optim.LBFGS(
            model.parameters(),
            lr=learning_rate,
            max_iter=20,
            history_size=10,
            line_search_fn="strong_wolfe",
        )
    return model, opt


def torch_tensors(X, y):
    import torch

    Xt = torch.from_numpy(X)
    if n_outputs(y) == 1:
        return Xt, torch.from_numpy(y.astype(X.dtype)), torch.nn.BCEWithLogitsLoss()
    return Xt, torch.from_numpy(y), torch.nn.CrossEntropyLoss()


def torch_step(model, opt, loss_fn, Xb, yb):
    """One optimizer step on a batch; returns the penalized cost before it."""
    import torch

    def closure():
        opt.zero_grad(set_to_none=True)
        out = model(Xb)
        loss = loss_fn(out[:, 0] if out.shape[1] == 1 else out, yb)
        if isinstance(opt, torch.optim.LBFGS):
            loss = loss + 0.5 * ALPHA * model.weight.square().sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    value = float(loss.detach())
    if not isinstance(opt, torch.optim.LBFGS):
        value += 0.5 * ALPHA * float(model.weight.detach().double().square().sum())
    return value


def run_torch(X, y, settings, batch, attempts):
    """``attempts`` lists (optimizer, learning rate) tried for the target;
    the first one is the one timed per epoch."""
    import torch

    torch.set_num_threads(settings.threads)
    torch.manual_seed(0)
    Xt, yt, loss_fn = torch_tensors(X, y)
    generator = torch.Generator().manual_seed(0)

    def epoch(model, opt):
        if batch is None:
            return torch_step(model, opt, loss_fn, Xt, yt)
        order = torch.randperm(Xt.shape[0], generator=generator)
        for begin in range(0, Xt.shape[0], batch):
            rows = order[begin : begin + batch]
            torch_step(model, opt, loss_fn, Xt[rows], yt[rows])
        return None

    steps = settings.full_steps if batch is None else 1

    def epoch_once():
        model, opt = torch_linear(X, y, *attempts[0])
        begin = time.perf_counter()
        for _ in range(steps):
            epoch(model, opt)
        return (time.perf_counter() - begin) / steps

    result = {
        "epoch_seconds": timed_runs(epoch_once, settings),
        "target_seconds": None,
        "final_cost": np.inf,
    }
    for optimizer, learning_rate in attempts:
        model, opt = torch_linear(X, y, optimizer, learning_rate)
        last = {}

        def step(model=model, opt=opt, last=last):
            last["cost"] = epoch(model, opt)

        def score(model=model, last=last, optimizer=optimizer):
            # L-BFGS returns the cost at the start of its 20 inner iterations,
            # so it is scored at its current point instead.
            if batch is None and optimizer != "lbfgs":
                return last["cost"]
            return training_cost(X, y, *torch_params(model))

        seconds, cost = chase_target(settings, step, score)
        record_attempt(result, seconds, cost, f"{optimizer} lr={learning_rate}")
        result["accuracy"] = accuracy(X, y, *torch_params(model))
    return result


def torch_params(model):
    return model.weight.detach().numpy(), model.bias.detach().numpy()


# W3: one hidden layer of 128 ReLU units, softmax output, Adam 1e-3, batch 128


def mlp_cost(X, y, forward):
    """Mean cross-entropy of the network given by ``forward(X) -> logits``."""
    logits = forward(X).astype(np.float64)
    top = logits.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    return float(np.mean(log_norm - logits[np.arange(len(y)), y]))


def run_torch_mlp(X, y, settings):
    import torch

    torch.set_num_threads(settings.threads)
    torch.manual_seed(0)
    k = n_outputs(y)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(0)
    state = {}

    def epoch_once():
        model = torch.nn.Sequential(
            torch.nn.Linear(X.shape[1], 128), torch.nn.ReLU(), torch.nn.Linear(128, k)
        )
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        begin = time.perf_counter()
        order = torch.randperm(Xt.shape[0], generator=generator)
        for start in range(0, Xt.shape[0], BATCH):
            rows = order[start : start + BATCH]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(Xt[rows]), yt[rows]).backward()
            opt.step()
        state["model"] = model
        return time.perf_counter() - begin

    result = {"epoch_seconds": timed_runs(epoch_once, settings)}

    def forward(data):
        with torch.no_grad():
            return state["model"](torch.from_numpy(data)).numpy()

    result["final_cost"] = mlp_cost(X, y, forward)
    result["accuracy"] = float(np.mean(forward(X).argmax(axis=1) == y))
    return result


def run_sklearn_mlp(X, y, settings):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    state = {}

    def epoch_once():
        model = MLPClassifier(
            hidden_layer_sizes=(128,),
            solver="adam",
            learning_rate_init=1e-3,
            batch_size=BATCH,
            max_iter=1,
            alpha=ALPHA,
            random_state=0,
        )
        begin = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)
        state["model"] = model
        return time.perf_counter() - begin

    result = {"epoch_seconds": timed_runs(epoch_once, settings)}
    model = state["model"]
    probabilities = model.predict_proba(X).astype(np.float64)
    result["final_cost"] = float(
        -np.mean(np.log(np.maximum(probabilities[np.arange(len(y)), y], 1e-300)))
    )
    result["accuracy"] = float(np.mean(model.predict(X) == y))
    return result


def run_fastml_mlp(X, y, settings):
    """Time one epoch of fastml.MLPClassifier.fit at the W3 settings."""
    import fastml

    state = {}

    def epoch_once():
        model = fastml.MLPClassifier(
            hidden_layer_sizes=(128,),
            optimizer="adam",
            learning_rate=1e-3,
            batch_size=BATCH,
            max_epochs=1,
            alpha=ALPHA,
            random_state=0,
            n_threads=settings.threads,
        )
        begin = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X, y)
        state["model"] = model
        return time.perf_counter() - begin

    result = {"epoch_seconds": timed_runs(epoch_once, settings)}
    model = state["model"]
    probabilities = np.asarray(model.predict_proba(X), dtype=np.float64)
    result["final_cost"] = float(
        -np.mean(np.log(np.maximum(probabilities[np.arange(len(y)), y], 1e-300)))
    )
    result["accuracy"] = float(np.mean(model.predict(X) == y))
    return result


__all__ = ["Clock", "run_torch", "run_torch_mlp", "run_sklearn_mlp", "run_fastml_mlp"]
