"""``sklenet reproduce``: the whole study, one cached training at a time.

The steps are those of the study: repeated evaluation of the standard LeNet,
the Optuna search, repeated evaluation of the optimised LeNet and of the
ensemble, their learning curves and their convergence curves on the
deployment split; and the same for sklenet's own recipe, "best", which is not
part of the study. Each step (:mod:`._steps`) is a set of trainings that run
as tasks (:mod:`._plan`) in worker processes, local ones or a Dask
cluster's (:mod:`._executors`), as the :mod:`._scheduler` releases them
once their dependencies are in. Each training's result is stored in the run folder's
cache as soon as it finishes and each step's record (:mod:`._results`) as
soon as all its trainings are (both written atomically); what can be read
back is not trained again, so an interrupted run loses only the trainings
in flight. The Optuna study lives in the search storage and resumes trial
by trial.
"""

import contextlib
import dataclasses
import hashlib
import json
import logging
import tempfile
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split
from tqdm.auto import tqdm

from .._io import atomic_write, read_json
from .._typing import ArrayLike, PathLike, RandomState
from ..evaluation import deployment_split, evaluation_split
from ._estimate import CALIBRATION_EPOCHS, calibrate, estimate
from ._executors import DaskExecutor, executor
from ._plan import StudyData, run_member, run_training, search
from ._results import CACHE_FORMAT, RunFolder, Step, StudyResults, read_entry
from ._scheduler import Scheduler
from ._settings import settings_fields
from ._spread_search import SpreadSearch
from ._steps import SearchStep, plan, study_steps

_LOGGER = logging.getLogger(__name__)


def subsample(
    X: ArrayLike,
    y: ArrayLike,
    max_samples: int | None,
    random_state: RandomState,
) -> tuple[Any, Any]:
    """A stratified subsample of at most ``max_samples`` images (None: all)."""
    if max_samples is None or max_samples >= len(y):
        return X, y
    X, _, y, _ = train_test_split(X, y, train_size=max_samples, stratify=y,
                                  random_state=random_state)
    return X, y


def check_output_folder(out: PathLike) -> None:
    """Raise ValueError unless ``out`` is a folder that exists and is
    writable, or one that can be created: before any work, so that a run
    never trains for an hour and then fails to write. Writability is tried
    with a temporary file in the deepest folder that exists (permission bits
    do not show a read-only file system, nor what root may not write)."""
    out = RunFolder(out).out
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "is" if existing == out else f"is below {existing}, which is"
        raise ValueError(f"{out} {where} a file; give a folder.")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        where = "" if existing == out else f" (cannot write in {existing})"
        raise ValueError(f"{out} is not writable{where}: "
                         f"{exc.strerror or exc}.") from None


def _fingerprint(X, y):
    digest = hashlib.sha256(np.ascontiguousarray(X).tobytes())
    digest.update(np.ascontiguousarray(y).tobytes())
    return digest.hexdigest()


class Reproduction:
    """The study on ``(X, y)`` with ``settings``, cached in ``out``.

    Parameters
    ----------
    X, y : ndarray
        All labelled images (uint8 pixels) and their labels.
    settings : Settings
    out : path-like
        The output folder (created).
    data_name : str
        How the data was given (``sample`` or a path), for the report.
    n_jobs : int or None
        Local worker processes that train side by side (None: 1); unused
        when the run is on Dask.
    storage : str or None
        The search's Optuna storage URL (e.g. PostgreSQL's, which every Dask
        worker reaches); None: the SQLite database in ``out``.
    """

    def __init__(self, X, y, settings, out, data_name, n_jobs=None, storage=None):
        self.X, self.y = subsample(X, y, settings.max_samples, settings.random_state)
        self.settings = settings
        self.folder = RunFolder(out)
        self.data_name = data_name
        self.n_jobs = n_jobs
        self.storage = storage
        self.data_sha256 = _fingerprint(self.X, self.y)
        seed = settings.random_state
        (self.X_train, self.X_val, self.X_test,
         self.y_train, self.y_val, self.y_test) = evaluation_split(
            self.X, self.y, random_state=seed)
        (self.X_deploy, self.X_deploy_val,
         self.y_deploy, self.y_deploy_val) = deployment_split(
            self.X, self.y, random_state=seed)

    @property
    def out(self):
        return self.folder.out

    @property
    def search_storage(self):
        """The URL of the storage that holds the search's trials: the one
        given, else the SQLite database in ``out``."""
        return self.storage or self.folder.search_storage

    # ------------------------------------------------------------- the cache
    def description(self):
        """The settings and data that the cached results belong to."""
        return {
            "cache_format": CACHE_FORMAT,
            "settings": dataclasses.asdict(self.settings),
            "data": self.data_name,
            "data_sha256": self.data_sha256,
            "n_samples": len(self.y),
            "evaluation_split": [len(self.y_train), len(self.y_val), len(self.y_test)],
            "deployment_split": [len(self.y_deploy), len(self.y_deploy_val)],
        }

    def check_cache(self):
        """Raise ValueError if ``out`` holds results of other settings or data.

        An unreadable description (cut short by a crash of an older version)
        is logged and rewritten: the steps' own records are checked as they
        are read."""
        path = self.folder.description
        if not path.exists():
            return
        try:
            cached = read_json(path, what="run description")
            settings = settings_fields(cached["settings"])
        except (OSError, ValueError) as exc:  # InvalidFileError names the file
            raise ValueError(f"{exc}; delete it to use {self.out} again.") from None
        except (KeyError, TypeError, AttributeError):
            raise ValueError(f"{path} is not a run description of sklenet; delete "
                             f"it to use {self.out} again.") from None
        if cached.get("cache_format") != CACHE_FORMAT:
            raise ValueError(
                f"{self.out} holds the results of another sklenet version (cache "
                f"format {cached.get('cache_format', 1)}, this version writes "
                f"{CACHE_FORMAT}). Use another --out folder, or delete this one "
                "to start over."
            )
        if "epochs" in settings:  # written before Settings.epochs was max_epochs
            settings["max_epochs"] = settings.pop("epochs")
        current = self.description()
        differences = [
            f"{key}: {settings[key]!r} there, {value!r} now"
            for key, value in current["settings"].items()
            if settings.get(key) != value
        ]
        if cached.get("data_sha256") != current["data_sha256"]:
            differences.append(
                f"data: {cached.get('data')!r} there, {self.data_name!r} now")
        if differences:
            raise ValueError(
                f"{self.out} holds the results of another run "
                f"({'; '.join(differences)}). Use another --out folder, or "
                "delete this one to start over."
            )

    # ------------------------------------------------------------- the steps
    def study_data(self):
        """What every training task needs (:class:`~._plan.StudyData`)."""
        return StudyData(
            self.settings, self.X_train, self.X_val, self.X_test, self.y_train,
            self.y_val, self.y_test, self.X_deploy, self.X_deploy_val,
            self.y_deploy, self.y_deploy_val,
            search_storage=self.search_storage)

    def steps(self):
        """(name, title) of every step, in the study's order."""
        return [(step.name, step.title()) for step in study_steps(self.settings)]

    def plan(self):
        """{step name: its :class:`~._steps.Training` tasks}, in run order."""
        return plan(self.study_data())

    def estimate(self, *, dask=None, log=_LOGGER.info):
        """The :class:`~._estimate.Estimate` of the whole run, calibrated in
        the workers the run would use; nothing of the study is trained."""
        data = self.study_data()
        with executor(dask, self.n_jobs) as workers:
            return self._estimate(workers, workers.share(data), data, log)

    def _estimate(self, workers, shared, data, log):
        log(f"calibrating: {CALIBRATION_EPOCHS} timed epochs of each kind of network "
            f"on {workers.n_workers} worker(s) ...")
        return estimate(plan(data), data, calibrate(workers, shared, data),
                        workers.n_workers,
                        spread_search=isinstance(workers, DaskExecutor))

    def run(self, log=_LOGGER.info, *, dask=None, progress=True, show_plan=False):
        """Run the trainings that are not cached yet; return the
        :class:`~._results.StudyResults` of every step.

        Every training runs as a task in a worker process: ``n_jobs`` local
        ones, or the workers of a Dask cluster when ``dask`` is given (see
        :class:`~._executors.DaskExecutor`). The trainings whose
        dependencies are met run first come, first served
        (:class:`~._scheduler.Scheduler`); those of the searched models wait
        for the search. Each training's result is stored as soon as it
        arrives, and a step's record as soon as all its trainings are
        stored. ``log`` receives one line per step (by default this module's
        logger, at INFO level); ``progress`` shows one tqdm bar over the
        networks to train; ``show_plan`` logs the plan and its estimated
        time first.
        """
        self.folder.cache.mkdir(parents=True, exist_ok=True)
        self.check_cache()
        atomic_write(self.folder.description,
                     json.dumps(self.description(), indent=1))
        data = self.study_data()
        steps = _Steps(study_steps(self.settings), data, self.folder, log)
        outcomes = {task: outcome for training in steps.unfinished()
                    for task in (training, *training.member_trainings)
                    if (outcome := self._read(task)) is not None}
        # Each missing member of an ensemble training before that training.
        todo = [task for training in steps.unfinished() if training not in outcomes
                for task in (*training.member_trainings, training)
                if task not in outcomes]
        steps.finish(outcomes)
        with contextlib.ExitStack() as stack:
            workers = stack.enter_context(executor(dask, self.n_jobs))
            shared = workers.share(data) if todo else None
            if show_plan and todo:
                log(f"the plan:\n{self._estimate(workers, shared, data, log)}")
            bar = stack.enter_context(tqdm(
                total=sum(task.networks for task in todo if not task.member_trainings),
                unit="network", desc="trainings", disable=not progress or not todo))
            scheduler = Scheduler(steps.planned, todo)
            pending = {}

            def submit(tasks):
                for task in tasks:
                    pending.update(self._submit(task, workers, shared, data, outcomes,
                                                steps.best_params()))

            submit(scheduler.release())
            while pending:
                for future in workers.wait(pending):
                    task, outcome, model_bytes = _collect(pending.pop(future), future,
                                                          bar)
                    if task is None:  # a trial of a spread search, not its last
                        continue
                    self._store(task, outcome, model_bytes)
                    outcomes[task] = outcome
                    steps.finish(outcomes)
                    submit(scheduler.finished(task))
        return StudyResults({name: steps.records[name] for name in steps.planned})

    def _submit(self, task, workers, shared, data, outcomes, best_params):
        """Submit ``task`` to ``workers``; return {future: its owner}: the
        task, or the :class:`~._spread_search.SpreadSearch` of its trials."""
        if task.of.spreads_on_dask and isinstance(workers, DaskExecutor):
            search = SpreadSearch(task, workers, shared, data, self.storage)
            return dict.fromkeys(search.pending, search)
        function = run_training if task.member is None else run_member
        members = () if not task.member_trainings else (
            [(outcomes[member], self._member_bytes(member))
             for member in task.member_trainings],)
        future = workers.submit(function, task, shared,
                                best_params if task.needs_search else None, *members,
                                key=f"{task.step}-{task.key}")
        return {future: task}

    def _read(self, training):
        """The stored result of ``training``, or None (to train it again)."""
        outcome = read_entry(self.folder.training(training.step, training.key),
                             "the training runs again")
        if training.member is not None and outcome is not None and not (
                self.folder.member_model(training.step, training.key).is_file()):
            return None
        return outcome

    def _member_bytes(self, member):
        return self.folder.member_model(member.step, member.key).read_bytes()

    def _store(self, training, outcome, model_bytes):
        """Write a training's model (if it has one) and then its result, each
        atomically: a stored result has its model."""
        if model_bytes is not None:
            path = (self.folder.model(training.model) if training.member is None
                    else self.folder.member_model(training.step, training.key))
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, model_bytes)
        path = self.folder.training(training.step, training.key)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(outcome))

    def _search(self):
        """The search step's record, run in this process (for tests)."""
        return search(self.study_data())


def _collect(owner, future, bar):
    """``(task, outcome, model_bytes)`` of the ``future`` of ``owner`` (a
    task, or a :class:`~._spread_search.SpreadSearch` whose last trial it
    may be; else ``(None, None, None)``), counting its networks on ``bar``."""
    if isinstance(owner, SpreadSearch):
        bar.update(1)
        if not owner.trial_done(future):
            return None, None, None
        bar.update(max(0, owner.training.networks - owner.n_tasks))
        return owner.training, owner.outcome(), None
    outcome, model_bytes = future.result()
    # An assembled ensemble trained nothing itself.
    bar.update(0 if owner.member_trainings else owner.networks)
    return owner, outcome, model_bytes


class _Steps:
    """The steps of a run and their records: those cached (logged as such
    when it starts), and each one assembled, stored and logged as soon as
    its trainings and the records it needs are in."""

    def __init__(self, steps, data, folder, log):
        self.steps, self.data, self.folder, self.log = steps, data, folder, log
        self.planned = {step.name: step.trainings(data) for step in steps}
        self.prefixes = {step.name: f"[{number}/{len(steps)}] {step.title()}"
                         for number, step in enumerate(steps, 1)}
        self.records = {}
        for step in steps:
            cached = step.read(folder)
            if cached is not None:
                self.records[step.name] = cached
                log(f"{self.prefixes[step.name]}: cached ({cached.seconds:.0f} s)")

    def unfinished(self):
        """The trainings of the steps without a record."""
        return [training for name, trainings in self.planned.items()
                if name not in self.records for training in trainings]

    def best_params(self):
        """The search's best parameters once it is done, else None."""
        search = self.records.get(SearchStep.kind)
        return None if search is None else search.result.best_params

    def finish(self, outcomes):
        """Store the record of every step whose trainings (``outcomes``
        holds their results) and needed records are all in."""
        for step in self.steps:
            trainings = self.planned[step.name]
            if step.name in self.records or not all(
                    t in outcomes for t in trainings) or not all(
                    name in self.records for name in step.needs):
                continue
            record = step.assemble(trainings, outcomes, self.data, {
                name: done.result for name, done in self.records.items()})
            done = Step(step.name, sum(outcomes[t]["seconds"] for t in trainings),
                        record)
            atomic_write(self.folder.step(step.name), json.dumps(done.to_json()))
            self.records[step.name] = done
            self.log(f"{self.prefixes[step.name]}: done "
                     f"({done.seconds:.0f} s of training)")
