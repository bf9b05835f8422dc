"""The study's evaluation protocol for any scikit-learn classifier.

* :func:`evaluation_split` and :func:`deployment_split`: the study's stratified
  60/20/20 train/validation/test and 70/30 train/validation splits.
* :func:`repeated_evaluation`: train a classifier ``n_repeats`` times on one
  fixed split, each time with its own seed, and report accuracy and per-class
  one-vs-rest ROC AUC on every split, fit time and epochs run.
* :func:`repeated_learning_curve`: train and test accuracy against the
  training-set size, ``n_repeats`` trainings per size.
* :func:`split_scores`: accuracy and per-class ROC AUC of a fitted classifier
  on one labelled set.
* :func:`compare_scores`: whether two sets of scores (two models' repeated
  trainings) differ in a claimed direction, with Welch's confidence interval
  and, when they do not resolve it, how many trainings would.
* :func:`evaluation_training` and :func:`learning_curve_training`: one
  training of either alone, with the seed and split that it has there, and
  :func:`evaluation_frames` / :func:`learning_curve_frames`, which put such
  trainings together into the same tables: a study's trainings can then run
  anywhere, at any time, one by one. :func:`evaluation_training_inputs` and
  :func:`learning_curve_training_inputs` give what such a training fits and
  scores (a :class:`TrainingInputs`), and :func:`fit_and_score` trains and
  scores it, for a caller that fits it its own way.

Each returns pandas DataFrames: one row per training and a summary of means
and standard deviations (NumPy's ``ddof=0``). The seed of repeat ``i`` is
child ``i`` of ``random_state``'s :class:`numpy.random.SeedSequence` (the
scheme that seeds ensemble members), so an int ``random_state`` makes a whole
experiment reproducible. Every row records the epochs trained and how many
networks stopped at their epoch cap instead of by early stopping.
"""

import dataclasses
import math
import time
from collections.abc import Callable, Iterable
from numbers import Integral, Real
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import clone
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedShuffleSplit, train_test_split
from sklearn.utils import _safe_indexing
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import has_fit_parameter, indexable
from tqdm.auto import tqdm

from ._base import spawn_seeds
from ._checks import validation_pair
from ._typing import ArrayLike, NDArray, RandomState

__all__ = [
    "ScoreComparison",
    "TrainingInputs",
    "compare_scores",
    "confused_pairs",
    "deployment_split",
    "evaluation_frames",
    "evaluation_split",
    "evaluation_training",
    "evaluation_training_inputs",
    "expected_calibration_error",
    "fit_and_score",
    "learning_curve_frames",
    "learning_curve_sizes",
    "learning_curve_training",
    "learning_curve_training_inputs",
    "repeated_evaluation",
    "repeated_learning_curve",
    "split_scores",
    "stopped_at_epoch_cap",
    "stopped_while_learning",
]

#: The study's learning-curve sizes are not published; these are sklearn's.
DEFAULT_TRAIN_SIZES = (0.1, 0.325, 0.55, 0.775, 1.0)


# ------------------------------------------------------------------ splits
def _n_items(size, n_samples, name):
    """An absolute count from a float share or an int count."""
    if isinstance(size, Real) and not isinstance(size, Integral) and 0 < size < 1:
        return math.ceil(size * n_samples)
    if isinstance(size, Integral) and not isinstance(size, bool) and size > 0:
        return int(size)
    raise ValueError(
        f"{name}={size!r} must be a float strictly between 0 and 1 (a share of "
        "the samples) or a positive int (a number of samples)."
    )


def evaluation_split(
    X: ArrayLike,
    y: ArrayLike,
    *,
    validation_size: float = 0.2,
    test_size: float = 0.2,
    random_state: RandomState = None,
) -> tuple[Any, ...]:
    """Split into train, validation and test sets, stratified by class.

    The study's evaluation split: 60 % train, 20 % validation (for early
    stopping) and 20 % held-out test, the same split for every repetition.

    Parameters
    ----------
    X : array-like of shape (n_samples, ...)
        Images (or any features); NumPy arrays and DataFrames are kept as such.
    y : array-like of shape (n_samples,)
        Class labels, used for stratification.
    validation_size, test_size : float or int, default=0.2
        Share (float in (0, 1)) or number (int) of samples in the validation
        and test sets; the rest is the training set.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling; an int gives the same split every time.

    Returns
    -------
    X_train, X_val, X_test, y_train, y_val, y_test
        The six parts, in the order of
        :func:`~sklearn.model_selection.train_test_split`.

    See Also
    --------
    deployment_split : The study's 70/30 train/validation split.

    Examples
    --------
    >>> import numpy as np
    >>> from sklenet.evaluation import evaluation_split
    >>> X, y = np.zeros((100, 4)), np.arange(100) % 2
    >>> parts = evaluation_split(X, y, random_state=0)
    >>> [len(part) for part in parts[:3]]
    [60, 20, 20]
    >>> [int(part.sum()) for part in parts[3:]]
    [30, 10, 10]
    """
    n_samples = len(y)
    n_validation = _n_items(validation_size, n_samples, "validation_size")
    n_test = _n_items(test_size, n_samples, "test_size")
    if n_validation + n_test >= n_samples:
        raise ValueError(
            f"validation_size={validation_size!r} and test_size={test_size!r} "
            f"leave no training samples out of {n_samples}."
        )
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=n_test, stratify=y, random_state=random_state
    )
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=n_validation, stratify=y_rest,
        random_state=random_state,
    )
    return X_train, X_val, X_test, y_train, y_val, y_test


def deployment_split(
    X: ArrayLike,
    y: ArrayLike,
    *,
    validation_size: float = 0.3,
    random_state: RandomState = None,
) -> list[Any]:
    """Split into train and validation sets, stratified by class.

    The study's deployment split: the final models train on 70 % of the data
    and use the other 30 % only for early stopping.

    Parameters
    ----------
    X : array-like of shape (n_samples, ...)
        Images (or any features).
    y : array-like of shape (n_samples,)
        Class labels, used for stratification.
    validation_size : float or int, default=0.3
        Share (float in (0, 1)) or number (int) of validation samples.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling.

    Returns
    -------
    X_train, X_val, y_train, y_val

    See Also
    --------
    evaluation_split : The study's 60/20/20 train/validation/test split.

    Examples
    --------
    >>> import numpy as np
    >>> from sklenet.evaluation import deployment_split
    >>> X_train, X_val, y_train, y_val = deployment_split(
    ...     np.zeros((100, 4)), np.arange(100) % 2, random_state=0)
    >>> len(X_train), len(X_val)
    (70, 30)
    """
    n_validation = _n_items(validation_size, len(y), "validation_size")
    return train_test_split(
        X, y, test_size=n_validation, stratify=y, random_state=random_state
    )


# ---------------------------------------------------------- shared helpers
def _repeat_seeds(random_state, n_repeats):
    """``n_repeats`` distinct int seeds derived from ``random_state``."""
    if not isinstance(n_repeats, Integral) or isinstance(n_repeats, bool) or (
        n_repeats < 1
    ):
        raise ValueError(f"n_repeats={n_repeats!r} must be a positive int.")
    return spawn_seeds(random_state, n_repeats)


def _seeded_clone(estimator, seed, **params):
    """A clone of ``estimator`` with ``random_state=seed`` and those of
    ``params`` that it has (estimators without them are cloned as they are)."""
    own = estimator.get_params()
    params = {"random_state": seed, **params}
    return clone(estimator).set_params(
        **{name: value for name, value in params.items() if name in own}
    )


def _validation_fit_params(estimator, validation_data):
    """``{"validation_data": ...}`` for estimators whose ``fit`` takes it."""
    if validation_data is None or not has_fit_parameter(estimator, "validation_data"):
        return {}
    return {"validation_data": validation_pair(validation_data)}


def _parallel(jobs, n_jobs, total, desc, verbose):
    """Run joblib ``jobs`` in order, with a tqdm bar when ``verbose``."""
    results = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    return list(tqdm(results, total=total, desc=desc, disable=not verbose,
                     leave=False))


def _mean_std(frame):
    """Mean and NumPy-style (ddof=0) standard deviation of each column."""
    return pd.DataFrame({"mean": frame.mean(), "std": frame.std(ddof=0)})


# ------------------------------------------------------------- calibration
def expected_calibration_error(
    y_true: ArrayLike,
    y_proba: ArrayLike,
    *,
    labels: ArrayLike | None = None,
    n_bins: int = 10,
) -> float:
    """Top-label expected calibration error of predicted probabilities.

    The highest probability of each sample is its confidence; samples are
    grouped in ``n_bins`` equal-width confidence bins, and the error is the
    mean over the samples of ``|accuracy - mean confidence|`` of their bin
    (Guo et al., 2017). 0 means that among the predictions made with 80%
    confidence, 80% are right, and so on for every bin.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_proba : array-like of shape (n_samples, n_classes)
        Probabilities, as ``predict_proba`` returns them.
    labels : array-like of shape (n_classes,), default=None
        The label of each column of ``y_proba`` (``classes_``); None: the
        sorted labels of ``y_true``, which must then have every class.
    n_bins : int, default=10
        Number of confidence bins over [0, 1].

    Returns
    -------
    float

    See Also
    --------
    sklearn.calibration.calibration_curve : the points of a reliability
        diagram (of the top label: ``calibration_curve(y_pred == y_true,
        y_proba.max(axis=1))``).

    Examples
    --------
    >>> ece = expected_calibration_error([0, 1, 1, 0], [[0.9, 0.1], [0.2, 0.8],
    ...                                                 [0.6, 0.4], [0.7, 0.3]])
    >>> round(ece, 6)  # each sample alone in its bin: mean |correct - confidence|
    0.3
    """
    y_true = np.asarray(y_true)
    y_proba = np.asarray(y_proba, dtype=np.float64)
    labels = np.unique(y_true) if labels is None else np.asarray(labels)
    if y_proba.ndim != 2 or y_proba.shape != (len(y_true), len(labels)):
        raise ValueError(
            f"y_proba must have one row per sample and one column per label, "
            f"({len(y_true)}, {len(labels)}), but has shape {y_proba.shape}"
            + ("; pass labels=classes_ when y_true lacks a class."
               if y_proba.ndim == 2 and labels is not None else ".")
        )
    if not isinstance(n_bins, Integral) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}.")
    confidence = y_proba.max(axis=1)
    correct = labels[y_proba.argmax(axis=1)] == y_true
    # Bin k holds confidences in (k / n_bins, (k + 1) / n_bins], 0 in bin 0.
    edges = np.linspace(0, 1, n_bins + 1)[1:-1]
    bins = np.digitize(confidence, edges, right=True)
    error = 0.0
    for k in np.unique(bins):
        in_bin = bins == k
        error += in_bin.sum() * abs(correct[in_bin].mean()
                                    - confidence[in_bin].mean())
    return float(error / len(y_true))


# ----------------------------------------------------- repeated evaluation
def _class_scores(estimator, X):
    """One score column per class in ``estimator.classes_``."""
    if hasattr(estimator, "predict_proba"):
        return np.asarray(estimator.predict_proba(X))
    scores = np.asarray(estimator.decision_function(X))
    return np.column_stack([-scores, scores]) if scores.ndim == 1 else scores


def split_scores(estimator: Any, X: ArrayLike, y: ArrayLike) -> dict[str, float]:
    """Accuracy and per-class one-vs-rest ROC AUC of a fitted classifier.

    Parameters
    ----------
    estimator : fitted classifier
        With ``classes_`` and ``predict_proba`` or ``decision_function``.
    X, y : array-like
        Labelled data.

    Returns
    -------
    dict
        ``accuracy`` (of the highest-scoring class, which is what ``predict``
        returns) and ``roc_auc_<class>`` for each class in ``classes_``
        (:func:`~sklearn.metrics.roc_auc_score`; NaN where ``y`` has no
        sample or only samples of that class).

    Examples
    --------
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> clf = DecisionTreeClassifier().fit([[0], [1], [2]], ["a", "b", "b"])
    >>> split_scores(clf, [[0], [2]], ["a", "b"])
    {'accuracy': 1.0, 'roc_auc_a': 1.0, 'roc_auc_b': 1.0}
    """
    y = np.asarray(y)
    scores = _class_scores(estimator, X)
    predicted = estimator.classes_[scores.argmax(axis=1)]
    result = {"accuracy": float(accuracy_score(y, predicted))}
    for column, label in enumerate(estimator.classes_):
        positive = y == label
        result[f"roc_auc_{label}"] = (
            float(roc_auc_score(positive, scores[:, column]))
            if 0 < positive.sum() < len(y) else np.nan
        )
    return result


#: How much both losses must fall over a network's last patience epochs for
#: :func:`stopped_while_learning` to say that it was still learning: 5 % of
#: their mean over those epochs, along a least-squares line.
STILL_LEARNING_TOL = 0.05


def _relative_fall(values):
    """How much ``values`` fell along their least-squares line, as a share
    of their mean (negative when they rose)."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2 or not np.all(np.isfinite(values)) or values.mean() <= 0:
        return 0.0
    slope = np.polyfit(np.arange(len(values)), values, 1)[0]
    return float(-slope * (len(values) - 1) / values.mean())


def stopped_while_learning(estimator: Any, *, tol: float = STILL_LEARNING_TOL) -> bool:
    """Whether a fitted LeNet stopped training while it was still learning.

    Over its last patience epochs (``n_iter_no_change_`` passes, or all of
    them if it trained fewer) its training loss fell by more than ``tol``
    of its mean along a least-squares line, and so did its validation loss
    when it had a validation set: it was still getting better at what it
    had not seen, not only fitting its training images more tightly (which a
    falling training loss beside a flat or rising validation loss means). A
    network stopped that way scores what its early stop left, not what the
    model can do; it needs a longer patience (``min_epoch_samples``, see
    the evaluation guide).

    Parameters
    ----------
    estimator : LeNetClassifier
        Fitted, with ``history_`` and ``n_iter_no_change_``.
    tol : float, default=STILL_LEARNING_TOL
        The relative fall each loss must exceed.

    Returns
    -------
    bool

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> net = SimpleNamespace(n_iter_no_change_=3, history_={
    ...     "loss": [0.9, 0.6, 0.5, 0.4], "val_loss": [0.8, 0.7, 0.6, 0.5]})
    >>> stopped_while_learning(net)
    True
    >>> net.history_["val_loss"] = [0.8, 0.5, 0.52, 0.55]  # over-fitting
    >>> stopped_while_learning(net)
    False
    """
    history = estimator.history_
    window = max(2, int(estimator.n_iter_no_change_))
    losses = [history["loss"]]
    if history.get("val_loss"):
        losses.append(history["val_loss"])
    return all(_relative_fall(values[-window:]) > tol for values in losses)


def stopped_at_epoch_cap(
    n_epochs: ArrayLike,
    max_epochs: ArrayLike,
    learning_rate_schedule: Any = None,
) -> Any:
    """Whether trainings were ended by their epoch cap, not by early stopping.

    A network that trained its whole cap was never stopped early: its
    accuracy measures the cap rather than the model. A cosine learning-rate
    schedule ends at the cap by design (it decays to 0 exactly there), so its
    trainings never count. The one rule behind ``epoch_cap_hits`` of
    :func:`repeated_evaluation` and the study report's epoch-cap marks.

    Parameters
    ----------
    n_epochs : int or array-like of int
        Epochs (passes) each training ran.
    max_epochs : int or array-like of int
        Each training's cap in passes (a fitted network's ``max_epochs_``).
    learning_rate_schedule : str, None or array-like of them, default=None
        Each training's ``learning_rate_schedule``.

    Returns
    -------
    bool or ndarray of bool
        One per training, shaped as the arguments broadcast.

    Examples
    --------
    >>> stopped_at_epoch_cap([3, 5, 5], 5)
    array([False,  True,  True])
    >>> stopped_at_epoch_cap(5, 5, learning_rate_schedule="cosine")
    False
    """
    reached = np.asarray(n_epochs) >= np.asarray(max_epochs)
    planned = np.asarray(learning_rate_schedule, dtype=object) == "cosine"
    stopped = reached & ~planned
    return bool(stopped) if stopped.ndim == 0 else stopped


def _epochs_run(estimator):
    """``(n_epochs, epoch_cap_hits, still_learning)`` of a fitted estimator.

    ``n_epochs`` is ``n_epochs_`` (the members' mean for an ensemble) and
    ``epoch_cap_hits`` the number of networks that trained for their whole
    cap (``max_epochs_``) by :func:`stopped_at_epoch_cap`. ``still_learning`` counts
    the networks that :func:`stopped_while_learning`. All are NaN for
    estimators that do not train by epochs.
    """
    networks = ([estimator] if hasattr(estimator, "n_epochs_")
                else list(getattr(estimator, "estimators_", [])))
    if not networks or not all(hasattr(net, "n_epochs_") for net in networks):
        return np.nan, np.nan, np.nan
    epochs = [net.n_epochs_ for net in networks]
    n_epochs = epochs[0] if len(epochs) == 1 else float(np.mean(epochs))
    caps = [getattr(net, "max_epochs_", getattr(net, "epochs", None))
            for net in networks]
    if not all(isinstance(cap, Integral) for cap in caps):
        return n_epochs, np.nan, np.nan
    hits = sum(stopped_at_epoch_cap(net.n_epochs_, cap,
                                    getattr(net, "learning_rate_schedule", None))
               for net, cap in zip(networks, caps))
    learning = sum(hasattr(net, "n_iter_no_change_") and stopped_while_learning(net)
                   for net in networks)
    return n_epochs, hits, learning


class TrainingInputs(NamedTuple):
    """What one training of an evaluation or a learning curve fits and scores.

    :func:`evaluation_training_inputs` and
    :func:`learning_curve_training_inputs` draw them as
    :func:`repeated_evaluation` and :func:`repeated_learning_curve` do;
    :func:`fit_and_score` trains and scores them.

    Attributes
    ----------
    estimator : estimator
        The unfitted clone, seeded with ``seed`` where it takes a
        ``random_state``.
    seed : int
        The training's seed (its row's ``random_state``).
    X, y : array-like
        The training set.
    fit_params : dict
        Keyword arguments of ``fit`` (``validation_data`` for estimators
        that take it).
    datasets : dict
        ``{split name: (X, y)}``: the sets the fitted estimator is scored on.
    """

    estimator: Any
    seed: int
    X: Any
    y: Any
    fit_params: dict[str, Any]
    datasets: dict[str, tuple[Any, Any]]


def fit_and_score(
    training: TrainingInputs,
    *,
    return_estimator: bool = True,
    fit: Callable[..., Any] | None = None,
) -> tuple[dict[str, Any], Any]:
    """Fit one training and score it on each of its datasets.

    Parameters
    ----------
    training : TrainingInputs
        What to fit and score (see :func:`evaluation_training_inputs` and
        :func:`learning_curve_training_inputs`).
    return_estimator : bool, default=True
        Also return the fitted estimator (else None: a parallel worker need
        not send it back).
    fit : callable or None, default=None
        Called as ``fit(estimator, X, y, **fit_params)`` instead of
        ``estimator.fit(X, y, **fit_params)``: for instance an ensemble
        assembled from members trained elsewhere
        (:meth:`~sklenet.LeNetEnsembleClassifier.fit_from_members`). Its time
        is the row's ``fit_time``.

    Returns
    -------
    row : dict
        ``random_state``, ``fit_time``, ``n_epochs``, ``epoch_cap_hits``,
        ``still_learning`` and ``<split>_<metric>`` of :func:`split_scores`
        for each dataset: a row of :func:`repeated_evaluation`'s ``runs``.
    estimator : estimator or None
        The fitted estimator, if ``return_estimator``.

    Examples
    --------
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> from sklenet.datasets import load_sample_digits
    >>> X, y = load_sample_digits(return_X_y=True)
    >>> X_train, X_val, X_test, y_train, y_val, y_test = evaluation_split(
    ...     X[::10], y[::10], random_state=0)
    >>> training = evaluation_training_inputs(
    ...     KNeighborsClassifier(), X_train, y_train, X_test, y_test, repeat=0,
    ...     random_state=0)
    >>> row, fitted = fit_and_score(training)
    >>> row["test_accuracy"] == fitted.score(X_test, y_test)
    True
    """
    estimator, seed, X, y, fit_params, datasets = training
    start = time.perf_counter()
    if fit is None:
        estimator.fit(X, y, **fit_params)
    else:
        fit(estimator, X, y, **fit_params)
    row = {"random_state": seed, "fit_time": time.perf_counter() - start}
    row["n_epochs"], row["epoch_cap_hits"], row["still_learning"] = _epochs_run(
        estimator)
    for name, (X_split, y_split) in datasets.items():
        scores = split_scores(estimator, X_split, y_split)
        row.update({f"{name}_{metric}": value for metric, value in scores.items()})
    return row, estimator if return_estimator else None


def _evaluation_datasets(X_train, y_train, X_test, y_test, validation_data):
    """{split name: (X, y)} that every evaluation training is scored on."""
    datasets = {"train": (X_train, y_train)}
    if validation_data is not None:
        datasets["validation"] = tuple(validation_data)
    datasets["test"] = (X_test, y_test)
    return datasets


def evaluation_training(
    estimator: Any,
    X_train: ArrayLike,
    y_train: ArrayLike,
    X_test: ArrayLike,
    y_test: ArrayLike,
    *,
    repeat: int,
    validation_data: tuple[ArrayLike, ArrayLike] | None = None,
    random_state: RandomState = None,
) -> tuple[dict[str, Any], Any]:
    """Training ``repeat`` of :func:`repeated_evaluation` alone.

    It trains and scores exactly what run ``repeat`` of
    ``repeated_evaluation(..., random_state=random_state)`` does, for any
    ``n_repeats`` larger than ``repeat`` (its seed is child ``repeat`` of
    ``random_state``'s SeedSequence), so that the runs of one evaluation can
    train anywhere, at any time, and be put together by
    :func:`evaluation_frames`.

    Returns
    -------
    row : dict
        The run's row of ``runs``.
    estimator : estimator
        The fitted clone.

    Examples
    --------
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> from sklenet.datasets import load_sample_digits
    >>> X, y = load_sample_digits(return_X_y=True)
    >>> X_train, X_val, X_test, y_train, y_val, y_test = evaluation_split(
    ...     X[::10], y[::10], random_state=0)
    >>> rows = [evaluation_training(KNeighborsClassifier(), X_train, y_train,
    ...                             X_test, y_test, repeat=repeat,
    ...                             random_state=0)[0] for repeat in (0, 1)]
    >>> runs, summary = evaluation_frames(rows)
    >>> together, _ = repeated_evaluation(KNeighborsClassifier(), X_train,
    ...                                   y_train, X_test, y_test, n_repeats=2,
    ...                                   random_state=0)
    >>> runs.drop(columns="fit_time").equals(together.drop(columns="fit_time"))
    True
    """
    return fit_and_score(evaluation_training_inputs(
        estimator, X_train, y_train, X_test, y_test, repeat=repeat,
        validation_data=validation_data, random_state=random_state))


def evaluation_training_inputs(
    estimator: Any,
    X_train: ArrayLike,
    y_train: ArrayLike,
    X_test: ArrayLike,
    y_test: ArrayLike,
    *,
    repeat: int,
    validation_data: tuple[ArrayLike, ArrayLike] | None = None,
    random_state: RandomState = None,
) -> TrainingInputs:
    """What :func:`evaluation_training` fits and scores, unfitted.

    Takes the arguments of :func:`evaluation_training`; ``fit_and_score`` of
    the result is :func:`evaluation_training`. For a caller that fits the
    training its own way (the ``fit`` of :func:`fit_and_score`) or elsewhere.

    Returns
    -------
    TrainingInputs
        The clone seeded as run ``repeat`` of :func:`repeated_evaluation`,
        its seed, the training set, ``validation_data`` as a fit parameter
        and the ``train``, ``validation`` (if given) and ``test`` sets.
    """
    seed = _repeat_seeds(random_state, repeat + 1)[repeat]
    return TrainingInputs(
        _seeded_clone(estimator, seed), seed, X_train, y_train,
        _validation_fit_params(estimator, validation_data),
        _evaluation_datasets(X_train, y_train, X_test, y_test, validation_data))


def evaluation_frames(
    rows: Iterable[dict[str, Any]],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(runs, summary)`` of :func:`repeated_evaluation` from its rows, in
    repeat order (:func:`evaluation_training` returns one)."""
    runs = pd.DataFrame(list(rows))
    runs.index.name = "repeat"
    return runs, _mean_std(runs.drop(columns="random_state"))


def repeated_evaluation(
    estimator: Any,
    X_train: ArrayLike,
    y_train: ArrayLike,
    X_test: ArrayLike,
    y_test: ArrayLike,
    *,
    validation_data: tuple[ArrayLike, ArrayLike] | None = None,
    n_repeats: int = 10,
    random_state: RandomState = None,
    n_jobs: int | None = None,
    return_estimator: bool = False,
    verbose: int = 0,
) -> tuple[Any, ...]:
    """Train a classifier ``n_repeats`` times on one split and score each run.

    The study's protocol: every run fits a :func:`~sklearn.base.clone` of
    ``estimator`` with its own ``random_state`` on the same training set,
    with the same validation set for early stopping, and is scored on the
    training, validation and test sets.

    Parameters
    ----------
    estimator : classifier
        Any scikit-learn classifier with ``predict_proba`` or
        ``decision_function``. If it has a ``random_state`` parameter, each
        run sets it to its own seed.
    X_train, y_train : array-like
        The training set.
    X_test, y_test : array-like
        The held-out test set.
    validation_data : tuple (X_val, y_val), default=None
        The validation set: scored like the others and passed to ``fit`` of
        estimators that accept ``validation_data`` (the sklenet estimators
        use it for early stopping).
    n_repeats : int, default=10
        Number of trainings.
    random_state : int, RandomState instance or None, default=None
        Seeds the runs: run ``i`` uses seed ``i`` of a
        :class:`numpy.random.SeedSequence` started from it.
    n_jobs : int or None, default=None
        Runs trained in parallel by joblib (None: one at a time).
    return_estimator : bool, default=False
        Also return the fitted estimators.
    verbose : int, default=0
        If positive, show a tqdm progress bar.

    Returns
    -------
    runs : DataFrame
        One row per run (index ``repeat``): ``random_state``, ``fit_time``
        (seconds), ``n_epochs`` (epochs trained, the members' mean for an
        ensemble), ``epoch_cap_hits`` (networks that trained for their whole
        epoch cap instead of stopping early), ``still_learning`` (networks
        that :func:`stopped_while_learning`; all three NaN for estimators
        without epochs), and for each split
        ``train``, ``validation`` (if given) and ``test``:
        ``<split>_accuracy`` and ``<split>_roc_auc_<class>``, the one-vs-rest
        ROC AUC of each class (:func:`~sklearn.metrics.roc_auc_score`).
        Accuracy is that of the highest-scoring class, which is what
        ``predict`` returns.
    summary : DataFrame
        ``mean`` and ``std`` (ddof=0) of each column of ``runs`` but
        ``random_state``, one row per column.
    estimators : list of estimators
        The fitted estimators, only if ``return_estimator`` is True.

    See Also
    --------
    evaluation_split : The study's 60/20/20 split.
    repeated_learning_curve : Accuracy against the training-set size.

    Examples
    --------
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> from sklenet.datasets import load_sample_digits
    >>> from sklenet.evaluation import evaluation_split, repeated_evaluation
    >>> X, y = load_sample_digits(return_X_y=True)
    >>> X_train, X_val, X_test, y_train, y_val, y_test = evaluation_split(
    ...     X[::10], y[::10], random_state=0)
    >>> runs, summary = repeated_evaluation(
    ...     KNeighborsClassifier(), X_train, y_train, X_test, y_test,
    ...     validation_data=(X_val, y_val), n_repeats=2, random_state=0)
    >>> runs.shape
    (2, 38)
    >>> summary.loc["test_accuracy", "mean"] > 0.7
    np.True_
    """
    seeds = _repeat_seeds(random_state, n_repeats)
    datasets = _evaluation_datasets(X_train, y_train, X_test, y_test,
                                    validation_data)
    fit_params = _validation_fit_params(estimator, validation_data)
    jobs = (
        delayed(fit_and_score)(
            TrainingInputs(_seeded_clone(estimator, seed), seed, X_train, y_train,
                           fit_params, datasets),
            return_estimator=return_estimator,
        )
        for seed in seeds
    )
    results = _parallel(jobs, n_jobs, n_repeats, type(estimator).__name__, verbose)
    runs, summary = evaluation_frames([row for row, _ in results])
    if return_estimator:
        return runs, summary, [fitted for _, fitted in results]
    return runs, summary


# ------------------------------------------------- repeated learning curve
def _absolute_train_sizes(train_sizes, n_max):
    """Distinct training-set sizes in samples, as sklearn's ``learning_curve``
    reads ``train_sizes``: floats are shares of ``n_max`` (rounded down),
    ints numbers of samples."""
    sizes = np.asarray(train_sizes)
    if sizes.ndim != 1 or sizes.size == 0:
        raise ValueError(f"train_sizes={train_sizes!r} must be a non-empty list.")
    if np.issubdtype(sizes.dtype, np.floating):
        if sizes.min() <= 0 or sizes.max() > 1:
            raise ValueError(
                f"train_sizes={train_sizes!r}: shares must be in (0, 1].")
        sizes = np.clip(np.floor(sizes * n_max).astype(int), 1, n_max)
    elif sizes.min() < 1 or sizes.max() > n_max:
        raise ValueError(
            f"train_sizes={train_sizes!r}: numbers of samples must be between 1 "
            f"and the {n_max} samples of the training part.")
    return sorted({int(size) for size in sizes})


def _learning_curve_jobs(estimator, X, y, train_sizes, test_size, seeds, fit_params):
    """One job per (repeat, size), so that parallel workers share every size of
    every repeat: each repeat draws a stratified train/test split with its
    seed, as sklearn's ``learning_curve`` does, and a size trains on the first
    ``size`` samples of the shuffled training part."""
    for repeat, seed in enumerate(seeds):
        train, test = _learning_curve_split(X, y, test_size, seed)
        for size in _absolute_train_sizes(train_sizes, len(train)):
            X_train, y_train, datasets = _learning_curve_sets(X, y, train, test,
                                                              size)
            yield repeat, size, delayed(fit_and_score)(
                TrainingInputs(estimator(seed), seed, X_train, y_train, fit_params,
                               datasets),
                return_estimator=False)


def _learning_curve_split(X, y, test_size, seed):
    """Train and test indices of the repeat seeded ``seed``."""
    return next(StratifiedShuffleSplit(
        n_splits=1, test_size=test_size, random_state=seed).split(X, y))


def _learning_curve_sets(X, y, train, test, size):
    """``X_train, y_train, datasets`` of one size: the first ``size`` training
    indices, scored on themselves and on the test part."""
    subset = train[:size]
    X_train, y_train = _safe_indexing(X, subset), _safe_indexing(y, subset)
    test_set = (_safe_indexing(X, test), _safe_indexing(y, test))
    return X_train, y_train, {"train": (X_train, y_train), "test": test_set}


def learning_curve_sizes(
    X: ArrayLike,
    y: ArrayLike,
    *,
    train_sizes: ArrayLike = DEFAULT_TRAIN_SIZES,
    test_size: float = 0.25,
    random_state: RandomState = None,
) -> NDArray[np.int_]:
    """The training-set sizes, in samples, that :func:`repeated_learning_curve`
    trains at (its ``train_size`` column)."""
    X, y = indexable(X, y)
    seed = _repeat_seeds(random_state, 1)[0]
    train, _ = _learning_curve_split(X, y, test_size, seed)
    return _absolute_train_sizes(train_sizes, len(train))


def learning_curve_training(
    estimator: Any,
    X: ArrayLike,
    y: ArrayLike,
    *,
    repeat: int,
    train_size: int,
    test_size: float = 0.25,
    validation_data: tuple[ArrayLike, ArrayLike] | None = None,
    n_iter_no_change: int | None = 10,
    random_state: RandomState = None,
) -> dict[str, Any]:
    """The training of repeat ``repeat`` at ``train_size`` samples (one of
    :func:`learning_curve_sizes`) of :func:`repeated_learning_curve` alone,
    with the same seed and split; returns its row of ``runs`` without
    ``repeat`` and ``train_size`` (:func:`learning_curve_frames` adds
    them)."""
    row, _ = fit_and_score(learning_curve_training_inputs(
        estimator, X, y, repeat=repeat, train_size=train_size,
        test_size=test_size, validation_data=validation_data,
        n_iter_no_change=n_iter_no_change, random_state=random_state),
        return_estimator=False)
    return row


def learning_curve_training_inputs(
    estimator: Any,
    X: ArrayLike,
    y: ArrayLike,
    *,
    repeat: int,
    train_size: int,
    test_size: float = 0.25,
    validation_data: tuple[ArrayLike, ArrayLike] | None = None,
    n_iter_no_change: int | None = 10,
    random_state: RandomState = None,
) -> TrainingInputs:
    """What :func:`learning_curve_training` fits and scores, unfitted.

    Takes the arguments of :func:`learning_curve_training`; ``fit_and_score``
    of the result gives its row.

    Returns
    -------
    TrainingInputs
        The clone seeded as repeat ``repeat`` of
        :func:`repeated_learning_curve` (with ``n_iter_no_change``), its
        seed, the first ``train_size`` images of the repeat's training part,
        ``validation_data`` as a fit parameter and the ``train`` and ``test``
        sets.
    """
    X, y = indexable(X, y)
    seed = _repeat_seeds(random_state, repeat + 1)[repeat]
    params = {} if n_iter_no_change is None else {"n_iter_no_change": n_iter_no_change}
    train, test = _learning_curve_split(X, y, test_size, seed)
    X_train, y_train, datasets = _learning_curve_sets(X, y, train, test, train_size)
    return TrainingInputs(
        _seeded_clone(estimator, seed, **params), seed, X_train, y_train,
        _validation_fit_params(estimator, validation_data), datasets)


def repeated_learning_curve(
    estimator: Any,
    X: ArrayLike,
    y: ArrayLike,
    *,
    train_sizes: ArrayLike = DEFAULT_TRAIN_SIZES,
    n_repeats: int = 20,
    test_size: float = 0.25,
    validation_data: tuple[ArrayLike, ArrayLike] | None = None,
    n_iter_no_change: int | None = 10,
    random_state: RandomState = None,
    n_jobs: int | None = None,
    verbose: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train and test accuracy against the training-set size, repeated.

    Each repeat draws a new stratified train/test split of ``(X, y)``
    (:class:`~sklearn.model_selection.StratifiedShuffleSplit`) and a new
    seed for the estimator, then runs sklearn's
    :func:`~sklearn.model_selection.learning_curve` on it: the estimator is
    trained on the first ``train_size`` samples of the shuffled training
    part and scored on them and on the test part.

    Parameters
    ----------
    estimator : classifier
        Any scikit-learn classifier; one with a ``random_state`` parameter
        gets a new seed for every repeat.
    X, y : array-like
        The data to split, e.g. the training and test parts of
        :func:`evaluation_split` together.
    train_sizes : array-like of float or int, default=(0.1, 0.325, 0.55, 0.775, 1.0)
        Training-set sizes, as shares of the training part (floats) or
        numbers of samples (ints).
    n_repeats : int, default=20
        Trainings per size (the study: 20).
    test_size : float or int, default=0.25
        Share or number of samples in each repeat's test part.
    validation_data : tuple (X_val, y_val), default=None
        Passed to ``fit`` of estimators that accept it, e.g. for early
        stopping on a fixed validation set.
    n_iter_no_change : int or None, default=10
        Early-stopping patience set on estimators that have this parameter
        (the study's learning curves use 10); None keeps the estimator's.
    random_state : int, RandomState instance or None, default=None
        Seeds the splits and the estimators.
    n_jobs : int or None, default=None
        Trainings (every size of every repeat) run in parallel by joblib
        (None: one at a time).
    verbose : int, default=0
        If positive, show a tqdm progress bar over the trainings.

    Returns
    -------
    runs : DataFrame
        One row per training: ``repeat``, ``train_size`` (samples),
        ``train_accuracy``, ``test_accuracy``, ``fit_time`` (seconds),
        ``n_epochs``, ``epoch_cap_hits``, ``still_learning`` (as in
        :func:`repeated_evaluation`)
        and ``random_state``.
    summary : DataFrame
        Indexed by ``train_size``: ``train_accuracy_mean``,
        ``train_accuracy_std``, ``test_accuracy_mean`` and
        ``test_accuracy_std`` (ddof=0).

    See Also
    --------
    sklenet.plotting.plot_learning_curve : Draw ``runs`` with ± std bands.

    Examples
    --------
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> from sklenet.datasets import load_sample_digits
    >>> from sklenet.evaluation import repeated_learning_curve
    >>> X, y = load_sample_digits(return_X_y=True)
    >>> runs, summary = repeated_learning_curve(
    ...     KNeighborsClassifier(), X[::10], y[::10], train_sizes=[0.5, 1.0],
    ...     n_repeats=2, random_state=0)
    >>> summary.index.tolist()
    [187, 375]
    >>> summary.columns.tolist()  # doctest: +NORMALIZE_WHITESPACE
    ['train_accuracy_mean', 'train_accuracy_std',
     'test_accuracy_mean', 'test_accuracy_std']
    """
    seeds = _repeat_seeds(random_state, n_repeats)
    params = {} if n_iter_no_change is None else {"n_iter_no_change": n_iter_no_change}
    fit_params = _validation_fit_params(estimator, validation_data)
    X, y = indexable(X, y)
    repeats, sizes, jobs = zip(*_learning_curve_jobs(
        lambda seed: _seeded_clone(estimator, seed, **params), X, y, train_sizes,
        test_size, seeds, fit_params))
    results = _parallel(jobs, n_jobs, len(jobs),
                        f"{type(estimator).__name__} learning curve", verbose)
    return learning_curve_frames(repeats, sizes, [row for row, _ in results])


def learning_curve_frames(
    repeats: Iterable[int],
    sizes: Iterable[int],
    rows: Iterable[dict[str, Any]],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(runs, summary)`` of :func:`repeated_learning_curve` from the repeat,
    training-set size and row of each training, in its order (repeat by
    repeat, sizes ascending)."""
    runs = pd.DataFrame(list(rows), columns=[
        "train_accuracy", "test_accuracy", "fit_time", "n_epochs", "epoch_cap_hits",
        "still_learning", "random_state"])
    runs.insert(0, "train_size", list(sizes))
    runs.insert(0, "repeat", list(repeats))
    grouped = runs.groupby("train_size")
    summary = pd.DataFrame({
        f"{metric}_{stat}": column
        for metric in ("train_accuracy", "test_accuracy")
        for stat, column in (("mean", grouped[metric].mean()),
                             ("std", grouped[metric].std(ddof=0)))
    })
    return runs, summary


# ------------------------------------------------------------------ errors
def confused_pairs(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    labels: ArrayLike | None = None,
    n_pairs: int | None = None,
) -> pd.DataFrame:
    """The pairs of classes most often confused, most frequent first.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    labels : array-like, default=None
        The classes, in the order of the confusion matrix; None uses those
        in ``y_true`` and ``y_pred``, sorted.
    n_pairs : int, default=None
        Keep the first ``n_pairs`` pairs; None keeps every pair confused at
        least once.

    Returns
    -------
    DataFrame
        One row per (true, predicted) pair with ``true != predicted`` and at
        least one mistake: ``true``, ``predicted``, ``count`` and ``share``,
        the share of the true class's samples predicted as ``predicted``.
        Ties keep the order of the confusion matrix.

    Examples
    --------
    >>> from sklenet.evaluation import confused_pairs
    >>> confused_pairs([4, 4, 4, 9, 9, 7], [9, 9, 4, 4, 9, 1])
       true  predicted  count     share
    0     4          9      2  0.666667
    1     7          1      1  1.000000
    2     9          4      1  0.500000
    """
    from sklearn.metrics import confusion_matrix

    labels = (np.unique(np.concatenate([np.asarray(y_true), np.asarray(y_pred)]))
              if labels is None else np.asarray(labels))
    matrix = confusion_matrix(y_true, y_pred, labels=labels)
    support = matrix.sum(axis=1)  # samples of each true class
    np.fill_diagonal(matrix, 0)
    true, predicted = np.nonzero(matrix)
    counts = matrix[true, predicted]
    order = np.argsort(-counts, kind="stable")[:n_pairs]
    return pd.DataFrame({
        "true": labels[true[order]],
        "predicted": labels[predicted[order]],
        "count": counts[order],
        "share": counts[order] / support[true[order]],
    })


# --------------------------------------------------------- comparing scores
#: The verdicts of :func:`compare_scores` on a claimed direction.
VERDICTS = ("supported", "not resolved", "contradicted")
#: A claim -> the sign of the difference it claims.
_CLAIM_SIGNS = {"greater": 1, "less": -1}


@dataclasses.dataclass(frozen=True)
class ScoreComparison:
    """What :func:`compare_scores` measured and concluded.

    Attributes
    ----------
    difference : float
        ``mean(scores) - mean(baseline)``.
    ci_low, ci_high : float
        Its confidence interval (Welch's t); NaN when a set has one score.
    confidence_level : float
        The interval's level.
    claim : {"greater", "less"}
        The claimed direction: the mean of ``scores`` above (below) that of
        ``baseline``.
    verdict : {"supported", "not resolved", "contradicted"}
        "supported" when the interval excludes 0 on the claimed side,
        "contradicted" when it excludes it on the other side, "not resolved"
        when it holds 0 or cannot be measured.
    n_needed : int or None
        For "not resolved": the scores per set (trainings per model) that
        would resolve the measured difference with probability ``power``;
        None when resolved or when no number can be estimated (a set of one
        score has no spread; equal means have no difference to resolve).
    reason : str
        The verdict and what would resolve it, in one sentence.
    n_scores, n_baseline : int
        The number of scores in each set.
    std, baseline_std : float
        Their standard deviations (``ddof=1``, the estimate of Welch's t);
        NaN for one score.
    power : float
        The probability ``n_needed`` is sized for.
    method : str
        How the interval was computed: "Welch's t".
    """

    difference: float
    ci_low: float
    ci_high: float
    confidence_level: float
    claim: str
    verdict: str
    n_needed: int | None
    reason: str
    n_scores: int
    n_baseline: int
    std: float
    baseline_std: float
    power: float
    method: str = "Welch's t"


def compare_scores(
    scores: ArrayLike,
    baseline: ArrayLike,
    *,
    claim: Literal["greater", "less"] = "greater",
    confidence_level: float = 0.95,
    power: float = 0.8,
) -> ScoreComparison:
    """Whether one set of scores is higher (or lower) than another, measured.

    Compares e.g. the test accuracies of two models' repeated trainings: the
    difference of their means, its confidence interval by Welch's t, and
    the verdict on the claimed direction. When the interval holds 0, it
    estimates how many scores per set (trainings per model) would resolve
    the measured difference.

    Parameters
    ----------
    scores, baseline : array-like of shape (n_scores,) and (n_baseline,)
        Finite numbers, at least one in each; e.g. the ``test_accuracy``
        column of two :func:`repeated_evaluation` runs.
    claim : {"greater", "less"}, default="greater"
        The claimed direction: the mean of ``scores`` above (below) the
        mean of ``baseline``.
    confidence_level : float, default=0.95
        Level of the interval, strictly between 0 and 1.
    power : float, default=0.8
        The probability with which ``n_needed`` scores per set would resolve
        the difference, at least 0.5 and below 1.

    Returns
    -------
    ScoreComparison

    See Also
    --------
    repeated_evaluation : The repeated trainings whose scores this compares.
    scipy.stats.ttest_ind : Welch's test (``equal_var=False``); its
        ``confidence_interval`` is this interval.

    Notes
    -----
    **The interval.** With means :math:`m_1, m_2`, standard deviations
    :math:`s_1, s_2` (``ddof=1``) and :math:`n_1, n_2` scores, it is
    :math:`m_1 - m_2 \\pm t_{(1+c)/2,\\,\\nu}\\,\\sqrt{s_1^2/n_1 + s_2^2/n_2}`
    with Welch-Satterthwaite's degrees of freedom :math:`\\nu`. It assumes
    that each set's scores are independent draws from a normal distribution,
    with no assumption that their variances are equal. Trainings of two models
    on one fixed split share that split: the interval covers the spread of
    the trainings, not the luck of the split. With one score in a set no
    spread can be measured: the interval is NaN and the verdict "not
    resolved" (2 or more scores per set measure one). Sets without any
    spread (equal scores in each) give the interval ``[difference,
    difference]``.

    No bootstrap is offered: resampling 2 to 10 trainings gives intervals
    too narrow for their level (with 2 scores per set each resampled mean
    takes one of 3 values), where the t distribution widens them for the
    spread that a few scores leave unknown.

    **The scores needed.** ``n_needed`` is the smallest :math:`n \\ge 2`
    such that, if both sets had :math:`n` scores and the true difference
    and standard deviations were those measured, the interval would
    exclude 0 on the measured difference's side with probability ``power``:
    :math:`P(T > t_{(1+c)/2,\\,\\nu_n}) \\ge` ``power`` for :math:`T` of the
    noncentral t distribution with :math:`\\nu_n` degrees of freedom and
    noncentrality :math:`|m_1 - m_2| / \\sqrt{(s_1^2 + s_2^2)/n}`. The
    assumption is strong when few scores measured the difference and the
    spreads: the estimate is an order of magnitude, and a larger run may
    find a smaller difference (or none) than the one it was sized for.

    Examples
    --------
    >>> from sklenet.evaluation import compare_scores
    >>> result = compare_scores([0.951, 0.948, 0.953], [0.941, 0.944, 0.940])
    >>> result.verdict, round(result.difference, 4)
    ('supported', 0.009)
    >>> [round(bound, 4) for bound in (result.ci_low, result.ci_high)]
    [0.0037, 0.0143]
    >>> result = compare_scores([0.9400, 0.9450], [0.9430, 0.9510])
    >>> result.verdict, result.n_needed
    ('not resolved', 19)
    >>> compare_scores([0.94], [0.95]).verdict
    'not resolved'
    """
    if claim not in _CLAIM_SIGNS:
        raise ValueError(f"claim={claim!r} must be one of {list(_CLAIM_SIGNS)}.")
    if not (isinstance(confidence_level, Real) and 0 < confidence_level < 1):
        raise ValueError(f"confidence_level={confidence_level!r} must be a number "
                         "strictly between 0 and 1, e.g. 0.95.")
    if not (isinstance(power, Real) and 0.5 <= power < 1):
        raise ValueError(f"power={power!r} must be a number of at least 0.5 and "
                         "below 1, e.g. 0.8.")
    scores = _checked_scores(scores, "scores")
    baseline = _checked_scores(baseline, "baseline")
    n_scores, n_baseline = len(scores), len(baseline)
    std, baseline_std = (float(part.std(ddof=1)) if len(part) > 1 else np.nan
                         for part in (scores, baseline))
    difference = float(scores.mean() - baseline.mean())
    measured = {"difference": difference, "confidence_level": float(confidence_level),
                "claim": claim, "n_scores": n_scores, "n_baseline": n_baseline,
                "std": std, "baseline_std": baseline_std, "power": float(power)}
    if min(n_scores, n_baseline) < 2:
        return ScoreComparison(
            **measured, ci_low=np.nan, ci_high=np.nan, verdict="not resolved",
            n_needed=None,
            reason=f"A set of one score has no spread ({n_scores} and {n_baseline} "
            "scores), so no interval can be measured; 2 or more in each set "
            "measure one, and their spread tells how many resolve the difference.")
    low, high = _welch_interval(difference, std**2 / n_scores,
                                baseline_std**2 / n_baseline, n_scores, n_baseline,
                                confidence_level)
    interval = (f"the {confidence_level * 100:g} % interval "
                f"[{low:.4g}, {high:.4g}]")
    if low > 0 or high < 0:
        above = low > 0
        verdict = ("supported" if above == (_CLAIM_SIGNS[claim] > 0)
                   else "contradicted")
        return ScoreComparison(**measured, ci_low=low, ci_high=high,
                               verdict=verdict, n_needed=None,
                               reason=f"{interval.capitalize()} lies "
                               f"{'above' if above else 'below'} 0.")
    if difference == 0:
        return ScoreComparison(**measured, ci_low=low, ci_high=high,
                               verdict="not resolved", n_needed=None,
                               reason=f"The means are equal: {interval} holds 0 "
                               "and no number of scores resolves no difference.")
    n_needed = _n_needed(difference, std**2, baseline_std**2, confidence_level,
                         power)
    return ScoreComparison(
        **measured, ci_low=low, ci_high=high, verdict="not resolved",
        n_needed=n_needed,
        reason=f"{interval.capitalize()} holds 0; {n_needed} scores per set would "
        f"exclude it with probability {power * 100:g} % if the measured difference "
        "and spreads were the true ones.")


def _checked_scores(values, name):
    """``values`` as a 1-d float array of at least one finite number."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or len(values) < 1:
        raise ValueError(f"{name} must be a 1-d list of at least one score, got "
                         f"an array of shape {values.shape}.")
    if not np.isfinite(values).all():
        bad = float(values[~np.isfinite(values)][0])
        raise ValueError(f"{name} holds {bad!r}; every score must be a finite "
                         "number.")
    return values


def _welch_interval(difference, var_mean, baseline_var_mean, n_scores, n_baseline,
                    confidence_level):
    """Welch's t interval of ``difference`` from the variances of the two
    means (``std**2 / n``); ``[difference, difference]`` when both are 0."""
    variance = var_mean + baseline_var_mean
    if variance == 0:
        return difference, difference
    dof = variance**2 / (var_mean**2 / (n_scores - 1)
                         + baseline_var_mean**2 / (n_baseline - 1))
    half_width = stats.t.ppf((1 + confidence_level) / 2, dof) * math.sqrt(variance)
    return float(difference - half_width), float(difference + half_width)


def _n_needed(difference, variance, baseline_variance, confidence_level, power):
    """The smallest n >= 2 at which Welch's interval of n and n scores, drawn
    with this ``difference`` and these variances (not both 0), excludes 0 on
    its side with probability ``power`` (see :func:`compare_scores`)."""
    total = variance + baseline_variance

    def resolves(n):
        dof = (n - 1) * total**2 / (variance**2 + baseline_variance**2)
        critical = stats.t.ppf((1 + confidence_level) / 2, dof)
        noncentrality = abs(difference) / math.sqrt(total / n)
        return stats.nct.sf(critical, dof, noncentrality) >= power

    # The probability grows with n: double up to a large enough n, then halve
    # the gap down to the smallest.
    high = 2
    while not resolves(high):
        high *= 2
    low = high // 2  # does not resolve, unless high is 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if resolves(middle) else (middle, high)
    return high
