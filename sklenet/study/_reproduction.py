"""``sklenet reproduce``: the whole study, one cached training at a time.

The steps are those of the study: repeated evaluation of the standard LeNet,
the Optuna search, repeated evaluation of the optimised LeNet and of the
ensemble, their learning curves and their convergence curves on the
deployment split; and the same for sklenet's own recipe, "best", which is not
part of the study. Each step is a set of trainings (:mod:`._plan`) that run
as tasks in worker processes, local ones or a Dask cluster's
(:mod:`._executors`). Each training's result is stored in the run folder's
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
from ._plan import StudyData, assemble, plan, run_member, run_training, search
from ._results import (
    CACHE_FORMAT,
    RunFolder,
    Step,
    StudyResults,
    read_entry,
    step_name,
)
from ._settings import MODELS, trainings
from ._spread_search import SpreadSearch

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
            settings = cached["settings"]
            settings["learning_curve_sizes"] = tuple(settings["learning_curve_sizes"])
            if "learning_curve_models" in settings:
                settings["learning_curve_models"] = tuple(
                    settings["learning_curve_models"])
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

    def load(self, name):
        """The cached :class:`~._results.Step` ``name``, or None."""
        return Step.read(self.folder, name)

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
        s = self.settings
        evaluations = trainings(s.n_repeats)
        curve = (f"{len(s.learning_curve_sizes)} sizes x "
                 f"{trainings(s.learning_curve_repeats)}")
        titles = {"standard": "standard LeNet", "optimized": "optimized LeNet",
                  "ensemble": f"ensemble of {s.n_estimators}", "best": "sklenet best"}
        steps = [(step_name("evaluation", "standard"),
                  f"{titles['standard']}, {evaluations}"),
                 (step_name("search"), f"Optuna search, {s.n_trials} trials")]
        steps += [(step_name("evaluation", model), f"{titles[model]}, {evaluations}")
                  for model in MODELS[1:]]
        steps += [(step_name("learning_curve", model),
                   f"{model} learning curve, {curve}"
                   if model in s.learning_curve_models else
                   f"{model} learning curve: not drawn by this preset")
                  for model in MODELS]
        steps += [(step_name("convergence", model),
                   f"{model} convergence, {s.convergence_split} split")
                  for model in MODELS]
        return steps

    def plan(self):
        """{step name: its :class:`~._plan.Training` tasks}, in run order."""
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
        :class:`~._executors.DaskExecutor`). Ready trainings of any step run
        first come, first served; those of the searched models wait for the
        search. Each training's result is stored as soon as it arrives, and a
        step's record as soon as all its trainings are stored. ``log``
        receives one line per step (by default this module's logger, at INFO
        level); ``progress`` shows one tqdm bar over the networks to train;
        ``show_plan`` logs the plan and its estimated time first.
        """
        self.folder.cache.mkdir(parents=True, exist_ok=True)
        self.check_cache()
        atomic_write(self.folder.description,
                     json.dumps(self.description(), indent=1))
        data = self.study_data()
        planned = plan(data)
        prefixes = {name: f"[{number}/{len(planned)}] {title}"
                    for number, (name, title) in enumerate(self.steps(), 1)}
        steps, outcomes = {}, {}
        for name, tasks in planned.items():
            step = self.load(name)
            if step is not None:
                steps[name] = step
                log(f"{prefixes[name]}: cached ({step.seconds:.0f} s)")
                continue
            for training in tasks:
                for stored in (training, *training.member_trainings):
                    outcome = self._read(stored)
                    if outcome is not None:
                        outcomes[stored] = outcome
        todo = [training for name, tasks in planned.items() if name not in steps
                for training in tasks if training not in outcomes]

        def finish_steps():
            """Store the record of every step whose trainings are all done."""
            for name, tasks in planned.items():
                evaluation = steps.get(step_name("evaluation", name.split("_")[0]))
                curve = name.endswith("learning_curve")
                if name in steps or not all(t in outcomes for t in tasks) or (
                        not tasks and evaluation is None and not curve):
                    continue
                record = assemble(tasks, outcomes, data, evaluation and
                                  evaluation.result,
                                  kind="learning_curve" if curve else None)
                step = Step(name, sum(outcomes[t]["seconds"] for t in tasks), record)
                atomic_write(self.folder.step(name), json.dumps(step.to_json()))
                steps[name] = step
                log(f"{prefixes[name]}: done ({step.seconds:.0f} s of training)")

        def best_params():
            search = steps.get("search")
            return None if search is None else search.result.best_params

        finish_steps()
        with contextlib.ExitStack() as stack:
            workers = stack.enter_context(executor(dask, self.n_jobs))
            shared = workers.share(data) if todo else None
            if show_plan and todo:
                log(f"the plan:\n{self._estimate(workers, shared, data, log)}")
            bar = stack.enter_context(tqdm(
                total=sum(t.networks - sum(m in outcomes for m in t.member_trainings)
                          for t in todo),
                unit="network", desc="trainings", disable=not progress or not todo))
            pending, waiting = {}, []

            def submit(training, function=run_training):
                if training.kind == "search" and isinstance(workers, DaskExecutor):
                    search = SpreadSearch(training, workers, shared, data,
                                          self.storage)
                    pending.update(dict.fromkeys(search.pending, search))
                    return
                missing = [member for member in training.member_trainings
                           if member not in outcomes]
                if missing:  # each member a task; the ensemble once all are in
                    for member in missing:
                        submit(member, run_member)
                    return
                members = () if not training.member_trainings else (
                    [(outcomes[member], self._member_bytes(member))
                     for member in training.member_trainings],)
                future = workers.submit(
                    function, training, shared,
                    best_params() if training.needs_search else None, *members,
                    key=f"{training.step}-{training.key}")
                pending[future] = training

            for training in todo:
                if training.needs_search and best_params() is None:
                    waiting.append(training)
                else:
                    submit(training)
            while pending:
                for future in workers.wait(pending):
                    owner = pending.pop(future)
                    if isinstance(owner, SpreadSearch):  # one of its trials
                        bar.update(1)
                        if not owner.trial_done(future):
                            continue
                        training, outcome, model_bytes = (
                            owner.training, owner.outcome(), None)
                        bar.update(max(0, training.networks - owner.n_tasks))
                    else:
                        training = owner
                        outcome, model_bytes = future.result()
                        # An assembled ensemble trained nothing itself.
                        bar.update(0 if training.member_trainings
                                   else training.networks)
                    self._store(training, outcome, model_bytes)
                    outcomes[training] = outcome
                    if training.member is not None:
                        parent = dataclasses.replace(
                            training, member=None,
                            networks=data.settings.networks(training.model))
                        if all(m in outcomes for m in parent.member_trainings):
                            submit(parent)
                    finish_steps()
                    if best_params() is not None:
                        for searched in waiting:
                            submit(searched)
                        waiting = []
        return StudyResults({name: steps[name] for name in planned})

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
