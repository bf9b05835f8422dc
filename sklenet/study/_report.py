"""The report of ``sklenet reproduce``: rendering and the raw results.

Everything is rebuilt from a run's :class:`~._results.StudyResults`: the run
folder's ``report.html`` (figures embedded, so it opens offline as one file)
and ``report.md`` (figures in its figures folder), rendered from the Jinja2
templates beside this module, and the raw results as CSV and JSON files.
"""

from __future__ import annotations  # the Reproduction hint needs no import

import base64
import dataclasses
import datetime
import functools
import json
import math
import sys
from typing import TYPE_CHECKING

import jinja2
import pandas as pd

from .._io import atomic_write
from .._recipes import MODEL_TITLES
from ..evaluation import STILL_LEARNING_TOL
from ._figures import draw_figures
from ._results import CLAIMS_CONFIDENCE_LEVEL, CLAIMS_POWER
from ._settings import CONVERGENCE_SPLITS, MODELS, PRESETS
from ._tables import (
    accuracy_table,
    claims_table,
    convergence_table,
    flagged_trainings,
    learning_curve_table,
    model_name,
    roc_auc_table,
    search_summary,
    search_table,
    settings_table,
    timing_table,
    versions_table,
)

if TYPE_CHECKING:
    from ._reproduction import Reproduction
    from ._results import StudyResults

_STUDY_N_SAMPLES = 42_000
#: Settings that a preset may scale down from the study's, in words.
_SCALED_DOWN = {"n_repeats": "trainings per model", "n_trials": "search trials",
                "n_estimators": "ensemble members",
                "learning_curve_repeats": "learning-curve trainings",
                "max_epochs": "epochs"}


def flag_warning(results, settings, reproduction):
    """The warning that some trainings stopped at their epoch cap or while
    still learning, or None."""
    flagged = flagged_trainings(results, settings, len(reproduction.y_train),
                                len(reproduction.y_deploy))
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
    undrawn = [f"the {model_name(model, settings)}" for model in MODELS
               if model not in settings.learning_curve_models]
    if not undrawn:
        return ""
    return (" Not drawn by this preset: the learning curves of "
            f"{', '.join(undrawn)} (the full preset draws every model's).")


def _note(reproduction, preset):
    """Why the numbers cannot match the study's, or None."""
    full, settings = PRESETS["full"], reproduction.settings
    fewer = [name for field, name in _SCALED_DOWN.items()
             if getattr(settings, field) < getattr(full, field)]
    reasons = []
    if fewer:
        reasons.append(f"fewer {', '.join(fewer)} than the study (see Settings)")
    n_samples = reproduction.description()["n_samples"]
    if n_samples < _STUDY_N_SAMPLES:
        reasons.append(f"{n_samples:,} images instead of {_STUDY_N_SAMPLES:,}")
    if not reasons:
        return None
    return (f"Preset {preset!r} with {' and '.join(reasons)}: expect lower "
            "accuracies and wider spreads than the study's. "
            "sklenet reproduce --preset full --data train.csv runs the study's "
            "protocol on Kaggle's train.csv. "
            f"{MODEL_TITLES['best']!r} is sklenet's own recipe, not part of the "
            "study: the study has no numbers for it.")


def write_report(
    reproduction: Reproduction,
    results: StudyResults,
    preset: str,
    total_seconds: float,
) -> dict[str, pd.DataFrame]:
    """Write the report, its figures and the raw results into the run folder.

    Parameters
    ----------
    reproduction : Reproduction
    results : StudyResults
        What ``reproduction.run()`` returned.
    preset : str
        The preset's name, for the settings table.
    total_seconds : float
        The run's time before the report.

    Returns
    -------
    dict of DataFrame
        The report's tables, by name.
    """
    folder = reproduction.folder
    settings = reproduction.settings
    tables = {
        "accuracy": accuracy_table(results, settings),
        "claims": claims_table(results, settings),
        "roc_auc": roc_auc_table(results, settings),
        "search": search_table(results),
        "learning_curves": learning_curve_table(results, settings),
        "convergence": convergence_table(results, settings,
                                         len(reproduction.y_deploy)
                                         if settings.convergence_split == "deployment"
                                         else len(reproduction.y_train)),
        "settings": settings_table(reproduction, preset),
        "versions": versions_table(),
        "timings": timing_table(results, total_seconds),
    }
    figure_sections = draw_figures(reproduction, results)
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
        ("warning", flag_warning(results, settings, reproduction)),
        ("note", _note(reproduction, preset))) if text]
    context = {
        "title": "sklenet: the LeNet digit study, reproduced",
        "created": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(["sklenet", *sys.argv[1:]]) if sys.argv else "sklenet",
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
