"""The report's figures, drawn from a run's records into its figures folder."""

import matplotlib.pyplot as plt
import numpy as np
import optuna

from .. import LeNetClassifier
from .._recipes import BEST_PARAMS
from ..model_selection._storage import open_storage
from ..plotting import (
    plot_architecture,
    plot_confused_pairs,
    plot_confusion_matrix,
    plot_convergence,
    plot_intermediate_values,
    plot_learning_curve,
    plot_misclassified,
    plot_optimization_history,
    plot_param_importances,
    plot_roc_curves,
)
from ._results import STUDY_NAME
from ._settings import CONVERGENCE_SPLITS, MODELS
from ._steps import model_title


def draw_figures(results, settings, X_test, folder):
    """Draw every figure of a finished run into its figures folder.

    Everything comes from the run folder: ``results`` (the steps' records),
    ``X_test`` (the test images, for the digits the models get wrong) and
    the search's trials in ``folder.search_db``.

    Parameters
    ----------
    results : StudyResults
    settings : Settings
        The run's settings.
    X_test : ndarray of shape (n_test, n_pixels)
        The evaluation split's test images, in the order of the records'
        ``y_test``.
    folder : RunFolder

    Returns
    -------
    list of (str, list of (str, str or None))
        Each section's heading and its figures: (caption, file name relative
        to the figures folder, or None for a figure that could not be drawn,
        whose caption then says why).
    """
    figures = folder.figures
    figures.mkdir(exist_ok=True)
    names = {model: model_title(model, settings) for model in MODELS}
    sections = []

    def draw(section, items):
        files = []
        for caption, name, plot in items:
            try:
                _save(plot(), figures / f"{name}.png")
            except (ValueError, RuntimeError) as exc:
                # e.g. fANOVA importances need two completed trials
                caption = f"{caption}: not drawn ({exc})"
                name = None
            files.append((caption, None if name is None else f"{name}.png"))
        sections.append((section, files))

    classes = results.evaluation("standard").classes

    def network(params):
        """The network a LeNetClassifier with ``params`` builds for the test
        images (built by scikeras' ``initialize``, not trained)."""
        clf = LeNetClassifier(**params).initialize(X_test[:len(classes)], classes)
        return clf.model_

    best = results.search.best_params
    draw("Architecture (figure 1)", [
        ("standard LeNet", "architecture_standard",
         lambda: _architecture(network({}), "standard LeNet")),
        ("optimized LeNet (best found)", "architecture_optimized",
         lambda: _architecture(network(best), "optimized LeNet (best found)")),
        (names["best"], "architecture_best",
         lambda: _architecture(network(BEST_PARAMS), names["best"])),
    ])
    draw("Learning curves (figures 2, 7, 9)", [
        (names[model], f"learning_curve_{model}",
         lambda model=model: _titled(
             plot_learning_curve(results.learning_curve(model).runs), names[model]))
        for model in MODELS if model in settings.learning_curve_models
    ])
    draw(f"Convergence: {CONVERGENCE_SPLITS[settings.convergence_split]} "
         "(figures 3, 8, 10)", [
        (names[model], f"convergence_{model}",
         lambda model=model: _titled(
             plot_convergence(results.convergence(model).histories), names[model]))
        for model in MODELS
    ])

    def test_predictions(model):
        evaluation = results.evaluation(model)
        return (np.asarray(evaluation.y_test), np.asarray(evaluation.test_proba),
                np.asarray(evaluation.classes))

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
    draw("The digits each model gets wrong, test set, first training", [
        item for model in MODELS for item in (
            (f"{names[model]}: misclassified test digits, most confident first",
             f"misclassified_{model}",
             lambda model=model: _prefixed(_misclassified(
                 X_test, *test_predictions(model)), names[model])),
            (f"{names[model]}: the most-confused pairs of classes",
             f"confused_pairs_{model}",
             lambda model=model: _titled(_confused(*test_predictions(model)),
                                         names[model])))
    ])
    # The folder's own database: a search stored elsewhere (PostgreSQL) is
    # copied into it when the run ends.
    study = optuna.load_study(study_name=STUDY_NAME,
                              storage=open_storage(folder.search_storage))
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


def _save(ax, path):
    figure = ax.figure
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)


def _titled(ax, title):
    ax.set_title(title)
    return ax


def _labelled(ax, xlabel, ylabel):
    ax.set(xlabel=xlabel, ylabel=ylabel)
    return ax


def _prefixed(ax, name):
    ax.set_title(f"{name}: {ax.get_title()}", fontsize=9)
    return ax


def _misclassified(X, y_true, proba, classes):
    return plot_misclassified(X, y_true, proba, labels=classes, max_images=16)


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


def _confused(y_true, proba, classes):
    return plot_confused_pairs(y_true, classes[proba.argmax(axis=1)],
                               labels=classes, n_pairs=8)


def _confusion(y_true, proba, classes):
    return plot_confusion_matrix(y_true, classes[proba.argmax(axis=1)],
                                 labels=classes)
