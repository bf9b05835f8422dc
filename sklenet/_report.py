"""The report of ``sklenet reproduce``: tables, figures, HTML and Markdown.

Everything is rebuilt from the cached step results of a
:class:`~sklenet._reproduce.Reproduction`: ``OUT/report.html`` (figures
embedded, so it opens offline as one file), ``OUT/report.md`` (figures in
``OUT/figures``) and the raw results in ``OUT/results`` (CSV and JSON).
"""

import base64
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
from ._params import NETWORK_PARAMS
from ._recipes import BEST_PARAMS, MODEL_TITLES, OPTIMIZED_PARAMS
from ._reproduce import (
    CONVERGENCE_SPLITS,
    MODELS,
    PRESETS,
    STUDY_MODELS,
    STUDY_NAME,
    frame_from_json,
)
from ._search_space import STUDY_SEARCH_SPACE
from ._storage import INTERRUPTED, open_storage, sqlite_url
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
    name = MODEL_TITLES[model]
    return f"{name} of {settings.n_estimators}" if model == "ensemble" else name


def _networks(model, settings):
    """Networks one training of ``model`` trains."""
    return settings.n_estimators if model == "ensemble" else 1


def _capped(runs, model, settings):
    """"none", or how many of the networks ``runs`` trained hit the epoch cap."""
    hits = int(runs["epoch_cap_hits"].sum())
    total = len(runs) * _networks(model, settings)
    return "none" if hits == 0 else f"{hits} of {total} (cap {settings.epochs})"


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
def _frame(results, step, name):
    """The DataFrame ``name`` ("runs", "summary") of a cached step."""
    return frame_from_json(results[step]["result"][name])


def _summaries(results):
    """model -> the summary that :func:`~sklenet.evaluation.repeated_evaluation`
    returned for it."""
    return {model: _frame(results, f"{model}_evaluation", "summary")
            for model in MODELS}


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
        runs = _frame(results, f"{model}_evaluation", "runs")
        classes = results[f"{model}_evaluation"]["result"]["classes"]
        auc, label = _lowest_auc(_measured_aucs(summary, classes))
        rows.append({
            "model": _model_name(model, settings),
            "source": f"measured ({len(runs)} trainings)",
            **{f"{split} accuracy": _pm(*summary.loc[f"{split}_accuracy"])
               for split in _SPLITS},
            "lowest per-class ROC AUC": f"{auc:.4f} (class {label})",
            "epochs": f"{summary.loc['n_epochs', 'mean']:.0f}",
            "stopped at the epoch cap": _capped(runs, model, settings),
            "fit time (s)": f"{summary.loc['fit_time', 'mean']:.0f}",
        })
        if model not in STUDY_MODELS:
            continue  # sklenet's own recipe: the study has no numbers for it
        published = dict(enumerate(_published.ROC_AUC[model]))
        auc, label = _lowest_auc(published)
        rows.append({
            "model": "",
            "source": "study (10 trainings)",
            **{f"{split} accuracy": _pm(*_published.ACCURACY[model][split], digits=3)
               for split in _SPLITS},
            "lowest per-class ROC AUC": f"{auc:g} (digit {label})",
            "epochs": "",
            "stopped at the epoch cap": "",
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
            f"{result['best_score']:.4f}. The first trial is the study's best "
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
        step = f"{model}_learning_curve"
        runs, summary = _frame(results, step, "runs"), _frame(results, step, "summary")
        for size, row in summary.iterrows():
            trainings = runs[runs["train_size"] == size]
            rows.append({
                "model": _model_name(model, settings),
                "training images": size,
                "train accuracy": _pm(row["train_accuracy_mean"],
                                      row["train_accuracy_std"]),
                "test accuracy": _pm(row["test_accuracy_mean"],
                                     row["test_accuracy_std"]),
                "trainings": len(trainings),
                "stopped at the epoch cap": _capped(trainings, model, settings),
            })
    return pd.DataFrame(rows)


def convergence_table(results, settings):
    rows = []
    for model in MODELS:
        result = results[f"{model}_convergence"]["result"]
        epochs = [len(history["loss"]) for history in result["histories"]]
        best = [int(np.argmax(history["val_accuracy"])) + 1
                for history in result["histories"]]
        capped = sum(n >= settings.epochs for n in epochs)
        rows.append({
            "model": _model_name(model, settings),
            "epochs trained": ", ".join(map(str, epochs)),
            "best epoch": ", ".join(map(str, best)),
            "stopped at the epoch cap": "none" if not capped else
            f"{capped} of {len(epochs)} (cap {settings.epochs})",
            "validation accuracy": f"{result['validation_accuracy']:.4f}",
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
        "max epochs": settings.epochs,
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


def capped_trainings(results, settings):
    """[(step, networks at the epoch cap, networks trained)] of every step
    with a network that trained to its epoch cap instead of stopping early."""
    counts = []
    for model in MODELS:
        for kind in ("evaluation", "learning_curve"):
            runs = _frame(results, f"{model}_{kind}", "runs")
            counts.append((f"{model}_{kind}", int(runs["epoch_cap_hits"].sum()),
                           len(runs) * _networks(model, settings)))
        if settings.convergence_split == "deployment":  # else the evaluation's
            epochs = [len(history["loss"]) for history in
                      results[f"{model}_convergence"]["result"]["histories"]]
            counts.append((f"{model}_convergence",
                           sum(n >= settings.epochs for n in epochs), len(epochs)))
    trials = frame_from_json(results["search"]["result"]["trials"])
    if "user_attrs_n_epochs" in trials:
        epochs = trials["user_attrs_n_epochs"].dropna()
        counts.append(("search", int((epochs >= settings.epochs).sum()), len(epochs)))
    return [count for count in counts if count[1]]


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
    network = {name: BEST_PARAMS[name] for name in NETWORK_PARAMS
               if name in BEST_PARAMS}
    draw("Architecture (figure 1)", [
        ("standard LeNet", "architecture_standard",
         lambda: _architecture(build_lenet(shape, len(classes)), "standard LeNet")),
        ("optimized LeNet (best found)", "architecture_optimized",
         lambda: _architecture(build_lenet(shape, len(classes), **best),
                               "optimized LeNet (best found)")),
        (names["best"], "architecture_best",
         lambda: _architecture(build_lenet(shape, len(classes), **network),
                               names["best"])),
    ])
    draw("Learning curves (figures 2, 7, 9)", [
        (names[model], f"learning_curve_{model}",
         lambda model=model: _titled(plot_learning_curve(frame_from_json(
             results[f"{model}_learning_curve"]["result"]["runs"])), names[model]))
        for model in MODELS
    ])
    draw(f"Convergence: {CONVERGENCE_SPLITS[settings.convergence_split]} "
         "(figures 3, 8, 10)", [
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
        study_name=STUDY_NAME,
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
        atomic_write(folder / f"{model}_evaluation_summary.csv",
                     frame_from_json(evaluation["summary"]).to_csv())
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
.warning { background: #fde2e1; border-left: 4px solid #c0392b; padding: 0.5em 1em; }
.figures { display: grid; gap: 1em;
           grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); }
figure { margin: 0; } figure img { max-width: 100%; }
"""


def _cap_warning(results, settings):
    """The warning that some trainings stopped at their epoch cap, or None."""
    capped = capped_trainings(results, settings)
    if not capped:
        return None
    where = "; ".join(f"{step.replace('_', ' ')}: {hits} of {total}"
                      for step, hits, total in capped)
    return (f"Warning: some trainings stopped at the epoch cap (epochs="
            f"{settings.epochs}) instead of by early stopping ({where}). Their "
            "accuracies measure the cap, not the model; raise --epochs to let them "
            "converge.")


#: Settings that a preset may scale down from the study's, in words.
_SCALED_DOWN = {"n_repeats": "trainings per model", "n_trials": "search trials",
                "n_estimators": "ensemble members",
                "learning_curve_repeats": "learning-curve trainings",
                "epochs": "epochs"}


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
        "warning": _cap_warning(results, settings),
        "note": _note(reproduction, preset),
        "search_summary": search_summary(results),
        "learning_curve_text": "Early-stopping patience "
        f"{settings.learning_curve_patience}; each repeat draws a new train/test "
        "split.",
        "convergence_text": "Train and validation accuracy per epoch of "
        f"{CONVERGENCE_SPLITS[settings.convergence_split]}, for the ensemble of "
        "each member; the best epoch is the one whose weights early stopping "
        "restored.",
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
     "learning_curve_text"),
    ("Convergence", "convergence", "convergence_text"),
)
_APPENDIX = (("Settings", "settings"), ("Library versions", "versions"),
             ("Time per step", "timings"))


def _markdown(tables, sections, context):
    lines = [f"# {context['title']}", "",
             f"Created {context['created']} by `{context['command']}`.", ""]
    for key in ("warning", "note"):
        if context[key]:
            lines += [f"> {context[key]}", ""]
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
    for key in ("warning", "note"):
        if context[key]:
            body.append(f'<p class="{key}">{e(context[key])}</p>')
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
