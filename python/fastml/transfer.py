"""Transfer learning: reuse the layers of a fitted network on a new task."""

import copy
import numbers

import numpy as np
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from ._configurable import Configurable


def fine_tune(
    source_model,
    X,
    y,
    *,
    replace_output=True,
    freeze="hidden",
    sample_weight=None,
    unfreeze_epochs=0,
    unfreeze_learning_rate=None,
    **params,
):
    """Train a copy of a fitted MLP on (X, y), starting from its weights.

    The new model has the source's architecture and parameters, updated by
    ``params`` (for example ``learning_rate`` or ``max_epochs``). Its hidden
    layers start from the source's fitted weights; the source is not
    changed.

    Parameters
    ----------
    source_model : fitted MLPClassifier or MLPRegressor
        The new model has the source's class, so a regressor source is
        fine-tuned on numeric targets only. To learn class labels, start
        from an MLPClassifier.
    X : array-like of shape (n_samples, n_features)
        Same features as the source was trained on, so ``n_features`` must
        equal the source's.
    y : array-like
        Targets of the new task.
    replace_output : bool, default=True
        Draw a fresh output layer sized for the new targets (new classes).
        False also copies the source's output layer, which requires the same
        classes (classifier) or number of outputs (regressor).
    freeze : None, "hidden", int, str or list, default="hidden"
        Parameters kept fixed during the first phase, as the estimator's
        ``freeze``. "hidden" trains only the output layer.
    sample_weight : array-like of shape (n_samples,), optional
    unfreeze_epochs : int >= 0, default=0
        Epochs of a second phase that trains every layer, starting from the
        first phase's weights with fresh optimizer state. 0 skips it.
    unfreeze_learning_rate : float > 0, optional
        Learning rate of the second phase; by default a tenth of the first
        phase's, so the pretrained layers move little.
    **params
        Estimator parameters for the new model. ``hidden_layer_sizes``, if
        given, must equal the source's hidden layer sizes, because the new
        model starts from the source's layers.

    Returns
    -------
    model : a new fitted estimator of the source's class. Its ``history_``
        and ``n_iter_`` cover both phases, and ``freeze`` is the first
        phase's value.

    Raises
    ------
    TypeError
        If ``source_model`` is not an MLPClassifier or MLPRegressor, or
        ``replace_output`` is not a bool.
    sklearn.exceptions.NotFittedError
        If ``source_model`` is not fitted.
    ValueError
        If the source is an MLPRegressor and ``y`` contains labels that are not
        numbers, if ``X`` has another number of features than the source, if
        the hidden layer sizes differ from the source's, if
        ``replace_output=False`` and ``y`` has other classes or another number
        of outputs than the source, if ``params`` contains ``warm_start``
        (which fine_tune sets itself), or if an argument is invalid. These
        checks run before any training.
    """
    from .neural_network import MLPClassifier, MLPRegressor

    if not isinstance(source_model, (MLPClassifier, MLPRegressor)):
        raise TypeError(
            "fine_tune: source_model must be a fitted MLPClassifier or MLPRegressor, "
            f"whose layers the new model starts from; got {source_model!r} of type "
            f"{type(source_model).__name__}."
        )
    check_is_fitted(source_model, "layers_")
    if not isinstance(replace_output, (bool, np.bool_)):
        raise TypeError(
            f"fine_tune: replace_output must be True or False; got {replace_output!r} "
            f"of type {type(replace_output).__name__}."
        )
    if isinstance(source_model, MLPRegressor):
        _check_numeric_targets(source_model, y)
    if not isinstance(unfreeze_epochs, numbers.Integral) or unfreeze_epochs < 0:
        raise ValueError(
            f"unfreeze_epochs must be an int >= 0; got {unfreeze_epochs!r}."
        )
    if unfreeze_learning_rate is not None and not unfreeze_learning_rate > 0:
        raise ValueError(
            "unfreeze_learning_rate must be a float > 0 or None; got "
            f"{unfreeze_learning_rate!r}."
        )
    if "warm_start" in params:
        raise ValueError(
            f"fine_tune sets warm_start itself; got warm_start={params['warm_start']!r}. "
            "The first phase starts from the source's layers and the second from the "
            "first phase's weights, so remove the argument."
        )
    model = clone(source_model).set_params(freeze=freeze, warm_start=False, **params)
    _check_same_features(source_model, X)
    _check_same_hidden_layers(source_model, model, params)
    n_layers = len(source_model.layer_sizes_) - 1
    initial_layers = dict(source_model.layers_)
    if replace_output:
        del initial_layers[f"layers.{n_layers - 1}.weight"]
        del initial_layers[f"layers.{n_layers - 1}.bias"]
    elif isinstance(source_model, MLPRegressor):
        _check_same_outputs(source_model, y)
    else:
        _check_same_classes(source_model, y)

    model._initial_layers = initial_layers
    try:
        model.fit(X, y, sample_weight=sample_weight)
    finally:
        del model._initial_layers

    if unfreeze_epochs > 0:
        first_params = model.get_params(deep=False)
        first_history, first_epochs = model.history_, model.n_iter_
        learning_rate = unfreeze_learning_rate or model._base_learning_rate() / 10
        if isinstance(model.optimizer, Configurable):
            # An optimizer object's own rate is the one used: set it on a
            # copy, so that the caller's object keeps its rate, and set
            # learning_rate to match, so that fit finds no conflict.
            rate = {"optimizer": copy.deepcopy(model.optimizer), "learning_rate": learning_rate}
            rate["optimizer"].set_params(learning_rate=learning_rate)
        else:
            rate = {"learning_rate": learning_rate}
        model.set_params(
            freeze=None, warm_start=True, max_epochs=int(unfreeze_epochs), **rate
        )
        model.fit(X, y, sample_weight=sample_weight)
        model.set_params(**first_params)
        for key, values in first_history.items():
            model.history_[key] = values + model.history_.get(key, [])
        model.n_iter_ += first_epochs
    return model


def _check_numeric_targets(source_model, y):
    """Raise ValueError when a regressor source is given labels that are not numbers."""
    targets = np.asarray(y)
    if targets.dtype.kind not in "USO":
        return
    try:
        targets.astype(np.float64)
    except (TypeError, ValueError):
        examples = np.unique(np.ravel(targets).astype(str))[:3].tolist()
        raise ValueError(
            f"fine_tune: the source is a {type(source_model).__name__}, so the new "
            "model is a regressor and y must contain numbers; got labels such as "
            f"{examples!r}. To learn class labels, fine-tune an MLPClassifier "
            "source."
        ) from None


def _check_same_features(source_model, X):
    """Raise ValueError when X has another number of columns than the source's input."""
    try:
        shape = np.shape(X)
    except ValueError:
        return  # fit reports a ragged X.
    if len(shape) != 2:
        return  # fit reports an X that is not 2-D.
    n_features = source_model.layer_sizes_[0]
    if shape[1] != n_features:
        raise ValueError(
            f"fine_tune: X has {shape[1]} features, but the source "
            f"{type(source_model).__name__} was trained on {n_features}, and its "
            "first layer takes exactly that many inputs. Pass X with the source's "
            f"{n_features} features, in the same order."
        )
    # Column names, where both have them: the first layer reads features by
    # position, so reordered or renamed columns would feed it the wrong ones.
    names = getattr(source_model, "feature_names_in_", None)
    columns = getattr(X, "columns", None)
    if names is not None and columns is not None:
        column_names = [str(column) for column in columns]
        if column_names != [str(name) for name in names]:
            first_columns = column_names[:5] + (
                ["..."] if len(column_names) > 5 else []
            )
            raise ValueError(
                f"fine_tune: X's columns {first_columns} "
                f"differ from the features the source was trained on, "
                f"{list(names)[:5]}{'...' if len(names) > 5 else ''}. Select and "
                "order X's columns as the source's feature_names_in_."
            )


def _check_same_hidden_layers(source_model, model, params):
    """Raise ValueError when the new model's hidden layers differ from the source's."""
    hidden = model._validate_params()
    source_hidden = tuple(source_model.layer_sizes_[1:-1])
    if hidden == source_hidden:
        return
    if "hidden_layer_sizes" in params:
        origin = f"hidden_layer_sizes={params['hidden_layer_sizes']!r} was passed"
    else:
        origin = (
            "the source's hidden_layer_sizes parameter is "
            f"{source_model.hidden_layer_sizes!r}, which no longer matches them"
        )
    raise ValueError(
        f"fine_tune: the source's fitted hidden layers have sizes {source_hidden}, "
        f"but {origin}, which gives {hidden}. Fine-tuning starts from the source's "
        "layers, so do not change hidden_layer_sizes; to train another "
        "architecture, fit a new model."
    )


def _check_same_outputs(source_model, y):
    """Raise ValueError when y has another number of outputs than the source."""
    n_outputs = np.shape(y)[1] if np.ndim(y) == 2 else 1
    source_outputs = source_model.layer_sizes_[-1]
    if n_outputs != source_outputs:
        raise ValueError(
            "fine_tune: replace_output=False keeps the source's output layer, which "
            f"has {source_outputs} outputs, but y has {n_outputs}. Pass y with "
            f"{source_outputs} outputs, or replace_output=True to train a new "
            f"output layer for {n_outputs}."
        )


def _check_same_classes(source_model, y):
    if not hasattr(source_model, "classes_"):
        return
    if source_model.multilabel_:
        width = np.shape(y)[1] if np.ndim(y) == 2 else 1
        same = width == len(source_model.classes_)
    else:
        same = np.array_equal(np.unique(np.ravel(y)), source_model.classes_)
    if not same:
        raise ValueError(
            "replace_output=False keeps the source's output layer, so y must have the "
            f"source's classes {source_model.classes_!r}. Use replace_output=True for "
            "new classes."
        )
