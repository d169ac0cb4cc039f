"""The optimizer comparison behind the demo."""

import math

from fastml._demo_linear import optimizer_report

OPTIMIZERS = [
    "sgd",
    "momentum",
    "nesterov",
    "adagrad",
    "rmsprop",
    "adam",
    "adamw",
    "lbfgs",
]


def test_optimizer_report_rows():
    rows = optimizer_report(quick=True)
    softmax_rows = [row for row in rows if row["model"] == "softmax"]
    lasso_rows = [row for row in rows if row["model"] == "lasso"]
    assert [row["optimizer"] for row in softmax_rows] == OPTIMIZERS
    assert len(lasso_rows) == 1
    for row in softmax_rows:
        assert 1 <= row["epochs"] <= 20
        assert row["fit_seconds"] > 0
        assert row["test_accuracy"] > 0.9
        assert isinstance(row["converged"], bool)
    lasso = lasso_rows[0]
    assert lasso["n_coefficients"] == 10
    assert 1 <= lasso["zero_coefficients"] < 10
    assert 0.2 < lasso["test_r2"] < 1
    assert math.isfinite(lasso["fit_seconds"])
