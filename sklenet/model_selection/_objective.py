"""One trial of :class:`~sklenet.LeNetSearchCV`: the Optuna objective.

``_Objective`` fits the estimator with the trial's parameters on each split
and returns the mean score; ``_TrialReporter`` (a Keras callback) reports the
validation accuracy after every epoch to the trial, for the pruner; ``_record``
stores each trial's scores, timings and epochs as its user attributes, where
``cv_results_`` reads them back.
"""

import time
import warnings
from typing import NamedTuple

import keras
import numpy as np
import optuna
from optuna.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from sklearn.base import clone
from sklearn.exceptions import FitFailedWarning
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import has_fit_parameter

from .._sklearn_callbacks import fit_subtask, subtask

# Each distribution type through its public Trial.suggest_* method.
_SUGGEST = {
    CategoricalDistribution: lambda trial, name, d: trial.suggest_categorical(
        name, d.choices
    ),
    IntDistribution: lambda trial, name, d: trial.suggest_int(
        name, d.low, d.high, step=d.step, log=d.log
    ),
    FloatDistribution: lambda trial, name, d: trial.suggest_float(
        name, d.low, d.high, step=d.step, log=d.log
    ),
}


class _TrialReporter(keras.callbacks.Callback):
    """Keras callback: report each epoch's validation accuracy, prune.

    The step reported is ``step_offset + epoch``; the objective sets the
    offset to ``split_index * epochs``, so a step means the same split and
    epoch in every trial. A step is reported once: when several models share
    the callback (the members of an ensemble), the first model to reach an
    epoch reports it. ``n_epochs`` counts every epoch of every model.
    """

    def __init__(self, trial):
        super().__init__()
        self.trial = trial
        self.step_offset = 0
        self.n_epochs = 0
        self._last_step = -1

    def __deepcopy__(self, memo):
        # clone() deep-copies an estimator's callbacks; every copy must keep
        # reporting to the one trial.
        return self

    def on_epoch_end(self, epoch, logs=None):
        self.n_epochs += 1
        step = self.step_offset + epoch
        value = (logs or {}).get("val_accuracy")
        if value is None or step <= self._last_step:
            return
        self._last_step = step
        self.trial.report(float(value), step)
        if self.trial.should_prune():
            raise optuna.TrialPruned(
                f"validation accuracy {value:.4f} after epoch {epoch + 1} "
                f"(step {step})"
            )


def _reports_epochs(estimator):
    """Whether ``estimator`` can feed the pruner (Keras callbacks, epochs and
    a validation set given to ``fit``): LeNetClassifier and ensembles."""
    params = estimator.get_params()
    return ("callbacks" in params and "epochs" in params
            and has_fit_parameter(estimator, "validation_data"))


class _Split(NamedTuple):
    """One split of the data, with the metadata routed to each side."""

    X_train: object
    y_train: object
    X_val: object
    y_val: object
    fit_params: dict  # for the estimator's fit, indexed like X_train
    score_params: dict  # for the scorer, indexed like X_val


def _scores(value, refit_metric):
    """A scorer's result as ``{metric: float}``; single scores are "score"."""
    if not isinstance(value, dict):
        return {"score": float(value)}
    if refit_metric not in value:
        raise ValueError(
            f"scoring returned the metrics {sorted(value)}: refit must name the "
            f"one that Optuna optimises, but refit={refit_metric!r}."
        )
    return {name: float(score) for name, score in value.items()}


class _Objective:
    """One Optuna trial: fit the estimator with the trial's parameters on each
    split, report per-epoch validation accuracy, return the mean score of
    ``refit_metric``. For scikit-learn's callbacks each trial is a subtask
    of ``search_task`` (None: none) whose subtasks are its splits' fits,
    ``caller`` the search."""

    def __init__(self, estimator, param_distributions, splits, scorer,
                 refit_metric, error_score, search_task=None, caller=None):
        self.search_task = search_task
        self.caller = caller
        self.estimator = estimator
        self.param_distributions = param_distributions
        self.splits = splits
        self.scorer = scorer
        self.refit_metric = refit_metric
        self.error_score = error_score
        self.uses_validation_data = has_fit_parameter(estimator, "validation_data")
        self.reports_epochs = _reports_epochs(estimator)

    def __call__(self, trial):
        params = {
            name: _SUGGEST[type(distribution)](trial, name, distribution)
            for name, distribution in self.param_distributions.items()
        }
        with subtask(self.search_task, self.caller, "trial", task_id=trial.number,
                     max_subtasks=len(self.splits)) as trial_task:
            return self._fit_splits(trial, params, trial_task)

    def _fit_splits(self, trial, params, trial_task):
        """The trial with ``params``: fit and score each split (each a
        subtask of ``trial_task``), record it, return its mean score."""
        reporter = _TrialReporter(trial) if self.reports_epochs else None
        scores, fit_times, score_times = [], [], []
        try:
            for index, split in enumerate(self.splits):
                estimator = clone(self.estimator).set_params(**params)
                fit_params = dict(split.fit_params)
                if self.uses_validation_data:
                    fit_params["validation_data"] = (split.X_val, split.y_val)
                if reporter is not None:
                    reporter.step_offset = index * estimator.get_params()["epochs"]
                    estimator.set_params(
                        callbacks=[*(estimator.get_params()["callbacks"] or []),
                                   reporter]
                    )
                start = time.perf_counter()
                split_task = (None if trial_task is None
                              else trial_task.subcontext(task_name="split"))
                try:
                    with fit_subtask(split_task, self.caller, estimator,
                                     split.X_train, split.y_train,
                                     split.fit_params.get("sample_weight")):
                        estimator.fit(split.X_train, split.y_train, **fit_params)
                    fit_times.append(time.perf_counter() - start)
                    start = time.perf_counter()
                    value = self.scorer(estimator, split.X_val, split.y_val,
                                        **split.score_params)
                    score_times.append(time.perf_counter() - start)
                except Exception as exc:
                    pruned = _trial_pruned(exc)
                    if pruned is not None:
                        raise pruned from None
                    if self.error_score == "raise":
                        raise
                    # As sklearn's searches: warn and score error_score (NaN
                    # makes Optuna mark the trial failed); the other splits
                    # are skipped, their score would not change the outcome.
                    # Parameter values the estimator refuses fail whatever
                    # error_score is: such a trial never trained, and a score
                    # would rank it among the trials that did.
                    score = (np.nan if isinstance(exc, InvalidParameterError)
                             else float(self.error_score))
                    warnings.warn(
                        f"Trial {trial.number} failed with parameters {params}; "
                        f"its score is {score}: {exc!r}",
                        FitFailedWarning,
                    )
                    trial.set_user_attr("error", repr(exc))
                    names = scores[0] if scores else [self.refit_metric]
                    failed = dict.fromkeys(names, score)
                    scores += [failed] * (len(self.splits) - index)
                    break
                # Outside the try: a scorer that returns a dict without the
                # refit metric is a configuration error, not a failed trial.
                scores.append(_scores(value, self.refit_metric))
        finally:
            _record(trial, scores, fit_times, score_times, reporter)
        return float(np.mean([split[self.refit_metric] for split in scores]))


def _trial_pruned(exc):
    """The ``optuna.TrialPruned`` that ``exc`` is or was raised from, if any:
    an ensemble reports the member that stopped in an error of its own,
    raised from the reporter's TrialPruned."""
    while exc is not None:
        if isinstance(exc, optuna.TrialPruned):
            return exc
        exc = exc.__cause__
    return None


def _record(trial, scores, fit_times, score_times, reporter):
    """Store a trial's split scores of each metric, their mean (the Optuna
    dashboard shows user attributes), timings and epochs in the trial's user
    attributes (in the storage, so that every worker sees them)."""
    for name in dict.fromkeys(name for split in scores for name in split):
        values = [split.get(name, np.nan) for split in scores]
        for index, value in enumerate(values):
            trial.set_user_attr(f"split{index}_test_{name}", value)
        trial.set_user_attr(f"mean_test_{name}", float(np.mean(values)))
    for name, times in (("fit_time", fit_times), ("score_time", score_times)):
        if times:
            trial.set_user_attr(f"mean_{name}", float(np.mean(times)))
            trial.set_user_attr(f"std_{name}", float(np.std(times)))
    if reporter is not None:
        trial.set_user_attr("n_epochs", reporter.n_epochs)
