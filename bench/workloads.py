"""Seeded data of the comparison workloads and the shared training objective.

Every contender trains on the same arrays and is scored with the same cost:
the mean cross-entropy over the training set plus ``alpha / 2 * ||W||^2``
(the intercept is not penalized), evaluated in float64 from its parameters.
"""

import numpy as np

ALPHA = 1e-4

# (n_samples, n_features, n_classes) of the synthetic workloads; quick mode
# uses a tenth of the rows.
SHAPES = {
    "W1": (200_000, 100, 2),
    "W2": (60_000, 784, 10),
    "W3": (60_000, 784, 10),
}


def make_synthetic(name, quick, dtype=np.float32):
    """Return (X, y) for W1, W2 or W3: standard normal features, labels drawn
    from a random linear model with Gumbel noise, so that no model separates
    them perfectly and the cost has a finite minimum."""
    n, d, k = SHAPES[name]
    if quick:
        n //= 10
    rng = np.random.default_rng({"W1": 1, "W2": 2, "W3": 2}[name])
    X = rng.standard_normal((n, d), dtype=np.float32).astype(dtype, copy=False)
    true_coef = rng.standard_normal((d, k)).astype(np.float32) * (3.0 / np.sqrt(d))
    scores = X @ true_coef + rng.gumbel(size=(n, k)).astype(np.float32)
    y = np.argmax(scores, axis=1).astype(np.int64)
    return np.ascontiguousarray(X), y


def make_real(name, dtype=np.float32):
    """Return (X, y) of a bundled data set, features standardized."""
    from sklearn import datasets

    if name == "digits":
        X, y = datasets.load_digits(return_X_y=True)
    elif name == "breast_cancer":
        X, y = datasets.load_breast_cancer(return_X_y=True)
    else:
        raise ValueError(
            f"unknown real data set {name!r}; expected 'digits' or 'breast_cancer'"
        )
    std = X.std(axis=0)
    X = (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return np.ascontiguousarray(X, dtype=dtype), y.astype(np.int64)


def load(name, quick):
    """Return (X, y) of a workload: W1, W2, W3, R1-digits or R1-breast_cancer."""
    if name.startswith("R1-"):
        return make_real(name[3:])
    return make_synthetic(name, quick)


def training_cost(X, y, coef, intercept, alpha=ALPHA):
    """Mean cross-entropy plus alpha/2 * ||coef||^2, in float64.

    ``coef`` has shape (1, d) for two classes (a logit for class 1) or (k, d).
    """
    from threadpoolctl import threadpool_limits

    coef = np.asarray(coef, dtype=np.float64)
    intercept = np.asarray(intercept, dtype=np.float64)
    # The contenders call this between epochs, outside their clocks. With one
    # BLAS thread no BLAS worker is left spinning on a core afterwards, which
    # would slow the next epoch of whichever contender runs threads of its own.
    with threadpool_limits(limits=1, user_api="blas"):
        logits = (X @ coef.T.astype(X.dtype)).astype(np.float64) + intercept
    if coef.shape[0] == 1:
        z = logits[:, 0]
        # log(1 + exp(-|z|)) + max(z, 0) - y z, stable for any z.
        losses = np.logaddexp(0.0, -np.abs(z)) + np.maximum(z, 0.0) - y * z
    else:
        top = logits.max(axis=1, keepdims=True)
        log_norm = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
        losses = log_norm - logits[np.arange(len(y)), y]
    return float(losses.mean() + 0.5 * alpha * np.sum(coef**2))


def accuracy(X, y, coef, intercept):
    """Training accuracy of a linear model with the layout of training_cost."""
    # In X's dtype, so that scoring a float32 X does not copy it to float64.
    logits = X @ np.asarray(coef, X.dtype).T + np.asarray(intercept, X.dtype)
    if logits.shape[1] == 1:
        predicted = (logits[:, 0] > 0).astype(np.int64)
    else:
        predicted = logits.argmax(axis=1)
    return float(np.mean(predicted == y))
