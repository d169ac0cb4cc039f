"""Model selection and bias-variance diagnosis on the diabetes data, for the demo.

The data are split once into training, validation and test parts. The
model is a polynomial of body mass index and the serum measurement s5, the
two features most correlated with disease progression in this data (|r| of
0.59 and 0.57), fitted by ``fastml.LinearRegression`` with an L2 penalty.
The degree (1 to 10) and alpha are chosen on the validation cost, and the
test cost of the chosen model is computed once. Two deliberately bad models
are then diagnosed.
"""

import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from ._evaluation import cost
from .datasets import load_diabetes
from .diagnostics import diagnose
from .linear_model import LinearRegression
from .model_selection import select_model, train_val_test_split

SEED = 0
FEATURES = (2, 8)  # body mass index and s5 (log of serum triglycerides)
DEGREES = tuple(range(1, 11))
ALPHAS = (0.0, 1e-3, 1e-2, 1e-1, 1.0)
UNDERFIT = dict(degree=1, alpha=100.0)
OVERFIT = dict(degree=10, alpha=0.0, n_train=20)


def polynomial_model(degree, alpha):
    """Polynomial features of the given degree, standardized, then ridge regression."""
    return make_pipeline(
        PolynomialFeatures(degree, include_bias=False),
        StandardScaler(),
        LinearRegression(
            penalty="l2" if alpha > 0 else None, alpha=alpha, max_epochs=2000
        ),
    )


def selection_report(quick=False):
    """Choose degree and alpha on the validation set and diagnose two bad models.

    With ``quick`` the grid shrinks to degrees 1-4 and three alphas. Returns a
    dict with the grid table, the chosen degree and alpha, its validation and
    test cost (J = 1/(2m) * sum(err^2), in squared target units), and the
    verdicts and report text of the underfitting and the overfitting model.
    """
    X, y = load_diabetes()
    X = X[:, FEATURES]
    X_train, X_val, X_test, y_train, y_val, y_test = train_val_test_split(
        X, y, val_size=0.2, test_size=0.2, random_state=SEED
    )
    degrees = DEGREES[:4] if quick else DEGREES
    alphas = ALPHAS[::2] if quick else ALPHAS
    candidates = [polynomial_model(d, a) for d in degrees for a in alphas]
    settings = [dict(degree=d, alpha=a) for d in degrees for a in alphas]

    # The unpenalized high-degree candidates are ill-conditioned on purpose;
    # their warnings belong to the comparison, not to the user.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        selection = select_model(candidates, X_train, y_train, X_val, y_val)
        chosen = settings[selection.best_index]
        test_cost = cost(selection.best_estimator, X_test, y_test, classifier=False)

        underfit = diagnose(
            polynomial_model(UNDERFIT["degree"], UNDERFIT["alpha"]),
            X_train,
            y_train,
            X_val,
            y_val,
        )
        n = OVERFIT["n_train"]
        overfit = diagnose(
            polynomial_model(OVERFIT["degree"], OVERFIT["alpha"]),
            X_train[:n],
            y_train[:n],
            X_val,
            y_val,
        )

    table = [
        dict(
            settings[i],
            train_cost=float(row["train_cost"]),
            val_cost=float(row["val_cost"]),
        )
        for i, row in enumerate(selection.table)
    ]
    return {
        "features": ["bmi", "s5"],
        "grid": table,
        "chosen_degree": chosen["degree"],
        "chosen_alpha": chosen["alpha"],
        "chosen_val_cost": float(selection.val_cost[selection.best_index]),
        "test_cost": float(test_cost),
        "underfit": dict(UNDERFIT, verdict=underfit.verdict, report=str(underfit)),
        "overfit": dict(OVERFIT, verdict=overfit.verdict, report=str(overfit)),
    }
