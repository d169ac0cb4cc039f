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
        max(len(headers[i]), *(len(line[i]) for line in cells))
        for i in range(len(headers))
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths))]
    lines.append("  ".join("-" * w for w in widths))
    for line in cells:
        lines.append("  ".join(c.ljust(w) for c, w in zip(line, widths)))
    return "\n".join(lines)


OPTIMIZER_COLUMNS = (
    ("optimizer", "optimizer", "{}"),
    ("epochs", "epochs", "{}"),
    ("fit_seconds", "fit s", "{:.3f}"),
    ("test_accuracy", "test acc", "{:.3f}"),
    ("converged", "converged", "{}"),
)

GRID_COLUMNS = (
    ("degree", "degree", "{}"),
    ("alpha", "alpha", "{:g}"),
    ("train_cost", "train cost", "{:.1f}"),
    ("val_cost", "val cost", "{:.4g}"),
)


def run_demo(quick=False):
    """Run every section of the demo and return the report as a dict."""
    from ._demo_linear import optimizer_report
    from ._demo_networks import mlp_vs_softmax_report, transfer_report
    from ._demo_selection import selection_report

    rows = optimizer_report(quick=quick)
    return {
        "linear_models": run_linear_models(max_epochs=60 if quick else 300),
        "optimizers": [row for row in rows if row["model"] == "softmax"],
        "lasso": next(row for row in rows if row["model"] == "lasso"),
        "model_selection": selection_report(quick=quick),
        "mlp_vs_softmax": mlp_vs_softmax_report(quick=quick),
        "transfer": transfer_report(quick=quick),
    }


def _format_optimizers(report):
    lasso = report["lasso"]
    return [
        "Every optimizer on the digits (softmax regression, mini-batches of 64; "
        "L-BFGS full batch)",
        format_table(report["optimizers"], OPTIMIZER_COLUMNS),
        "",
        f"Lasso on the diabetes data (alpha={lasso['alpha']:g}, OWL-QN): "
        f"{lasso['zero_coefficients']} of {lasso['n_coefficients']} coefficients "
        f"exactly zero, test R^2 {lasso['test_r2']:.3f}",
    ]


def _format_selection(selection):
    best = {}
    for row in selection["grid"]:
        if (
            row["degree"] not in best
            or row["val_cost"] < best[row["degree"]]["val_cost"]
        ):
            best[row["degree"]] = row
    lines = [
        "Polynomial degree and alpha chosen on the validation set (diabetes, "
        "features bmi and s5; best alpha per degree shown)",
        format_table(list(best.values()), GRID_COLUMNS),
        f"chosen: degree {selection['chosen_degree']}, alpha "
        f"{selection['chosen_alpha']:g}; validation cost "
        f"{selection['chosen_val_cost']:.1f}, test cost (computed once) "
        f"{selection['test_cost']:.1f}",
    ]
    underfit, overfit = selection["underfit"], selection["overfit"]
    lines += [
        "",
        f"Underfitting model (degree {underfit['degree']}, alpha "
        f"{underfit['alpha']:g}): {underfit['verdict']}",
        underfit["report"],
        "",
        f"Overfitting model (degree {overfit['degree']}, no penalty, "
        f"{overfit['n_train']} training rows): {overfit['verdict']}",
        overfit["report"],
    ]
    return lines


def _format_networks(report):
    versus = report["mlp_vs_softmax"]
    transfer = report["transfer"]
    lead = "ahead of" if transfer["difference"] > 0 else "behind"
    return [
        "Dense network against softmax regression on all ten digits "
        f"({versus['n_splits']} splits)",
        f"  MLP test accuracy {versus['mlp_accuracy']:.3f}, softmax regression "
        f"{versus['softmax_accuracy']:.3f} ({versus['difference'] * 100:+.1f} points)",
        "",
        f"Transfer learning: pretrained on digits 0-4, then digits 5-9 from "
        f"{transfer['labelled_per_class']} labelled images per class "
        f"({transfer['n_draws']} draws)",
        f"  pretraining set: {transfer['n_pretraining_images']} mirrored, rotated "
        f"and shifted copies of the 0-4 images, {transfer['n_source_classes']} "
        "classes (digit and orientation)",
        "  test accuracy on the digits 5-9:",
        f"    fine-tuned, hidden layer frozen:     "
        f"{transfer['fine_tuned_accuracy']:.3f}",
        f"    fine-tuned, then all layers trained: "
        f"{transfer['fine_tuned_unfrozen_accuracy']:.3f}",
        f"    from scratch, same budget:           {transfer['scratch_accuracy']:.3f} "
        f"(training accuracy {transfer['scratch_train_accuracy']:.3f})",
        f"  frozen fine-tuning is {abs(transfer['difference']) * 100:.1f} points "
        f"{lead} training from scratch (won {transfer['draws_won_by_fine_tuning']} of "
        f"{transfer['n_draws']} draws)",
    ]


def format_report(report):
    """Render the demo report as text."""
    sections = [
        [
            "Logistic and softmax regression (60/20/20 split, seed 0)",
            format_table(report["linear_models"]),
        ],
        _format_optimizers(report),
        _format_selection(report["model_selection"]),
        _format_networks(report),
    ]
    return "\n\n".join("\n".join(section) for section in sections)
