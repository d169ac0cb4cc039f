"""fastml: linear models and small dense networks trained by a C++ core."""

from importlib.metadata import PackageNotFoundError, version

from . import activations, datasets, diagnostics, losses, model_selection, transfer
from .linear_model import LinearRegression, LogisticRegression
from .neural_network import MLPClassifier, MLPRegressor
from .weights import load_model, load_weights, save_weights

try:
    __version__ = version("fastml")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"

__all__ = [
    "LinearRegression",
    "LogisticRegression",
    "MLPClassifier",
    "MLPRegressor",
    "activations",
    "datasets",
    "diagnostics",
    "load_model",
    "load_weights",
    "losses",
    "model_selection",
    "save_weights",
    "transfer",
    "__version__",
]
