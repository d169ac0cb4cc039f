"""The demo: logistic and softmax regression on two bundled real data sets.

Each data set is split once into training, validation and test parts with a
fixed seed and standardized with statistics of the training part. Every
model is trained with full-batch gradient descent, mini-batch SGD and Adam.
The report gives its epochs, fit time, training cost (mean log loss plus
penalty), validation cost (mean log loss), test accuracy and test log loss.
"""

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from . import datasets, losses
from .linear_model import LogisticRegression

SEED = 0

# (label, optimizer, batch_size, learning_rate) of each run.
OPTIMIZER_RUNS = (
    ("full-batch GD", "sgd", None, 0.5),
    ("mini-batch SGD", "sgd", 32, 0.05),
    ("Adam", "adam", 32, 0.002),
)


def split_and_scale(X, y, seed=SEED):
    """Split 60/20/20 (stratified) and standardize on the training part."""
    X_train, X_rest, y_train, y_rest = train_test_split(
        X, y, test_size=0.4, stratify=y, random_state=seed
    )
    X_val, X_test, y_val, y_test = train_test_split(
        X_rest, y_rest, test_size=0.5, stratify=y_rest, random_state=seed
    )
    scaler = StandardScaler().fit(X_train)
    return (
        scaler.transform(X_train),
        scaler.transform(X_val),
        scaler.transform(X_test),
        y_train,
        y_val,
        y_test,
    )


def mean_log_loss(model, X, y):
    """Mean cross-entropy of a fitted classifier, computed from its logits."""
    logits = model.decision_function(X)
    indices = np.searchsorted(model.classes_, y)
    if logits.ndim == 1:
        return float(losses.binary_cross_entropy(logits, indices.astype(np.float64)))
    return float(losses.softmax_cross_entropy(logits, indices))


def run_linear_models(max_epochs=300):
    """Train every (data set, optimizer) pair and return one row per run."""
    problems = (
        ("breast cancer", "logistic", datasets.load_breast_cancer()),
        ("digits", "softmax", datasets.load_digits()),
    )
    rows = []
    for data_name, model_name, (X, y) in problems:
        X_train, X_val, X_test, y_train, y_val, y_test = split_and_scale(X, y)
        for label, optimizer, batch_size, learning_rate in OPTIMIZER_RUNS:
            model = LogisticRegression(
                optimizer=optimizer,
                batch_size=batch_size,
                learning_rate=learning_rate,
                alpha=1e-3,
                max_epochs=max_epochs,
                tol=1e-5,
                random_state=SEED,
            )
            start = time.perf_counter()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                model.fit(X_train, y_train)
            seconds = time.perf_counter() - start
            rows.append(
                {
                    "dataset": data_name,
                    "model": model_name,
                    "optimizer": label,
                    "epochs": model.n_iter_,
                    "converged": not any(
                        issubclass(w.category, ConvergenceWarning) for w in caught
                    ),
                    "fit_seconds": seconds,
                    "train_cost": model.history_["train_cost"][-1],
                    "val_cost": mean_log_loss(model, X_val, y_val),
                    "test_accuracy": float(model.score(X_test, y_test)),
                    "test_log_loss": mean_log_loss(model, X_test, y_test),
                }
            )
    return rows


COLUMNS = (
    ("dataset", "data set", "{}"),
    ("model", "model", "{}"),
    ("optimizer", "optimizer", "{}"),
    ("epochs", "epochs", "{}"),
    ("fit_seconds", "fit s", "{:.3f}"),
    ("train_cost", "train cost", "{:.4f}"),
    ("val_cost", "val cost", "{:.4f}"),
    ("test_accuracy", "test acc", "{:.3f}"),
    ("test_log_loss", "test log loss", "{:.4f}"),
)


def format_table(rows, columns=COLUMNS):
    """Render rows as a plain-text table with a header line."""
    cells = [[fmt.format(row[key]) for key, _, fmt in columns] for row in rows]
    headers = [title for _, title, _ in columns]
    widths = [
        max(len(headers[i]), *(len(line[i]) for line in cells)) for i in range(len(headers))
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths))]
    lines.append("  ".join("-" * w for w in widths))
    for line in cells:
        lines.append("  ".join(c.ljust(w) for c, w in zip(line, widths)))
    return "\n".join(lines)


def run_demo(quick=False):
    """Run every section of the demo and return the report as a dict."""
    return {"linear_models": run_linear_models(max_epochs=60 if quick else 300)}


def format_report(report):
    """Render the demo report as text."""
    sections = [
        "Logistic and softmax regression (60/20/20 split, seed 0)",
        format_table(report["linear_models"]),
    ]
    return "\n".join(sections)
