"""fastml: logistic, softmax and linear models trained by a C++ core."""

from importlib.metadata import PackageNotFoundError, version

from . import activations, datasets, losses, transfer
from .linear_model import LogisticRegression
from .neural_network import MLPClassifier, MLPRegressor
from .weights import load_model, load_weights, save_weights

try:
    __version__ = version("fastml")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"

__all__ = ["LogisticRegression", "activations", "datasets", "losses", "__version__"]
__all__ += ["MLPClassifier", "MLPRegressor", "transfer"]
__all__ += ["load_model", "load_weights", "save_weights"]
