"""fastml: logistic, softmax and linear models trained by a C++ core."""

from importlib.metadata import PackageNotFoundError, version

from . import activations, datasets, losses
from .linear_model import LinearRegression, LogisticRegression

try:
    __version__ = version("fastml")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"

__all__ = [
    "LinearRegression",
    "LogisticRegression",
    "activations",
    "datasets",
    "losses",
    "__version__",
]
