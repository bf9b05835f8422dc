"""``sklenet reproduce``: the whole study, one cached step at a time.

The steps are those of the study: repeated evaluation of the standard LeNet,
the Optuna search, repeated evaluation of the optimised LeNet and of the
ensemble, their learning curves and their convergence curves on the
deployment split. Each step stores its result in ``OUT/cache/<step>.json``
(written atomically) and is skipped when that file exists, so an
interrupted run continues where it stopped; the Optuna study lives in
``OUT/search.db`` and resumes trial by trial. The report is rebuilt from the
cache at the end of every run.
"""

import dataclasses
import hashlib
import io
import json
import time
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
from optuna.trial import TrialState
from sklearn.model_selection import train_test_split

from ._classifier import LeNetClassifier
from ._io import atomic_write
from ._search import LeNetSearchCV
from ._storage import fail_interrupted_trials, open_storage, sqlite_url
from .evaluation import (
    deployment_split,
    evaluation_split,
    repeated_evaluation,
    repeated_learning_curve,
)
from .persistence import save


@dataclasses.dataclass(frozen=True)
class Settings:
    """What a run of the study does; a preset is one of these."""

    n_repeats: int
    n_trials: int
    n_estimators: int
    learning_curve_repeats: int
    learning_curve_sizes: tuple
    epochs: int
    max_samples: int | None = None
    random_state: int = 0


PRESETS = {
    # The study's protocol (SPEC): hours to days on a CPU.
    "full": Settings(n_repeats=10, n_trials=200, n_estimators=10,
                     learning_curve_repeats=20,
                     learning_curve_sizes=(0.1, 0.325, 0.55, 0.775, 1.0),
                     epochs=100),
    # Every step, scaled to about 10 minutes on the 5,000-digit sample and
    # 2 CPU cores.
    "quick": Settings(n_repeats=2, n_trials=6, n_estimators=2,
                      learning_curve_repeats=2,
                      learning_curve_sizes=(0.1, 0.4, 1.0),
                      epochs=10),
    # A smoke test of the pipeline in seconds (the command-line tests).
    "tiny": Settings(n_repeats=1, n_trials=1, n_estimators=1,
                     learning_curve_repeats=1, learning_curve_sizes=(0.5, 1.0),
                     epochs=1, max_samples=500),
}

MODELS = ("standard", "optimized", "ensemble")
_STUDY_NAME = "sklenet-reproduce"
_LEARNING_CURVE_PATIENCE = 10  # the study's; 5 elsewhere (LeNet's default)


def _frame_to_json(frame):
    # JSON Table Schema: keeps the index name and the column types.
    return json.loads(frame.to_json(orient="table"))


def frame_from_json(data):
    """Inverse of :func:`_frame_to_json`, the DataFrame encoding of the cache."""
    return pd.read_json(io.StringIO(json.dumps(data)), orient="table")


def subsample(X, y, max_samples, random_state):
    """A stratified subsample of at most ``max_samples`` images (None: all)."""
    if max_samples is None or max_samples >= len(y):
        return X, y
    X, _, y, _ = train_test_split(X, y, train_size=max_samples, stratify=y,
                                  random_state=random_state)
    return X, y


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
    out : Path
        The output folder (created).
    data_name : str
        How the data was given (``sample`` or a path), for the report.
    n_jobs : int or None
        Parallel trainings of the repeated evaluations and learning curves.
    """

    def __init__(self, X, y, settings, out, data_name, n_jobs=None):
        self.X, self.y = subsample(X, y, settings.max_samples, settings.random_state)
        self.settings = settings
        self.out = Path(out)
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

    # ------------------------------------------------------------- the cache
    @property
    def cache(self):
        return self.out / "cache"

    def description(self):
        """The settings and data that the cached results belong to."""
        return {
            "settings": dataclasses.asdict(self.settings),
            "data": self.data_name,
            "data_sha256": self.data_sha256,
            "n_samples": len(self.y),
            "evaluation_split": [len(self.y_train), len(self.y_val), len(self.y_test)],
            "deployment_split": [len(self.y_deploy), len(self.y_deploy_val)],
        }

    def check_cache(self):
        """Raise ValueError if ``out`` holds results of other settings or data."""
        path = self.cache / "run.json"
        if not path.exists():
            return
        cached = json.loads(path.read_text())
        cached["settings"]["learning_curve_sizes"] = tuple(
            cached["settings"]["learning_curve_sizes"])
        current = self.description()
        differences = [
            f"{key}: {cached['settings'][key]!r} there, {value!r} now"
            for key, value in current["settings"].items()
            if cached["settings"].get(key) != value
        ]
        if cached["data_sha256"] != current["data_sha256"]:
            differences.append(
                f"data: {cached['data']!r} there, {self.data_name!r} now")
        if differences:
            raise ValueError(
                f"{self.out} holds the results of another run "
                f"({'; '.join(differences)}). Use another --out folder, or "
                "delete this one to start over."
            )

    def load(self, step):
        path = self.cache / f"{step}.json"
        return json.loads(path.read_text()) if path.exists() else None

    def _store(self, step, result, seconds):
        atomic_write(self.cache / f"{step}.json",
                     json.dumps({"seconds": seconds, "result": result}))

    # ------------------------------------------------------------- the steps
    def steps(self):
        """(name, title, function) of every step, in the study's order."""
        s = self.settings
        evaluations = f"{s.n_repeats} trainings"
        curve = (f"{len(s.learning_curve_sizes)} sizes x "
                 f"{s.learning_curve_repeats} trainings")
        steps = [("standard_evaluation", f"standard LeNet, {evaluations}",
                  lambda: self._evaluation("standard")),
                 ("search", f"Optuna search, {s.n_trials} trials", self._search),
                 ("optimized_evaluation", f"optimized LeNet, {evaluations}",
                  lambda: self._evaluation("optimized")),
                 ("ensemble_evaluation",
                  f"ensemble of {s.n_estimators}, {evaluations}",
                  lambda: self._evaluation("ensemble"))]
        for model in MODELS:
            steps.append((f"{model}_learning_curve", f"{model} learning curve, {curve}",
                          lambda model=model: self._learning_curve(model)))
        for model in MODELS:
            steps.append((f"{model}_convergence",
                          f"{model} convergence, deployment split",
                          lambda model=model: self._convergence(model)))
        return steps

    def run(self, log=print):
        """Run the steps that are not cached yet; return {step: cached entry}."""
        self.cache.mkdir(parents=True, exist_ok=True)
        self.check_cache()
        atomic_write(self.cache / "run.json", json.dumps(self.description(), indent=1))
        steps = self.steps()
        results = {}
        for number, (name, title, function) in enumerate(steps, 1):
            entry = self.load(name)
            prefix = f"[{number}/{len(steps)}] {title}"
            if entry is not None:
                log(f"{prefix}: cached ({entry['seconds']:.0f} s)")
            else:
                log(f"{prefix} ...")
                start = time.perf_counter()
                result = function()
                seconds = time.perf_counter() - start
                self._store(name, result, seconds)
                entry = {"seconds": seconds, "result": result}
                log(f"{prefix}: done in {seconds:.0f} s")
            results[name] = entry
        return results

    def estimator(self, model):
        """An unfitted estimator of ``model`` ("standard", "optimized",
        "ensemble") with the run's settings."""
        params = {"epochs": self.settings.epochs}
        if model != "standard":
            params.update(self.load("search")["result"]["best_params"])
        if model == "ensemble":
            from ._ensemble import LeNetEnsembleClassifier

            return LeNetEnsembleClassifier(n_estimators=self.settings.n_estimators,
                                           **params)
        return LeNetClassifier(**params)

    def _evaluation(self, model):
        runs, _, estimators = repeated_evaluation(
            self.estimator(model), self.X_train, self.y_train, self.X_test,
            self.y_test, validation_data=(self.X_val, self.y_val),
            n_repeats=self.settings.n_repeats,
            random_state=self.settings.random_state, n_jobs=self.n_jobs,
            return_estimator=True, verbose=1,
        )
        first = estimators[0]
        return {
            "runs": _frame_to_json(runs),
            "classes": first.classes_.tolist(),
            "y_test": self.y_test.tolist(),
            "test_proba": np.round(first.predict_proba(self.X_test), 6).tolist(),
        }

    def _search(self):
        storage = open_storage(sqlite_url(self.out / "search.db"))
        # Runs are one process at a time: a trial still running now is one
        # that a killed run left behind.
        fail_interrupted_trials(storage, _STUDY_NAME)
        try:
            study = optuna.load_study(study_name=_STUDY_NAME, storage=storage)
        except KeyError:
            study = None
        trials = [] if study is None else study.get_trials(deepcopy=False)
        # Failed and interrupted trials are not done: new trials replace them.
        n_missing = self.settings.n_trials - sum(
            trial.state in (TrialState.COMPLETE, TrialState.PRUNED)
            for trial in trials)
        completed = any(trial.state == TrialState.COMPLETE for trial in trials)
        if n_missing > 0 or not completed:  # a best trial needs a completed one
            study = LeNetSearchCV(
                LeNetClassifier(epochs=self.settings.epochs,
                                random_state=self.settings.random_state),
                n_trials=max(n_missing, 1), storage=storage,
                study_name=_STUDY_NAME, random_state=self.settings.random_state,
                refit=False, show_progress_bar=True,
            ).fit(self.X_train, self.y_train,
                  validation_data=(self.X_val, self.y_val)).study_
        trials = study.trials_dataframe(
            attrs=("number", "state", "value", "duration", "params", "user_attrs"))
        trials["duration"] = trials["duration"].dt.total_seconds()
        return {
            "best_params": study.best_trial.params,
            "best_score": study.best_value,
            "trials": _frame_to_json(trials),
        }

    def _learning_curve(self, model):
        X = np.concatenate([self.X_train, self.X_test])
        y = np.concatenate([self.y_train, self.y_test])
        runs, _ = repeated_learning_curve(
            self.estimator(model), X, y,
            train_sizes=self.settings.learning_curve_sizes,
            n_repeats=self.settings.learning_curve_repeats,
            test_size=len(self.y_test), validation_data=(self.X_val, self.y_val),
            n_iter_no_change=_LEARNING_CURVE_PATIENCE,
            random_state=self.settings.random_state, n_jobs=self.n_jobs, verbose=1,
        )
        return {"runs": _frame_to_json(runs)}

    def _convergence(self, model):
        estimator = self.estimator(model).set_params(
            random_state=self.settings.random_state)
        if model == "ensemble":
            estimator.set_params(n_jobs=self.n_jobs)
        estimator.fit(self.X_deploy, self.y_deploy,
                      validation_data=(self.X_deploy_val, self.y_deploy_val))
        members = getattr(estimator, "estimators_", [estimator])
        models = self.out / "models"
        models.mkdir(exist_ok=True)
        save(estimator, models / f"{model}.sklenet")
        return {
            "histories": [member.history_ for member in members],
            "validation_accuracy": estimator.score(self.X_deploy_val,
                                                   self.y_deploy_val),
        }
