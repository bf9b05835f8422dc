"""The plan of a reproduction: every training a task with a stable key.

A run of the study is a set of independent trainings. Each has a key (its
step, model, repeat and, on a learning curve, training-set size) that fixes
its seed through the same SeedSequence children as
:func:`~sklenet.evaluation.repeated_evaluation` and
:func:`~sklenet.evaluation.repeated_learning_curve`, so a training gives the
same numbers wherever and whenever it runs. :func:`run_training` is the task,
run in a worker process (a local one or a Dask worker): it returns a JSON
result and, for the trainings whose model the run keeps, the saved model's
bytes; the run folder stores each result as soon as it arrives, and the
step (:mod:`._steps`) puts its results together into the record that the
whole step produced before, which the report reads.

Each member of an ensemble training is a task too (:func:`run_member`, keyed
by its training's key and its index): it trains the member exactly as the
ensemble's ``fit`` would, with the seed the ensemble gives it, and the run
stores it as soon as it is trained. Once all are stored, the ensemble
training assembles the ensemble from them and scores it
(:func:`run_training` with ``members``): its numbers are those of a plain
``LeNetEnsembleClassifier.fit``.
Locally the search is one task too: its trials run one after another
against the search storage, whose seeded sampler makes them reproducible; on
Dask each trial is a task (:mod:`._spread_search`).

Every task runs TensorFlow on one intra-op and one inter-op thread
(:func:`pin_threads`): TensorFlow's float sums depend on its thread count, so
a fixed count per training is what makes 1 worker, N workers, a resumed run
and a Dask cluster give identical numbers. Parallelism comes from running
trainings side by side instead.
"""

import dataclasses
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from .._recipes import OPTIMIZED_PARAMS, make_estimator
from ._results import STUDY_NAME, Search
from ._settings import STUDY_MODELS

#: The models whose estimator takes the search's best parameters.
SEARCHED = ("optimized", "ensemble")


@dataclasses.dataclass(frozen=True)
class StudyData:
    """What every task needs: the settings, the splits and where the search
    stores its trials. Sent once to each worker."""

    settings: object
    X_train: np.ndarray
    X_val: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_val: np.ndarray
    y_test: np.ndarray
    X_deploy: np.ndarray
    X_deploy_val: np.ndarray
    y_deploy: np.ndarray
    y_deploy_val: np.ndarray
    search_storage: str

    @property
    def curve_data(self):
        """The learning curves' data: the training and test parts."""
        return (np.concatenate([self.X_train, self.X_test]),
                np.concatenate([self.y_train, self.y_test]))


def estimator(model, settings, best_params=None, **overrides):
    """An unfitted estimator of ``model`` with the run's settings; the
    searched models get ``best_params`` (the study's own before a search)."""
    params = (best_params or OPTIMIZED_PARAMS) if model in SEARCHED else None
    if model in STUDY_MODELS:  # sklenet's best recipe keeps its own schedule
        overrides = {"min_epoch_samples": settings.min_epoch_samples, **overrides}
    return make_estimator(model, params, n_estimators=settings.n_estimators,
                          max_epochs=settings.max_epochs, **overrides)


# ------------------------------------------------------------------- tasks
def pin_threads():
    """Run this process's TensorFlow on one intra-op and one inter-op thread.

    Raises RuntimeError if TensorFlow already runs here with other counts
    (they are fixed once it has started): a worker that has trained
    something else before cannot reproduce the study's numbers.
    """
    import tensorflow as tf

    threading = tf.config.threading
    try:
        threading.set_intra_op_parallelism_threads(1)
        threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass  # already started: the check below tells whether with 1 thread
    counts = (threading.get_intra_op_parallelism_threads(),
              threading.get_inter_op_parallelism_threads())
    if counts != (1, 1):
        raise RuntimeError(
            f"TensorFlow already runs in worker process {os.getpid()} with "
            f"{counts[0]} intra-op and {counts[1]} inter-op threads; the study's "
            "trainings need 1 and 1 to give the same numbers everywhere. Use "
            "fresh worker processes.")


_WATCHED = []  # the parent process id that this worker's watchdog watches


def exit_with_parent():
    """End this worker process as soon as its parent has gone: a run killed
    with SIGKILL leaves no worker training on (nor a search writing trials
    that the next run counts as interrupted). Started once per process."""
    if _WATCHED:
        return
    _WATCHED.append(os.getppid())

    def watch():
        while os.getppid() == _WATCHED[0]:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="sklenet-parent-watchdog",
                     daemon=True).start()


def run_training(training, data, best_params=None, members=None):
    """Run ``training`` (a :class:`~._steps.Training`) on ``data``; return
    ``(result, model_bytes)``.

    ``result`` is JSON-serialisable: ``seconds`` and what the training
    measured; ``model_bytes`` is the saved model (see
    :func:`sklenet.save`) of the trainings whose model the run keeps, else
    None. ``best_params`` are the search's, for the searched models.
    ``members`` are ``(result, model_bytes)`` of each of the training's
    :attr:`~._steps.Training.member_trainings` (:func:`run_member`): the
    ensemble is then assembled from them instead of trained, and its numbers
    are those of its training.
    """
    exit_with_parent()
    pin_threads()
    start = time.perf_counter()
    result, model_bytes = training.of.train(training, data, best_params, members)
    seconds = time.perf_counter() - start + sum(
        result["seconds"] for result, _ in members or ())
    return {"seconds": seconds, "result": result}, model_bytes


def run_member(training, data, best_params=None):
    """Train the member ``training.member`` of an ensemble training, as the
    ensemble's ``fit`` would (its seed and data); return ``(result,
    model_bytes)`` for :func:`run_training`'s ``members``."""
    exit_with_parent()
    pin_threads()
    start = time.perf_counter()
    inputs = training.of.inputs(training, data, best_params)
    member = inputs.estimator.fit_member(training.member, inputs.X,
                                         inputs.y, **inputs.fit_params)
    fit_time = time.perf_counter() - start
    result = {"member": training.member, "random_state": member.random_state,
              "fit_time": fit_time}
    model_bytes = saved(member)
    return {"seconds": time.perf_counter() - start, "result": result}, model_bytes


def fitted_from_members(members):
    """An ensemble's ``fit`` that assembles it from the saved ``members``
    (:func:`run_member`'s results)."""
    fitted = [_loaded(model_bytes) for _, model_bytes in members]

    def fit(ensemble, X, y, **fit_params):
        ensemble.fit_from_members(fitted, X, y, **fit_params)

    return fit


def search(data):
    """The search step's :class:`~._results.Search`: the missing trials of the
    run's Optuna study, run here one after another."""
    import optuna
    from optuna.trial import TrialState

    from ..model_selection._storage import (
        fail_interrupted_trials,
        open_storage,
        optuna_verbosity,
    )

    s = data.settings
    storage = open_storage(data.search_storage)
    # One search task runs at a time: a trial still running now is one that a
    # killed run (or a lost worker) left behind.
    fail_interrupted_trials(storage, STUDY_NAME)
    try:
        study = optuna.load_study(study_name=STUDY_NAME, storage=storage)
    except KeyError:
        study = None
    trials = [] if study is None else study.get_trials(deepcopy=False)
    # Failed and interrupted trials are not done: new trials replace them.
    n_missing = s.n_trials - sum(
        trial.state in (TrialState.COMPLETE, TrialState.PRUNED) for trial in trials)
    completed = any(trial.state == TrialState.COMPLETE for trial in trials)
    if study is None:
        # The search starts from the study's best hyperparameters: with the
        # few trials of a quick run, random draws alone (TPE's first ten) can
        # leave a weak optimum for the optimised LeNet and ensemble.
        # Without its "A new study created" line: a worker does not have the
        # command's Optuna verbosity (WARNING, sklenet reproduce's).
        with optuna_verbosity(optuna.logging.WARNING):
            study = optuna.create_study(storage=storage, study_name=STUDY_NAME,
                                        direction="maximize")
        study.enqueue_trial(OPTIMIZED_PARAMS)
    if n_missing > 0 or not completed:  # a best trial needs a completed one
        study = searcher(data, storage, n_trials=max(n_missing, 1)).fit(
            data.X_train, data.y_train,
            validation_data=(data.X_val, data.y_val)).study_
    return search_record(study)


def searcher(data, storage, n_trials, sampler=None):
    """The run's :class:`~sklenet.LeNetSearchCV` of ``n_trials`` trials of
    its study in ``storage`` (None ``sampler``: seeded from the run's
    ``random_state``), without a refit."""
    from .. import LeNetSearchCV

    s = data.settings
    standard = estimator("standard", s, random_state=s.random_state)
    return LeNetSearchCV(
        standard, n_trials=n_trials, storage=storage, study_name=STUDY_NAME,
        sampler=sampler, random_state=s.random_state,
        pruner=_pruner(s.n_trials,
                       standard.fit_schedule(len(data.y_train)).n_iter_no_change),
        refit=False, show_progress_bar=False)


def search_record(study):
    """The search step's :class:`~._results.Search` from its Optuna study."""
    trials = study.trials_dataframe(
        attrs=("number", "state", "value", "duration", "params", "user_attrs"))
    trials["duration"] = trials["duration"].dt.total_seconds()
    return Search(best_params=study.best_trial.params,
                  best_score=study.best_value, trials=trials)


def _pruner(n_trials, patience):
    """Optuna's median pruner, started after a quarter of the trials (at most
    its default 5): with the few trials of a quick run the default never
    prunes, and a slow-learning draw then trains to the epoch cap. Each trial
    trains for early stopping's ``patience`` epochs before it can be pruned."""
    import optuna

    return optuna.pruners.MedianPruner(
        n_startup_trials=min(5, max(1, n_trials // 4)), n_warmup_steps=patience)


def histories(estimator):
    """The per-epoch history of each network: one, or each ensemble member's."""
    return [member.history_ for member in getattr(estimator, "estimators_",
                                                  [estimator])]


def plain(row):
    """A row with Python numbers (NumPy's do not go through JSON)."""
    return {name: value.item() if isinstance(value, np.generic) else value
            for name, value in row.items()}


def saved(fitted):
    """The bytes of ``fitted`` saved by :func:`sklenet.save`: the run's
    process writes them, wherever the training ran."""
    from ..persistence import save

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.sklenet"
        save(fitted, path)
        return path.read_bytes()


def _loaded(model_bytes):
    """The estimator that :func:`saved` saved in ``model_bytes``."""
    from ..persistence import load

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.sklenet"
        path.write_bytes(model_bytes)
        return load(path)
