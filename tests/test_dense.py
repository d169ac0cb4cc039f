"""Dense-network kernels against NumPy, PyTorch and finite differences."""

import numpy as np
import pytest

from fastml import _core

ACTIVATIONS = ["sigmoid", "tanh", "relu", "leaky_relu", "linear"]
OUTPUTS = ["softmax", "sigmoid", "squared"]


def numpy_activation(z, name):
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0)
    if name == "leaky_relu":
        return np.where(z > 0, z, 0.01 * z)
    return z


def numpy_activation_derivative(z, name):
    if name == "sigmoid":
        s = 1 / (1 + np.exp(-z))
        return s * (1 - s)
    if name == "tanh":
        return 1 - np.tanh(z) ** 2
    if name == "relu":
        return (z > 0).astype(float)
    if name == "leaky_relu":
        return np.where(z > 0, 1.0, 0.01)
    return np.ones_like(z)


def split_params(params, sizes):
    layers, offset = [], 0
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        weight = params[offset : offset + fan_out * fan_in].reshape(fan_out, fan_in)
        offset += fan_out * fan_in
        layers.append((weight, params[offset : offset + fan_out]))
        offset += fan_out
    return layers


def numpy_loss_and_gradient(params, X, targets, weights, sizes, activation, output):
    """Reference forward and backward pass, written out layer by layer."""
    layers = split_params(params, sizes)
    inputs, pre_activations = [X], []
    for i, (W, b) in enumerate(layers):
        z = inputs[-1] @ W.T + b
        pre_activations.append(z)
        if i < len(layers) - 1:
            inputs.append(numpy_activation(z, activation))
    logits = pre_activations[-1]
    if output == "softmax":
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        rows = np.arange(len(targets))
        losses = -log_p[rows, targets]
        delta = np.exp(log_p)
        delta[rows, targets] -= 1
    elif output == "sigmoid":
        losses = (np.logaddexp(0, logits) - targets * logits).sum(axis=1)
        delta = 1 / (1 + np.exp(-logits)) - targets
    else:
        losses = 0.5 * ((logits - targets) ** 2).sum(axis=1)
        delta = logits - targets
    delta = delta * weights[:, None]
    grads = []
    for i in range(len(layers) - 1, -1, -1):
        W, _ = layers[i]
        grads.append((delta.T @ inputs[i], delta.sum(axis=0)))
        if i > 0:
            delta = (delta @ W) * numpy_activation_derivative(
                pre_activations[i - 1], activation
            )
    flat = np.concatenate([part.ravel() for pair in reversed(grads) for part in pair])
    return float(weights @ losses), flat, logits


def make_problem(output, sizes, n=40, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    n_params = sum(o * (i + 1) for i, o in zip(sizes[:-1], sizes[1:]))
    params = rng.normal(scale=0.7, size=n_params).astype(dtype)
    X = rng.normal(size=(n, sizes[0])).astype(dtype)
    if output == "softmax":
        targets = rng.integers(0, sizes[-1], n).astype(np.int64)
    elif output == "sigmoid":
        targets = rng.integers(0, 2, (n, sizes[-1])).astype(dtype)
    else:
        targets = rng.normal(size=(n, sizes[-1])).astype(dtype)
    weights = rng.uniform(0.5, 2.0, n).astype(dtype)
    return params, X, targets, weights


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("output", OUTPUTS)
def test_loss_gradient_matches_numpy(activation, output):
    sizes = [4, 6, 5, 3]
    params, X, targets, weights = make_problem(output, sizes)
    loss, grad = _core.network_loss_gradient(
        params, X, targets, weights, sizes, [activation] * 2, output
    )
    ref_loss, ref_grad, ref_logits = numpy_loss_and_gradient(
        params, X, targets, weights, sizes, activation, output
    )
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-12, atol=0)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-12)
    logits = _core.network_forward(params, X, sizes, [activation] * 2)
    np.testing.assert_allclose(logits, ref_logits, rtol=1e-12, atol=1e-13)


# Up to 512 rows of up to 2^22 values, each weight gradient is one product
# over all the rows, split into blocks of 64 output units. Longer passes sum
# per-chunk gradients in float64. Widths of 130 and 70 give whole and
# partial unit blocks, and 9,000 features put 466 rows on either side of the
# limit on values.
@pytest.mark.parametrize(
    "n_rows, sizes",
    [
        (1, [9, 130, 70, 4]),
        (64, [9, 130, 70, 4]),
        (512, [9, 130, 70, 4]),
        (513, [9, 130, 70, 4]),
        (1500, [9, 130, 70, 4]),
        (466, [9000, 3, 4]),
        (467, [9000, 3, 4]),
    ],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gradient_either_side_of_whole_batch_limit(n_rows, sizes, dtype):
    params, X, targets, weights = make_problem("softmax", sizes, n=n_rows, seed=8)
    params = params / 4
    loss, grad = _core.network_loss_gradient(
        params.astype(dtype),
        X.astype(dtype),
        targets,
        weights.astype(dtype),
        sizes,
        ["tanh"] * (len(sizes) - 2),
        "softmax",
    )
    ref_loss, ref_grad, _ = numpy_loss_and_gradient(
        params, X, targets, weights, sizes, "tanh", "softmax"
    )
    assert grad.dtype == dtype
    tolerance = 1e-10 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(loss, ref_loss, rtol=tolerance, atol=0)
    scale = np.abs(ref_grad).max()
    np.testing.assert_allclose(grad, ref_grad, rtol=tolerance, atol=tolerance * scale)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("output", OUTPUTS)
def test_gradient_matches_finite_differences(activation, output):
    sizes = [3, 4, 3, 2]
    params, X, targets, weights = make_problem(output, sizes, n=15, seed=1)
    if activation in ("relu", "leaky_relu"):
        # Keep pre-activations away from the kink at 0, where the central
        # difference straddles two slopes.
        params = params + 0.05 * np.sign(params)

    def loss_at(p):
        return _core.network_loss_gradient(
            p, X, targets, weights, sizes, [activation] * 2, output
        )[0]

    _, grad = _core.network_loss_gradient(
        params, X, targets, weights, sizes, [activation] * 2, output
    )
    step = 1e-6
    numeric = np.array(
        [
            (loss_at(params + e) - loss_at(params - e)) / (2 * step)
            for e in np.eye(len(params)) * step
        ]
    )
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("output", OUTPUTS)
def test_matches_torch_sequential(activation, output):
    torch = pytest.importorskip("torch")
    modules = {
        "sigmoid": torch.nn.Sigmoid,
        "tanh": torch.nn.Tanh,
        "relu": torch.nn.ReLU,
        "leaky_relu": torch.nn.LeakyReLU,
        "linear": torch.nn.Identity,
    }
    sizes = [5, 7, 4, 3]
    params, X, targets, weights = make_problem(output, sizes, n=30, seed=2)
    network = torch.nn.Sequential(
        torch.nn.Linear(5, 7),
        modules[activation](),
        torch.nn.Linear(7, 4),
        modules[activation](),
        torch.nn.Linear(4, 3),
    ).double()
    with torch.no_grad():
        for (W, b), linear in zip(split_params(params, sizes), network[::2]):
            linear.weight.copy_(torch.from_numpy(W))
            linear.bias.copy_(torch.from_numpy(b))
    logits = network(torch.from_numpy(X))
    if output == "softmax":
        per_sample = torch.nn.functional.cross_entropy(
            logits, torch.from_numpy(targets), reduction="none"
        )
    elif output == "sigmoid":
        per_sample = torch.nn.functional.binary_cross_entropy_with_logits(
            logits, torch.from_numpy(targets), reduction="none"
        ).sum(dim=1)
    else:
        per_sample = 0.5 * ((logits - torch.from_numpy(targets)) ** 2).sum(dim=1)
    total = (per_sample * torch.from_numpy(weights)).sum()
    total.backward()
    torch_grad = np.concatenate(
        [
            p.grad.numpy().ravel()
            for linear in network[::2]
            for p in (linear.weight, linear.bias)
        ]
    )

    loss, grad = _core.network_loss_gradient(
        params, X, targets, weights, sizes, [activation] * 2, output
    )
    np.testing.assert_allclose(loss, total.item(), rtol=1e-10, atol=0)
    np.testing.assert_allclose(grad, torch_grad, rtol=1e-10, atol=1e-12)
    forward = _core.network_forward(params, X, sizes, [activation] * 2)
    np.testing.assert_allclose(forward, logits.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_linear_network_equals_composed_layer():
    sizes = [6, 5, 4, 3]
    params, X, _, _ = make_problem("squared", sizes, n=25, seed=3)
    layers = split_params(params, sizes)
    W, b = layers[0]
    for W_next, b_next in layers[1:]:
        W, b = W_next @ W, W_next @ b + b_next
    logits = _core.network_forward(params, X, sizes, ["linear", "linear"])
    np.testing.assert_allclose(logits, X @ W.T + b, rtol=1e-12, atol=1e-12)


def test_float32_matches_float64():
    sizes = [8, 16, 4]
    params, X, targets, weights = make_problem("softmax", sizes, n=50, seed=4)
    loss64, grad64 = _core.network_loss_gradient(
        params, X, targets, weights, sizes, ["tanh"], "softmax"
    )
    loss32, grad32 = _core.network_loss_gradient(
        params.astype(np.float32),
        X.astype(np.float32),
        targets,
        weights.astype(np.float32),
        sizes,
        ["tanh"],
        "softmax",
    )
    assert grad32.dtype == np.float32
    np.testing.assert_allclose(loss32, loss64, rtol=1e-5, atol=0)
    np.testing.assert_allclose(grad32, grad64, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("output", OUTPUTS)
def test_huge_logits_give_no_nan(output):
    sizes = [2, 3, 2]
    params = np.full(sum(o * (i + 1) for i, o in zip(sizes[:-1], sizes[1:])), 50.0)
    params[-2:] = [-1e4, 1e4]
    X = np.array([[1e3, -1e3], [1e4, 1e4], [0.0, 0.0]])
    targets = (
        np.array([0, 1, 0], dtype=np.int64)
        if output == "softmax"
        else np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    )
    for activation in ACTIVATIONS:
        loss, grad = _core.network_loss_gradient(
            params, X, targets, None, sizes, [activation], output
        )
        assert not np.isnan(loss), activation
        assert not np.isnan(grad).any(), activation


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_hidden_sigmoid_at_exponent_edges(dtype):
    # One input, one sigmoid unit with weight 1 and bias 0, and an identity
    # output layer, so the logits are sigmoid(x).
    params = np.array([1.0, 0.0, 1.0, 0.0], dtype=dtype)
    x = np.array([710.0, -710.0, -1000.0, 0.0, -100.0, 30.0], dtype=dtype)
    X = np.ascontiguousarray(x[:, None])
    logits = _core.network_forward(params, X, [1, 1, 1], ["sigmoid"])[:, 0]
    assert logits.dtype == dtype
    assert logits[0] == 1.0
    assert logits[2] == 0.0
    assert logits[3] == 0.5
    assert 0.0 <= logits[1] <= 1e-300
    assert 0.0 <= logits[4] <= 4e-44
    np.testing.assert_allclose(logits[5], 1 / (1 + np.exp(-30.0)), rtol=1e-6, atol=0)
    if dtype == np.float64:
        np.testing.assert_allclose(logits[1], 4.476e-309, rtol=1e-3, atol=0)
        np.testing.assert_allclose(logits[4], 3.720075976020836e-44, rtol=1e-12, atol=0)


# 40 rows are one chunk; 130 rows are three chunks summed part by part;
# 3000 rows are 47 chunks in 32 float64 part sums.
@pytest.mark.parametrize("n_rows", [40, 130, 3000])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_many_chunk_gradient_matches_numpy(n_rows, dtype):
    sizes = [7, 9, 4]
    params, X, targets, weights = make_problem(
        "softmax", sizes, n=n_rows, seed=11, dtype=dtype
    )
    loss, grad = _core.network_loss_gradient(
        params, X, targets, weights, sizes, ["tanh"], "softmax"
    )
    ref_loss, ref_grad, _ = numpy_loss_and_gradient(
        params.astype(np.float64),
        X.astype(np.float64),
        targets,
        weights.astype(np.float64),
        sizes,
        "tanh",
        "softmax",
    )
    assert grad.dtype == dtype
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(loss, ref_loss, rtol=rtol, atol=0)
    scale = np.abs(ref_grad).max()
    np.testing.assert_allclose(grad, ref_grad, rtol=rtol, atol=rtol * scale)


# 1500 rows make 24 chunks, each its own part; 3000 rows make 47 chunks in 32
# parts of one or two chunks, summed in float64.
@pytest.mark.parametrize("n_rows", [1500, 3000])
def test_thread_count_gives_same_bits(n_rows):
    sizes = [10, 32, 16, 4]
    params, X, targets, weights = make_problem("softmax", sizes, n=n_rows, seed=5)
    results = [
        _core.network_loss_gradient(
            params,
            X,
            targets,
            weights,
            sizes,
            ["relu", "relu"],
            "softmax",
            n_threads=threads,
        )
        for threads in (1, 2, 3, 4)
    ]
    for loss, grad in results[1:]:
        assert loss == results[0][0]
        assert np.array_equal(grad, results[0][1])
    logits = [
        _core.network_forward(params, X, sizes, ["relu", "relu"], n_threads=t)
        for t in (1, 2, 4)
    ]
    assert np.array_equal(logits[0], logits[1])
    assert np.array_equal(logits[0], logits[2])


def test_integer_sample_weight_equals_repeated_rows():
    sizes = [3, 5, 2]
    params, X, targets, _ = make_problem("sigmoid", sizes, n=20, seed=6)
    counts = np.arange(20) % 3 + 1.0
    loss, grad = _core.network_loss_gradient(
        params, X, targets, counts, sizes, ["tanh"], "sigmoid"
    )
    repeat = np.repeat(np.arange(20), counts.astype(int))
    loss_rep, grad_rep = _core.network_loss_gradient(
        params,
        np.ascontiguousarray(X[repeat]),
        np.ascontiguousarray(targets[repeat]),
        None,
        sizes,
        ["tanh"],
        "sigmoid",
    )
    np.testing.assert_allclose(loss, loss_rep, rtol=1e-12, atol=0)
    np.testing.assert_allclose(grad, grad_rep, rtol=1e-10, atol=1e-12)


def test_bad_arguments_raise_value_error():
    sizes = [3, 4, 2]
    params, X, targets, _ = make_problem("softmax", sizes)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        _core.network_loss_gradient(
            params, X, targets, None, sizes, ["swish"], "softmax"
        )
    with pytest.raises(ValueError, match="params must be 1-D with 26 values; got 25"):
        _core.network_loss_gradient(
            params[:-1], X, targets, None, sizes, ["relu"], "softmax"
        )
    bad_targets = targets.copy()
    bad_targets[3] = 2
    with pytest.raises(
        ValueError, match=r"targets\[3\] = 2 is not a class index in \[0, 2\)"
    ):
        _core.network_loss_gradient(
            params, X, bad_targets, None, sizes, ["relu"], "softmax"
        )
    with pytest.raises(ValueError, match="layer_sizes\\[1\\] must be >= 1; got 0"):
        _core.network_forward(params, X, [3, 0, 2], ["relu"])
