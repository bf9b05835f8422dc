"""The report's tables, from the :class:`~._results.StudyResults` of a run.

Each table is a DataFrame of display strings, measured numbers beside the
study's published ones.
"""

import os
import platform
from importlib.metadata import PackageNotFoundError, version

import numpy as np
import pandas as pd
from optuna.distributions import CategoricalDistribution, IntDistribution

from .. import _published
from .._recipes import MODEL_TITLES, OPTIMIZED_PARAMS
from ..evaluation import stopped_at_epoch_cap
from ..model_selection import STUDY_SEARCH_SPACE
from ..model_selection._storage import INTERRUPTED
from ._results import CLAIMS_CONFIDENCE_LEVEL, step_name
from ._settings import CONVERGENCE_SPLITS, MODELS, PRESETS, STUDY_MODELS, trainings
from ._steps import model_title

_PACKAGES = ("sklenet", "tensorflow", "keras", "scikeras", "scikit-learn", "optuna",
             "numpy", "pandas", "matplotlib")
_SPLITS = ("train", "validation", "test")


# ---------------------------------------------------------------- helpers
def _pm(mean, std, n_trainings=2, digits=4):
    """"mean ± std", or the mean alone for one training: its std of 0
    would claim a spread that nobody measured."""
    if n_trainings < 2:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"



def _capped(runs, model, settings):
    """"none", or how many of the networks ``runs`` trained hit the epoch cap."""
    hits = int(runs["epoch_cap_hits"].sum())
    total = len(runs) * settings.networks(model)
    return "none" if hits == 0 else f"{hits} of {total} (cap {settings.max_epochs})"


def _cap_hits(results, settings, model, epochs, n_images):
    """How many trainings of ``model`` that ran ``epochs`` on ``n_images``
    training images its epoch cap ended (:func:`stopped_at_epoch_cap`, the
    rule of the evaluations' ``epoch_cap_hits``)."""
    from ._plan import estimator  # the estimators: only once a report is drawn

    schedule = estimator(model, settings,
                         results.search.best_params).learning_rate_schedule
    return int(np.sum(stopped_at_epoch_cap(
        epochs, settings.epoch_cap(model, n_images), schedule)))


def _still_learning(runs):
    """Networks of ``runs`` that stopped while still learning
    (:func:`sklenet.evaluation.stopped_while_learning`); 0 for runs cached
    before the column existed."""
    return int(runs["still_learning"].sum()) if "still_learning" in runs else 0


def _learning(runs, model, settings):
    """"none", or how many of the networks ``runs`` trained stopped while
    still learning."""
    flagged = _still_learning(runs)
    total = len(runs) * settings.networks(model)
    return "none" if flagged == 0 else f"{flagged} of {total}"


def _space(distribution):
    """The study's space of one hyperparameter, as the SPEC writes it."""
    if isinstance(distribution, CategoricalDistribution):
        return "{" + ", ".join(str(c) for c in distribution.choices) + "}"
    if isinstance(distribution, IntDistribution):
        values = range(distribution.low, distribution.high + 1, distribution.step)
        return "{" + ", ".join(str(v) for v in values) + "}"
    return f"[{distribution.low:g}, {distribution.high:g}]" + (
        " (log)" if distribution.log else "")


def _value(value):
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _lowest_auc(aucs):
    label = min(aucs, key=aucs.get)
    return aucs[label], label


def _measured_aucs(summary, classes):
    return {label: summary.loc[f"test_roc_auc_{label}", "mean"] for label in classes}


# ----------------------------------------------------------------- tables
def accuracy_table(results, settings):
    """Accuracy mean ± std and lowest per-class ROC AUC, measured and study."""
    rows = []
    for model in MODELS:
        evaluation = results.evaluation(model)
        summary, runs = evaluation.summary, evaluation.runs
        auc, label = _lowest_auc(_measured_aucs(summary, evaluation.classes))
        rows.append({
            "model": model_title(model, settings),
            "source": f"measured ({trainings(len(runs))})",
            **{f"{split} accuracy": _pm(*summary.loc[f"{split}_accuracy"], len(runs))
               for split in _SPLITS},
            "lowest per-class ROC AUC": f"{auc:.4f} (class {label})",
            "epochs": f"{summary.loc['n_epochs', 'mean']:.0f}",
            "stopped at the epoch cap": _capped(runs, model, settings),
            "stopped while still learning": _learning(runs, model, settings),
            "fit time (s)": f"{summary.loc['fit_time', 'mean']:.0f}",
        })
        if model not in STUDY_MODELS:
            continue  # sklenet's own recipe: the study has no numbers for it
        published = dict(enumerate(_published.ROC_AUC[model]))
        auc, label = _lowest_auc(published)
        rows.append({
            "model": "",
            "source": "study (10 trainings)",
            **{f"{split} accuracy": _pm(*_published.ACCURACY[model][split],
                                        digits=3)
               for split in _SPLITS},
            "lowest per-class ROC AUC": f"{auc:g} (digit {label})",
            "epochs": "",
            "stopped at the epoch cap": "",
            "stopped while still learning": "",
            "fit time (s)": "",
        })
    return pd.DataFrame(rows)


def claims_table(results, settings):
    """Each comparison the study makes (:meth:`~._results.StudyResults.claims`),
    tested on this run: the difference of the mean test accuracies, its
    confidence interval, the verdict and, for a claim not resolved, the
    trainings per model that would resolve it."""
    rows = []
    for (model, baseline), comparison in results.claims().items():
        rows.append({
            "claim": f"{model_title(model, settings)} above "
                     f"{model_title(baseline, settings)}",
            "trainings": f"{comparison.n_scores} and {comparison.n_baseline}",
            "difference of mean test accuracy": f"{comparison.difference:+.4f}",
            f"{CLAIMS_CONFIDENCE_LEVEL:.0%} confidence interval":
                _interval(comparison),
            "method": comparison.method,
            "verdict": comparison.verdict,
            "trainings per model that would resolve it": _to_resolve(comparison),
            "study's difference": _published_difference(model, baseline),
        })
    return pd.DataFrame(rows)


def _published_difference(model, baseline):
    """The study's difference of mean test accuracy; "" where it has no
    numbers (sklenet best)."""
    if not {model, baseline} <= set(STUDY_MODELS):
        return ""
    means = [_published.ACCURACY[name]["test"][0] for name in (model, baseline)]
    return f"{means[0] - means[1]:+.3f}"


def _interval(comparison):
    """The interval of ``comparison`` as "[low, high]"; why there is none."""
    if np.isnan(comparison.ci_low):
        return "none: one training has no spread"
    return f"[{comparison.ci_low:+.4f}, {comparison.ci_high:+.4f}]"


def _to_resolve(comparison):
    """The trainings per model that would resolve a claim not resolved, or
    why no number would; "" for a resolved claim."""
    if comparison.verdict != "not resolved":
        return ""
    if comparison.n_needed is not None:
        return f"about {comparison.n_needed}"
    if np.isnan(comparison.ci_low):
        return "unknown: 2 or more measure the spread first"
    return "none: the means are equal"


def roc_auc_table(results, settings):
    """Per-class test ROC AUC of each model, measured mean and the study's."""
    classes = results.evaluation("standard").classes
    table = pd.DataFrame({"class": [str(label) for label in classes]})
    for model in MODELS:
        measured = _measured_aucs(results.evaluation(model).summary, classes)
        name = model_title(model, settings)
        table[f"{name}, measured"] = [f"{measured[label]:.4f}" for label in classes]
        if model not in STUDY_MODELS:
            continue
        table[f"{MODEL_TITLES[model]}, study"] = [
            f"{_published.ROC_AUC[model][label]:g}"
            if isinstance(label, int) and 0 <= label < 10 else ""
            for label in classes
        ]
    return table


def search_table(results):
    """The study's search space, its best hyperparameters and those found."""
    found = results.search.best_params
    return pd.DataFrame([
        {"hyperparameter": name, "space": _space(distribution),
         "study's best": _value(OPTIMIZED_PARAMS[name]),
         "best found": _value(found[name]) if name in found else ""}
        for name, distribution in STUDY_SEARCH_SPACE.items()
    ])


def search_summary(search):
    """The trials of ``search`` (a :class:`~._results.Search`) in words."""
    states = _trial_states(search.trials).value_counts()
    counts = ", ".join(f"{count} {state}" for state, count in states.items())
    return (f"{sum(states)} trials ({counts}); best validation accuracy "
            f"{search.best_score:.4f}. The first trial is the study's best "
            "hyperparameters; each trial trains up to the epoch cap with early "
            "stopping, and the median pruner stops unpromising ones.")


def _trial_states(trials):
    """Each trial's state in words; "interrupted" for a trial whose run was
    killed: failed as such by the next run, or left running by a cache of an
    older version (the search had ended, so nothing was running it)."""
    states = trials["state"].str.lower()
    interrupted = states.eq("running")
    column = f"user_attrs_{INTERRUPTED}"
    if column in trials:
        interrupted |= trials[column].eq(True)
    return states.mask(interrupted, "interrupted")


def learning_curve_table(results, settings):
    """Train and test accuracy per training-set size, from the summaries that
    :func:`~sklenet.evaluation.repeated_learning_curve` returned."""
    rows = []
    for model in MODELS:
        curve = results.learning_curve(model)
        for size, row in curve.summary.iterrows():
            trainings = curve.runs[curve.runs["train_size"] == size]
            rows.append({
                "model": model_title(model, settings),
                "training images": size,
                "train accuracy": _pm(row["train_accuracy_mean"],
                                      row["train_accuracy_std"], len(trainings)),
                "test accuracy": _pm(row["test_accuracy_mean"],
                                     row["test_accuracy_std"], len(trainings)),
                "trainings": len(trainings),
                "stopped at the epoch cap": _capped(trainings, model, settings),
                "stopped while still learning": _learning(trainings, model, settings),
            })
    return pd.DataFrame(rows)


def convergence_table(results, settings, n_train):
    """``n_train``: the images the convergence trainings trained on."""
    rows = []
    for model in MODELS:
        convergence = results.convergence(model)
        epochs = [len(history["loss"]) for history in convergence.histories]
        best = [int(np.argmax(history["val_accuracy"])) + 1
                for history in convergence.histories]
        capped = _cap_hits(results, settings, model, epochs, n_train)
        rows.append({
            "model": model_title(model, settings),
            "epochs trained": ", ".join(map(str, epochs)),
            "best epoch": ", ".join(map(str, best)),
            "stopped at the epoch cap": "none" if not capped else
            f"{capped} of {len(epochs)} (cap {settings.max_epochs})",
            "validation accuracy": f"{convergence.validation_accuracy:.4f}",
        })
    return pd.DataFrame(rows)


def _preset_settings(settings):
    """What ``settings`` does, in the words of the settings table."""
    return {
        "images used": ("all" if settings.max_samples is None
                        else f"at most {settings.max_samples:,}"),
        "repeats per model": settings.n_repeats,
        "search trials": settings.n_trials,
        "ensemble members": settings.n_estimators,
        "learning-curve trainings per size": settings.learning_curve_repeats,
        "learning-curve sizes": ", ".join(
            f"{size:g}" for size in settings.learning_curve_sizes)
        + " of the training part",
        "max epochs": settings.max_epochs,
        "early-stopping patience": (
            f"5 ({settings.learning_curve_patience} for learning curves)"),
        "convergence curves": CONVERGENCE_SPLITS[settings.convergence_split],
        "random_state": settings.random_state,
    }


def settings_table(reproduction, preset):
    """The settings of this run, of every preset and of the study."""
    description = reproduction.description()
    train, val, test = description["evaluation_split"]
    deploy, deploy_val = description["deployment_split"]
    this_run = f"this run (preset {preset})"
    data = {
        "data": f"{reproduction.data_name}, {description['n_samples']:,} images",
        "evaluation split": f"{train:,} / {val:,} / {test:,}",
        "deployment split": f"{deploy:,} / {deploy_val:,}",
    }
    rows = [{"setting": name, this_run: value, "study": _published.SETTINGS[name]}
            for name, value in data.items()]
    presets = {name: _preset_settings(settings) for name, settings in PRESETS.items()}
    for name, value in _preset_settings(reproduction.settings).items():
        rows.append({"setting": name, this_run: value,
                     **{f"preset {preset_name}": described[name]
                        for preset_name, described in presets.items()},
                     "study": _published.SETTINGS[name]})
    columns = ["setting", this_run, *(f"preset {name}" for name in PRESETS), "study"]
    return pd.DataFrame(rows, columns=columns).fillna("").astype(str)


def flagged_trainings(results, settings, n_train, n_deploy):
    """[(step, networks at the epoch cap, networks stopped while still
    learning, networks trained)] of every step with a network of either
    kind. ``n_train``, ``n_deploy``: the training images of the evaluation
    and deployment splits (the epoch cap is in passes over them)."""
    counts = []
    for model in MODELS:
        for kind, record in (("evaluation", results.evaluation(model)),
                             ("learning_curve", results.learning_curve(model))):
            runs = record.runs
            counts.append((step_name(kind, model), int(runs["epoch_cap_hits"].sum()),
                           _still_learning(runs), len(runs) * settings.networks(model)))
        if settings.convergence_split == "deployment":  # else the evaluation's
            epochs = [len(history["loss"])
                      for history in results.convergence(model).histories]
            counts.append((step_name("convergence", model),
                           _cap_hits(results, settings, model, epochs, n_deploy),
                           0, len(epochs)))
    trials = results.search.trials
    if "user_attrs_n_epochs" in trials:
        epochs = trials["user_attrs_n_epochs"].dropna()
        # Each trial's own schedule where the search draws one, else the
        # standard LeNet's.
        schedules = trials.get("params_learning_rate_schedule")
        hits = stopped_at_epoch_cap(
            epochs, settings.epoch_cap("standard", n_train),
            None if schedules is None else schedules[epochs.index])
        counts.append(("search", int(np.sum(hits)), 0, len(epochs)))
    return [count for count in counts if count[1] or count[2]]


def timing_table(results, total):
    rows = [{"step": name, "seconds": f"{seconds:.0f}"}
            for name, seconds in results.seconds.items()]
    rows.append({"step": "total of this run, before the report",
                 "seconds": f"{total:.0f}"})
    return pd.DataFrame(rows)


def versions_table():
    """Python's, sklenet's and its main dependencies' versions, and the
    platform."""
    found = {"python": platform.python_version()}
    for package in _PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    found["platform"] = (f"{platform.system()} {platform.machine()}, "
                         f"{os.cpu_count()} CPUs")
    return pd.DataFrame(found.items(), columns=["package", "version"])
