"""sklenet.plotting: each figure draws on the given axes and returns it."""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import optuna
import pandas as pd
import pytest
from matplotlib.patches import FancyBboxPatch
from optuna.distributions import FloatDistribution
from sklearn.exceptions import NotFittedError
from sklearn.naive_bayes import GaussianNB

from sklenet import LeNetClassifier, LeNetSearchCV, build_lenet, plotting
from sklenet.evaluation import confused_pairs
from sklenet.model_selection import _cv_results, _objective, _search
from sklenet.plotting import (
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


@pytest.fixture(autouse=True)
def _agg_backend():
    """Draw off screen, and free every figure after each test."""
    backend = plt.get_backend()
    plt.switch_backend("agg")
    yield
    plt.close("all")
    plt.switch_backend(backend)


def _texts(ax):
    return [text.get_text() for text in ax.texts]


def _legend(ax):
    return [text.get_text() for text in ax.get_legend().get_texts()]


# ------------------------------------------------------------ architecture
def test_architecture_of_the_standard_lenet():
    ax = plot_architecture(build_lenet((28, 28, 1), 10))
    boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
    assert len(boxes) == 9  # input, 2 conv, 2 pooling, global pooling, 3 dense
    texts = _texts(ax)
    assert "conv1: Conv2D  (6 filters 5, tanh)" in texts
    assert "output 28x28x6    156 parameters" in texts
    assert "pool1: AveragePooling2D  (2, stride 2)" in texts
    assert "dense2: Dense  (84 units, tanh)" in texts
    assert ax.get_title() == "lenet: 15,626 parameters"


def test_architecture_of_a_fitted_estimator_on_given_axes(digits):
    X, y, _, _ = digits
    clf = LeNetClassifier(conv_l2=0.001, pool_strides=1).initialize(X, y)
    _, ax = plt.subplots()
    assert plot_architecture(clf, ax=ax) is ax
    texts = _texts(ax)
    assert "conv1: Conv2D  (6 filters 5, tanh, L2 0.001)" in texts
    assert "pool1: AveragePooling2D  (2, stride 1)" in texts


# ---------------------------------------------------------- learning curve
def _curve_runs():
    return pd.DataFrame({
        "repeat": [0, 0, 1, 1], "train_size": [100, 200, 100, 200],
        "train_accuracy": [1.0, 0.95, 0.9, 0.97],
        "test_accuracy": [0.7, 0.8, 0.6, 0.82],
    })


def test_learning_curve_means_and_std_bands():
    _, ax = plt.subplots()
    assert plot_learning_curve(_curve_runs(), ax=ax) is ax
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(lines["Test"].get_ydata(), [0.65, 0.81])
    np.testing.assert_allclose(lines["Train"].get_xdata(), [100, 200])
    assert len(ax.collections) == 2  # one ± std band per curve
    assert ax.get_ylabel() == "Accuracy"


def test_learning_curve_needs_two_sizes():
    runs = _curve_runs().query("train_size == 100")
    with pytest.raises(ValueError, match="at least two training-set sizes"):
        plot_learning_curve(runs)


# ------------------------------------------------------------- convergence
_HISTORY = {"loss": [1.0, 0.5, 0.4], "accuracy": [0.5, 0.8, 0.9],
            "val_accuracy": [0.6, 0.85, 0.8]}


class _Fitted:
    def __init__(self, history):
        self.history_ = history


class _Ensemble:
    estimators_ = [_Fitted(_HISTORY), _Fitted(_HISTORY), _Fitted(_HISTORY)]


def test_convergence_of_one_model_marks_the_kept_epoch():
    ax = plot_convergence(_Fitted(_HISTORY))
    assert [line.get_label() for line in ax.get_lines()] == [
        "train", "validation", "best epoch (2)"]
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), [0.6, 0.85, 0.8])
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), [1, 2, 3])


@pytest.mark.parametrize("model", [_Ensemble(), [_HISTORY] * 3],
                         ids=["ensemble", "list"])
def test_convergence_of_every_ensemble_member(model):
    _, ax = plt.subplots()
    assert plot_convergence(model, ax=ax) is ax
    assert len(ax.get_lines()) == 6
    assert _legend(ax) == ["train", "validation"]
    assert ax.get_title() == "3 members"


def test_convergence_of_a_real_lenet(digits):
    X, y, _, _ = digits
    clf = LeNetClassifier(epochs=2, early_stopping=True, random_state=0).fit(X, y)
    ax = plot_convergence(clf)
    train, validation = ax.get_lines()[:2]
    np.testing.assert_allclose(train.get_xdata(), [1, 2])
    np.testing.assert_allclose(train.get_ydata(), clf.history_["accuracy"])
    np.testing.assert_allclose(validation.get_ydata(), clf.history_["val_accuracy"])


def test_convergence_refuses_objects_without_history():
    with pytest.raises(TypeError, match="Cannot find a training history in str"):
        plot_convergence("model")


# ------------------------------------------------------- ROC and confusion
def test_roc_curves_one_per_class_with_auc():
    y = np.array(["a", "b", "c", "a", "b", "c"])
    proba = np.eye(3)[[0, 1, 2, 1, 1, 2]] * 0.8 + 0.2 / 3
    _, ax = plt.subplots()
    assert plot_roc_curves(y, proba, ax=ax) is ax
    assert _legend(ax) == ["class a (AUC 0.7500)", "class b (AUC 0.8750)",
                           "class c (AUC 1.0000)"]
    assert ax.get_xlabel() == "False positive rate"


def test_roc_curves_skip_a_class_without_samples_and_check_columns():
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.9, 0.1, 0], [0.6, 0.4, 0], [0.3, 0.7, 0], [0.2, 0.8, 0]])
    ax = plot_roc_curves(y, proba, labels=[0, 1, 2])
    assert _legend(ax) == ["class 0 (AUC 1.0000)", "class 1 (AUC 1.0000)"]
    with pytest.raises(ValueError, match=r"shape \(4, 3\), but there are 2 labels"):
        plot_roc_curves(y, proba)


def test_confusion_matrix_counts_and_normalisation():
    y_true, y_pred = [0, 1, 1, 2], [0, 1, 0, 2]
    _, ax = plt.subplots()
    assert plot_confusion_matrix(y_true, y_pred, ax=ax) is ax
    assert [t for t in _texts(ax) if t != "0"] == ["1", "1", "1", "1"]
    ax = plot_confusion_matrix(y_true, y_pred, normalize="true")
    assert [t for t in _texts(ax) if t != "0.00"] == ["1.00", "0.50", "0.50",
                                                     "1.00"]


# ------------------------------------------------------------------ Optuna
# ------------------------------------------------------------------ errors
def test_misclassified_grid_shows_the_mistakes_most_confident_first():
    # Five 2x3 images with distinct pixels; labels are strings, as any
    # classifier's classes_ may be.
    X = np.arange(5 * 6, dtype=float).reshape(5, 6)
    labels = np.array(["a", "b", "c"])
    y_true = np.array(["a", "b", "c", "a", "b"])
    proba = np.array([[0.2, 0.7, 0.1],    # a as b, 0.70
                      [0.1, 0.8, 0.1],    # right
                      [0.95, 0.0, 0.05],  # c as a, 0.95: the worst
                      [0.3, 0.0, 0.7],    # a as c, 0.70: a tie, kept in order
                      [0.6, 0.3, 0.1]])   # b as a, 0.60
    ax = plot_misclassified(X, y_true, proba, labels=labels, n_cols=3,
                            image_shape=(2, 3))
    assert _texts(ax) == ["true c, predicted a (0.95)", "true a, predicted b (0.70)",
                          "true a, predicted c (0.70)", "true b, predicted a (0.60)"]
    assert ax.get_title() == "4 of 5 images misclassified"
    mosaic = ax.images[0].get_array()
    pad = 1  # between the tiles
    tiles = [mosaic[top:top + 2, left:left + 3]
             for top, left in ((0, 0), (0, 4), (0, 8), (3, 0))]
    for tile, index in zip(tiles, [2, 0, 3, 4]):
        np.testing.assert_array_equal(tile, X[index].reshape(2, 3))
    assert mosaic.shape == (2 * (2 + pad), 3 * (3 + pad))
    assert np.ma.getmaskarray(mosaic[3:5, 4:]).all()  # blank: no fifth tile
    ax = plot_misclassified(X, y_true, proba, labels=labels, max_images=2,
                            image_shape=(2, 3))
    assert len(ax.texts) == 2 and ax.get_title().endswith(", the 2 most confident")


def test_misclassified_grid_refuses_scores_of_another_shape():
    with pytest.raises(ValueError, match=r"y_score has shape \(2, 2\); expected "
                       r"\(2, 3\)"):
        plot_misclassified(np.zeros((2, 4)), [0, 1], np.zeros((2, 2)),
                           labels=[0, 1, 2])
    with pytest.raises(ValueError, match="X has 3 images, but y_true has 2"):
        plot_misclassified(np.zeros((3, 4)), [0, 1], np.zeros((2, 2)))


def test_confused_pairs_most_frequent_first():
    y_true = [4, 4, 4, 4, 9, 9, 7, 7, 1]
    y_pred = [9, 9, 9, 4, 4, 9, 1, 7, 7]
    pairs = confused_pairs(y_true, y_pred)
    assert pairs[["true", "predicted", "count"]].values.tolist() == [
        [4, 9, 3], [1, 7, 1], [7, 1, 1], [9, 4, 1]]
    assert pairs["share"].tolist() == [0.75, 1.0, 0.5, 0.5]
    assert len(confused_pairs(y_true, y_pred, n_pairs=2)) == 2
    ax = plot_confused_pairs(y_true, y_pred, n_pairs=2)
    assert [label.get_text() for label in ax.get_yticklabels()] == ["4 as 9",
                                                                  "1 as 7"]
    assert [bar.get_width() for bar in ax.patches] == [3, 1]
    assert _texts(ax) == [" 3 (75.0% of 4)", " 1 (100.0% of 1)"]


def test_optuna_figures_live_in_plotting():
    for name in ("plot_intermediate_values", "plot_optimization_history",
                 "plot_param_importances"):
        assert name in plotting.__all__
        assert getattr(plotting, name).__module__ == "sklenet.plotting"
        assert not any(hasattr(module, name)
                       for module in (_search, _objective, _cv_results))


def _pruned_study():
    """3 trials reporting per epoch: trial 0 completes 2 epochs, trials 1
    and 2 are pruned after their first."""

    def objective(trial):
        accuracy = trial.suggest_float("accuracy", 0.5, 0.9)
        trial.report(accuracy, step=0)
        if trial.number > 0:
            raise optuna.TrialPruned()
        trial.report(accuracy + 0.05, step=1)
        return accuracy + 0.05

    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=3)
    return study


def test_intermediate_values_dot_pruned_trials_and_keep_the_style():
    style = matplotlib.rcParams["axes.facecolor"]
    ax = plot_intermediate_values(_pruned_study())
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["Trial0", "Trial1 (pruned)", "Trial2 (pruned)"]
    assert [line.get_linestyle() for line in ax.get_lines()] == ["-", ":", ":"]
    assert [len(line.get_xdata()) for line in ax.get_lines()] == [2, 1, 1]
    assert matplotlib.rcParams["axes.facecolor"] == style  # no ggplot left


def test_optimization_history_plots_the_scores_of_completed_trials():
    study = _pruned_study()
    ax = plot_optimization_history(study)
    assert ax.get_title() == "Optimization History Plot"
    # Pruned trials have no score.
    assert ax.collections[0].get_offsets().tolist() == [[0, study.best_value]]


@pytest.mark.parametrize("cv, xlabel", [(None, "Epoch"),
                                        (2, "Step (split x epochs + epoch)")])
def test_figures_of_a_fitted_search(digits, cv, xlabel):
    X, y, _, _ = digits
    search = LeNetSearchCV(GaussianNB(),
                           {"var_smoothing": FloatDistribution(1e-3, 1.0, log=True)},
                           n_trials=3, cv=cv, random_state=0).fit(X, y)
    ax = plot_intermediate_values(search)
    assert (ax.get_xlabel(), ax.get_ylabel()) == (xlabel, "Validation accuracy")
    history = plot_optimization_history(search)
    scores = history.collections[0].get_offsets()[:, 1]
    np.testing.assert_allclose(scores, search.cv_results_["mean_test_score"])
    importances = plot_param_importances(search, random_state=0)
    assert [t.get_text() for t in importances.get_yticklabels()] == ["var_smoothing"]
    with pytest.raises(NotFittedError):
        plot_optimization_history(LeNetSearchCV())
