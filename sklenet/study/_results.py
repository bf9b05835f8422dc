"""The typed record between the reproduction and its report.

A reproduction stores one record per step, as JSON, in its run folder; the
report reads them back as the same dataclasses. Neither side names a file or
a JSON key of the other: both go through :class:`RunFolder` and the records'
``to_json``/``from_json``.
"""

import contextlib
import dataclasses
import io
import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from .._io import exclusive_lock, read_json, remove_unfinished_writes, shorten
from ..evaluation import compare_scores
from ..model_selection._storage import sqlite_url

#: Version of what the cache holds; caches of another version are refused.
CACHE_FORMAT = 2
#: The Optuna study's name in the run folder's search database.
STUDY_NAME = "sklenet-reproduce"
_LOGGER = logging.getLogger(__name__)


# ------------------------------------------------------------- the folder
@dataclasses.dataclass(frozen=True)
class RunFolder:
    """The files of a reproduction below its output folder ``out``."""

    out: Path

    def __post_init__(self):
        object.__setattr__(self, "out", Path(self.out))

    @property
    def cache(self):
        """One JSON file per finished step, and ``run.json``."""
        return self.out / "cache"

    @property
    def description(self):
        """The settings and data the cached steps belong to."""
        return self.cache / "run.json"

    @property
    def lock(self):
        """Held by the run that writes in ``out`` (see :meth:`claimed`)."""
        return self.cache / "run.lock"

    @contextlib.contextmanager
    def claimed(self):
        """Hold the folder for one run: raise :class:`~sklenet._io.InUseError`
        if another process holds it, and delete what writes killed earlier
        left unfinished (their temporary files)."""
        self.cache.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(self.lock, what=str(self.out)):
            remove_unfinished_writes(self.out, recursive=False)
            for folder in (self.cache, self.out / "models", self.figures,
                           self.results):
                remove_unfinished_writes(folder)
            yield

    def check_free(self):
        """Raise :class:`~sklenet._io.InUseError` if a run holds the folder
        now (an early check: :meth:`claimed` is the real claim); creates
        nothing."""
        if self.lock.exists():
            with exclusive_lock(self.lock, what=str(self.out)):
                pass

    def step(self, name):
        return self.cache / f"{name}.json"

    def training(self, step, key):
        """The result of one training of step ``step`` (see
        :class:`~._steps.Training`), written as soon as it finished."""
        return self.cache / "trainings" / step / f"{key}.json"

    def member_model(self, step, key):
        """The saved member of an ensemble training (see
        :attr:`~._steps.Training.member_trainings`), written before its
        result."""
        return self.training(step, key).with_suffix(".sklenet")

    @property
    def search_db(self):
        """The Optuna study of the search step (SQLite)."""
        return self.out / "search.db"

    @property
    def search_storage(self):
        return sqlite_url(self.search_db)

    @property
    def finished(self):
        """Written when a run ends: what its report needs besides the steps'
        records and the search's trials (the test images, the run's preset,
        time and command, the library versions). A folder without it holds
        an unfinished run."""
        return self.cache / "finished.npz"

    def model(self, model):
        """Where the model of ``model`` (a model type) is saved."""
        return self.out / "models" / f"{model}.sklenet"

    @property
    def figures(self):
        return self.out / "figures"

    @property
    def results(self):
        """The raw results as CSV and JSON files."""
        return self.out / "results"

    @property
    def report_html(self):
        return self.out / "report.html"

    @property
    def report_md(self):
        return self.out / "report.md"


# ------------------------------------------------------------ the records
def frame_to_json(frame: pd.DataFrame) -> dict[str, Any]:
    """A DataFrame as JSON Table Schema: keeps the index name and the column
    types; floats to 10 decimal places (pandas' default), which the CSVs of
    ``results/``, written from these records, keep."""
    return json.loads(frame.to_json(orient="table"))


def frame_from_json(data: dict[str, Any]) -> pd.DataFrame:
    """Inverse of :func:`frame_to_json`: each float read back as written
    (``precise_float``; pandas' faster default reads 0.94 as
    0.9400000000000001)."""
    return pd.read_json(io.StringIO(json.dumps(data)), orient="table",
                        precise_float=True)


def _frame():
    """A field that holds a DataFrame (stored as JSON Table Schema)."""
    return dataclasses.field(metadata={"frame": True})


class _Record:
    """JSON encoding of a dataclass whose ``_frame()`` fields are DataFrames."""

    def to_json(self):
        return {field.name: (frame_to_json(value) if field.metadata.get("frame")
                             else value)
                for field in dataclasses.fields(self)
                for value in [getattr(self, field.name)]}

    @classmethod
    def from_json(cls, data):
        """The record of ``data``; KeyError or TypeError if it lacks a field."""
        return cls(**{field.name: (frame_from_json(data[field.name])
                                   if field.metadata.get("frame")
                                   else data[field.name])
                      for field in dataclasses.fields(cls)})


@dataclasses.dataclass(frozen=True)
class Evaluation(_Record):
    """Repeated evaluation of one model on the 60/20/20 split."""

    runs: pd.DataFrame = _frame()  # one row per training
    summary: pd.DataFrame = _frame()  # mean and std of every column
    classes: list
    y_test: list
    test_proba: list  # of the first training, for the ROC and confusion figures
    histories: list  # of the first training: one per network
    validation_accuracy: float  # of the first training


@dataclasses.dataclass(frozen=True)
class Search(_Record):
    """The Optuna search: its best trial and every trial."""

    best_params: dict
    best_score: float
    trials: pd.DataFrame = _frame()


@dataclasses.dataclass(frozen=True)
class LearningCurve(_Record):
    """Train and test accuracy at several training-set sizes."""

    runs: pd.DataFrame = _frame()  # one row per training
    summary: pd.DataFrame = _frame()  # per size


@dataclasses.dataclass(frozen=True)
class Convergence(_Record):
    """Per-epoch histories of the trainings a convergence figure shows."""

    histories: list
    validation_accuracy: float


def step_name(kind, model=None):
    """The name of a step: ``search``, or ``<model>_<kind>``."""
    return kind if model is None else f"{model}_{kind}"


@dataclasses.dataclass(frozen=True)
class Step:
    """A finished step: its record and how long it took."""

    name: str
    seconds: float
    result: _Record

    def to_json(self):
        return {"seconds": self.seconds, "result": self.result.to_json()}

    @classmethod
    def read(cls, folder, name, record):
        """The step ``name`` cached in ``folder`` (a :class:`RunFolder`), its
        record of type ``record`` (its step's
        :attr:`~._steps.StudyStep.record`: read it through
        :meth:`StudyStep.read <._steps.StudyStep.read>`), or None when it is
        missing or unreadable: an unreadable entry (cut short, not JSON,
        another layout) is logged with its file name and counts as missing,
        so that the step runs again."""
        path = folder.step(name)
        data = read_entry(path, "the step runs again")
        if data is None:
            return None
        try:
            record = record.from_json(data["result"])
            return cls(name, float(data["seconds"]), record)
        except (KeyError, TypeError, ValueError) as exc:
            _LOGGER.warning("cache entry '%s' is not a record of this step (%s: "
                            "%s); the step runs again.", path, type(exc).__name__,
                            shorten(str(exc)))
            return None


def read_entry(path, consequence):
    """The JSON of the cache entry ``path``, or None when it is missing or
    unreadable (cut short, not JSON): an unreadable one is logged with its
    file name and ``consequence``, e.g. "the training runs again"."""
    try:
        return read_json(path, what="cache entry", max_bytes=_MAX_ENTRY_BYTES)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:  # InvalidFileError: names the file
        _LOGGER.warning("%s; %s.", exc, consequence)
        return None


#: The largest cache entry read back. The largest of the full preset on
#: Kaggle's 42,000 images is the search's, about 1 MB (200 trials), and an
#: evaluation's test probabilities are 8,400 x 10 numbers (about 1 MB); a
#: cache entry larger than 64 MiB is not one sklenet wrote.
_MAX_ENTRY_BYTES = 64 * 2**20


#: The comparisons the study makes, as (model, baseline): each claims that
#: the model's mean test accuracy is above the baseline's. sklenet best is
#: not in the study; its comparisons test sklenet's own claim.
CLAIMS = (("optimized", "standard"), ("ensemble", "optimized"),
          ("best", "standard"), ("best", "optimized"), ("best", "ensemble"))
#: The level of the claims' confidence intervals, and the probability with
#: which the trainings a claim needs would resolve it
#: (:func:`sklenet.evaluation.compare_scores`).
CLAIMS_CONFIDENCE_LEVEL = 0.95
CLAIMS_POWER = 0.8


@dataclasses.dataclass(frozen=True)
class StudyResults:
    """Every step of a finished reproduction, by step name, in run order."""

    steps: dict

    def evaluation(self, model):
        """The :class:`Evaluation` of ``model``."""
        return self.steps[step_name("evaluation", model)].result

    def learning_curve(self, model):
        """The :class:`LearningCurve` of ``model``."""
        return self.steps[step_name("learning_curve", model)].result

    def convergence(self, model):
        """The :class:`Convergence` of ``model``."""
        return self.steps[step_name("convergence", model)].result

    @property
    def search(self):
        """The :class:`Search`."""
        return self.steps["search"].result

    @property
    def seconds(self):
        """Seconds each step took, by step name."""
        return {name: step.seconds for name, step in self.steps.items()}

    def claims(self):
        """{(model, baseline): :class:`~sklenet.evaluation.ScoreComparison`}
        of each of :data:`CLAIMS`: the test accuracies of the two models'
        evaluation trainings compared."""
        return {(model, baseline): compare_scores(
                    self.evaluation(model).runs["test_accuracy"],
                    self.evaluation(baseline).runs["test_accuracy"],
                    claim="greater", confidence_level=CLAIMS_CONFIDENCE_LEVEL,
                    power=CLAIMS_POWER)
                for model, baseline in CLAIMS}
