"""``sklenet reproduce``: the whole study, one cached step at a time.

The steps are those of the study: repeated evaluation of the standard LeNet,
the Optuna search, repeated evaluation of the optimised LeNet and of the
ensemble, their learning curves and their convergence curves on the
deployment split; and the same for sklenet's own recipe, "best", which is not
part of the study. Each step stores its result in ``OUT/cache/<step>.json``
(written atomically) and is skipped when that file exists, so an
interrupted run continues where it stopped; the Optuna study lives in
``OUT/search.db`` and resumes trial by trial. The report is rebuilt from the
cache at the end of every run.
"""

import dataclasses
import hashlib
import io
import json
import logging
import time
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
from optuna.trial import TrialState
from sklearn.model_selection import train_test_split

from ._io import atomic_write
from ._recipes import OPTIMIZED_PARAMS, make_estimator
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
    """What a run of the study does; a preset is one of these.

    ``convergence_split`` is where the convergence curves come from:
    "deployment" trains every model once more on the 70/30 deployment split
    (the study's protocol), "evaluation" plots the first evaluation training
    of each model instead, which saves those trainings.
    """

    n_repeats: int
    n_trials: int
    n_estimators: int
    learning_curve_repeats: int
    learning_curve_sizes: tuple
    epochs: int
    max_samples: int | None = None
    random_state: int = 0
    convergence_split: str = "deployment"
    # The study's patience for learning curves; 5 elsewhere (LeNet's default).
    learning_curve_patience: int = 10

    def __post_init__(self):
        if self.convergence_split not in CONVERGENCE_SPLITS:
            raise ValueError(
                f"convergence_split={self.convergence_split!r} is not one of "
                f"{list(CONVERGENCE_SPLITS)}.")


#: convergence_split -> how the report describes it.
CONVERGENCE_SPLITS = {
    "deployment": "a training on the deployment split (70/30)",
    "evaluation": "the first evaluation training (60/20/20 split)",
}

PRESETS = {
    # The study's protocol (SPEC): hours to days on a CPU.
    "full": Settings(n_repeats=10, n_trials=200, n_estimators=10,
                     learning_curve_repeats=20,
                     learning_curve_sizes=(0.1, 0.325, 0.55, 0.775, 1.0),
                     epochs=100),
    # Every step on the 5,000-digit sample in under 10 minutes on 2 idle CPU
    # cores, every training ended by early stopping: the study's epoch cap, so
    # fewer trainings instead (2 repeats train in parallel on 2 cores). The
    # smallest learning-curve size stays large enough (1,200 images) for a
    # converged LeNet, and 3 members let the ensemble beat its members. With
    # the study's learning-curve patience of 10, the optimised LeNet's slow
    # gains at 1,200 images kept it training to the 100-epoch cap: quick uses
    # the patience of every other training, 5.
    "quick": Settings(n_repeats=2, n_trials=4, n_estimators=3,
                      learning_curve_repeats=1,
                      learning_curve_sizes=(0.4, 1.0),
                      epochs=100, convergence_split="evaluation",
                      learning_curve_patience=5),
    # A smoke test of the pipeline in seconds (the command-line tests); its
    # one-epoch trainings all stop at their cap.
    "tiny": Settings(n_repeats=1, n_trials=1, n_estimators=1,
                     learning_curve_repeats=1, learning_curve_sizes=(0.5, 1.0),
                     epochs=1, max_samples=500),
}

#: The study's three models, then sklenet's own recipe (not in the study).
STUDY_MODELS = ("standard", "optimized", "ensemble")
MODELS = (*STUDY_MODELS, "best")
#: The Optuna study's name in ``OUT/search.db``.
STUDY_NAME = "sklenet-reproduce"
#: Version of what the cache holds; caches of another version are refused.
CACHE_FORMAT = 2
_LOGGER = logging.getLogger(__name__)


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
            "cache_format": CACHE_FORMAT,
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
        if cached.get("cache_format") != CACHE_FORMAT:
            raise ValueError(
                f"{self.out} holds the results of another sklenet version (cache "
                f"format {cached.get('cache_format', 1)}, this version writes "
                f"{CACHE_FORMAT}). Use another --out folder, or delete this one "
                "to start over."
            )
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
                  lambda: self._evaluation("ensemble")),
                 ("best_evaluation", f"sklenet best, {evaluations}",
                  lambda: self._evaluation("best"))]
        for model in MODELS:
            steps.append((f"{model}_learning_curve", f"{model} learning curve, {curve}",
                          lambda model=model: self._learning_curve(model)))
        for model in MODELS:
            steps.append((f"{model}_convergence",
                          f"{model} convergence, {s.convergence_split} split",
                          lambda model=model: self._convergence(model)))
        return steps

    def run(self, log=_LOGGER.info):
        """Run the steps that are not cached yet; return {step: cached entry}.

        ``log`` receives one line per step (by default the ``sklenet._reproduce``
        logger, at INFO level).
        """
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
        """An unfitted estimator of ``model`` (one of :data:`MODELS`) with the
        run's settings; "optimized" and "ensemble" get the search's best
        parameters."""
        searched = model in ("optimized", "ensemble")
        return make_estimator(
            model, self.load("search")["result"]["best_params"] if searched else None,
            n_estimators=self.settings.n_estimators, max_epochs=self.settings.epochs)

    def _save_model(self, estimator, model):
        models = self.out / "models"
        models.mkdir(exist_ok=True)
        save(estimator, models / f"{model}.sklenet")

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
        return {
            "runs": _frame_to_json(runs),
            "summary": _frame_to_json(summary),
            "classes": first.classes_.tolist(),
            "y_test": self.y_test.tolist(),
            "test_proba": np.round(first.predict_proba(self.X_test), 6).tolist(),
            "histories": _histories(first),
            "validation_accuracy": float(runs["validation_accuracy"].iloc[0]),
        }

    def _search(self):
        storage = open_storage(sqlite_url(self.out / "search.db"))
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
            estimator = make_estimator("standard", epochs=self.settings.epochs,
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
        return {
            "best_params": study.best_trial.params,
            "best_score": study.best_value,
            "trials": _frame_to_json(trials),
        }

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
        return {"runs": _frame_to_json(runs), "summary": _frame_to_json(summary)}

    def _convergence(self, model):
        if self.settings.convergence_split == "evaluation":
            evaluation = self.load(f"{model}_evaluation")["result"]
            return {"histories": evaluation["histories"],
                    "validation_accuracy": evaluation["validation_accuracy"]}
        estimator = self.estimator(model).set_params(
            random_state=self.settings.random_state)
        if model == "ensemble":
            estimator.set_params(n_jobs=self.n_jobs)
        estimator.fit(self.X_deploy, self.y_deploy,
                      validation_data=(self.X_deploy_val, self.y_deploy_val))
        self._save_model(estimator, model)
        return {
            "histories": _histories(estimator),
            "validation_accuracy": estimator.score(self.X_deploy_val,
                                                   self.y_deploy_val),
        }


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
