"""The search step on Dask: one task per trial, every trial in one Optuna study.

Locally the search is one task that runs its trials one after another
(:func:`._plan.search`). On Dask, :class:`SpreadSearch` submits one task per
missing trial (:func:`run_trial`), which the workers take as they come free,
side by side with the trainings that do not wait for the search. Every task
asks the same study for its trial, in a storage that every worker reaches:

- the ``storage`` URL of the run (PostgreSQL, or any Optuna RDB URL): the
  study lives there, and a resumed run continues it;
- without one, optuna-integration's ``DaskStorage``: an in-memory study
  served by the scheduler. It lives only as long as the run, so the run
  copies each finished trial into the run folder's ``search.db`` as soon as
  its task returns, and a resumed run copies them back into a new
  ``DaskStorage`` study before it asks for the missing ones. A run killed
  during the search loses the trials in flight (at most one per worker),
  and no finished one.

Trials run side by side, so the Tree-structured Parzen Estimator proposes
each from the trials finished when it starts, which depends on timing: a
spread search is not identical from run to run, nor to the local one. Each
trial's training is (its parameters and seed fix it), and so is everything
trained after the search for the same best parameters.
"""

import time

from .. import LeNetSearchCV
from .._recipes import OPTIMIZED_PARAMS
from ..model_selection._storage import fail_interrupted_trials, open_storage
from ._executors import check_dask
from ._plan import exit_with_parent, pin_threads, search_record, searcher
from ._results import STUDY_NAME

#: Trials that are done: their task returned, a result or an error.
_FINISHED = ("COMPLETE", "PRUNED", "FAIL")


#: The study's user attribute that counts the trial tasks ever submitted.
TRIAL_TASKS = "sklenet_trial_tasks"


def dask_storage(client):
    """A new ``optuna_integration.DaskStorage`` served by ``client``'s
    scheduler (an in-memory study); ImportError names the extra if
    optuna-integration is missing."""
    check_dask(client)
    from ._dask_storage import scheduler_storage

    return scheduler_storage(client)


def run_trial(data, storage, seed):
    """The task of one trial: ask the study in ``storage`` for a trial and
    run it, with a sampler seeded by ``seed``; return its seconds."""
    import optuna

    exit_with_parent()
    pin_threads()
    start = time.perf_counter()
    sampler = optuna.samplers.TPESampler(seed=seed, constant_liar=True)
    searcher(data, storage, n_trials=1, sampler=sampler).fit(
        data.X_train, data.y_train, validation_data=(data.X_val, data.y_val))
    return time.perf_counter() - start


def no_trial():
    """The task of a search whose trials are all in: it runs none, in 0 s."""
    return 0.0


class SpreadSearch:
    """The search step of a run on Dask: its trial tasks and its record.

    ``workers`` is the run's :class:`~._executors.DaskExecutor`, ``shared``
    the study data sent to its workers, ``data`` the
    :class:`~._plan.StudyData` and ``storage`` the run's storage URL (None:
    a ``DaskStorage`` study, copied to ``data.search_storage``).
    """

    def __init__(self, training, workers, shared, data, storage):
        import optuna

        self.training = training
        self.n_trials = data.settings.n_trials
        # A study that one run at a time works on: a trial still running
        # belongs to a run that was killed (see fail_interrupted_trials).
        self._record = open_storage(data.search_storage)
        fail_interrupted_trials(self._record, STUDY_NAME)
        self._record_study = optuna.create_study(
            storage=self._record, study_name=STUDY_NAME, direction="maximize",
            load_if_exists=True)
        if storage is None:
            self._storage = self._task_storage = dask_storage(workers.client)
            self._study = optuna.create_study(
                storage=self._storage, study_name=STUDY_NAME,
                direction="maximize")
            self._study.add_trials(self._finished(self._record_study))
        else:
            self._storage = self._record
            self._task_storage = storage  # each worker opens the URL itself
            self._study = self._record_study
        self._copied = {trial.number for trial in self._finished(self._study)}
        # The study's best hyperparameters first (see _plan.search).
        self._study.enqueue_trial(OPTIMIZED_PARAMS, skip_if_exists=True)
        done = [trial for trial in self._study.get_trials(deepcopy=False)
                if trial.state.name in _FINISHED[:2]]
        missing = self.n_trials - len(done)
        if not any(trial.state.name == "COMPLETE" for trial in done):
            missing = max(missing, 1)  # a best trial needs a completed one
        missing = max(missing, 0)
        # One seed per trial task ever submitted to the study, counted in the
        # record: tasks that start together, and those of a resumed run, must
        # not draw the same random parameters.
        before = self._record_study.user_attrs.get(TRIAL_TASKS, 0)
        self._record_study.set_user_attr(TRIAL_TASKS, before + missing)
        seed = data.settings.random_state
        self.pending = {
            workers.submit(run_trial, shared, self._task_storage,
                           LeNetSearchCV.sampler_seed(seed, number),
                           key=f"{training.step}-trial-{number}")
            for number in range(before, before + missing)}
        if not self.pending:
            # Every trial is in: a run was killed after the last one, before
            # the search's result was stored. One task that runs none lets
            # the run collect the record as it collects any search's, when
            # its last task returns.
            self.pending = {workers.submit(no_trial,
                                           key=f"{training.step}-no-trial")}
        self.n_tasks = len(self.pending)
        self._seconds = 0.0

    @staticmethod
    def _finished(study):
        return [trial for trial in study.get_trials(deepcopy=False)
                if trial.state.name in _FINISHED]

    def trial_done(self, future):
        """Take the result of one trial task (raising its error) and copy the
        trials finished since to the record; True once the last one is in."""
        self.pending.discard(future)
        self._seconds += future.result()
        if not self.pending:
            # No trial task runs any more: one still running was on a lost
            # worker (Dask ran its task again elsewhere).
            fail_interrupted_trials(self._storage, STUDY_NAME)
        self._copy()
        return not self.pending

    def _copy(self):
        if self._study is self._record_study:
            return
        for trial in self._finished(self._study):
            if trial.number not in self._copied:
                self._record_study.add_trial(trial)
                self._copied.add(trial.number)

    def outcome(self):
        """The search step's result, as :func:`._plan.run_training` returns
        it; the ``DaskStorage`` study is dropped from the scheduler."""
        if self._study is not self._record_study:
            self._storage.delete_study(
                self._storage.get_study_id_from_name(STUDY_NAME))
        return {"seconds": self._seconds,
                "result": search_record(self._record_study).to_json()}
