"""The report of ``sklenet reproduce``: tables, figures, HTML and Markdown.

Everything is rebuilt from the cached step results of a
:class:`~sklenet._reproduce.Reproduction`: ``OUT/report.html`` (figures
embedded, so it opens offline as one file), ``OUT/report.md`` (figures in
``OUT/figures``) and the raw results in ``OUT/results`` (CSV and JSON).
"""

import base64
import dataclasses
import datetime
import html
import json
import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version

import matplotlib.pyplot as plt
import numpy as np
import optuna
import pandas as pd
from optuna.distributions import CategoricalDistribution, IntDistribution

from . import _published
from ._classifier import infer_image_shape
from ._io import atomic_write
from ._model import build_lenet
from ._recipes import OPTIMIZED_PARAMS
from ._reproduce import _STUDY_NAME, MODELS, PRESETS, frame_from_json
from ._search_space import STUDY_SEARCH_SPACE
from ._storage import INTERRUPTED, open_storage, sqlite_url
from .evaluation import _mean_std
from .plotting import (
    plot_architecture,
    plot_confusion_matrix,
    plot_convergence,
    plot_intermediate_values,
    plot_learning_curve,
    plot_optimization_history,
    plot_param_importances,
    plot_roc_curves,
)

_PACKAGES = ("sklenet", "tensorflow", "keras", "scikeras", "scikit-learn", "optuna",
             "numpy", "pandas", "matplotlib")
_SPLITS = ("train", "validation", "test")
_STUDY_N_SAMPLES = 42_000


# ---------------------------------------------------------------- helpers
def _pm(mean, std, digits=4):
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _model_name(model, settings):
    name = _published.MODEL_NAMES[model]
    return f"{name} of {settings.n_estimators}" if model == "ensemble" else name


def _versions():
    found = {"python": platform.python_version()}
    for package in _PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    found["platform"] = (f"{platform.system()} {platform.machine()}, "
                         f"{os.cpu_count()} CPUs")
    return found


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


# ----------------------------------------------------------------- tables
def _summaries(results):
    """model -> summary DataFrame of its repeated evaluation."""
    return {
        model: _mean_std(frame_from_json(
            results[f"{model}_evaluation"]["result"]["runs"]
        ).drop(columns="random_state"))
        for model in MODELS
    }


def _lowest_auc(aucs):
    label = min(aucs, key=aucs.get)
    return aucs[label], label


def _measured_aucs(summary, classes):
    return {label: summary.loc[f"test_roc_auc_{label}", "mean"] for label in classes}


def accuracy_table(results, settings):
    """Accuracy mean ± std and lowest per-class ROC AUC, measured and study."""
    rows = []
    summaries = _summaries(results)
    for model in MODELS:
        summary = summaries[model]
        classes = results[f"{model}_evaluation"]["result"]["classes"]
        auc, label = _lowest_auc(_measured_aucs(summary, classes))
        rows.append({
            "model": _model_name(model, settings),
            "source": f"measured ({settings.n_repeats} trainings)",
            **{f"{split} accuracy": _pm(*summary.loc[f"{split}_accuracy"])
               for split in _SPLITS},
            "lowest per-class ROC AUC": f"{auc:.4f} (class {label})",
            "epochs": f"{summary.loc['n_epochs', 'mean']:.1f}",
            "fit time (s)": f"{summary.loc['fit_time', 'mean']:.0f}",
        })
        published = dict(enumerate(_published.ROC_AUC[model]))
        auc, label = _lowest_auc(published)
        rows.append({
            "model": "",
            "source": "study (10 trainings)",
            **{f"{split} accuracy": _pm(*_published.ACCURACY[model][split], digits=3)
               for split in _SPLITS},
            "lowest per-class ROC AUC": f"{auc:g} (digit {label})",
            "epochs": "",
            "fit time (s)": "",
        })
    return pd.DataFrame(rows)


def roc_auc_table(results, settings):
    """Per-class test ROC AUC of each model, measured mean and the study's."""
    summaries = _summaries(results)
    classes = results["standard_evaluation"]["result"]["classes"]
    table = pd.DataFrame({"class": [str(label) for label in classes]})
    for model in MODELS:
        measured = _measured_aucs(summaries[model], classes)
        name = _model_name(model, settings)
        table[f"{name}, measured"] = [f"{measured[label]:.4f}" for label in classes]
        table[f"{_published.MODEL_NAMES[model]}, study"] = [
            f"{_published.ROC_AUC[model][label]:g}"
            if isinstance(label, int) and 0 <= label < 10 else ""
            for label in classes
        ]
    return table


def search_table(results):
    """The study's search space, its best hyperparameters and those found."""
    found = results["search"]["result"]["best_params"]
    return pd.DataFrame([
        {"hyperparameter": name, "space": _space(distribution),
         "study's best": _value(OPTIMIZED_PARAMS[name]),
         "best found": _value(found[name]) if name in found else ""}
        for name, distribution in STUDY_SEARCH_SPACE.items()
    ])


def search_summary(results):
    result = results["search"]["result"]
    states = _trial_states(frame_from_json(result["trials"])).value_counts()
    counts = ", ".join(f"{count} {state}" for state, count in states.items())
    return (f"{sum(states)} trials ({counts}); best validation accuracy "
            f"{result['best_score']:.4f}.")


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
    rows = []
    for model in MODELS:
        runs = frame_from_json(results[f"{model}_learning_curve"]["result"]["runs"])
        grouped = runs.groupby("train_size")
        for size, group in grouped:
            rows.append({
                "model": _model_name(model, settings),
                "training images": size,
                "train accuracy": _pm(group["train_accuracy"].mean(),
                                      group["train_accuracy"].std(ddof=0)),
                "test accuracy": _pm(group["test_accuracy"].mean(),
                                     group["test_accuracy"].std(ddof=0)),
                "trainings": len(group),
            })
    return pd.DataFrame(rows)


def convergence_table(results, settings):
    rows = []
    for model in MODELS:
        result = results[f"{model}_convergence"]["result"]
        epochs = [len(history["loss"]) for history in result["histories"]]
        best = [int(np.argmax(history["val_accuracy"])) + 1
                for history in result["histories"]]
        rows.append({
            "model": _model_name(model, settings),
            "epochs trained": ", ".join(map(str, epochs)),
            "best epoch": ", ".join(map(str, best)),
            "validation accuracy": f"{result['validation_accuracy']:.4f}",
        })
    return pd.DataFrame(rows)


def settings_table(reproduction, preset):
    s = reproduction.settings
    description = reproduction.description()
    train, val, test = description["evaluation_split"]
    deploy, deploy_val = description["deployment_split"]
    measured = {
        "data": f"{reproduction.data_name}, {description['n_samples']:,} images",
        "evaluation split": f"{train:,} / {val:,} / {test:,}",
        "deployment split": f"{deploy:,} / {deploy_val:,}",
        "repeats per model": s.n_repeats,
        "search trials": s.n_trials,
        "ensemble members": s.n_estimators,
        "learning-curve trainings per size": s.learning_curve_repeats,
        "max epochs": s.epochs,
        "early-stopping patience": "5 (10 for learning curves)",
    }
    rows = [{"setting": name, f"this run (preset {preset})": str(value),
             "study": str(_published.SETTINGS[name])}
            for name, value in measured.items()]
    rows += [
        {"setting": "learning-curve sizes",
         f"this run (preset {preset})": ", ".join(
             f"{size:g}" for size in s.learning_curve_sizes) + " of the training part",
         "study": "not published"},
        {"setting": "random_state", f"this run (preset {preset})": str(s.random_state),
         "study": "not published"},
    ]
    return pd.DataFrame(rows)


def timing_table(results, total):
    rows = [{"step": name, "seconds": f"{entry['seconds']:.0f}"}
            for name, entry in results.items()]
    rows.append({"step": "total of this run, before the report",
                 "seconds": f"{total:.0f}"})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- figures
def _save(ax, path, title=None):
    if title:
        ax.set_title(title)
    figure = ax.figure
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)


def _figures(reproduction, results, folder):
    """Draw every figure into ``folder``; return [(section, [(caption, file)])]."""
    settings = reproduction.settings
    folder.mkdir(exist_ok=True)
    names = {model: _model_name(model, settings) for model in MODELS}
    sections = []

    def draw(section, items):
        files = []
        for caption, name, plot in items:
            try:
                _save(plot(), folder / f"{name}.png")
            except (ValueError, RuntimeError) as exc:
                # e.g. fANOVA importances need two completed trials
                caption = f"{caption}: not drawn ({exc})"
                name = None
            files.append((caption, None if name is None else f"{name}.png"))
        sections.append((section, files))

    classes = results["standard_evaluation"]["result"]["classes"]
    shape = infer_image_shape(reproduction.X.shape[1])
    best = results["search"]["result"]["best_params"]
    draw("Architecture (figure 1)", [
        ("standard LeNet", "architecture_standard",
         lambda: _architecture(build_lenet(shape, len(classes)), "standard LeNet")),
        ("optimized LeNet (best found)", "architecture_optimized",
         lambda: _architecture(build_lenet(shape, len(classes), **best),
                               "optimized LeNet (best found)")),
    ])
    draw("Learning curves (figures 2, 7, 9)", [
        (names[model], f"learning_curve_{model}",
         lambda model=model: _titled(plot_learning_curve(frame_from_json(
             results[f"{model}_learning_curve"]["result"]["runs"])), names[model]))
        for model in MODELS
    ])
    draw("Convergence on the deployment split (figures 3, 8, 10)", [
        (names[model], f"convergence_{model}",
         lambda model=model: _titled(plot_convergence(
             results[f"{model}_convergence"]["result"]["histories"]), names[model]))
        for model in MODELS
    ])

    def test_predictions(model):
        result = results[f"{model}_evaluation"]["result"]
        proba = np.asarray(result["test_proba"])
        classes = np.asarray(result["classes"])
        return np.asarray(result["y_test"]), proba, classes

    draw("ROC curves, test set, first training", [
        (names[model], f"roc_{model}",
         lambda model=model: _titled(_roc(*test_predictions(model)), names[model]))
        for model in MODELS
    ])
    draw("Confusion matrices, test set, first training", [
        (names[model], f"confusion_{model}",
         lambda model=model: _titled(_confusion(*test_predictions(model)),
                                     names[model]))
        for model in MODELS
    ])
    study = optuna.load_study(
        study_name=_STUDY_NAME,
        storage=open_storage(sqlite_url(reproduction.out / "search.db")),
    )
    draw("Optuna search (figure 4)", [
        ("intermediate values", "optuna_intermediate_values",
         lambda: _labelled(plot_intermediate_values(study), "Epoch",
                           "Validation accuracy")),
        ("optimization history", "optuna_history",
         lambda: plot_optimization_history(study)),
        ("hyperparameter importances (fANOVA)", "optuna_importances",
         lambda: plot_param_importances(study, random_state=settings.random_state)),
    ])
    return sections


def _titled(ax, title):
    ax.set_title(title)
    return ax


def _labelled(ax, xlabel, ylabel):
    ax.set(xlabel=xlabel, ylabel=ylabel)
    return ax


def _architecture(network, name):
    ax = plot_architecture(network)
    ax.set_title(f"{name}: {network.count_params():,} parameters")
    return ax


def _roc(y_true, proba, classes):
    # A log scale spreads out the low false-positive rates where the curves of
    # good classifiers differ; one false positive is the smallest rate.
    ax = plot_roc_curves(y_true, proba, labels=classes)
    ax.set(xscale="log", xlim=(1 / len(y_true), 1), aspect="auto",
           xlabel="False positive rate (log scale)")
    return ax


def _confusion(y_true, proba, classes):
    return plot_confusion_matrix(y_true, classes[proba.argmax(axis=1)],
                                 labels=classes)


# ---------------------------------------------------------------- results
def _export(results, tables, folder):
    """The raw results as CSV and JSON files in ``folder``."""
    folder.mkdir(exist_ok=True)
    for model in MODELS:
        evaluation = results[f"{model}_evaluation"]["result"]
        runs = frame_from_json(evaluation["runs"])
        atomic_write(folder / f"{model}_evaluation_runs.csv", runs.to_csv())
        proba = pd.DataFrame(evaluation["test_proba"],
                             columns=[f"proba_{c}" for c in evaluation["classes"]])
        proba.insert(0, "y_true", evaluation["y_test"])
        atomic_write(folder / f"{model}_test_predictions.csv",
                     proba.to_csv(index_label="row"))
        curve = frame_from_json(results[f"{model}_learning_curve"]["result"]["runs"])
        atomic_write(folder / f"{model}_learning_curve.csv", curve.to_csv(index=False))
        atomic_write(folder / f"{model}_convergence.json",
                     json.dumps(results[f"{model}_convergence"]["result"], indent=1))
    search = results["search"]["result"]
    atomic_write(folder / "search_trials.csv",
                 frame_from_json(search["trials"]).to_csv(index=False))
    atomic_write(folder / "search_best_params.json",
                 json.dumps(search["best_params"], indent=1))
    atomic_write(folder / "tables.json", json.dumps(
        {name: table.to_dict(orient="records") for name, table in tables.items()},
        indent=1, ensure_ascii=False))


# ------------------------------------------------------------------ write
_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1250px;
       padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.7em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left;
         font-variant-numeric: tabular-nums; }
th { background: #f0f0f0; }
.note { background: #fff6d9; border-left: 4px solid #e0b000; padding: 0.5em 1em; }
.figures { display: grid; gap: 1em;
           grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); }
figure { margin: 0; } figure img { max-width: 100%; }
"""


def _note(reproduction, preset):
    """Why the numbers cannot match the study's, or None."""
    full = PRESETS["full"]
    settings = dataclasses.replace(reproduction.settings,
                                   random_state=full.random_state)
    reasons = []
    if settings != full:
        reasons.append("fewer trainings, trials, members or epochs than the study "
                       "(see Settings)")
    n_samples = reproduction.description()["n_samples"]
    if n_samples < _STUDY_N_SAMPLES:
        reasons.append(f"{n_samples:,} images instead of {_STUDY_N_SAMPLES:,}")
    if not reasons:
        return None
    return (f"Preset {preset!r} with {' and '.join(reasons)}: expect lower "
            "accuracies and wider spreads than the study's. "
            "sklenet reproduce --preset full --data train.csv runs the study's "
            "protocol on Kaggle's train.csv.")


def write_report(reproduction, results, preset, total_seconds):
    """Write report.html, report.md, figures/ and results/ into ``out``.

    Returns
    -------
    dict of DataFrame
        The report's tables, by name.
    """
    out = reproduction.out
    settings = reproduction.settings
    tables = {
        "accuracy": accuracy_table(results, settings),
        "roc_auc": roc_auc_table(results, settings),
        "search": search_table(results),
        "learning_curves": learning_curve_table(results, settings),
        "convergence": convergence_table(results, settings),
        "settings": settings_table(reproduction, preset),
        "versions": pd.DataFrame(_versions().items(), columns=["package", "version"]),
        "timings": timing_table(results, total_seconds),
    }
    sections = _figures(reproduction, results, out / "figures")
    _export(results, tables, out / "results")
    context = {
        "title": "sklenet: the LeNet digit study, reproduced",
        "created": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(["sklenet", *sys.argv[1:]]) if sys.argv else "sklenet",
        "note": _note(reproduction, preset),
        "search_summary": search_summary(results),
    }
    atomic_write(out / "report.md", _markdown(tables, sections, context))
    atomic_write(out / "report.html", _html(tables, sections, context, out / "figures"))
    return tables


_SECTIONS = (
    ("Accuracy (mean ± std over the trainings)", "accuracy",
     "Accuracy on the 60/20/20 evaluation split; ROC AUC one-vs-rest on the "
     "test set (mean over the trainings)."),
    ("Per-class ROC AUC, test set", "roc_auc", None),
    ("Hyperparameter search", "search", "search_summary"),
    ("Learning curves", "learning_curves",
     "Early-stopping patience 10; each repeat draws a new train/test split."),
    ("Convergence on the deployment split (70/30)", "convergence", None),
)
_APPENDIX = (("Settings", "settings"), ("Library versions", "versions"),
             ("Time per step", "timings"))


def _markdown(tables, sections, context):
    lines = [f"# {context['title']}", "",
             f"Created {context['created']} by `{context['command']}`.", ""]
    if context["note"]:
        lines += [f"> {context['note']}", ""]
    for heading, name, text in _SECTIONS:
        lines += [f"## {heading}", ""]
        if text:
            lines += [context.get(text, text), ""]
        lines += [tables[name].to_markdown(index=False), ""]
    for section, figures in sections:
        lines += [f"## {section}", ""]
        for caption, file in figures:
            lines += [f"![{caption}](figures/{file})" if file else f"*{caption}*", ""]
    for heading, name in _APPENDIX:
        lines += [f"## {heading}", "", tables[name].to_markdown(index=False), ""]
    lines += ["Raw results (CSV, JSON) are in `results/`.", ""]
    return "\n".join(lines)


def _html(tables, sections, context, figures):
    e = html.escape
    body = [f"<h1>{e(context['title'])}</h1>",
            f"<p>Created {e(context['created'])} by "
            f"<code>{e(context['command'])}</code>.</p>"]
    if context["note"]:
        body.append(f'<p class="note">{e(context["note"])}</p>')
    for heading, name, text in _SECTIONS:
        body.append(f"<h2>{e(heading)}</h2>")
        if text:
            body.append(f"<p>{e(context.get(text, text))}</p>")
        body.append(tables[name].to_html(index=False, border=0))
    for section, items in sections:
        body += [f"<h2>{e(section)}</h2>", '<div class="figures">']
        for caption, file in items:
            if file is None:
                body.append(f"<p><em>{e(caption)}</em></p>")
                continue
            data = base64.b64encode((figures / file).read_bytes()).decode("ascii")
            # The figure's own title names it; the caption is the alt text.
            body.append(f'<figure><img alt="{e(caption)}" '
                        f'src="data:image/png;base64,{data}"></figure>')
        body.append("</div>")
    for heading, name in _APPENDIX:
        body += [f"<h2>{e(heading)}</h2>", tables[name].to_html(index=False, border=0)]
    body.append("<p>Raw results (CSV, JSON) are in <code>results/</code> beside "
                "this file.</p>")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{e(context['title'])}</title><style>{_CSS}</style></head>"
            f"<body>\n" + "\n".join(body) + "\n</body></html>\n")
