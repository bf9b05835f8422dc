"""The report of ``sklenet reproduce``: rendering and the raw results.

The report is drawn from the run folder alone (:func:`write_report`): the
steps' records in its cache, the search's trials in its ``search.db`` and
what the run stores when it ends (:func:`record_run`: the test images, the
run's preset, time and command, the library versions). From them come the
folder's ``report.html`` (figures embedded, so it opens offline as one file)
and ``report.md`` (figures in its figures folder), rendered from the Jinja2
templates beside this module, and the raw results as CSV and JSON files. A
run draws its report the same way, so ``sklenet report`` draws the same one
again from a copy of the folder, anywhere.
"""

from __future__ import annotations  # the Reproduction hint needs no import

import base64
import dataclasses
import datetime
import functools
import io
import json
import math
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
import numpy as np
import optuna
import pandas as pd

from .._io import atomic_write, read_json
from .._typing import PathLike
from ..evaluation import STILL_LEARNING_TOL
from ..model_selection._storage import open_storage, sqlite_url
from ._figures import draw_figures
from ._results import (
    CACHE_FORMAT,
    CLAIMS_CONFIDENCE_LEVEL,
    CLAIMS_POWER,
    STUDY_NAME,
    RunFolder,
    StudyResults,
)
from ._settings import CONVERGENCE_SPLITS, MODELS, PRESETS, Settings, settings_fields
from ._steps import model_title, study_steps
from ._tables import (
    accuracy_table,
    claims_table,
    convergence_table,
    flagged_trainings,
    learning_curve_table,
    roc_auc_table,
    search_summary,
    search_table,
    settings_table,
    timing_table,
    versions_table,
)

if TYPE_CHECKING:
    from ._reproduction import Reproduction

_STUDY_N_SAMPLES = 42_000
#: Settings that a preset may scale down from the study's, in words.
_SCALED_DOWN = {"n_repeats": "trainings per model", "n_trials": "search trials",
                "n_estimators": "ensemble members",
                "learning_curve_repeats": "learning-curve trainings",
                "max_epochs": "epochs"}


def flag_warning(results, settings, run):
    """The warning that some trainings stopped at their epoch cap or while
    still learning, or None. ``run``: a :class:`FinishedRun` or a
    ``Reproduction`` (their ``description()`` gives the split sizes)."""
    flagged = flagged_trainings(results, settings, *_training_images(run))
    warnings = []
    capped = [(step, hits, total) for step, hits, _, total in flagged if hits]
    if capped:
        where = "; ".join(f"{step.replace('_', ' ')}: {hits} of {total}"
                          for step, hits, total in capped)
        warnings.append(
            f"Warning: some trainings stopped at the epoch cap (epochs="
            f"{settings.max_epochs}) instead of by early stopping ({where}). Their "
            "accuracies measure the cap, not the model; raise --epochs to let "
            "them converge.")
    learning = [(step, n, total) for step, _, n, total in flagged if n]
    if learning:
        where = "; ".join(f"{step.replace('_', ' ')}: {n} of {total}"
                          for step, n, total in learning)
        warnings.append(
            "Warning: some trainings stopped while still learning: over their "
            "last patience epochs both their training and validation losses "
            f"fell by more than {STILL_LEARNING_TOL:.0%} ({where}). Their "
            "accuracies measure early stopping, not the model; raise "
            "--min-epoch-samples to give the study's models a longer patience "
            "(sklenet best keeps its own).")
    return " ".join(warnings) or None


def _undrawn_curves(settings):
    """" The ensemble's learning curve is not drawn ...", or ""."""
    undrawn = [f"the {model_title(model, settings)}" for model in MODELS
               if model not in settings.learning_curve_models]
    if not undrawn:
        return ""
    return (" Not drawn by this preset: the learning curves of "
            f"{', '.join(undrawn)} (the full preset draws every model's).")


def _training_images(run):
    """(images of the evaluation split's training part, of the deployment
    split's) of ``run``: the epoch caps count passes over them."""
    description = run.description()
    return description["evaluation_split"][0], description["deployment_split"][0]


def _note(run):
    """Why the numbers cannot match the study's, or None."""
    full, settings, preset = PRESETS["full"], run.settings, run.preset
    fewer = [name for field, name in _SCALED_DOWN.items()
             if getattr(settings, field) < getattr(full, field)]
    reasons = []
    if fewer:
        reasons.append(f"fewer {', '.join(fewer)} than the study (see Settings)")
    n_samples = run.description()["n_samples"]
    if n_samples < _STUDY_N_SAMPLES:
        reasons.append(f"{n_samples:,} images instead of {_STUDY_N_SAMPLES:,}")
    if not reasons:
        return None
    return (f"Preset {preset!r} with {' and '.join(reasons)}: expect lower "
            "accuracies and wider spreads than the study's. "
            "sklenet reproduce --preset full --data train.csv runs the study's "
            "protocol on Kaggle's train.csv. "
            f"{model_title('best', settings)!r} is sklenet's own recipe, not "
            "part of the study: the study has no numbers for it.")


def write_report(out: PathLike) -> dict[str, pd.DataFrame]:
    """Draw the report of a finished run again, from its folder alone.

    Writes ``report.html``, ``report.md``, the figures and the raw results
    (``results/``) of the run folder ``out`` of :func:`sklenet.reproduce`
    (``sklenet reproduce --out``), from what the folder holds: nothing is
    trained, and neither the data nor the search's storage is needed (a
    search stored elsewhere was copied into the folder when the run ended),
    so a copy of the folder moved anywhere draws the same report. Its tables
    are those the run wrote; the report still says when and by which command
    the run was made. ``sklenet report OUT`` calls this.

    Parameters
    ----------
    out : path-like
        The run folder of a finished run.

    Returns
    -------
    dict of DataFrame
        The report's tables, by name (``"accuracy"``, ``"claims"``, ...).

    Raises
    ------
    ValueError
        If ``out`` is not the folder of a finished run: missing, not a run
        folder of sklenet, of another sklenet version, or unfinished (the
        message names the folder and what it lacks).
    sklenet._io.InUseError
        If a run is writing in ``out`` (a ValueError too).

    Examples
    --------
    >>> import sklenet.study
    >>> tables = sklenet.study.write_report("sklenet-report")  # doctest: +SKIP
    >>> tables["claims"][["claim", "verdict"]]  # doctest: +SKIP
    """
    run = read_run(out)
    with run.folder.claimed():
        return draw_report(run)


@dataclasses.dataclass(frozen=True, eq=False)
class FinishedRun:
    """A finished run as its folder holds it: what its report is drawn from
    (:func:`read_run`)."""

    folder: RunFolder
    settings: Settings
    #: How the data was given (``sample`` or a path).
    data_name: str
    results: StudyResults
    #: The evaluation split's test images.
    X_test: np.ndarray
    preset: str
    #: The run's time before its report.
    seconds: float
    #: When the run ended (ISO 8601) and the command that ran it.
    created: str
    command: str
    versions: pd.DataFrame
    _description: dict

    def description(self):
        """The settings and data the run belongs to (its ``run.json``, as
        ``Reproduction.description`` wrote it)."""
        return self._description


def record_run(reproduction: Reproduction, preset: str, seconds: float) -> None:
    """Store in the folder of ``reproduction`` what its report needs besides
    the steps' records: a copy of the search's trials when they are stored
    outside the folder (PostgreSQL, say), then the test images, the run's
    ``preset`` and time (``seconds``), its command and the library versions,
    in one compressed file (``RunFolder.finished``), written last: once it
    is there, the folder holds a finished run."""
    folder = reproduction.folder
    if reproduction.search_storage != folder.search_storage:
        _copy_study(reproduction.search_storage, folder.search_db)
    run = {
        "preset": preset,
        "seconds": seconds,
        "created": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(["sklenet", *sys.argv[1:]]) if sys.argv else "sklenet",
        "versions": versions_table().to_dict(orient="list"),
    }
    content = io.BytesIO()
    # The run's facts as a JSON string beside the images: one file, so that
    # one atomic write marks the run finished.
    np.savez_compressed(content, X_test=np.asarray(reproduction.X_test),
                        run=np.array(json.dumps(run)))
    atomic_write(folder.finished, content.getvalue())


def _copy_study(storage, path):
    """Replace the SQLite database ``path`` by a copy of the search's study
    in ``storage`` (a URL), all at once."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "search.db"
        optuna.copy_study(from_study_name=STUDY_NAME,
                          from_storage=open_storage(storage),
                          to_storage=open_storage(sqlite_url(copy)))
        atomic_write(path, copy.read_bytes())


#: What to do about a folder whose run has not ended.
_FINISH = "run the same sklenet reproduce command again to finish it"


def read_run(out: PathLike) -> FinishedRun:
    """The finished run in the folder ``out``, read from the folder alone.

    Raises ValueError naming ``out`` and what it lacks when it is not the
    folder of a finished run; creates nothing."""
    folder = RunFolder(Path(out))
    if not folder.out.is_dir():
        what = "is not a folder" if folder.out.exists() else "does not exist"
        raise ValueError(f"{folder.out} {what}: give the output folder of a "
                         "finished sklenet reproduce run.")
    if not folder.description.is_file():
        raise ValueError(
            f"{folder.out} is not a run folder of sklenet reproduce: it has no "
            f"{folder.description.relative_to(folder.out)}.")
    foreign = ValueError(f"{folder.description} is not a run description of "
                         f"sklenet: {folder.out} is not its run folder.")
    try:
        description = read_json(folder.description, what="run description")
        version = description.get("cache_format", 1)
    except (OSError, ValueError) as exc:  # InvalidFileError names the file
        raise ValueError(f"{exc}: {folder.out} cannot be read as a run "
                         "folder.") from None
    except AttributeError:  # JSON, but not an object
        raise foreign from None
    if version != CACHE_FORMAT:
        raise ValueError(
            f"{folder.out} holds the results of another sklenet version (cache "
            f"format {version}, this version reads {CACHE_FORMAT}).")
    try:
        settings = Settings(**settings_fields(description["settings"]))
    except (KeyError, TypeError, ValueError):  # ValueError: Settings' checks
        raise foreign from None
    steps = {step.name: step.read(folder) for step in study_steps(settings)}
    missing = [name for name, step in steps.items() if step is None]
    if missing:
        raise ValueError(
            f"{folder.out} holds an unfinished run: the records of "
            f"{len(missing)} of its {len(steps)} steps are missing "
            f"({', '.join(missing)}); {_FINISH}.")
    if not folder.finished.is_file():
        raise ValueError(
            f"{folder.out} holds an unfinished run: every step is done but "
            f"the run did not end ({folder.finished.relative_to(folder.out)} "
            f"is missing); {_FINISH}.")
    if not folder.search_db.is_file():
        raise ValueError(f"{folder.out} lacks the search's trials "
                         f"({folder.search_db.name}); {_FINISH}.")
    try:
        with np.load(folder.finished, allow_pickle=False) as stored:
            X_test, run = stored["X_test"], json.loads(str(stored["run"]))
        versions = pd.DataFrame(run["versions"])
        facts = {name: run[name] for name in ("preset", "seconds", "created",
                                              "command")}
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{folder.finished} cannot be read ({type(exc).__name__}: "
                         f"{exc}); {_FINISH}.") from None
    return FinishedRun(folder, settings, description["data"], StudyResults(steps),
                       X_test, versions=versions, _description=description,
                       **facts)


def draw_report(run: FinishedRun) -> dict[str, pd.DataFrame]:
    """Write the report, its figures and the raw results of ``run`` into
    its folder; return the report's tables, by name."""
    folder, settings, results = run.folder, run.settings, run.results
    n_train, n_deploy = _training_images(run)
    tables = {
        "accuracy": accuracy_table(results, settings),
        "claims": claims_table(results, settings),
        "roc_auc": roc_auc_table(results, settings),
        "search": search_table(results),
        "learning_curves": learning_curve_table(results, settings),
        "convergence": convergence_table(
            results, settings,
            n_deploy if settings.convergence_split == "deployment" else n_train),
        "settings": settings_table(run, run.preset),
        "versions": run.versions,
        "timings": timing_table(results, run.seconds),
    }
    figure_sections = draw_figures(results, settings, run.X_test, folder)
    write_raw_results(results, tables, folder.results)
    texts = {
        "accuracy": "Accuracy on the 60/20/20 evaluation split; ROC AUC "
        "one-vs-rest on the test set (mean over the trainings). The ± is the "
        "spread of the trainings (standard deviation, ddof=0), not the "
        "uncertainty of a mean: whether one model's mean is above another's is "
        "what the study's claims below measure, and the order of these means "
        "alone does not say.",
        "claims": _CLAIMS_TEXT,
        "search": search_summary(results.search),
        "learning_curves": "Early-stopping patience "
        f"{settings.learning_curve_patience}; each repeat draws a new train/test "
        "split." + _undrawn_curves(settings),
        "convergence": "Train and validation accuracy per epoch of "
        f"{CONVERGENCE_SPLITS[settings.convergence_split]}, for the ensemble of "
        "each member; the best epoch is the one whose weights early stopping "
        "restored.",
    }

    def sections(headings):
        return [{"heading": heading, "table": tables[name], "text": texts.get(name),
                 "verbatim": name in _VERBATIM}
                for heading, name in headings]

    notices = [(kind, text) for kind, text in (
        ("warning", flag_warning(results, settings, run)),
        ("note", _note(run))) if text]
    context = {
        "title": "sklenet: the LeNet digit study, reproduced",
        "created": run.created,
        "command": run.command,
        "notices": notices,
        "tables": sections(_SECTIONS),
        "figure_sections": figure_sections,
        "appendix": sections(_APPENDIX),
    }
    atomic_write(folder.report_md, _template("report.md.j2").render(context))
    atomic_write(folder.report_html, _template("report.html.j2").render(
        context, embed=lambda file: base64.b64encode(
            (folder.figures / file).read_bytes()).decode("ascii")))
    return tables


_CLAIMS_TEXT = (
    "Each comparison the study makes, tested on this run's trainings: the "
    "difference of the two models' mean test accuracies (the first's minus the "
    f"second's), its {CLAIMS_CONFIDENCE_LEVEL:.0%} confidence interval by "
    "Welch's t (standard deviations with ddof=1; the trainings share one "
    "split, so the interval covers the spread of the trainings, not the luck "
    "of the split), and the verdict: supported when the interval lies above "
    "0, contradicted when it lies below 0, not resolved when it holds 0. For a "
    "claim not resolved, the trainings per model that would exclude 0 with "
    f"{CLAIMS_POWER:.0%} probability if the measured difference and spreads "
    "were the true ones (sklenet.evaluation.compare_scores; measured from a few "
    "trainings, an order of magnitude). One training per model measures no "
    "spread, so it resolves no claim. sklenet best is not part of the study: "
    "its rows test sklenet's own claim.")
#: Tables whose Markdown shows their cells as written: tabulate would read
#: "+0.0045" as a number and print 0.0045 (and "+0.0000" as 0).
_VERBATIM = {"claims"}
_SECTIONS = (("Accuracy (mean ± std over the trainings)", "accuracy"),
             ("The study's claims", "claims"),
             ("Per-class ROC AUC, test set", "roc_auc"),
             ("Hyperparameter search", "search"),
             ("Learning curves", "learning_curves"),
             ("Convergence", "convergence"))
_APPENDIX = (("Settings", "settings"), ("Library versions", "versions"),
             ("Time per step", "timings"))


@functools.cache
def _template(name):
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("sklenet.study"),
        autoescape=jinja2.select_autoescape(["html.j2"]),
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined)
    return environment.get_template(name)


def write_raw_results(results, tables, folder):
    """The raw results as CSV and JSON files in ``folder``."""
    folder.mkdir(exist_ok=True)
    for model in MODELS:
        evaluation = results.evaluation(model)
        atomic_write(folder / f"{model}_evaluation_runs.csv",
                     evaluation.runs.to_csv())
        atomic_write(folder / f"{model}_evaluation_summary.csv",
                     evaluation.summary.to_csv())
        proba = pd.DataFrame(evaluation.test_proba,
                             columns=[f"proba_{c}" for c in evaluation.classes])
        proba.insert(0, "y_true", evaluation.y_test)
        atomic_write(folder / f"{model}_test_predictions.csv",
                     proba.to_csv(index_label="row"))
        if not results.learning_curve(model).runs.empty:
            atomic_write(folder / f"{model}_learning_curve.csv",
                         results.learning_curve(model).runs.to_csv(index=False))
        atomic_write(folder / f"{model}_convergence.json",
                     json.dumps(results.convergence(model).to_json(), indent=1))
    claims = _claims_rows(results)
    # None where no number resolves a claim: an integer column with gaps.
    atomic_write(folder / "claims.csv", pd.DataFrame(claims).astype(
        {"n_needed": "Int64"}).to_csv(index=False))
    atomic_write(folder / "claims.json", json.dumps(claims, indent=1))
    search = results.search
    atomic_write(folder / "search_trials.csv", search.trials.to_csv(index=False))
    atomic_write(folder / "search_best_params.json",
                 json.dumps(search.best_params, indent=1))
    atomic_write(folder / "tables.json", json.dumps(
        {name: table.to_dict(orient="records") for name, table in tables.items()},
        indent=1, ensure_ascii=False))


def _claims_rows(results):
    """One dict per claim: its models and every field of its
    :class:`~sklenet.evaluation.ScoreComparison`, NaN as None (JSON's
    null)."""
    return [{"model": model, "baseline": baseline,
             **{name: None if isinstance(value, float) and math.isnan(value)
                else value
                for name, value in dataclasses.asdict(comparison).items()}}
            for (model, baseline), comparison in results.claims().items()]
