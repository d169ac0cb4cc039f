"""Results do not depend on where the input or the output sits in memory.

Vectorized code that starts at the first aligned address computes the values
before it differently, so the same input could give different bits from one
call to the next. Each check runs a function on the same values placed at
every offset from a 64-byte boundary, while arrays of varying sizes are
allocated in between so that the outputs land at varying offsets as well.
"""

import warnings

import numpy as np
import pytest

from fastml import LogisticRegression, MLPClassifier, activations, losses


def at_offset(values, offset):
    """Return a C-contiguous copy of ``values`` starting ``offset`` elements into a buffer."""
    flat = values.ravel()
    buffer = np.empty(flat.size + 16, dtype=values.dtype)
    view = buffer[offset : offset + flat.size]
    view[...] = flat
    return view.reshape(values.shape)


def results_at_many_placements(function, values, calls=48):
    rng = np.random.default_rng(0)
    padding = []
    results = []
    for call in range(calls):
        padding.append(np.empty(int(rng.integers(1, 64)) * 8, dtype=np.uint8))
        output = function(at_offset(values, call % 16))
        results.append(np.array(output, copy=True))
    return results


def assert_same_bits(results):
    for result in results[1:]:
        assert np.array_equal(result, results[0], equal_nan=True)


@pytest.fixture(params=[np.float64, np.float32], ids=["float64", "float32"])
def float_dtype(request):
    return request.param


def test_elementwise_activations(float_dtype):
    z = (np.random.default_rng(1).standard_normal(203) * 8).astype(float_dtype)
    for function in (activations.sigmoid, activations.log_sigmoid):
        assert_same_bits(results_at_many_placements(function, z))


def test_row_activations(float_dtype):
    z = (np.random.default_rng(2).standard_normal((61, 37)) * 8).astype(float_dtype)
    for function in (activations.softmax, activations.log_softmax):
        assert_same_bits(results_at_many_placements(function, z))


def test_losses_and_gradients(float_dtype):
    rng = np.random.default_rng(3)
    z1 = (rng.standard_normal(203) * 8).astype(float_dtype)
    y1 = (rng.uniform(size=203) > 0.5).astype(float_dtype)
    z2 = (rng.standard_normal((61, 37)) * 8).astype(float_dtype)
    t2 = rng.integers(0, 37, size=61)
    checks = [
        (lambda z: losses.binary_cross_entropy(z, y1, reduction="none"), z1),
        (lambda z: losses.binary_cross_entropy(z, y1, return_grad=True)[1], z1),
        (lambda z: losses.softmax_cross_entropy(z, t2, reduction="none"), z2),
        (lambda z: losses.softmax_cross_entropy(z, t2, return_grad=True)[1], z2),
    ]
    # Probability rows as targets, placed at every offset as well.
    soft = rng.dirichlet(np.ones(37), size=61).astype(float_dtype)
    checks += [
        (lambda y: losses.softmax_cross_entropy(z2, y, return_grad=True)[1], soft),
        (lambda y: losses.softmax_cross_entropy(z2, y, reduction="none"), soft),
    ]
    for function, values in checks:
        assert_same_bits(results_at_many_placements(function, values))


def test_fitted_model_predictions(float_dtype):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((300, 5)).astype(float_dtype)
    labels = np.digitize(X[:, 1] + 0.3 * X[:, 0], [-1.0, 0.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        binary = LogisticRegression(max_epochs=20).fit(X, X[:, 0] > 0)
        softmax = LogisticRegression(max_epochs=20).fit(X, labels)
        network = MLPClassifier(hidden_layer_sizes=(9,), max_epochs=3, random_state=0)
        network.fit(X, labels)
    for function in (
        binary.predict_proba,
        softmax.predict_proba,
        softmax.predict_log_proba,
        network.predict_proba,
    ):
        assert_same_bits(results_at_many_placements(function, X))


@pytest.mark.parametrize(
    "make_model",
    [
        lambda: LogisticRegression(optimizer="lbfgs", max_epochs=30),
        lambda: LogisticRegression(optimizer="adam", batch_size=32, max_epochs=3, random_state=0),
        lambda: MLPClassifier(hidden_layer_sizes=(7,), max_epochs=3, random_state=0),
    ],
    ids=["lbfgs", "adam", "network"],
)
def test_training_at_every_offset(make_model, float_dtype):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((203, 19)).astype(float_dtype)
    labels = np.digitize(X[:, 0] - X[:, 3], [-0.5, 0.5])
    fitted = []
    for offset in range(16):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = make_model().fit(at_offset(X, offset), labels)
        fitted.append(model.coef_ if hasattr(model, "coef_") else model.layers_["layers.0.weight"])
    assert_same_bits(fitted)


@pytest.mark.parametrize("n_classes", [3, 13])
def test_rows_of_whole_packets_at_every_offset(n_classes, float_dtype):
    # Rows of 32 values fill whole packets, so X is read with aligned loads
    # from the boundary before it wherever it starts; 13 classes take two
    # sweeps of the gradient.
    rng = np.random.default_rng(6)
    X = rng.standard_normal((301, 32)).astype(float_dtype)
    labels = rng.integers(0, n_classes, size=301)
    fitted = []
    for offset in range(16):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = LogisticRegression(optimizer="lbfgs", max_epochs=15).fit(at_offset(X, offset), labels)
        fitted.append(np.concatenate([model.coef_.ravel(), model.intercept_]))
    assert_same_bits(fitted)
    for function in (model.decision_function, model.predict_proba):
        assert_same_bits(results_at_many_placements(function, X))
