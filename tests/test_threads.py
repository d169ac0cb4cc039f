"""Training with several threads: forked processes and concurrent callers.

The training steps share their work with a process-wide pool of worker
threads. A child made by fork() starts its own pool, and two Python threads
that train at the same time each get the same bits as training alone.
"""

import multiprocessing
import threading
import warnings

import numpy as np
import pytest

from fastml import LogisticRegression, MLPClassifier


def wide_problem(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(3000, 200)).astype(np.float32)
    y = np.argmax(X @ rng.normal(size=(200, 3)), axis=1)
    return X, y


def network(n_threads=2):
    return MLPClassifier(
        hidden_layer_sizes=(96,),
        batch_size=128,
        max_epochs=2,
        tol=0.0,
        random_state=0,
        n_threads=n_threads,
    )


def logistic(n_threads=2):
    return LogisticRegression(
        optimizer="adam",
        learning_rate=1e-3,
        batch_size=256,
        max_epochs=2,
        tol=0.0,
        random_state=0,
        n_threads=n_threads,
    )


def fit_quietly(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, y)


def _fit_in_child(queue):
    X, y = wide_problem()
    model = fit_quietly(network(), X, y)
    queue.put((model.layers_["layers.0.weight"], model.predict_proba(X[:5])))


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs fork()"
)
def test_forked_child_trains_after_parent_used_workers():
    X, y = wide_problem()
    parent = fit_quietly(network(), X, y)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    with warnings.catch_warnings():
        # Python 3.12 warns that forking a process with threads may deadlock;
        # this test checks that it does not.
        warnings.simplefilter("ignore", DeprecationWarning)
        child = context.Process(target=_fit_in_child, args=(queue,))
        child.start()
    weight, proba = queue.get(timeout=120)
    child.join(timeout=60)
    assert child.exitcode == 0
    np.testing.assert_array_equal(weight, parent.layers_["layers.0.weight"])
    np.testing.assert_array_equal(proba, parent.predict_proba(X[:5]))


# warnings.catch_warnings is not thread-safe, so the filter is set for the
# whole test instead.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("make_model", [network, logistic])
def test_concurrent_fits_match_fits_alone(make_model):
    X, y = wide_problem(seed=1)
    alone = fit_quietly(make_model(n_threads=1), X, y)
    results = [None] * 3

    def train(i):
        try:
            results[i] = make_model(n_threads=2).fit(X, y)
        except Exception as error:  # reported below, in the test's thread
            results[i] = error

    threads = [threading.Thread(target=train, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for model in results:
        if isinstance(model, Exception):
            raise model
        if hasattr(alone, "layers_"):
            for name, array in alone.layers_.items():
                np.testing.assert_array_equal(model.layers_[name], array)
        else:
            np.testing.assert_array_equal(model.coef_, alone.coef_)
            np.testing.assert_array_equal(model.intercept_, alone.intercept_)
