"""The study's figures, drawn with matplotlib.

Each function draws on ``ax`` (a new figure when None) and returns the
:class:`matplotlib.axes.Axes`:

* :func:`plot_architecture`: a fitted LeNet's layers, output shapes and
  parameter counts (the study's figure 1);
* :func:`plot_learning_curve`: train and test accuracy against the
  training-set size with ± std bands (figures 2, 7, 9);
* :func:`plot_convergence`: train and validation accuracy per epoch of a
  model or of every member of an ensemble (figures 3, 8, 10);
* :func:`plot_roc_curves` and :func:`plot_confusion_matrix`: per-class
  one-vs-rest ROC curves and the confusion matrix of predictions;
* :func:`plot_misclassified` and :func:`plot_confused_pairs`: the digits a
  classifier gets wrong, most confident mistakes first, and the pairs of
  classes it confuses most;
* :func:`plot_intermediate_values`, :func:`plot_optimization_history` and
  :func:`plot_param_importances`: the Optuna figures of a
  :class:`~sklenet.LeNetSearchCV` (from :mod:`optuna.visualization.matplotlib`,
  which always draws on a new figure).
"""

from __future__ import annotations  # the pandas and Axes hints need no import

import math
import warnings
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import optuna
from matplotlib.patches import FancyBboxPatch
from optuna.trial import TrialState
from sklearn.metrics import ConfusionMatrixDisplay, RocCurveDisplay, roc_auc_score
from sklearn.model_selection import LearningCurveDisplay
from sklearn.utils.validation import check_is_fitted

from ._compat import roc_curve_line
from ._typing import ArrayLike

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = [
    "plot_architecture",
    "plot_confusion_matrix",
    "plot_convergence",
    "plot_intermediate_values",
    "plot_learning_curve",
    "plot_confused_pairs",
    "plot_misclassified",
    "plot_optimization_history",
    "plot_param_importances",
    "plot_roc_curves",
]


def _axes(ax, figsize):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


# ------------------------------------------------------------ architecture
_LAYER_COLORS = {
    "InputLayer": "#e0e0e0",
    "Conv2D": "#9ecae1",
    "Dense": "#fdae6b",
}
_POOLING_COLOR = "#a1d99b"


def _side(values):
    values = tuple(values)
    return "x".join(str(v) for v in values) if len(set(values)) > 1 else str(values[0])


def _layer_settings(layer):
    """'6 filters 5x5, tanh' and the like, from the layer's Keras config."""
    config = layer.get_config()
    parts = []
    if "filters" in config:
        parts.append(f"{config['filters']} filters {_side(config['kernel_size'])}")
    if "pool_size" in config:
        parts.append(
            f"{_side(config['pool_size'])}, stride {_side(config['strides'])}"
        )
    if "units" in config:
        parts.append(f"{config['units']} units")
    activation = config.get("activation")
    if activation not in (None, "linear"):
        parts.append(activation if isinstance(activation, str) else "custom")
    l2 = (config.get("kernel_regularizer") or {}).get("config", {}).get("l2")
    if l2:
        parts.append(f"L2 {l2:.3g}")
    return ", ".join(parts)


def _model_of(model):
    """The keras.Model of a fitted LeNet (``model_``) or a keras.Model."""
    return getattr(model, "model_", model)


def plot_architecture(model: Any, *, ax: Axes | None = None) -> Axes:
    """Draw a LeNet's layers as boxes: settings, output shape, parameters.

    Parameters
    ----------
    model : fitted LeNetClassifier or keras.Model
        A fitted estimator with ``model_``, or a Keras functional model.
    ax : matplotlib.axes.Axes, default=None
        Where to draw; None creates a figure sized to the number of layers.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklenet import build_lenet
    >>> from sklenet.plotting import plot_architecture
    >>> ax = plot_architecture(build_lenet((28, 28, 1), 10))
    >>> ax.get_title()
    'lenet: 15,626 parameters'
    """
    network = _model_of(model)
    layers = network.layers
    ax = _axes(ax, figsize=(6.4, 0.62 * len(layers) + 0.6))
    height = 0.72
    for row, layer in enumerate(layers):
        y = len(layers) - 1 - row
        kind = type(layer).__name__
        color = _LAYER_COLORS.get(
            kind, _POOLING_COLOR if "Pooling" in kind else "#dadaeb"
        )
        ax.add_patch(FancyBboxPatch(
            (0.05, y - height / 2), 0.9, height,
            boxstyle="round,pad=0,rounding_size=0.08", facecolor=color,
            edgecolor="#444444", linewidth=0.8,
        ))
        shape = "x".join(str(side) for side in layer.output.shape[1:])
        settings = _layer_settings(layer)
        ax.text(0.08, y + 0.12, f"{layer.name}: {kind}"
                + (f"  ({settings})" if settings else ""),
                va="center", ha="left", fontsize=9, fontweight="bold")
        ax.text(0.08, y - 0.17, f"output {shape}    "
                f"{layer.count_params():,} parameters",
                va="center", ha="left", fontsize=8.5, color="#333333")
        if row:
            ax.annotate("", xy=(0.5, y + height / 2), xytext=(0.5, y + 1 - height / 2),
                        arrowprops={"arrowstyle": "->", "color": "#444444"})
    ax.set(xlim=(0, 1), ylim=(-0.6, len(layers) - 0.4))
    ax.set_axis_off()
    ax.set_title(f"{network.name}: {network.count_params():,} parameters")
    return ax


# ---------------------------------------------------------- learning curve
def plot_learning_curve(runs: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Mean train and test accuracy against the training-set size, ± 1 std.

    Parameters
    ----------
    runs : DataFrame
        The first result of :func:`sklenet.evaluation.repeated_learning_curve`
        (columns ``repeat``, ``train_size``, ``train_accuracy``,
        ``test_accuracy``).
    ax : matplotlib.axes.Axes, default=None
        Where to draw.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from sklenet.plotting import plot_learning_curve
    >>> runs = pd.DataFrame({"repeat": [0, 0, 1, 1], "train_size": [50, 100] * 2,
    ...                      "train_accuracy": [1.0, 0.98, 1.0, 0.97],
    ...                      "test_accuracy": [0.80, 0.88, 0.82, 0.87]})
    >>> plot_learning_curve(runs).get_ylabel()
    'Accuracy'
    """
    scores = {
        metric: runs.pivot(index="train_size", columns="repeat", values=metric)
        for metric in ("train_accuracy", "test_accuracy")
    }
    if len(scores["train_accuracy"]) < 2:
        raise ValueError(
            "A learning curve needs at least two training-set sizes; runs has "
            f"{len(scores['train_accuracy'])}."
        )
    display = LearningCurveDisplay(
        train_sizes=scores["train_accuracy"].index.to_numpy(),
        train_scores=scores["train_accuracy"].to_numpy(),
        test_scores=scores["test_accuracy"].to_numpy(),
        score_name="Accuracy",
    )
    display.plot(ax=_axes(ax, figsize=(6.4, 4.2)), std_display_style="fill_between")
    display.ax_.set_xlabel("Training-set size (images)")
    return display.ax_


# ------------------------------------------------------------- convergence
def _histories(model):
    """The per-epoch histories of a model, an ensemble, a dict or a list."""
    if isinstance(model, dict):
        return [model]
    if isinstance(model, (list, tuple)):
        return [history for item in model for history in _histories(item)]
    if hasattr(model, "history_"):
        return [model.history_]
    if hasattr(model, "estimators_"):
        return [history for member in model.estimators_
                for history in _histories(member)]
    raise TypeError(
        f"Cannot find a training history in {type(model).__name__}: pass a "
        "fitted estimator with history_, an ensemble with estimators_, a "
        "history dict or a list of them."
    )


def plot_convergence(model: Any, *, ax: Axes | None = None) -> Axes:
    """Train and validation accuracy after each epoch.

    Parameters
    ----------
    model : fitted estimator, ensemble, dict or list of dict
        A fitted LeNet (its ``history_``), an ensemble (every member's
        history, one pair of lines each), a history dict with ``accuracy``
        and optionally ``val_accuracy`` lists, or a list of those.
    ax : matplotlib.axes.Axes, default=None
        Where to draw.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklenet.plotting import plot_convergence
    >>> history = {"accuracy": [0.5, 0.8, 0.9], "val_accuracy": [0.6, 0.8, 0.85]}
    >>> ax = plot_convergence(history)
    >>> [line.get_label() for line in ax.get_lines()]
    ['train', 'validation', 'best epoch (3)']
    """
    histories = _histories(model)
    ax = _axes(ax, figsize=(6.4, 4.2))
    alpha = 1.0 if len(histories) == 1 else 0.6
    for index, history in enumerate(histories):
        for key, label, color in (("accuracy", "train", "C0"),
                                  ("val_accuracy", "validation", "C1")):
            values = history.get(key)
            if values:
                ax.plot(np.arange(1, len(values) + 1), values, color=color,
                        alpha=alpha, label=label if index == 0 else None)
    if len(histories) == 1 and histories[0].get("val_accuracy"):
        # The epoch early stopping keeps (restore_best_weights).
        best = int(np.argmax(histories[0]["val_accuracy"])) + 1
        ax.axvline(best, color="0.5", linestyle=":", label=f"best epoch ({best})")
    ax.set(xlabel="Epoch", ylabel="Accuracy")
    if len(histories) > 1:
        ax.set_title(f"{len(histories)} members")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    return ax


# ------------------------------------------------------- ROC and confusion
def plot_roc_curves(
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    labels: ArrayLike | None = None,
    ax: Axes | None = None,
) -> Axes:
    """One-vs-rest ROC curve of each class, with its AUC in the legend.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_score : array-like of shape (n_samples, n_classes)
        Class probabilities or scores, e.g. ``clf.predict_proba(X)``.
    labels : array-like of shape (n_classes,), default=None
        The class of each column of ``y_score`` (``clf.classes_``); None
        means the sorted labels of ``y_true``.
    ax : matplotlib.axes.Axes, default=None
        Where to draw.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklenet.plotting import plot_roc_curves
    >>> y = np.array([0, 1, 2, 0, 1, 2])
    >>> proba = np.eye(3)[[0, 1, 2, 1, 1, 2]] * 0.8 + 0.2 / 3
    >>> ax = plot_roc_curves(y, proba)
    >>> ax.get_legend().get_texts()[0].get_text()
    'class 0 (AUC 0.7500)'
    """
    y_true = np.asarray(y_true)
    y_score = np.asarray(y_score)
    labels = np.unique(y_true) if labels is None else np.asarray(labels)
    if y_score.ndim != 2 or y_score.shape[1] != len(labels):
        raise ValueError(
            f"y_score has shape {y_score.shape}, but there are {len(labels)} "
            "labels: pass one column per class and labels=clf.classes_."
        )
    ax = _axes(ax, figsize=(5.6, 5.2))
    for column, label in enumerate(labels):
        positive = y_true == label
        if not 0 < positive.sum() < len(y_true):
            continue  # no curve without positives and negatives
        auc = roc_auc_score(positive, y_score[:, column])
        RocCurveDisplay.from_predictions(
            positive, y_score[:, column], pos_label=True, ax=ax,
            **roc_curve_line(label=f"class {label} (AUC {auc:.4f})",
                             color=plt.cm.tab10(column % 10)),
        )
    ax.set(xlabel="False positive rate", ylabel="True positive rate")
    ax.legend(loc="lower right", fontsize=8)
    return ax


def plot_confusion_matrix(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    labels: ArrayLike | None = None,
    normalize: Literal["true", "pred", "all"] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """The confusion matrix of predictions, as sklearn's display draws it.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    labels : array-like, default=None
        Labels to index the matrix; None uses those in ``y_true`` and
        ``y_pred``, sorted.
    normalize : {"true", "pred", "all"} or None, default=None
        Normalise counts over the true rows, predicted columns or all.
    ax : matplotlib.axes.Axes, default=None
        Where to draw.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklenet.plotting import plot_confusion_matrix
    >>> plot_confusion_matrix([0, 1, 1], [0, 1, 0]).get_xlabel()
    'Predicted label'
    """
    display = ConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, labels=labels, normalize=normalize,
        ax=_axes(ax, figsize=(5.6, 5.2)), colorbar=False,
        values_format=None if normalize is None else ".2f",
    )
    return display.ax_


# ------------------------------------------------------------------ errors
def _labels_and_scores(y_true, y_score, labels):
    y_true = np.asarray(y_true)
    y_score = np.asarray(y_score, dtype=float)
    labels = np.unique(y_true) if labels is None else np.asarray(labels)
    if y_score.ndim != 2 or y_score.shape != (len(y_true), len(labels)):
        raise ValueError(
            f"y_score has shape {y_score.shape}; expected ({len(y_true)}, "
            f"{len(labels)}): one row per sample and one column per class, with "
            "labels=clf.classes_.")
    return y_true, y_score, labels


def _images(X, n_samples, image_shape):
    """``X`` as (n_samples, height, width) grey images."""
    from ._base import infer_image_shape  # imports Keras: only when drawn

    X = np.asarray(X)
    if len(X) != n_samples:
        raise ValueError(f"X has {len(X)} images, but y_true has {n_samples}.")
    if X.ndim == 2:
        height, width, channels = infer_image_shape(X.shape[1], image_shape)
        X = X.reshape(n_samples, height, width, channels)
    if X.ndim == 4:
        X = X.mean(axis=3)  # colour images in grey
    if X.ndim != 3:
        raise ValueError(f"X has shape {X.shape}; pass flat pixel rows or images.")
    return X


def plot_misclassified(
    X: ArrayLike,
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    labels: ArrayLike | None = None,
    max_images: int = 24,
    n_cols: int = 8,
    image_shape: tuple[int, ...] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """The images a classifier gets wrong, its most confident mistakes first.

    Each tile shows an image as the model saw it, with its true label, the
    predicted label and the probability the model gave that prediction.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_pixels) or (n_samples, H, W[, C])
        The images (flat rows, as the estimators take them).
    y_true : array-like of shape (n_samples,)
        True labels.
    y_score : array-like of shape (n_samples, n_classes)
        Class probabilities, e.g. ``clf.predict_proba(X)`` of any classifier.
    labels : array-like of shape (n_classes,), default=None
        The class of each column of ``y_score`` (``clf.classes_``); None
        means the sorted labels of ``y_true``.
    max_images : int, default=24
        At most this many mistakes are drawn.
    n_cols : int, default=8
        Tiles per row.
    image_shape : tuple, default=None
        ``(H, W)`` of flat rows; None infers a square image.
    ax : matplotlib.axes.Axes, default=None
        Where to draw (one mosaic image); None creates a figure.

    Returns
    -------
    matplotlib.axes.Axes
        Its title counts the mistakes; ``ax.texts`` holds each tile's
        caption, "true 4, predicted 9 (0.97)", in the order drawn.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklenet.plotting import plot_misclassified
    >>> X = np.arange(3 * 16).reshape(3, 16)
    >>> proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6]])
    >>> ax = plot_misclassified(X, [0, 0, 0], proba, labels=[0, 1])
    >>> [text.get_text() for text in ax.texts]
    ['true 0, predicted 1 (0.80)', 'true 0, predicted 1 (0.60)']
    """
    y_true, y_score, labels = _labels_and_scores(y_true, y_score, labels)
    images = _images(X, len(y_true), image_shape)
    predicted = y_score.argmax(axis=1)
    wrong = np.flatnonzero(labels[predicted] != y_true)
    confidence = y_score[wrong, predicted[wrong]]
    shown = wrong[np.argsort(-confidence, kind="stable")][:max_images]
    rows = max(1, math.ceil(len(shown) / n_cols))
    columns = min(n_cols, max(1, len(shown)))
    height, width = images.shape[1:]
    pad = max(1, height // 7)  # room between the tiles
    mosaic = np.full((rows * (height + pad), columns * (width + pad)), np.nan)
    ax = _axes(ax, figsize=(1.35 * columns + 0.4, 1.5 * rows + 0.6))
    for tile, index in enumerate(shown):
        row, column = divmod(tile, n_cols)
        top, left = row * (height + pad), column * (width + pad)
        mosaic[top:top + height, left:left + width] = images[index]
        ax.text(left + width / 2, top + height, f"true {y_true[index]}, predicted "
                f"{labels[predicted[index]]} ({y_score[index, predicted[index]]:.2f})",
                ha="center", va="top", fontsize=6)
    ax.imshow(mosaic, cmap="gray_r", interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(f"{len(wrong)} of {len(y_true)} images misclassified"
                 + (f", the {len(shown)} most confident" if len(shown) < len(wrong)
                    else ""), fontsize=9)
    return ax


def plot_confused_pairs(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    labels: ArrayLike | None = None,
    n_pairs: int = 10,
    ax: Axes | None = None,
) -> Axes:
    """The pairs of classes most often confused, as horizontal bars.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    labels : array-like, default=None
        The classes; None uses those in ``y_true`` and ``y_pred``.
    n_pairs : int, default=10
        How many pairs, the most frequent first (from the top).
    ax : matplotlib.axes.Axes, default=None
        Where to draw.

    Returns
    -------
    matplotlib.axes.Axes

    See Also
    --------
    sklenet.evaluation.confused_pairs : the same pairs as a DataFrame.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklenet.plotting import plot_confused_pairs
    >>> ax = plot_confused_pairs([4, 4, 4, 9, 9, 7], [9, 9, 4, 4, 9, 1])
    >>> [label.get_text() for label in ax.get_yticklabels()]
    ['4 as 9', '7 as 1', '9 as 4']
    """
    from .evaluation import confused_pairs  # imports TensorFlow: only when drawn

    pairs = confused_pairs(y_true, y_pred, labels=labels, n_pairs=n_pairs)
    ax = _axes(ax, figsize=(5.0, 0.3 * max(len(pairs), 1) + 1.0))
    names = [f"{true} as {predicted}" for true, predicted
             in zip(pairs["true"], pairs["predicted"])]
    ax.barh(np.arange(len(pairs)), pairs["count"], color="#c0392b")
    ax.set_yticks(np.arange(len(pairs)), names)
    ax.invert_yaxis()  # the most frequent on top
    for row, (count, share) in enumerate(zip(pairs["count"], pairs["share"])):
        ax.text(count, row, f" {count} ({share:.1%} of {pairs['true'].iloc[row]})",
                va="center", fontsize=8)
    ax.set(xlabel="Misclassified images", ylabel="true class as predicted class")
    ax.margins(x=0.25)
    return ax


# ------------------------------------------------------------------ Optuna
def _study(search):
    """The study of a fitted LeNetSearchCV, or the Study itself."""
    if isinstance(search, optuna.study.Study):
        return search
    check_is_fitted(search, "study_")
    return search.study_


@contextmanager
def _optuna_style():
    """Optuna's matplotlib plots, quietly: they are 'experimental' and switch
    the global style to ggplot, which is restored afterwards."""
    with matplotlib.rc_context(), warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield


def plot_intermediate_values(search: Any) -> Axes:
    """Validation accuracy per epoch of every trial; pruned trials dotted.

    Parameters
    ----------
    search : LeNetSearchCV (fitted) or optuna.study.Study

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import optuna
    >>> def objective(trial):
    ...     trial.report(trial.suggest_float("x", 0, 1), step=0)
    ...     return 1.0
    >>> study = optuna.create_study(direction="maximize")
    >>> study.optimize(objective, n_trials=2)
    >>> plot_intermediate_values(study).get_xlabel()
    'Step'
    """
    from optuna.visualization.matplotlib import plot_intermediate_values as plot

    study = _study(search)
    with _optuna_style():
        ax = plot(study)
    pruned = {f"Trial{t.number}" for t in study.get_trials(
        deepcopy=False, states=(TrialState.PRUNED,))}
    for line in ax.get_lines():
        if line.get_label() in pruned:
            line.set_linestyle(":")
            line.set_label(f"{line.get_label()} (pruned)")
    if ax.get_legend() is not None:
        ax.legend(bbox_to_anchor=(1.05, 1), loc="upper left", borderaxespad=0.0)
    if not isinstance(search, optuna.study.Study):
        ax.set_xlabel("Epoch" if search.n_splits_ == 1
                      else "Step (split x epochs + epoch)")
        ax.set_ylabel("Validation accuracy")
    return ax


def plot_optimization_history(search: Any) -> Axes:
    """Score of every completed trial and the best so far.

    Parameters
    ----------
    search : LeNetSearchCV (fitted) or optuna.study.Study

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import optuna
    >>> study = optuna.create_study(direction="maximize")
    >>> study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=2)
    >>> plot_optimization_history(study).get_title()
    'Optimization History Plot'
    """
    from optuna.visualization.matplotlib import plot_optimization_history as plot

    with _optuna_style():
        return plot(_study(search))


def plot_param_importances(
    search: Any,
    random_state: int | None = None,
) -> Axes:
    """fANOVA importance of each hyperparameter for the score.

    Parameters
    ----------
    search : LeNetSearchCV (fitted) or optuna.study.Study
        Needs at least two completed trials.
    random_state : int or None, default=None
        Seeds fANOVA's random forest.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import optuna
    >>> def objective(trial):
    ...     return trial.suggest_float("x", 0, 1) + trial.suggest_float("y", 0, 0.1)
    >>> study = optuna.create_study(direction="maximize")
    >>> study.optimize(objective, n_trials=4)
    >>> plot_param_importances(study, random_state=0).get_title(loc="left")
    'Hyperparameter Importances'
    """
    from optuna.importance import FanovaImportanceEvaluator
    from optuna.visualization.matplotlib import plot_param_importances as plot

    evaluator = FanovaImportanceEvaluator(seed=random_state)
    with _optuna_style():
        return plot(_study(search), evaluator=evaluator)
