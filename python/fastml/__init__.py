"""fastml: logistic, softmax and linear models trained by a C++ core."""

from importlib.metadata import PackageNotFoundError, version

from . import activations, datasets, diagnostics, losses, model_selection
from .linear_model import LogisticRegression

try:
    __version__ = version("fastml")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"

__all__ = [
    "LogisticRegression",
    "activations",
    "datasets",
    "diagnostics",
    "losses",
    "model_selection",
    "__version__",
]
