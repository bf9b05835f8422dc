"""sklenet.evaluation: the study's splits, repeated evaluation, learning curves."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import sklearn
from joblib import parallel_config
from scipy import stats
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import RidgeClassifier, SGDClassifier
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.tree import DecisionTreeClassifier

from sklenet import LeNetClassifier
from sklenet._base import spawn_seeds
from sklenet.evaluation import (
    compare_scores,
    deployment_split,
    evaluation_split,
    expected_calibration_error,
    repeated_evaluation,
    repeated_learning_curve,
    split_scores,
    stopped_at_epoch_cap,
)

from .helpers import LEARNED, fast, learning


@pytest.fixture(scope="module")
def blobs():
    """600 samples of 3 well-separated classes, sorted by class like the sample."""
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 200)
    X = rng.normal(size=(600, 5)) + y[:, None] * 1.5
    return X, y


def _parts(blobs):
    X_train, X_val, X_test, y_train, y_val, y_test = evaluation_split(
        *blobs, random_state=0)
    return X_train, y_train, X_test, y_test, (X_val, y_val)


class _RecordingTree(DecisionTreeClassifier):
    """A tree whose fit takes validation_data, as the sklenet estimators do."""

    def fit(self, X, y, validation_data=None):
        self.validation_sizes_ = None if validation_data is None else len(
            validation_data[1])
        return super().fit(X, y)


class _EpochTree(DecisionTreeClassifier):
    """A tree that reports epochs as a network does: it "trains" for
    ``min(epochs, stops_at)`` epochs, so ``stops_at >= epochs`` hits the cap."""

    def __init__(self, *, epochs=3, stops_at=2, random_state=None):
        super().__init__(max_depth=2, random_state=random_state)
        self.epochs = epochs
        self.stops_at = stops_at

    def fit(self, X, y):
        self.n_epochs_ = min(self.epochs, self.stops_at)
        return super().fit(X, y)


class _EpochForest(_EpochTree):
    """Members with their own epochs, as LeNetEnsembleClassifier's."""

    def fit(self, X, y):
        self.estimators_ = [_EpochTree(epochs=self.epochs, stops_at=stops_at).fit(X, y)
                            for stops_at in (self.stops_at, self.epochs)]
        return DecisionTreeClassifier.fit(self, X, y)


class _RecordingSGD(SGDClassifier):
    def fit(self, X, y, validation_data=None):
        self.patience_seen_ = self.n_iter_no_change
        self.validation_sizes_ = None if validation_data is None else len(
            validation_data[1])
        return super().fit(X, y)


# ------------------------------------------------------------------ splits
def test_evaluation_split_is_60_20_20_stratified_and_seeded(blobs):
    X, y = blobs
    parts = evaluation_split(X, y, random_state=0)
    X_train, X_val, X_test, y_train, y_val, y_test = parts
    assert (len(y_train), len(y_val), len(y_test)) == (360, 120, 120)
    for part in (y_train, y_val, y_test):
        assert np.all(np.bincount(part) == len(part) // 3)
    again = evaluation_split(X, y, random_state=0)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again))
    other = evaluation_split(X, y, random_state=1)
    assert not np.array_equal(X_test, other[2])
    # The three parts partition the data.
    rows = {tuple(row) for part in (X_train, X_val, X_test) for row in part}
    assert len(rows) == len(X)


def test_evaluation_split_keeps_dataframes_and_accepts_counts(blobs):
    X, y = blobs
    X_train, X_val, X_test, *_ = evaluation_split(
        pd.DataFrame(X), pd.Series(y), validation_size=60, test_size=0.5,
        random_state=0)
    assert isinstance(X_train, pd.DataFrame)
    assert (len(X_train), len(X_val), len(X_test)) == (240, 60, 300)


@pytest.mark.parametrize("sizes, message", [
    ({"test_size": 1.5}, "test_size=1.5 must be a float strictly between"),
    ({"validation_size": 0}, "validation_size=0 must be"),
    ({"validation_size": 0.5, "test_size": 0.5}, "leave no training samples"),
])
def test_evaluation_split_rejects_bad_sizes(blobs, sizes, message):
    with pytest.raises(ValueError, match=message):
        evaluation_split(*blobs, **sizes)


def test_deployment_split_is_70_30_stratified(blobs):
    X_train, X_val, y_train, y_val = deployment_split(*blobs, random_state=0)
    assert (len(y_train), len(y_val)) == (420, 180)
    assert np.all(np.bincount(y_val) == 60)


# ------------------------------------------------------ repeated evaluation
def test_repeated_evaluation_rows_columns_and_summary(blobs):
    X_train, y_train, X_test, y_test, validation = _parts(blobs)
    runs, summary = repeated_evaluation(
        DecisionTreeClassifier(max_depth=2), X_train, y_train, X_test, y_test,
        validation_data=validation, n_repeats=3, random_state=0)
    assert runs.index.name == "repeat" and len(runs) == 3
    for split in ("train", "validation", "test"):
        assert f"{split}_accuracy" in runs
        assert [f"{split}_roc_auc_{c}" for c in range(3)] == [
            c for c in runs if c.startswith(f"{split}_roc_auc")]
    assert runs["n_epochs"].isna().all()  # a tree has no epochs
    assert runs["epoch_cap_hits"].isna().all()
    assert (runs["fit_time"] > 0).all()
    assert list(summary.columns) == ["mean", "std"]
    assert "random_state" not in summary.index
    assert summary.loc["test_accuracy", "mean"] == pytest.approx(
        runs["test_accuracy"].mean())
    assert summary.loc["test_accuracy", "std"] == pytest.approx(
        np.std(runs["test_accuracy"]))  # NumPy's ddof=0


def test_repeated_evaluation_seeds_each_run_reproducibly(blobs):
    X_train, y_train, X_test, y_test, _ = _parts(blobs)
    tree = DecisionTreeClassifier(max_features=1)
    runs, _, fitted = repeated_evaluation(
        tree, X_train, y_train, X_test, y_test, n_repeats=4, random_state=7,
        return_estimator=True)
    seeds = runs["random_state"].tolist()
    assert len(set(seeds)) == 4
    assert [est.random_state for est in fitted] == seeds
    assert tree.random_state is None and not hasattr(tree, "tree_")  # untouched
    again, _ = repeated_evaluation(tree, X_train, y_train, X_test, y_test,
                                   n_repeats=4, random_state=7)
    pd.testing.assert_frame_equal(runs.drop(columns="fit_time"),
                                  again.drop(columns="fit_time"))
    assert "validation_accuracy" not in runs


def test_repeated_evaluation_seeds_are_the_ensembles_spawned_seeds(blobs):
    X_train, y_train, X_test, y_test, _ = _parts(blobs)
    runs, _ = repeated_evaluation(DecisionTreeClassifier(), X_train, y_train,
                                  X_test, y_test, n_repeats=3, random_state=7)
    # One seeding scheme: more repeats extend fewer, as more members do.
    assert runs["random_state"].tolist() == spawn_seeds(7, 3)


@pytest.mark.parametrize("stops_at, n_epochs, hits", [(2, 2, 0), (3, 3, 1), (9, 3, 1)])
def test_repeated_evaluation_counts_trainings_at_the_epoch_cap(
    blobs, stops_at, n_epochs, hits
):
    X_train, y_train, X_test, y_test, _ = _parts(blobs)
    runs, summary = repeated_evaluation(
        _EpochTree(epochs=3, stops_at=stops_at), X_train, y_train, X_test, y_test,
        n_repeats=2, random_state=0)
    assert runs["n_epochs"].tolist() == [n_epochs] * 2
    assert runs["epoch_cap_hits"].tolist() == [hits] * 2
    assert summary.loc["epoch_cap_hits", "mean"] == hits


def test_repeated_evaluation_counts_ensemble_members_at_the_epoch_cap(blobs):
    X_train, y_train, X_test, y_test, _ = _parts(blobs)
    runs, _ = repeated_evaluation(_EpochForest(epochs=3, stops_at=1), X_train,
                                  y_train, X_test, y_test, n_repeats=1)
    # Members stopped at epochs 1 and 3 (the cap): their mean, one at the cap.
    assert runs.loc[0, ["n_epochs", "epoch_cap_hits"]].tolist() == [2.0, 1]


def test_repeated_evaluation_random_state_instance_draws_new_seeds(blobs):
    X_train, y_train, X_test, y_test, _ = _parts(blobs)
    rng = np.random.RandomState(0)
    first, _ = repeated_evaluation(DecisionTreeClassifier(), X_train, y_train,
                                   X_test, y_test, n_repeats=2, random_state=rng)
    second, _ = repeated_evaluation(DecisionTreeClassifier(), X_train, y_train,
                                    X_test, y_test, n_repeats=2, random_state=rng)
    assert set(first["random_state"]).isdisjoint(second["random_state"])


def test_repeated_evaluation_passes_validation_data_to_fit_that_takes_it(blobs):
    X_train, y_train, X_test, y_test, validation = _parts(blobs)
    _, _, fitted = repeated_evaluation(
        _RecordingTree(), X_train, y_train, X_test, y_test,
        validation_data=validation, n_repeats=2, random_state=0,
        return_estimator=True)
    assert [est.validation_sizes_ for est in fitted] == [120, 120]
    # Estimators whose fit has no validation_data are scored on it only.
    runs, _ = repeated_evaluation(
        DecisionTreeClassifier(), X_train, y_train, X_test, y_test,
        validation_data=validation, n_repeats=1, random_state=0)
    assert 0 < runs.loc[0, "validation_accuracy"] <= 1


def test_repeated_evaluation_in_parallel_equals_sequential(blobs):
    X_train, y_train, X_test, y_test, _ = _parts(blobs)
    tree = DecisionTreeClassifier(max_features=1)
    sequential, _ = repeated_evaluation(tree, X_train, y_train, X_test, y_test,
                                        n_repeats=3, random_state=0)
    with parallel_config(backend="threading"):
        parallel, _ = repeated_evaluation(tree, X_train, y_train, X_test, y_test,
                                          n_repeats=3, random_state=0, n_jobs=2,
                                          verbose=1)
    pd.testing.assert_frame_equal(sequential.drop(columns="fit_time"),
                                  parallel.drop(columns="fit_time"))


@pytest.mark.parametrize("classes", [[0, 1, 2], [0, 2]], ids=["multiclass", "binary"])
def test_repeated_evaluation_uses_decision_function_without_predict_proba(
    blobs, classes
):
    X_train, y_train, X_test, y_test, _ = _parts(blobs)
    train, test = np.isin(y_train, classes), np.isin(y_test, classes)
    X_train, y_train, X_test, y_test = (X_train[train], y_train[train],
                                        X_test[test], y_test[test])
    runs, _ = repeated_evaluation(RidgeClassifier(), X_train, y_train, X_test,
                                  y_test, n_repeats=1)
    ridge = RidgeClassifier().fit(X_train, y_train)
    assert runs.loc[0, "test_accuracy"] == ridge.score(X_test, y_test)
    scores = ridge.decision_function(X_test)
    scores = np.column_stack([-scores, scores]) if scores.ndim == 1 else scores
    expected = [roc_auc_score(y_test == c, scores[:, i]) for i, c in enumerate(classes)]
    aucs = runs.filter(like="test_roc_auc")
    assert list(aucs) == [f"test_roc_auc_{c}" for c in classes]
    np.testing.assert_allclose(aucs.loc[0], expected)


@pytest.mark.parametrize("n_repeats", [0, 1.5, True])
def test_repeated_evaluation_rejects_bad_n_repeats(blobs, n_repeats):
    X_train, y_train, X_test, y_test, _ = _parts(blobs)
    with pytest.raises(ValueError, match="n_repeats=.* must be a positive int"):
        repeated_evaluation(DecisionTreeClassifier(), X_train, y_train, X_test,
                            y_test, n_repeats=n_repeats)


def test_split_scores_roc_auc_is_nan_for_a_class_absent_from_y(blobs):
    X, y = blobs
    tree = DecisionTreeClassifier(max_depth=1, random_state=0).fit(X, y)
    scores = split_scores(tree, X[y != 2], y[y != 2])
    assert np.isnan(scores["roc_auc_2"])
    assert set(scores) == {"accuracy", "roc_auc_0", "roc_auc_1", "roc_auc_2"}


def test_repeated_evaluation_of_lenet(digits):
    X_train, y_train, X_test, y_test = digits
    validation = (X_test[:50], y_test[:50])
    # learning()'s 5 epochs end before a patience of 5 can: the cap ends them.
    runs, summary, fitted = repeated_evaluation(
        LeNetClassifier(**learning(early_stopping=True)), X_train, y_train,
        X_test[50:], y_test[50:], validation_data=validation, n_repeats=2,
        random_state=0, return_estimator=True)
    assert runs["n_epochs"].tolist() == [5, 5]
    assert runs["epoch_cap_hits"].tolist() == [1, 1]
    assert [est.random_seed_ for est in fitted] == runs["random_state"].tolist()
    # Early stopping monitored the 50 given images, not 10 % of X_train (30).
    for accuracy in fitted[0].history_["val_accuracy"]:
        assert accuracy * 50 == pytest.approx(round(accuracy * 50), abs=1e-4)
    # Each training learned: chance on 10 classes is 0.1.
    assert runs["validation_accuracy"].min() > LEARNED
    assert runs["test_accuracy"].min() > LEARNED


# ------------------------------------------------- repeated learning curve
def test_repeated_learning_curve_rows_and_summary(blobs):
    X, y = blobs
    runs, summary = repeated_learning_curve(
        DecisionTreeClassifier(max_depth=3), X, y, train_sizes=[0.25, 1.0],
        n_repeats=3, test_size=0.2, random_state=0, verbose=1)
    assert len(runs) == 6
    assert runs.groupby("train_size").size().to_dict() == {120: 3, 480: 3}
    assert runs.groupby("repeat")["random_state"].nunique().eq(1).all()
    assert runs["random_state"].nunique() == 3
    assert summary.index.name == "train_size"
    assert summary.loc[480, "test_accuracy_mean"] == pytest.approx(
        runs.query("train_size == 480")["test_accuracy"].mean())
    assert summary.loc[480, "test_accuracy_std"] == pytest.approx(
        np.std(runs.query("train_size == 480")["test_accuracy"]))
    again, _ = repeated_learning_curve(
        DecisionTreeClassifier(max_depth=3), X, y, train_sizes=[0.25, 1.0],
        n_repeats=3, test_size=0.2, random_state=0)
    pd.testing.assert_frame_equal(runs.drop(columns="fit_time"),
                                  again.drop(columns="fit_time"))


def test_repeated_learning_curve_records_epochs_and_runs_sizes_in_parallel(blobs):
    X, y = blobs
    estimator = _EpochTree(epochs=3, stops_at=3)
    runs, _ = repeated_learning_curve(estimator, X, y, train_sizes=[0.5, 1.0],
                                      n_repeats=2, n_iter_no_change=None,
                                      random_state=0)
    assert runs.columns.tolist() == [
        "repeat", "train_size", "train_accuracy", "test_accuracy", "fit_time",
        "n_epochs", "epoch_cap_hits", "still_learning", "random_state"]
    assert runs[["repeat", "train_size"]].values.tolist() == [
        [0, 225], [0, 450], [1, 225], [1, 450]]
    assert runs["epoch_cap_hits"].eq(1).all() and runs["n_epochs"].eq(3).all()
    assert runs["test_accuracy"].min() > 0.6  # chance: 1/3
    # Each size of each repeat is one job: two workers share one repeat.
    with parallel_config(backend="threading"):
        parallel, _ = repeated_learning_curve(
            estimator, X, y, train_sizes=[0.5, 1.0], n_repeats=2,
            n_iter_no_change=None, random_state=0, n_jobs=2)
    pd.testing.assert_frame_equal(runs.drop(columns="fit_time"),
                                  parallel.drop(columns="fit_time"))


@pytest.mark.parametrize("train_sizes, message", [
    ([0.0, 1.0], r"train_sizes=\[0.0, 1.0\]: shares must be in \(0, 1\]"),
    ([10, 1000], r"train_sizes=\[10, 1000\]: numbers of samples must be between 1 "
                 "and the 450 samples"),
    ([], "must be a non-empty list"),
])
def test_repeated_learning_curve_rejects_bad_train_sizes_before_training(
    blobs, train_sizes, message, no_training
):
    with pytest.raises(ValueError, match=message):
        repeated_learning_curve(LeNetClassifier(callbacks=[no_training]), *blobs,
                                train_sizes=train_sizes,
                                n_repeats=1)


def test_repeated_learning_curve_sets_patience_and_validation_data(blobs):
    X, y = blobs
    X_train, y_train, X_test, y_test, validation = _parts(blobs)
    calls = []

    class Spy(_RecordingSGD):
        def fit(self, X, y, validation_data=None):
            super().fit(X, y, validation_data=validation_data)
            calls.append((self.patience_seen_, self.validation_sizes_))
            return self

    repeated_learning_curve(Spy(), X_train, y_train, train_sizes=[0.5, 1.0],
                            n_repeats=1, validation_data=validation)
    assert calls == [(10, 120), (10, 120)]
    calls.clear()
    repeated_learning_curve(Spy(n_iter_no_change=3), X_train, y_train,
                            train_sizes=[1.0], n_repeats=1, n_iter_no_change=None)
    assert calls == [(3, None)]


class _ConfigRecordingTree(DecisionTreeClassifier):
    def fit(self, X, y, **params):
        self.assume_finite_ = sklearn.get_config()["assume_finite"]
        return super().fit(X, y, **params)


def test_sklearn_config_reaches_the_parallel_workers(blobs):
    X_train, y_train, X_test, y_test, _ = _parts(blobs)
    # Threads start with sklearn's default configuration unless the jobs
    # carry it (sklearn.utils.parallel.delayed).
    with parallel_config(backend="threading"), \
            sklearn.config_context(assume_finite=True):
        _, _, fitted = repeated_evaluation(
            _ConfigRecordingTree(), X_train, y_train, X_test, y_test,
            n_repeats=2, n_jobs=2, return_estimator=True)
    assert [est.assume_finite_ for est in fitted] == [True, True]


# ------------------------------------------------------------- calibration
def test_expected_calibration_error_measures_the_confidence_gap():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 1000)
    # Always 80% sure of the right label, wrong one time in five: calibrated.
    wrong = np.arange(1000) % 5 == 0
    predicted = np.where(wrong, (y + 1) % 3, y)
    proba = np.full((1000, 3), 0.1)
    proba[np.arange(1000), predicted] = 0.8
    assert expected_calibration_error(y, proba) == pytest.approx(0.0)
    # Sure of everything, right 80% of the time: 0.2 overconfident.
    sure = np.eye(3)[predicted]
    assert expected_calibration_error(y, sure) == pytest.approx(0.2)
    # String labels mapped to columns by labels=classes_, some absent.
    names = np.array(["a", "b", "c", "d"])
    padded = np.column_stack([sure, np.zeros(1000)])
    assert expected_calibration_error(names[y], padded, labels=names,
                                      n_bins=3) == pytest.approx(0.2)


@pytest.mark.parametrize("proba, params, match", [
    (np.ones((4, 3)) / 3, {}, r"\(4, 2\), but has shape \(4, 3\); pass labels"),
    (np.ones(4), {}, r"but has shape \(4,\)\.$"),
    (np.ones((4, 2)) / 2, {"n_bins": 0}, "n_bins must be a positive integer"),
])
def test_expected_calibration_error_refuses_bad_input(proba, params, match):
    with pytest.raises(ValueError, match=match):
        expected_calibration_error([0, 1, 1, 0], proba, **params)


@pytest.mark.skipif(
    "temperature" not in CalibratedClassifierCV._parameter_constraints["method"][0]
    .options, reason="temperature scaling is scikit-learn >= 1.8's")
def test_temperature_calibration_of_a_frozen_lenet(digits):
    """sklearn's one-liner: calibrating keeps every prediction (a temperature
    keeps the ranking of the classes) and lowers the log loss on the
    calibration data, which the temperature is fitted to minimise."""
    X, y, X_test, y_test = digits
    X_fit, y_fit, X_cal, y_cal = X[:200], y[:200], X[200:], y[200:]
    clf = LeNetClassifier(**fast(epochs=3, learning_rate=0.01)).fit(X_fit, y_fit)
    calibrated = CalibratedClassifierCV(FrozenEstimator(clf),
                                        method="temperature").fit(X_cal, y_cal)
    np.testing.assert_array_equal(calibrated.predict(X_test), clf.predict(X_test))
    assert log_loss(y_cal, calibrated.predict_proba(X_cal), labels=clf.classes_) \
        < log_loss(y_cal, clf.predict_proba(X_cal), labels=clf.classes_)
    ece = expected_calibration_error(y_cal, calibrated.predict_proba(X_cal),
                                     labels=calibrated.classes_)
    assert 0 <= ece < expected_calibration_error(
        y_cal, clf.predict_proba(X_cal), labels=clf.classes_)


# ------------------------------------------------------- comparing scores
def _pair(mean, std):
    """Two scores whose mean and standard deviation (ddof=1) are these."""
    return [mean - std / np.sqrt(2), mean + std / np.sqrt(2)]


def test_compare_scores_verdicts_when_the_sets_are_apart():
    high, low = [0.95, 0.96, 0.955, 0.958], [0.90, 0.91, 0.905, 0.902]
    result = compare_scores(high, low)
    assert result.verdict == "supported" and result.ci_low > 0
    assert result.difference == pytest.approx(np.mean(high) - np.mean(low))
    assert result.n_needed is None and result.method == "Welch's t"
    assert compare_scores(low, high).verdict == "contradicted"
    assert compare_scores(low, high, claim="less").verdict == "supported"
    assert compare_scores(high, low, claim="less").verdict == "contradicted"


def test_compare_scores_interval_is_welchs():
    rng = np.random.default_rng(0)
    scores, baseline = rng.normal(0.95, 0.01, 5), rng.normal(0.94, 0.003, 3)
    result = compare_scores(scores, baseline, confidence_level=0.9)
    welch = stats.ttest_ind(scores, baseline, equal_var=False)
    expected = welch.confidence_interval(confidence_level=0.9)
    assert (result.ci_low, result.ci_high) == pytest.approx(tuple(expected))
    assert (result.n_scores, result.n_baseline) == (5, 3)
    assert result.std == pytest.approx(np.std(scores, ddof=1))


def test_compare_scores_of_one_training_is_not_resolved():
    for scores, baseline in (([0.99], [0.5]), ([0.99], [0.5, 0.51, 0.52])):
        result = compare_scores(scores, baseline)
        assert result.verdict == "not resolved" and result.n_needed is None
        assert np.isnan(result.ci_low) and np.isnan(result.ci_high)
        assert "2 or more in each set" in result.reason


def test_compare_scores_of_two_trainings_says_how_many_would_resolve():
    # The README's quick run: optimised 0.9425 ± 0.0025, standard 0.9470 ± 0.0040
    # (ddof=0: half the gap of the two trainings).
    result = compare_scores([0.940, 0.945], [0.943, 0.951])
    assert result.verdict == "not resolved"
    assert result.ci_low < 0 < result.ci_high
    assert result.n_needed > 2
    assert f"{result.n_needed} scores per set" in result.reason


def _simulated_power(difference, std, baseline_std, n, n_experiments=20_000):
    """How often Welch's interval of n and n normal scores excludes 0 above."""
    rng = np.random.default_rng(0)
    scores = rng.normal(difference, std, (n_experiments, n))
    baseline = rng.normal(0, baseline_std, (n_experiments, n))
    low = stats.ttest_ind(scores, baseline, axis=1,
                          equal_var=False).confidence_interval().low
    return np.mean(low > 0)


def test_compare_scores_n_needed_resolves_with_the_stated_power():
    difference, std, baseline_std = 0.004, 0.004, 0.002
    result = compare_scores(_pair(0.944, std), _pair(0.944 - difference,
                                                     baseline_std))
    n = result.n_needed
    assert 5 < n < 30  # what the closed form below gives: 12
    margin = 3 * np.sqrt(0.8 * 0.2 / 20_000)  # 3 standard errors
    assert _simulated_power(difference, std, baseline_std, n) >= 0.8 - margin
    assert _simulated_power(difference, std, baseline_std, n - 1) < 0.8 + margin


def test_compare_scores_n_needed_meets_the_normal_closed_form():
    # Many trainings: the t distributions are normal, and n is
    # (z_(1+c)/2 + z_power)^2 (s1^2 + s2^2) / d^2.
    difference, std, baseline_std = 0.0005, 0.004, 0.003
    for confidence_level, power in ((0.95, 0.8), (0.9, 0.5)):
        result = compare_scores(_pair(0.5 + difference, std), _pair(0.5, baseline_std),
                                confidence_level=confidence_level, power=power)
        z = stats.norm.ppf((1 + confidence_level) / 2) + stats.norm.ppf(power)
        closed = z**2 * (std**2 + baseline_std**2) / difference**2
        assert result.n_needed == pytest.approx(closed, rel=0.01)
        assert result.n_needed >= closed  # t's tails are heavier


def test_compare_scores_without_spread():
    # Deterministic scores: the difference is exact.
    assert compare_scores([0.9, 0.9], [0.8, 0.8]).verdict == "supported"
    equal = compare_scores([0.9, 0.9], [0.9, 0.9])
    assert equal.verdict == "not resolved" and equal.n_needed is None
    assert "no number of scores" in equal.reason


@pytest.mark.parametrize("scores, kwargs, match", [
    ([], {}, "scores must be a 1-d list of at least one score"),
    ([[0.9, 0.8]], {}, r"scores must be a 1-d list .* shape \(1, 2\)"),
    ([0.9, np.nan], {}, "scores holds nan; every score must be a finite"),
    ([0.9], {"confidence_level": 1}, "confidence_level=1 must be a number strictly"),
    ([0.9], {"confidence_level": 0}, "confidence_level=0 must be"),
    ([0.9], {"confidence_level": 95}, "confidence_level=95 must be"),
    ([0.9], {"power": 0.3}, "power=0.3 must be a number of at least 0.5"),
    ([0.9], {"claim": "higher"}, r"claim='higher' must be one of \['greater'"),
])
def test_compare_scores_rejects_bad_input(scores, kwargs, match):
    with pytest.raises(ValueError, match=match):
        compare_scores(scores, [0.8, 0.85], **kwargs)
    if not kwargs:  # the baseline is checked alike
        with pytest.raises(ValueError, match=match.replace("scores", "baseline", 1)):
            compare_scores([0.8, 0.85], scores)


# ------------------------------------------------------------ epoch cap
def test_a_training_at_its_cap_stopped_there_unless_a_cosine_ends_there():
    hits = stopped_at_epoch_cap([2, 5, 6, 5], [5, 5, 5, 4],
                                [None, "plateau", None, "cosine"])
    assert hits.tolist() == [False, True, True, False]
    assert stopped_at_epoch_cap(5, 5) is True


def test_the_study_report_marks_the_cap_by_the_same_rule(monkeypatch):
    # The report's convergence and search marks use the rule of the
    # evaluations' epoch_cap_hits: a rule of its own fails here.
    from sklenet.study import _tables
    from sklenet.study._settings import PRESETS

    settings = PRESETS["tiny"]  # convergence on the deployment split
    seen = []

    def spy(n_epochs, max_epochs, learning_rate_schedule=None):
        seen.append(learning_rate_schedule)
        return stopped_at_epoch_cap(n_epochs, max_epochs, learning_rate_schedule)

    monkeypatch.setattr(_tables, "stopped_at_epoch_cap", spy)
    runs = pd.DataFrame({"epoch_cap_hits": [0], "still_learning": [0]})
    record = SimpleNamespace(runs=runs)
    results = SimpleNamespace(
        evaluation=lambda model: record, learning_curve=lambda model: record,
        # Every convergence training ran its whole cap.
        convergence=lambda model: SimpleNamespace(histories=[
            {"loss": [0.5] * settings.epoch_cap(model, 100)}]),
        search=SimpleNamespace(best_params={"learning_rate_schedule": "plateau"},
                               trials=pd.DataFrame({"user_attrs_n_epochs": [1, 0]})))
    flagged = {step: hits for step, hits, *_ in
               _tables.flagged_trainings(results, settings, 100, 100)}
    # sklenet best's cosine schedule ends at its cap by design.
    assert flagged == {"standard_convergence": 1, "optimized_convergence": 1,
                       "ensemble_convergence": 1, "search": 1}
    assert seen == [None, "plateau", "plateau", "cosine", None]
