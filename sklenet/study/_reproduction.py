"""``sklenet reproduce``: the whole study, one cached step at a time.

The steps are those of the study: repeated evaluation of the standard LeNet,
the Optuna search, repeated evaluation of the optimised LeNet and of the
ensemble, their learning curves and their convergence curves on the
deployment split; and the same for sklenet's own recipe, "best", which is not
part of the study. Each step stores its record (:mod:`._results`) in the run
folder's cache (written atomically) and is skipped when that record can be
read back, so an interrupted run continues where it stopped; the Optuna study
lives in the run folder's search database and resumes trial by trial.
"""

import dataclasses
import hashlib
import json
import logging
import tempfile
import time

import numpy as np
import optuna
from optuna.trial import TrialState
from sklearn.model_selection import train_test_split

from .._io import atomic_write, read_json
from .._recipes import OPTIMIZED_PARAMS, make_estimator
from .._search import LeNetSearchCV
from .._storage import fail_interrupted_trials, open_storage
from ..evaluation import (
    deployment_split,
    evaluation_split,
    repeated_evaluation,
    repeated_learning_curve,
)
from ..persistence import save
from ._results import (
    CACHE_FORMAT,
    STUDY_NAME,
    Convergence,
    Evaluation,
    LearningCurve,
    RunFolder,
    Search,
    Step,
    StudyResults,
    step_name,
)
from ._settings import MODELS, trainings

_LOGGER = logging.getLogger(__name__)


def subsample(X, y, max_samples, random_state):
    """A stratified subsample of at most ``max_samples`` images (None: all)."""
    if max_samples is None or max_samples >= len(y):
        return X, y
    X, _, y, _ = train_test_split(X, y, train_size=max_samples, stratify=y,
                                  random_state=random_state)
    return X, y


def check_output_folder(out):
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
        Parallel trainings of the repeated evaluations and learning curves.
    """

    def __init__(self, X, y, settings, out, data_name, n_jobs=None):
        self.X, self.y = subsample(X, y, settings.max_samples, settings.random_state)
        self.settings = settings
        self.folder = RunFolder(out)
        self.data_name = data_name
        self.n_jobs = n_jobs
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
    def steps(self):
        """(name, title, function) of every step, in the study's order."""
        s = self.settings
        evaluations = trainings(s.n_repeats)
        curve = (f"{len(s.learning_curve_sizes)} sizes x "
                 f"{trainings(s.learning_curve_repeats)}")
        titles = {"standard": "standard LeNet", "optimized": "optimized LeNet",
                  "ensemble": f"ensemble of {s.n_estimators}", "best": "sklenet best"}
        steps = [(step_name("evaluation", "standard"),
                  f"{titles['standard']}, {evaluations}",
                  lambda: self._evaluation("standard")),
                 (step_name("search"), f"Optuna search, {s.n_trials} trials",
                  self._search)]
        steps += [(step_name("evaluation", model), f"{titles[model]}, {evaluations}",
                   lambda model=model: self._evaluation(model))
                  for model in MODELS[1:]]
        steps += [(step_name("learning_curve", model),
                   f"{model} learning curve, {curve}",
                   lambda model=model: self._learning_curve(model))
                  for model in MODELS]
        steps += [(step_name("convergence", model),
                   f"{model} convergence, {s.convergence_split} split",
                   lambda model=model: self._convergence(model))
                  for model in MODELS]
        return steps

    def run(self, log=_LOGGER.info):
        """Run the steps that are not cached yet; return the
        :class:`~._results.StudyResults` of all of them.

        ``log`` receives one line per step (by default this module's logger,
        at INFO level).
        """
        self.folder.cache.mkdir(parents=True, exist_ok=True)
        self.check_cache()
        atomic_write(self.folder.description,
                     json.dumps(self.description(), indent=1))
        steps = self.steps()
        results = {}
        for number, (name, title, function) in enumerate(steps, 1):
            step = self.load(name)
            prefix = f"[{number}/{len(steps)}] {title}"
            if step is not None:
                log(f"{prefix}: cached ({step.seconds:.0f} s)")
            else:
                log(f"{prefix} ...")
                start = time.perf_counter()
                record = function()
                step = Step(name, time.perf_counter() - start, record)
                atomic_write(self.folder.step(name), json.dumps(step.to_json()))
                log(f"{prefix}: done in {step.seconds:.0f} s")
            results[name] = step
        return StudyResults(results)

    def estimator(self, model):
        """An unfitted estimator of ``model`` (one of :data:`MODELS`) with the
        run's settings; "optimized" and "ensemble" get the search's best
        parameters."""
        searched = model in ("optimized", "ensemble")
        return make_estimator(
            model, self.load("search").result.best_params if searched else None,
            n_estimators=self.settings.n_estimators,
            max_epochs=self.settings.max_epochs)

    def _save_model(self, estimator, model):
        path = self.folder.model(model)
        path.parent.mkdir(exist_ok=True)
        save(estimator, path)

    def _evaluation(self, model):
        runs, summary, estimators = repeated_evaluation(
            self.estimator(model), self.X_train, self.y_train, self.X_test,
            self.y_test, validation_data=(self.X_val, self.y_val),
            n_repeats=self.settings.n_repeats,
            random_state=self.settings.random_state, n_jobs=self.n_jobs,
            return_estimator=True, verbose=1,
        )
        first = estimators[0]
        if self.settings.convergence_split == "evaluation":
            # The convergence step plots this training and keeps its model.
            self._save_model(first, model)
        return Evaluation(
            runs=runs, summary=summary, classes=first.classes_.tolist(),
            y_test=self.y_test.tolist(),
            test_proba=np.round(first.predict_proba(self.X_test), 6).tolist(),
            histories=_histories(first),
            validation_accuracy=float(runs["validation_accuracy"].iloc[0]),
        )

    def _search(self):
        storage = open_storage(self.folder.search_storage)
        # Runs are one process at a time: a trial still running now is one
        # that a killed run left behind.
        fail_interrupted_trials(storage, STUDY_NAME)
        try:
            study = optuna.load_study(study_name=STUDY_NAME, storage=storage)
        except KeyError:
            study = None
        trials = [] if study is None else study.get_trials(deepcopy=False)
        # Failed and interrupted trials are not done: new trials replace them.
        n_missing = self.settings.n_trials - sum(
            trial.state in (TrialState.COMPLETE, TrialState.PRUNED)
            for trial in trials)
        completed = any(trial.state == TrialState.COMPLETE for trial in trials)
        if study is None:
            # The search starts from the study's best hyperparameters: with the
            # few trials of a quick run, random draws alone (TPE's first ten)
            # can leave a weak optimum for the optimised LeNet and ensemble.
            study = optuna.create_study(storage=storage, study_name=STUDY_NAME,
                                        direction="maximize")
            study.enqueue_trial(OPTIMIZED_PARAMS)
        if n_missing > 0 or not completed:  # a best trial needs a completed one
            estimator = make_estimator("standard", epochs=self.settings.max_epochs,
                                       random_state=self.settings.random_state)
            study = LeNetSearchCV(
                estimator, n_trials=max(n_missing, 1), storage=storage,
                study_name=STUDY_NAME, random_state=self.settings.random_state,
                pruner=_pruner(self.settings.n_trials, estimator.n_iter_no_change),
                refit=False, show_progress_bar=True,
            ).fit(self.X_train, self.y_train,
                  validation_data=(self.X_val, self.y_val)).study_
        trials = study.trials_dataframe(
            attrs=("number", "state", "value", "duration", "params", "user_attrs"))
        trials["duration"] = trials["duration"].dt.total_seconds()
        return Search(best_params=study.best_trial.params,
                      best_score=study.best_value, trials=trials)

    def _learning_curve(self, model):
        X = np.concatenate([self.X_train, self.X_test])
        y = np.concatenate([self.y_train, self.y_test])
        runs, summary = repeated_learning_curve(
            self.estimator(model), X, y,
            train_sizes=self.settings.learning_curve_sizes,
            n_repeats=self.settings.learning_curve_repeats,
            test_size=len(self.y_test), validation_data=(self.X_val, self.y_val),
            n_iter_no_change=self.settings.learning_curve_patience,
            random_state=self.settings.random_state, n_jobs=self.n_jobs, verbose=1,
        )
        return LearningCurve(runs=runs, summary=summary)

    def _convergence(self, model):
        if self.settings.convergence_split == "evaluation":
            evaluation = self.load(step_name("evaluation", model)).result
            return Convergence(histories=evaluation.histories,
                               validation_accuracy=evaluation.validation_accuracy)
        estimator = self.estimator(model).set_params(
            random_state=self.settings.random_state)
        if model == "ensemble":
            estimator.set_params(n_jobs=self.n_jobs)
        estimator.fit(self.X_deploy, self.y_deploy,
                      validation_data=(self.X_deploy_val, self.y_deploy_val))
        self._save_model(estimator, model)
        return Convergence(
            histories=_histories(estimator),
            validation_accuracy=estimator.score(self.X_deploy_val,
                                                self.y_deploy_val))


def _pruner(n_trials, patience):
    """Optuna's median pruner, started after a quarter of the trials (at most
    its default 5): with the few trials of a quick run the default never
    prunes, and a slow-learning draw then trains to the epoch cap. Each trial
    trains for early stopping's ``patience`` epochs before it can be pruned."""
    return optuna.pruners.MedianPruner(
        n_startup_trials=min(5, max(1, n_trials // 4)), n_warmup_steps=patience)


def _histories(estimator):
    """The per-epoch history of each network: one, or each ensemble member's."""
    return [member.history_ for member in getattr(estimator, "estimators_",
                                                  [estimator])]

